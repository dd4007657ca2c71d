"""Checks of requests and responses against the documented contract (the schema files).

A :class:`Violation` says where a body breaks the contract (endpoint, JSON path), what the
contract expects there and what was found, and carries the message the fake answers for it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from omofake.contract.patterns import first_bad_image
from omofake.contract.registry import (
    ENDPOINTS,
    Endpoint,
    request_check,
    request_validator,
    response_validator,
)
from omofake.core.catalogue import CATALOGUE, DataField
from omofake.dialects.v1 import messages

if TYPE_CHECKING:
    # jsonschema loads only when a body needs explaining (registry.validator): a valid request
    # is answered by the fast check alone, so a test that sends only valid ones never loads it.
    from jsonschema import ValidationError

__all__ = [
    "ContractError",
    "Violation",
    "assert_valid_file",
    "assert_valid_request",
    "assert_valid_response",
    "format_violations",
    "job_id_as_int",
    "lenient_data",
    "loads_json",
    "reject_json_constant",
    "validate_exchange",
    "validate_file",
    "validate_request",
    "validate_response",
]

_JSON_TYPES = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "object": "an object",
    "array": "a list",
    "boolean": "true or false",
    "null": "null",
}
# The order in which a request's problems are answered: the one a client must fix first.
_FIELD_ORDER = (
    "",
    "api_token",
    "data",
    "data.type_job_id",
    "data.input",
    "data.image_base64",
    "data.website_url",
    "data.website_key",
    "data.score",
    "data.action",
    "data.text",
    "data.width_view",
    "data.height_view",
    "job_id",
)
# Numeric text as real clients send a number field ("340"), read leniently as the number.
_NUMERIC_TEXT = re.compile(r"[0-9]{1,9}(\.[0-9]{1,9})?")
_KEYWORD_ORDER = ("type", "required", "enum", "minLength", "minimum", "pattern")


@dataclass(frozen=True)
class Violation:
    """One way a body breaks the documented contract."""

    endpoint: str
    direction: str  # "request" or "response"
    path: str  # JSON path, e.g. "$.data.type_job_id"
    expected: str
    found: str
    #: The JSON Schema keyword that failed ("required", "type", ...).
    keyword: str
    #: What the fake answers for this problem, in the vendor's style.
    message: str
    #: Where the exchange was read from, for violations found in a file (``omofake validate``).
    file: str | None = None
    line: int | None = None

    @property
    def field(self) -> str:
        """The path without the leading ``$.``, as messages name fields (``data.input``)."""
        return self.path[2:] if self.path.startswith("$.") else ""

    def at(self, file: str, line: int) -> Violation:
        """The same violation, located at a line of a file."""
        return replace(self, file=file, line=line)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}: " if self.file is not None else ""
        return (
            f"{where}{self.endpoint} {self.direction} {self.path}: "
            f"expected {self.expected}, found {self.found}"
        )

    def to_dict(self) -> dict[str, Any]:
        located = {"file": self.file, "line": self.line} if self.file is not None else {}
        return {
            **located,
            "endpoint": self.endpoint,
            "direction": self.direction,
            "path": self.path,
            "expected": self.expected,
            "found": self.found,
            "message": self.message,
        }


class ContractError(AssertionError):
    """Raised by the ``assert_valid_*`` helpers; its text lists every violation."""

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = violations
        super().__init__(format_violations(violations))


def format_violations(violations: Iterable[Violation]) -> str:
    lines = [f"  - {v}" for v in violations]
    return f"{len(lines)} contract violation(s):\n" + "\n".join(lines)


def validate_request(endpoint: Endpoint, body: Any) -> list[Violation]:
    """Every way ``body`` breaks the request contract of ``endpoint``, most pressing first."""
    _check_endpoint(endpoint)
    # Most requests are valid: the compiled check says so in a fraction of jsonschema's time.
    # Any other body goes through jsonschema, which explains what is wrong with it.
    check = request_check(endpoint)
    if check is not None and check(body):
        return []
    errors = request_validator(endpoint).iter_errors(body)
    return sorted(_violations(endpoint, "request", errors, body), key=_urgency)


def validate_response(endpoint: Endpoint, body: Any, type_job_id: str | int | None = None) -> list[Violation]:
    """Every way ``body`` breaks the response contract of ``endpoint``.

    For getJobResult, ``type_job_id`` narrows the check to that job type's result format; without
    it an answer passes when it is valid for some type.
    """
    _check_endpoint(endpoint)
    type_id = None if type_job_id is None else str(type_job_id)
    if type_id is not None and type_id not in CATALOGUE:
        known = ", ".join(CATALOGUE)
        return [
            Violation(
                endpoint,
                "response",
                "$",
                f"a job of a known type ({known})",
                f"type_job_id {type_id}",
                "enum",
                f"Unknown type_job_id {type_id}.",
            )
        ]
    errors = response_validator(endpoint, type_id).iter_errors(body)
    return _violations(endpoint, "response", errors, body)


def reject_json_constant(constant: str) -> Any:
    """``parse_constant`` for :func:`json.loads`: NaN and Infinity are Python's extension, not JSON."""
    raise ValueError(f"{constant} is not a JSON value")


# One decoder for every body: json.loads with a keyword builds a JSONDecoder (and its scanner)
# per call, a few microseconds a request.
_DECODER = json.JSONDecoder(parse_constant=reject_json_constant)


def loads_json(raw: bytes | str) -> Any:
    """``json.loads(raw, parse_constant=reject_json_constant)``, exactly: the same encodings
    detected in bytes (UTF-8, with or without a BOM, UTF-16, UTF-32), the same errors."""
    if isinstance(raw, str):
        if raw.startswith("\ufeff"):
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", raw, 0)
        return _DECODER.decode(raw)
    return _DECODER.decode(raw.decode(json.detect_encoding(raw), "surrogatepass"))


def job_id_as_int(value: Any) -> int | None:
    """A ``job_id`` as the fake reads it outside strict mode: a whole number (``123456``, and
    ``123456.0``, which JSON Schema counts as an integer) or its digits as text (``"123456"``);
    None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def lenient_data(data: Mapping[str, Any], *, numbers: bool = True) -> Mapping[str, Any]:
    """A createJob ``data`` as the fake reads it outside strict mode: ``type_job_id`` sent as a
    number (``23``) is read as its text, and a field the job type documents as a number sent as
    numeric text (``"width_view": "340"``) as the number (unless ``numbers`` is false). The same
    object if nothing changes."""
    read: dict[str, Any] = {}
    type_id = data.get("type_job_id")
    if type(type_id) is int:
        read["type_job_id"] = type_id = str(type_id)
    job_type = CATALOGUE.get(type_id) if isinstance(type_id, str) else None
    for spec in job_type.fields if job_type is not None and numbers else ():
        value = data.get(spec.name)
        if spec.kind == "number" and isinstance(value, str) and _NUMERIC_TEXT.fullmatch(value):
            read[spec.name] = float(value) if "." in value else int(value)
    return {**data, **read} if read else data


def assert_valid_request(endpoint: Endpoint, body: Any) -> None:
    """Raise :class:`ContractError` listing every violation, if there is any."""
    if violations := validate_request(endpoint, body):
        raise ContractError(violations)


def assert_valid_response(endpoint: Endpoint, body: Any, type_job_id: str | int | None = None) -> None:
    """Raise :class:`ContractError` listing every violation, if there is any."""
    if violations := validate_response(endpoint, body, type_job_id):
        raise ContractError(violations)


def validate_exchange(
    endpoint: str,
    request: Any,
    response: Any,
    *,
    status: int | None = 200,
    type_job_id: str | int | None = None,
    fault: str | None = None,
) -> list[Violation]:
    """Every way one request and its answer break the contract, requests first.

    ``fault``: the transport fault the fake was told to send instead of the answer (a record's
    ``"fault"``); then only the request is checked, since the answer was the test's doing.
    A "hang" sent the real answer, late: it is checked as any other.

    Unlike the functions above, an endpoint the API does not have is a violation here rather
    than a programming error: this checks traffic, which may well have gone to the wrong path.
    The HTTP ``status`` must be 200, as the API answers everything it understands, errors
    included, with 200 (``None``: not known, not checked). ``type_job_id`` narrows a
    getJobResult answer to that job type's result format.
    """
    # Imported here: the v2 dialect's checks build on this module.
    from omofake.dialects.v2.checks import ENDPOINTS as V2_ENDPOINTS
    from omofake.dialects.v2.checks import request_violations, response_violations

    has_answer = fault in (None, "hang")
    if endpoint in V2_ENDPOINTS:
        # The endpoint names its dialect ("v2/createTask"): checked against schemas/v2/.
        task_type = None if type_job_id is None else str(type_job_id)
        violations = request_violations(endpoint, request) if endpoint != "v2/getServicePrice" else []
        if not has_answer:
            return violations
        violations += response_violations(endpoint, response, task_type)
        return violations + _status_violations(endpoint, status)
    if endpoint not in ENDPOINTS:
        answered = f" (answered HTTP {status})" if status is not None else ""
        return [
            Violation(
                endpoint,
                "request",
                "$",
                f"an endpoint of the API: {', '.join(ENDPOINTS[:-1])} or {ENDPOINTS[-1]} (/api/...)",
                f"{_show(endpoint)}{answered}",
                "endpoint",
                f"The API has no endpoint {endpoint}.",
            )
        ]
    known = endpoint
    violations = validate_request(known, request)
    if not has_answer:
        return violations
    violations += validate_response(known, response, type_job_id if known == "getJobResult" else None)
    return violations + _status_violations(known, status)


def _status_violations(endpoint: str, status: int | None) -> list[Violation]:
    if status is None or status == 200:
        return []
    return [
        Violation(
            endpoint,
            "response",
            "$",
            "HTTP status 200 (the API answers every request it understands with 200, errors included)",
            f"HTTP status {status}",
            "status",
            f"The answer came with HTTP status {status}, not 200.",
        )
    ]


def validate_file(path: str | os.PathLike[str]) -> list[Violation]:
    """Every violation in a file of recorded exchanges, each located at its file and line.

    Reads the exchange format (JSON Lines, or a ``.json`` file of one exchange or a list) as
    ``omofake validate`` does; raises :class:`omofake.contract.exchanges.UnreadableInput` for a file that
    cannot be read as exchanges. :func:`omofake.contract.exchanges.check_file` streams the same checks.
    """
    # Imported here: omofake.contract.exchanges builds on this module.
    from omofake.contract.exchanges import check_file

    return [violation for checked in check_file(path) for violation in checked.violations]


def assert_valid_file(path: str | os.PathLike[str]) -> None:
    """Raise :class:`ContractError` listing every violation in a file of exchanges, if any."""
    if violations := validate_file(path):
        raise ContractError(violations)


def _check_endpoint(endpoint: str) -> None:
    if endpoint not in ENDPOINTS:
        raise ValueError(f"unknown endpoint {endpoint!r}; the API has {', '.join(ENDPOINTS)}")


def _urgency(v: Violation) -> tuple[int, int]:
    field = v.field if v.field in _FIELD_ORDER else None
    keyword = v.keyword if v.keyword in _KEYWORD_ORDER else None
    return (
        _FIELD_ORDER.index(field) if field is not None else len(_FIELD_ORDER),
        _KEYWORD_ORDER.index(keyword) if keyword is not None else len(_KEYWORD_ORDER),
    )


def _violations(
    endpoint: str, direction: str, errors: Iterable[ValidationError], body: Any
) -> list[Violation]:
    found: dict[tuple[str, str], Violation] = {}
    for error in errors:
        for violation in _explain(endpoint, direction, error, body):
            found.setdefault((violation.path, violation.keyword), violation)
    # A value of the wrong type fails its other rules too ("23 is not one of '23'"): say only the type.
    mistyped = {path for path, keyword in found if keyword == "type"}
    return [v for (path, keyword), v in found.items() if keyword == "type" or path not in mistyped]


def _explain(endpoint: str, direction: str, error: ValidationError, body: Any) -> Iterator[Violation]:
    if error.validator in ("anyOf", "oneOf") and error.context:
        # Name the closest alternative's problems rather than "valid under none of them".
        for sub in _closest_alternative(error.context):
            yield from _explain(endpoint, direction, sub, body)
        return
    keyword = str(error.validator)
    path = error.json_path
    if keyword == "required":
        instance = error.instance if isinstance(error.instance, Mapping) else {}
        per_type = "then" in error.absolute_schema_path
        for name in _listed(error.validator_value):
            if name not in instance:
                field_path = f"{path}.{name}"
                yield Violation(
                    endpoint,
                    direction,
                    field_path,
                    "present",
                    "missing",
                    keyword,
                    _required_message(field_path[2:], per_type, body),
                )
        return
    expected = _expected(error)
    found = _show(error.instance)
    yield Violation(
        endpoint,
        direction,
        path,
        expected,
        found,
        keyword,
        _message(path, keyword, error, expected, found, body),
    )


def _closest_alternative(errors: list[ValidationError]) -> list[ValidationError]:
    """The errors of the alternative (of an anyOf / oneOf) with the fewest, the first on a tie.

    jsonschema's best_match prefers the shallowest error, which for an answer such as
    ``{"error": false, "job_id": "1", ...}`` names the error shape's stray fields instead of the
    job_id that is wrong: the fewest problems is the alternative the body meant to be.
    """
    by_branch: dict[Any, list[ValidationError]] = {}
    for error in errors:
        branch = error.relative_schema_path[0] if error.relative_schema_path else None
        by_branch.setdefault(branch, []).append(error)
    if None in by_branch:  # not laid out by alternative: fall back to jsonschema's own choice
        from jsonschema.exceptions import best_match

        return [best_match(errors)]
    return min(by_branch.values(), key=len)


def _expected(error: ValidationError) -> str:
    keyword, value, schema = error.validator, error.validator_value, error.schema
    if keyword == "type":
        kinds = value if isinstance(value, list) else [value]
        return " or ".join(_JSON_TYPES.get(str(k), str(k)) for k in kinds)
    if keyword == "enum":
        return "one of " + ", ".join(json.dumps(v) for v in _listed(value))
    if keyword == "const":
        return json.dumps(value)
    if keyword == "pattern":
        description = schema.get("description") if isinstance(schema, Mapping) else None
        return str(description or f"text matching {value}").rstrip(".")
    if keyword == "minLength":
        return "non-empty text" if value == 1 else f"text of at least {value} characters"
    if keyword == "minimum":
        return f"a number of at least {value}"
    if keyword in ("propertyNames", "additionalProperties"):
        return "no fields beyond the documented ones"
    return str(error.message)


def _listed(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []


def _show(value: Any, limit: int = 60) -> str:
    if isinstance(value, str) and len(value) > limit:
        value = value[:limit]  # the same shown text, without dumping a 20 MB image first
    text = json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def _type_of(body: Any) -> str | None:
    data = body.get("data") if isinstance(body, Mapping) else None
    type_id = data.get("type_job_id") if isinstance(data, Mapping) else None
    return str(type_id) if isinstance(type_id, (str, int)) and not isinstance(type_id, bool) else None


def _data_field(field: str, body: Any) -> DataField | None:
    """What the catalogue says of a ``data.<name>`` field of the body's job type, if it has a say."""
    job_type = CATALOGUE.get(_type_of(body) or "")
    if job_type is None or not field.startswith("data."):
        return None
    spec = job_type.data_field(field[5:])
    return spec if spec is not None and spec.meaning else None


def _required_message(field: str, per_type: bool, body: Any) -> str:
    if per_type and (spec := _data_field(field, body)) is not None:
        return messages.MISSING_DATA_FIELD.format(
            field=field,
            type_job_id=_type_of(body),
            meaning=spec.meaning,
            example=json.dumps(spec.example, ensure_ascii=False),
        )
    if per_type:
        return messages.MISSING_FIELD_FOR_TYPE.format(field=field, type_job_id=_type_of(body))
    return messages.MISSING_FIELD.format(field=field)


def _found_words(value: Any) -> str:
    if isinstance(value, str):
        return f"the text {_show(value)}"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return f"the number {_show(value)}"
    return _JSON_TYPES["object" if isinstance(value, Mapping) else "array"]


def _message(path: str, keyword: str, error: ValidationError, expected: str, found: str, body: Any) -> str:
    field = path[2:]
    value = error.instance
    if path == "$" and keyword == "type":
        return messages.NOT_AN_OBJECT
    if field == "data.type_job_id":
        if keyword == "type" and isinstance(value, int) and not isinstance(value, bool):
            return messages.TYPE_JOB_ID_NOT_TEXT.format(example=value, found=value)
        if keyword == "enum":
            return messages.UNKNOWN_SERVICE.format(found=found, known=", ".join(CATALOGUE))
    if field == "job_id":
        if keyword == "type":
            return messages.JOB_ID_NOT_NUMBER.format(found=_found_words(value))
        if keyword == "minimum":
            return messages.JOB_NOT_FOUND.format(job_id=found)
    if field == "data.image_base64" and keyword == "pattern":
        return _image_message(str(value), _type_of(body))
    if (spec := _data_field(field, body)) is not None:
        if keyword == "type":
            return messages.DATA_FIELD_TYPE.format(
                field=field,
                expected=expected,
                example=json.dumps(spec.example, ensure_ascii=False),
                meaning=spec.meaning,
                found=_found_words(value),
            )
        if keyword == "enum":
            return messages.DATA_FIELD_CHOICE.format(
                field=field,
                choices=", ".join(json.dumps(c) for c in spec.choices),
                meaning=spec.meaning,
                found=_found_words(value),
            )
    if keyword == "type":
        return messages.WRONG_TYPE.format(field=field, expected=expected, found=_found_words(value))
    if keyword == "minLength":
        return messages.EMPTY_FIELD.format(field=field)
    return messages.INVALID_FIELD.format(field=field or "body", detail=f"expected {expected}, found {found}")


def _image_message(value: str, type_id: str | None) -> str:
    job_type = CATALOGUE.get(type_id or "")
    count = value.count("|") + 1  # counted, not split: images can be megabytes
    if job_type is not None and count != job_type.images:
        expected = _images(job_type.images)
        if job_type.images > 1:
            expected += f" ({'|'.join(job_type.image_roles)})"
        return messages.IMAGE_COUNT.format(expected=expected, type_job_id=job_type.id, found=_images(count))
    # The schema pattern decided that some part is wrong; this finds which one, by the same rule.
    bad = first_bad_image(value, data_uri=job_type is not None and job_type.data_uri_images)
    return messages.IMAGE_NOT_BASE64.format(index=bad or 1, count=count)


def _images(count: int) -> str:
    return "1 image" if count == 1 else f'{count} images joined by "|"'
