"""Exceptions raised by :mod:`omofake.client`.

Every exception derives from :class:`OmoError`, so ``except OmoError`` catches
anything the API or the client's reading of it can go wrong with. Network
failures (refused connections, resets) are left as :mod:`aiohttp` exceptions:
they say nothing about the API and callers usually handle them elsewhere.
"""

from __future__ import annotations

from typing import Any


class OmoError(Exception):
    """The API answered ``{"error": true, "message": ...}``, or a subclass case.

    ``message`` is the server's own wording (e.g. ``"Invalid api token."``);
    ``status`` is the HTTP status of the answer. The API reports its own
    errors with HTTP 200, so 200 is the default; transport errors such as
    404, 405 and 413 carry the same body shape with their real status.
    """

    def __init__(self, message: str, status: int = 200, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        #: The v2 ``errorCode`` (``"ERROR_KEY_DOES_NOT_EXIST"``); ``""`` for v1 answers.
        self.code = code


class JobFailed(OmoError):
    """``getJobResult`` answered ``"status": "fail"``: the service gave up on the job.

    ``raw`` is the whole answer, kept because type 26 adds an ``error_code``
    that may one day carry something useful.
    """

    def __init__(self, job_id: int | str, raw: dict[str, Any]) -> None:
        super().__init__(f"job {job_id} failed")
        self.job_id = job_id
        self.raw = raw


class SolveTimeout(OmoError, TimeoutError):
    """The job was still running when :meth:`OmoClient.solve`'s timeout ran out.

    Also a :class:`TimeoutError`, so generic timeout handling catches it.
    """

    def __init__(self, job_id: int | str, timeout: float) -> None:
        super().__init__(f"job {job_id} not solved within {timeout:g} s")
        self.job_id = job_id
        self.timeout = timeout


class ProtocolError(OmoError):
    """The answer is not one the API documents (e.g. an HTML 502 page from a proxy).

    ``snippet`` holds the start of the body so the cause is visible in logs
    without dumping a whole page.
    """

    def __init__(self, reason: str, status: int, snippet: str) -> None:
        super().__init__(f"HTTP {status}: {reason}; body starts with {snippet!r}", status)
        self.reason = reason
        self.snippet = snippet
