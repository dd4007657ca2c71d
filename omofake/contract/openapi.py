"""The OpenAPI 3.1 document of the API, built from the schema files when asked for.

The schema files stay the single source of truth: this module only rearranges them. Each file
and each subschema one of its ``$ref``s reaches is copied into ``components/schemas``, and every
``$ref`` is rewritten to point there. That is needed because tools resolve the refs of an
OpenAPI document against the document's root: a file's internal ``#/$defs/data`` would point
at nothing, and its ``$id`` (``urn:omofake:schema:...``) would make ``#/components/...`` resolve
against the urn instead. So ``$id`` and ``$schema`` are dropped (the id is kept as
``x-omofake-id``), ``$defs`` are hoisted, and the result is self-contained.
"""

from __future__ import annotations

import base64
import copy
import re
from functools import cache
from typing import Any

from omofake import __version__
from omofake.contract.registry import SCHEMA_NAMES, load_schema
from omofake.core.catalogue import CATALOGUE
from omofake.core.pricing import SERVICES

__all__ = ["DEFAULT_SERVER_URL", "component_name", "openapi_document"]

OPENAPI_VERSION = "3.1.0"
#: Where ``omofake serve`` listens by default; the document names it unless told otherwise.
DEFAULT_SERVER_URL = "http://127.0.0.1:8765"

_COMPONENTS = "#/components/schemas/"
# Values of these keywords are data, not schemas: a "$ref" inside them is not a reference.
_DATA_KEYWORDS = frozenset({"const", "enum", "default", "examples", "example"})
# Keywords whose value maps names (which could be anything, even "$ref") to schemas.
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "$defs", "dependentSchemas"})
# Keywords that would change how refs resolve inside a copied subschema; none is used today,
# and embedding one silently would make the document lie, so they stop the build.
_BASE_CHANGING = frozenset({"$id", "$anchor", "$dynamicRef", "$dynamicAnchor", "$recursiveRef"})
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
# The eight-byte PNG signature: the smallest honest "image" for the example requests.
_EXAMPLE_IMAGE = base64.b64encode(b"\x89PNG\r\n\x1a\n").decode("ascii")
# The vendor pages' own examples of data.input.
_EXAMPLE_INPUT = {"13": "Chọn tất cả hình ảnh có: tàu thuyền", "14": "panda"}
_EXAMPLE_TOKEN = "YOUR_API_TOKEN"
_EXAMPLE_JOB_ID = 123456


def openapi_document(server_url: str | None = DEFAULT_SERVER_URL) -> dict[str, Any]:
    """The OpenAPI 3.1 document, with ``server_url`` (if any) as its one ``servers`` entry.

    A fresh copy each call, so a caller may change it freely.
    """
    document = copy.deepcopy(_document())
    if server_url is not None:
        document["servers"] = [
            {"url": server_url.rstrip("/"), "description": "omofake, the fake OMOcaptcha API"}
        ]
    return document


def component_name(schema_name: str, pointer: str = "") -> str:
    """The ``components/schemas`` key of a schema file, or of the subschema at a JSON pointer in it.

    ``("getJobResult.response", "/$defs/byType/23")`` is ``"getJobResult.response.byType.23"``:
    ``$defs`` levels are left out of the name, as OpenAPI names allow only ``A-Za-z0-9._-``.
    """
    parts = [_unescape(p) for p in pointer.split("/")[1:] if p != "$defs"]
    # A dialect's schema names carry its folder ("v2/createTask.request"): "v2.createTask.request".
    return ".".join([*schema_name.split("/"), *(_NAME_UNSAFE.sub("_", p) for p in parts)])


def _ref(schema_name: str, pointer: str = "") -> dict[str, str]:
    return {"$ref": _COMPONENTS + component_name(schema_name, pointer)}


@cache
def _document() -> dict[str, Any]:
    schemas = _component_schemas()
    api_error = _ref("createJob.response", "/$defs/apiError")
    if api_error["$ref"].removeprefix(_COMPONENTS) not in schemas:
        raise LookupError("createJob.response.json has no $defs/apiError for the transport errors")

    def error_answer(description: str, **extra: Any) -> dict[str, Any]:
        return {"description": description, "content": {"application/json": {"schema": api_error}}, **extra}

    def operation(endpoint: str, summary: str, description: str, **extra: Any) -> dict[str, Any]:
        request = load_schema(f"{endpoint}.request")
        response = load_schema(f"{endpoint}.response")
        request_examples, response_examples = _examples(endpoint)
        return {
            "operationId": endpoint,
            "summary": summary,
            "description": description,
            "requestBody": {
                "required": True,
                "description": request.get("description", ""),
                "content": {
                    "application/json": {"schema": _ref(f"{endpoint}.request"), "examples": request_examples}
                },
            },
            "responses": {
                "200": {
                    "description": response.get("description", "The answer."),
                    "content": {
                        "application/json": {
                            "schema": _ref(f"{endpoint}.response"),
                            "examples": response_examples,
                        }
                    },
                    **extra,
                },
                "413": {"$ref": "#/components/responses/PayloadTooLarge"},
            },
        }

    v2_error = _ref("v2/createTask.response", "/$defs/error")

    def v2_operation(method: str, summary: str) -> dict[str, Any]:
        name = f"v2/{method}"
        request, response = load_schema(f"{name}.request"), load_schema(f"{name}.response")

        def v2_failure(description: str) -> dict[str, Any]:
            return {"description": description, "content": {"application/json": {"schema": v2_error}}}

        return {
            "operationId": f"v2.{method}",
            "summary": summary,
            "description": request.get("description", ""),
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref(f"{name}.request")}},
            },
            "responses": {
                "200": {
                    "description": response.get("description", "The answer."),
                    "content": {"application/json": {"schema": _ref(f"{name}.response")}},
                },
                "413": v2_failure("A body larger than the server's limit (ERROR_TOO_BIG_CAPTCHA_FILESIZE)."),
            },
        }

    v2_paths = {
        "/v2/createTask": {"post": v2_operation("createTask", "v2: submit a task; answers its UUID taskId")},
        "/v2/getTaskResult": {
            "post": v2_operation(
                "getTaskResult", "v2: a task's state: processing, ready (with solution), fail"
            )
        },
        "/v2/getBalance": {"post": v2_operation("getBalance", "v2: the account's balance, as numbers")},
        "/api/getServicePrice": {
            "get": {
                "operationId": "v2.getServicePrice",
                "summary": "v2's service (type=service) or package (type=package) list, v1 envelope (V2-14)",
                "description": load_schema("v2/getServicePrice.response").get("description", ""),
                "parameters": [
                    {
                        "name": "type",
                        "in": "query",
                        "required": True,
                        "description": "service: the task classes and prices; package: the packages.",
                        "schema": {"type": "string", "enum": ["service", "package"]},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "The list, or the v1 error shape for another type.",
                        "content": {"application/json": {"schema": _ref("v2/getServicePrice.response")}},
                    }
                },
            }
        },
    }

    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "OMOcaptcha API (as faked by omofake)",
            "version": __version__,
            "summary": "The captcha-solving job API, its balance and service list, from the vendor's pages.",
            "description": (
                "Built by omofake from its JSON Schema files (components/schemas; x-omofake-id names "
                "the file each came from). The API answers every request it understands with HTTP 200, "
                'errors included ({"error": true, "message": ...}). Only transport problems change the '
                "status, with the same body: 404 for a path the API does not have "
                "(components/responses/NotFound), 405 for a method the path does not take "
                "(components/responses/MethodNotAllowed), 413 for a body over the size limit. "
                "A getJobResult answer depends on the job's type; its schema here accepts an answer "
                "valid for any type, and components/schemas/getJobResult.response.byType.<type_job_id> "
                "holds each type's rules. The v2 API (/v2/createTask, /v2/getTaskResult, /v2/getBalance) "
                "answers errors as {errorId: 1, errorCode, errorDescription}, transport errors under /v2/ "
                "too; components/schemas/v2.getTaskResult.response.byClass.<Class> holds each task "
                "class's ready answer."
            ),
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "paths": {
            "/api/createJob": {
                "post": operation(
                    "createJob",
                    "Submit a captcha; answers the new job's id",
                    "data.type_job_id picks the service (13, 14, 23, 26, 30) and which data fields "
                    "it requires.",
                    links={
                        "getJobResult": {
                            "operationId": "getJobResult",
                            "description": "Poll the job just created, with the same token.",
                            "requestBody": {
                                "api_token": "$request.body#/api_token",
                                "job_id": "$response.body#/job_id",
                            },
                        }
                    },
                )
            },
            "/api/getJobResult": {
                "post": operation(
                    "getJobResult",
                    "Ask for a job's state: running, success (with the result) or fail",
                    "Clients poll every 2 seconds until the status is success or fail.",
                )
            },
            "/api/getBalance": {
                "post": operation(
                    "getBalance",
                    "The account's balance, as text with five decimals",
                    "Each job created costs its type's price (getService); createJob refuses once "
                    "the balance cannot pay.",
                )
            },
            "/api/getService": {
                "post": operation(
                    "getService",
                    "The services (job types) with their price, success rate and average time",
                    "The page heads it POST; its sample says GET, and the same answer comes to a GET "
                    "with api_token in the query string.",
                ),
                "get": _query_operation(
                    "getService",
                    "The same service list, asked for with GET and api_token in the query string",
                    _ref("getService.response"),
                ),
            },
            **v2_paths,
        },
        "components": {
            "schemas": schemas,
            "responses": {
                "NotFound": error_answer("A path the API does not have (any method)."),
                "MethodNotAllowed": error_answer(
                    "A method the path does not take: POST only, but GET or POST on /api/getService.",
                    headers={"Allow": {"description": "POST, or GET, POST.", "schema": {"type": "string"}}},
                ),
                "PayloadTooLarge": error_answer(
                    "A body larger than the server's limit (omofake serve --max-body)."
                ),
            },
        },
    }


def _query_operation(endpoint: str, summary: str, response: dict[str, str]) -> dict[str, Any]:
    """A GET taking the request schema's fields as query parameters."""
    request = load_schema(f"{endpoint}.request")
    _, response_examples = _examples(endpoint)
    parameters = [
        {
            "name": name,
            "in": "query",
            "required": name in request.get("required", ()),
            "description": field.get("description", ""),
            "schema": {k: v for k, v in field.items() if k != "description"},
            "example": _EXAMPLE_TOKEN,
        }
        for name, field in request["properties"].items()
    ]
    return {
        "operationId": f"{endpoint}ByQuery",
        "summary": summary,
        "description": request.get("description", ""),
        "parameters": parameters,
        "responses": {
            "200": {
                "description": load_schema(f"{endpoint}.response").get("description", "The answer."),
                "content": {"application/json": {"schema": response, "examples": response_examples}},
            }
        },
    }


def _examples(endpoint: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Example requests and answers of an endpoint, one per job type and status.

    Besides documenting, the request examples are how fuzzers send valid requests at all: the
    base64 patterns' lookahead is beyond what schemathesis can generate from, so without them
    it would never create a job. tests/test_openapi.py checks every example against the schemas.
    """

    def example(summary: str, value: Any) -> dict[str, Any]:
        return {"summary": summary, "value": value}

    api_error = example("An API error (HTTP 200)", {"error": True, "message": "Invalid api token."})
    if endpoint == "createJob":
        requests = {}
        for type_id, job_type in CATALOGUE.items():
            data: dict[str, Any] = {"type_job_id": type_id}
            if job_type.images:
                data["image_base64"] = "|".join([_EXAMPLE_IMAGE] * job_type.images)
            for spec in job_type.fields:
                data[spec.name] = (
                    _EXAMPLE_INPUT.get(type_id, spec.example) if spec.name == "input" else spec.example
                )
            requests[f"type{type_id}"] = example(
                f"{job_type.name} ({type_id})", {"api_token": _EXAMPLE_TOKEN, "data": data}
            )
        created = {"error": False, "job_id": _EXAMPLE_JOB_ID, "message": "Create job success."}
        return requests, {"created": example("Job created", created), "apiError": api_error}
    if endpoint in ("getBalance", "getService"):
        ask = {"ask": example("With the account key", {"api_token": _EXAMPLE_TOKEN})}
        if endpoint == "getBalance":
            balance = {"error": False, "balance": "0.00000", "message": "Get balance success."}
            return ask, {
                "balance": example("The balance (the page's example)", balance),
                "apiError": api_error,
            }
        service = SERVICES["1"].entry()
        services = {"error": False, "service": [service], "message": "Get service success."}
        return ask, {"services": example("The list (the page's example)", services), "apiError": api_error}
    requests = {"poll": example("Poll a job", {"api_token": _EXAMPLE_TOKEN, "job_id": _EXAMPLE_JOB_ID})}
    answers = {}
    for type_id, job_type in CATALOGUE.items():
        answers[f"type{type_id}-success"] = example(
            f"{job_type.name} ({type_id}): solved", job_type.success_answer(job_type.example_result)
        )
        answers[f"type{type_id}-running"] = example(
            f"{job_type.name} ({type_id}): still running", job_type.running_answer()
        )
        answers[f"type{type_id}-fail"] = example(
            f"{job_type.name} ({type_id}): failed", job_type.fail_answer()
        )
    answers["apiError"] = api_error
    return requests, answers


def _component_schemas() -> dict[str, Any]:
    """Every schema file and every subschema its refs reach, keyed by :func:`component_name`."""
    by_id = {load_schema(name)["$id"]: name for name in SCHEMA_NAMES}
    components: dict[str, Any] = {}
    origin: dict[str, tuple[str, str]] = {}
    pending: list[tuple[str, str]] = [(name, "") for name in SCHEMA_NAMES]
    while pending:
        schema_name, pointer = pending.pop(0)
        key = component_name(schema_name, pointer)
        if key in components:
            if origin[key] != (schema_name, pointer):
                raise ValueError(f"{origin[key]} and {(schema_name, pointer)} both map to {key}")
            continue
        target = _resolve(load_schema(schema_name), pointer, schema_name)
        if pointer == "":
            # The root's $defs are reached through its refs instead, each as its own component.
            target = {k: v for k, v in target.items() if k not in ("$schema", "$id", "$defs")}
        components[key] = _rewrite(target, schema_name, by_id, pending)
        if pointer == "":
            components[key]["x-omofake-id"] = load_schema(schema_name)["$id"]
        origin[key] = (schema_name, pointer)
    return components


def _rewrite(node: Any, schema_name: str, by_id: dict[str, str], found: list[tuple[str, str]]) -> Any:
    """A copy of ``node`` with every ``$ref`` pointing into components; the targets go to ``found``."""
    if isinstance(node, list):
        return [_rewrite(item, schema_name, by_id, found) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref":
            target = _target(value, schema_name, by_id)
            found.append(target)
            out[key] = _COMPONENTS + component_name(*target)
        elif key in _DATA_KEYWORDS:
            out[key] = copy.deepcopy(value)
        elif key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: _rewrite(sub, schema_name, by_id, found) for name, sub in value.items()}
        elif key in _BASE_CHANGING:
            raise ValueError(f"{schema_name}.json: {key} inside a subschema cannot be embedded in OpenAPI")
        else:
            out[key] = _rewrite(value, schema_name, by_id, found)
    return out


def _target(ref: Any, schema_name: str, by_id: dict[str, str]) -> tuple[str, str]:
    """The (schema file, JSON pointer) a ``$ref`` names: ``#/...`` in the same file or ``<$id>#/...``."""
    if not isinstance(ref, str):
        raise ValueError(f"{schema_name}.json: $ref must be text, not {ref!r}")
    base, _, pointer = ref.partition("#")
    if base and base not in by_id:
        raise ValueError(f"{schema_name}.json: $ref {ref!r} names no shipped schema file")
    target_name = by_id[base] if base else schema_name
    if pointer and not pointer.startswith("/"):
        raise ValueError(f"{schema_name}.json: $ref {ref!r} is not a JSON pointer")
    _resolve(load_schema(target_name), pointer, target_name)  # fail now, not in a user's tool
    return target_name, pointer


def _resolve(schema: dict[str, Any], pointer: str, schema_name: str) -> Any:
    node: Any = schema
    for part in pointer.split("/")[1:]:
        key = _unescape(part)
        try:
            node = node[int(key)] if isinstance(node, list) else node[key]
        except (KeyError, IndexError, ValueError, TypeError):
            raise ValueError(f"{schema_name}.json has nothing at #{pointer}") from None
    return node


def _unescape(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")
