"""The contract layer: the JSON Schemas of every dialect, validation against them, exchange files, OpenAPI.

``omofake.contract`` keeps the names it always had; they live in :mod:`omofake.contract.validation`,
whose ``__all__`` is re-exported as it stands, so the two lists cannot drift apart.
"""

from __future__ import annotations

from omofake.contract import validation
from omofake.contract.validation import *  # noqa: F403

__all__: list[str] = []
__all__ += validation.__all__
