"""The contract layer: the JSON Schemas of every dialect, validation against them, exchange files, OpenAPI.

``omofake.contract`` keeps the names it always had; they live in :mod:`omofake.contract.validation`.
"""

from __future__ import annotations

from omofake.contract.validation import (
    ContractError,
    Violation,
    assert_valid_file,
    assert_valid_request,
    assert_valid_response,
    format_violations,
    job_id_as_int,
    lenient_data,
    reject_json_constant,
    validate_exchange,
    validate_file,
    validate_request,
    validate_response,
)

__all__ = [
    "ContractError",
    "Violation",
    "assert_valid_file",
    "assert_valid_request",
    "assert_valid_response",
    "format_violations",
    "job_id_as_int",
    "lenient_data",
    "reject_json_constant",
    "validate_exchange",
    "validate_file",
    "validate_request",
    "validate_response",
]
