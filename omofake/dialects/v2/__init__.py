"""The v2 ("task") dialect of the OMOcaptcha API: ``/v2/createTask``, ``/v2/getTaskResult``,
``/v2/getBalance`` and the ``getServicePrice`` listing.

:mod:`.tasks` holds every task class the public v2 pages document, as data; :mod:`.errors` the one
catalogue of v2 error codes. The JSON Schemas that state the same rules live in ``schemas/v2/``.
"""
