"""v2 bodies against ``schemas/v2/``: every problem as a :class:`Violation` carrying its v2 code.

The schemas say what is wrong; this module says it in v2's words: which error code
(:data:`omofake.dialects.v2.errors.ERRORS`) a problem gets and the description naming the field.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from omofake.contract.registry import validator
from omofake.contract.validation import Violation
from omofake.dialects.v2.errors import ERRORS
from omofake.dialects.v2.tasks import TASK_CLASSES

if TYPE_CHECKING:  # jsonschema loads with the first validator (registry.validator), not here
    from jsonschema import ValidationError

#: The v2 endpoints, as schema names and journal endpoints.
ENDPOINTS: tuple[str, ...] = ("v2/createTask", "v2/getTaskResult", "v2/getBalance", "v2/getServicePrice")
#: The endpoints with a request schema (getServicePrice takes only a query).
REQUEST_ENDPOINTS = ENDPOINTS[:3]

_JSON_WORDS = {
    dict: "an object",
    list: "a list",
    str: "text",
    bool: "true or false",
    int: "a number",
    float: "a number",
    type(None): "null",
}
_SCHEMA_WORDS = {
    "string": "text",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
}
# The order problems are answered in: the one a client must fix first.
_FIELD_RANK = ("$", "$.clientKey", "$.task", "$.task.type")
_KEYWORD_RANK = ("required", "type", "empty", "pattern")


def words(value: Any) -> str:
    """What a JSON value is, in an error's words."""
    return _JSON_WORDS.get(type(value), "a value")


def _shown(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _path(parts: Any) -> str:
    path = "$"
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def code_of(violation: Violation) -> str:
    """The v2 error code a request's violation is answered with."""
    path, keyword = violation.path, violation.keyword
    if path == "$" and keyword != "required":
        return "ERROR_MALFORMED_REQUEST"
    if path == "$.clientKey":
        return "ERROR_KEY_DOES_NOT_EXIST"
    if path == "$.task":
        return "ERROR_TASK_ABSENT"
    if path == "$.task.type":
        return "ERROR_TASK_NOT_SUPPORTED"
    by_keyword = {
        "required": "ERROR_FIELD_MISSING",
        "type": "ERROR_WRONG_FIELD_TYPE",
        "empty": "ERROR_ZERO_CAPTCHA_FILESIZE",
        "pattern": "ERROR_WRONG_FIELD_VALUE" if path == "$.taskId" else "ERROR_IMAGE_NOT_BASE64",
    }
    return by_keyword.get(keyword, "ERROR_WRONG_FIELD_VALUE")


def request_violations(endpoint: str, body: Any) -> list[Violation]:
    """Every way a v2 request breaks its schema, most pressing first; messages are v2 descriptions."""
    if endpoint not in REQUEST_ENDPOINTS:
        return []
    found: dict[tuple[str, str], Violation] = {}
    if endpoint == "v2/createTask":
        # One class's rules only: those of another class say nothing useful.
        task = body.get("task") if isinstance(body, dict) else None
        kind = task.get("type") if isinstance(task, dict) else None
        if isinstance(kind, str) and kind in TASK_CLASSES:
            for error in validator("v2/createTask.request", f"/$defs/{kind}").iter_errors(task):
                for v in _explain(endpoint, "request", error, task, prefix=("task",), task_type=kind):
                    found.setdefault((v.path, v.keyword), v)
    for error in validator(f"{endpoint}.request").iter_errors(body):
        for v in _explain(endpoint, "request", error, body):
            found.setdefault((v.path, v.keyword), v)
    typed = {path for path, keyword in found if keyword == "type"}
    kept = [v for (path, keyword), v in found.items() if keyword in ("type", "required") or path not in typed]
    return sorted(kept, key=_urgency)


def response_violations(endpoint: str, body: Any, task_type: str | None = None) -> list[Violation]:
    """Every way a v2 answer breaks its schema; a ready answer checked against its class when known."""
    if endpoint not in ENDPOINTS:
        return []
    if endpoint == "v2/getTaskResult" and task_type in TASK_CLASSES and _is_ready(body):
        checker = validator("v2/getTaskResult.response", f"/$defs/byClass/{task_type}")
    else:
        checker = validator(f"{endpoint}.response")
    violations: dict[tuple[str, str], Violation] = {}
    for error in checker.iter_errors(body):
        for v in _explain(endpoint, "response", error, body):
            violations.setdefault((v.path, v.keyword), v)
    return list(violations.values())


def _is_ready(body: Any) -> bool:
    return isinstance(body, dict) and body.get("status") == "ready"


def _urgency(v: Violation) -> tuple[int, int, str]:
    field = _FIELD_RANK.index(v.path) if v.path in _FIELD_RANK else len(_FIELD_RANK)
    keyword = _KEYWORD_RANK.index(v.keyword) if v.keyword in _KEYWORD_RANK else len(_KEYWORD_RANK)
    return field, keyword, v.path


def _explain(
    endpoint: str,
    direction: str,
    error: ValidationError,
    body: Any,
    *,
    prefix: tuple[str, ...] = (),
    task_type: str = "",
) -> Iterator[Violation]:
    if error.validator in ("anyOf", "oneOf") and error.context:
        # Name the closest alternative's problems rather than "valid under none of them".
        groups: dict[Any, list[ValidationError]] = {}
        for sub in error.context:
            groups.setdefault(sub.schema_path[0] if sub.schema_path else 0, []).append(sub)
        for sub in min(groups.values(), key=len):
            yield from _explain(endpoint, direction, sub, body, prefix=prefix, task_type=task_type)
        return
    if error.validator in ("if", "then", "allOf") and error.context:
        for sub in error.context:
            yield from _explain(endpoint, direction, sub, body, prefix=prefix, task_type=task_type)
        return
    parts = (*prefix, *error.absolute_path)
    keyword = str(error.validator)
    instance = error.instance
    if keyword == "required":
        for name in error.validator_value if isinstance(error.validator_value, list) else ():
            if isinstance(instance, dict) and name not in instance:
                path = _path((*parts, name))
                yield _violation(
                    endpoint, direction, path, "required", f"{name} to be sent", "nothing", task_type
                )
        return
    path = _path(parts)
    if keyword == "type":
        expected = _SCHEMA_WORDS.get(str(error.validator_value), str(error.validator_value))
        yield _violation(endpoint, direction, path, "type", expected, words(instance), task_type)
    elif keyword == "pattern" and path == "$.taskId":
        # Before the image rule: taskId's pattern is the UUID createTask gave, not base64.
        yield _violation(
            endpoint,
            direction,
            path,
            keyword,
            "a UUID as createTask returned it",
            _shown(instance),
            task_type,
        )
    elif keyword == "pattern" and instance == "":
        yield _violation(endpoint, direction, path, "empty", "a base64 image", "an empty string", task_type)
    elif keyword == "pattern":
        yield _violation(endpoint, direction, path, "pattern", "standard base64", _shown(instance), task_type)
    elif keyword in ("minItems", "maxItems") and isinstance(instance, list):
        bound = "at least" if keyword == "minItems" else "at most"
        expected = f"{bound} {error.validator_value} item(s)"
        yield _violation(endpoint, direction, path, keyword, expected, f"{len(instance)} item(s)", task_type)
    else:
        expected = error.message if len(error.message) <= 160 else error.message[:160] + "..."
        yield _violation(endpoint, direction, path, keyword, expected, _shown(instance), task_type)


def _violation(
    endpoint: str, direction: str, path: str, keyword: str, expected: str, found: str, task_type: str
) -> Violation:
    v = Violation(endpoint, direction, path, expected, found, keyword, "")
    if direction == "response":
        return Violation(endpoint, direction, path, expected, found, keyword, f"{path}: expected {expected}")
    return Violation(
        endpoint,
        direction,
        path,
        expected,
        found,
        keyword,
        describe(v, task_type or endpoint.rpartition("/")[2]),
    )


def describe(v: Violation, task_type: str = "") -> str:
    """The errorDescription of a request's violation: its code's template, naming the field."""
    code = code_of(v)
    field = v.path[2:] if v.path.startswith("$.") else "the body"
    values: dict[str, Any] = {"field": field, "task_type": task_type or "the task"}
    if code == "ERROR_KEY_DOES_NOT_EXIST":
        values["detail"] = (
            "is missing" if v.keyword == "required" else f"must be non-empty text, not {v.found}"
        )
    elif code == "ERROR_TASK_ABSENT":
        values["detail"] = "missing" if v.keyword == "required" else f"{v.found}, not an object"
    elif code == "ERROR_TASK_NOT_SUPPORTED":
        values["task_type"] = "(missing)" if v.keyword == "required" else v.found
    elif code == "ERROR_WRONG_FIELD_TYPE":
        values.update(expected=v.expected, actual=v.found)
    elif code == "ERROR_MALFORMED_REQUEST":
        values["detail"] = f"is {v.found}, not a JSON object"
    elif code == "ERROR_IMAGE_NOT_BASE64":
        values["detail"] = f"found {v.found}, expected standard base64 with '=' padding"
    elif code == "ERROR_WRONG_FIELD_VALUE":
        values["detail"] = f"must be {v.expected}, found {v.found}"
    return ERRORS[code].describe(**values)
