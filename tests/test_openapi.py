"""The OpenAPI 3.1 document: valid, self-consistent, built from the schema files, and served."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec
from referencing import Registry
from referencing.jsonschema import DRAFT202012

import omofake.contract.openapi
from omofake import FakeServer
from omofake.cli import main
from omofake.contract import validate_request, validate_response
from omofake.contract.openapi import DEFAULT_SERVER_URL, component_name, openapi_document
from omofake.contract.registry import SCHEMA_NAMES, Endpoint, load_schema
from omofake.core.catalogue import CATALOGUE

from .helpers import TOKEN, create_body

DOCUMENT = openapi_document()


def walk(node: Any, where: str = "#") -> Iterator[tuple[str, Any]]:
    """Every (JSON pointer, value) in a document."""
    yield where, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, f"{where}/{key.replace('~', '~0').replace('/', '~1')}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{where}/{index}")


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def doc_validator(document: dict[str, Any], component: str) -> Draft202012Validator:
    """A plain JSON Schema validator that resolves refs against the document root, as OpenAPI tools do."""
    registry: Registry[Any] = Registry().with_resource(
        "urn:test:openapi", DRAFT202012.create_resource(document)
    )
    return Draft202012Validator(
        {"$ref": f"urn:test:openapi#/components/schemas/{component}"}, registry=registry
    )


def test_the_document_passes_the_spec_validator() -> None:
    validate_spec(DOCUMENT)
    validate_spec(openapi_document(None))
    assert DOCUMENT["openapi"] == "3.1.0"
    assert DOCUMENT["servers"] == [
        {"url": DEFAULT_SERVER_URL, "description": "omofake, the fake OMOcaptcha API"}
    ]
    assert "servers" not in openapi_document(None)


def test_paths_operations_and_answers() -> None:
    endpoints = ("createJob", "getJobResult", "getBalance", "getService")
    v2 = {"/v2/createTask", "/v2/getTaskResult", "/v2/getBalance", "/api/getServicePrice"}
    assert set(DOCUMENT["paths"]) == {f"/api/{endpoint}" for endpoint in endpoints} | v2
    for endpoint in endpoints:
        item = DOCUMENT["paths"][f"/api/{endpoint}"]
        assert set(item) == ({"post", "get"} if endpoint == "getService" else {"post"})
        operation = item["post"]
        assert operation["operationId"] == endpoint
        body = operation["requestBody"]
        assert body["required"] is True
        assert body["content"]["application/json"]["schema"] == {
            "$ref": f"#/components/schemas/{endpoint}.request"
        }
        ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert ok == {"$ref": f"#/components/schemas/{endpoint}.response"}
        assert operation["responses"]["413"] == {"$ref": "#/components/responses/PayloadTooLarge"}
    responses = DOCUMENT["components"]["responses"]
    assert set(responses) == {"NotFound", "MethodNotAllowed", "PayloadTooLarge"}
    for answer in responses.values():
        assert answer["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/createJob.response.apiError"
        }
    assert responses["MethodNotAllowed"]["headers"]["Allow"]["schema"] == {"type": "string"}
    by_query = DOCUMENT["paths"]["/api/getService"]["get"]
    assert by_query["operationId"] == "getServiceByQuery"
    assert [(p["name"], p["in"], p["required"]) for p in by_query["parameters"]] == [
        ("api_token", "query", True)
    ]
    ok = by_query["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/getService.response"}


def test_every_ref_resolves_against_the_document_root() -> None:
    refs = [
        value
        for where, node in walk(DOCUMENT)
        if isinstance(node, dict)
        for key, value in node.items()
        if key == "$ref"
    ]
    assert len(refs) > 20
    for ref in refs:
        assert ref.startswith(("#/components/schemas/", "#/components/responses/")), ref
        resolve(DOCUMENT, ref)
    # Nothing left that would resolve against something else: no $id, no $defs, no $schema.
    for where, node in walk(DOCUMENT["components"]["schemas"]):
        if isinstance(node, dict) and "/properties/" not in where:
            assert not {"$id", "$defs", "$schema"} & set(node), where


def test_every_schema_file_and_definition_is_a_component() -> None:
    schemas = DOCUMENT["components"]["schemas"]
    for name in SCHEMA_NAMES:
        component = schemas[component_name(name)]
        assert component["x-omofake-id"] == load_schema(name)["$id"]
        assert component["description"] == load_schema(name)["description"]
    for type_id in CATALOGUE:
        assert f"getJobResult.response.byType.{type_id}" in schemas
        assert f"createJob.request.type{type_id}" in schemas
    assert (
        schemas["createJob.request.type23"]["properties"]["image_base64"]["pattern"]
        == (load_schema("createJob.request")["$defs"]["type23"]["properties"]["image_base64"]["pattern"])
    )


def test_component_names() -> None:
    assert component_name("createJob.request") == "createJob.request"
    assert component_name("createJob.request", "/$defs/data") == "createJob.request.data"
    assert component_name("getJobResult.response", "/$defs/byType/23") == "getJobResult.response.byType.23"
    assert component_name("x", "/properties/a~1b c") == "x.properties.a_b_c"


def test_the_document_is_built_from_the_files_at_run_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Change a rule in the (loaded) schema file: the document follows, as there is no copy."""
    original = load_schema

    def edited(name: str) -> dict[str, Any]:
        schema = json.loads(json.dumps(original(name)))
        if name == "getJobResult.request":
            schema["properties"]["job_id"]["minimum"] = 100_000
        return schema  # type: ignore[no-any-return]

    monkeypatch.setattr(omofake.contract.openapi, "load_schema", edited)
    omofake.contract.openapi._document.cache_clear()
    try:
        rules = openapi_document()["components"]["schemas"]["getJobResult.request"]
        assert rules["properties"]["job_id"]["minimum"] == 100_000
    finally:
        monkeypatch.undo()
        omofake.contract.openapi._document.cache_clear()
    assert (
        openapi_document()["components"]["schemas"]["getJobResult.request"]["properties"]["job_id"]["minimum"]
        == 1
    )


@pytest.mark.parametrize(
    "problem, why",
    [
        ({"$id": "urn:nested"}, "a nested $id"),
        ({"$ref": "other.json#/x"}, "a ref to a file that is not shipped"),
        ({"$ref": "#/$defs/nowhere"}, "a ref to nothing"),
    ],
)
def test_a_schema_the_document_could_not_carry_stops_the_build(
    monkeypatch: pytest.MonkeyPatch, problem: dict[str, Any], why: str
) -> None:
    original = load_schema

    def edited(name: str) -> dict[str, Any]:
        loaded = json.loads(json.dumps(original(name)))
        if name == "getJobResult.request":
            loaded["properties"]["job_id"] = problem
        return loaded  # type: ignore[no-any-return]

    monkeypatch.setattr(omofake.contract.openapi, "load_schema", edited)
    omofake.contract.openapi._document.cache_clear()
    try:
        with pytest.raises(ValueError, match=r"getJobResult\.request\.json"):
            openapi_document()
    finally:
        monkeypatch.undo()
        omofake.contract.openapi._document.cache_clear()


# The document's schemas say what omofake.contract says


def missing(body: dict[str, Any], field: str) -> dict[str, Any]:
    data = dict(body["data"])
    del data[field]
    return {**body, "data": data}


REQUESTS: list[tuple[Endpoint, Any]] = [
    *(("createJob", create_body(type_id)) for type_id in CATALOGUE),
    ("createJob", create_body("23", type_job_id=23)),
    ("createJob", create_body("23", image_base64=create_body("30")["data"]["image_base64"])),
    ("createJob", create_body("26", image_base64="not base64!|x")),
    ("createJob", missing(create_body("13"), "input")),
    ("createJob", create_body("30", type_job_id="99")),
    ("createJob", {"api_token": "", "data": {}}),
    ("createJob", []),
    ("getJobResult", {"api_token": TOKEN, "job_id": 123456}),
    ("getJobResult", {"api_token": TOKEN, "job_id": "123456"}),
    ("getJobResult", {"api_token": TOKEN, "job_id": 0}),
    ("getJobResult", {"job_id": 5}),
]


@pytest.mark.parametrize("endpoint, body", REQUESTS)
def test_request_schemas_agree_with_the_contract(endpoint: Endpoint, body: Any) -> None:
    expected = validate_request(endpoint, body) == []
    assert doc_validator(DOCUMENT, f"{endpoint}.request").is_valid(body) is expected


ANSWERS = [
    {"error": False, "status": "success", "result": "1|4|7"},
    {"error": False, "status": "success", "result": "50"},
    {"error": False, "status": "success", "result": "abc"},
    {"error": False, "status": "success", "result": ""},
    {"error": False, "status": "running", "result": None},
    {"error": False, "status": "running", "result": ""},
    {"error": False, "status": "fail", "result": "", "error_code": ""},
    {"error": False, "status": "fail", "result": None},
    {"error": False, "status": "done", "result": None},
    {"error": True, "message": "Job 5 not found."},
    {"error": True},
]


@pytest.mark.parametrize("answer", ANSWERS)
def test_response_schemas_agree_with_the_contract(answer: dict[str, Any]) -> None:
    union = doc_validator(DOCUMENT, "getJobResult.response")
    assert union.is_valid(answer) is (validate_response("getJobResult", answer) == [])
    for type_id in CATALOGUE:
        one_type = doc_validator(DOCUMENT, f"getJobResult.response.byType.{type_id}")
        assert one_type.is_valid(answer) is (validate_response("getJobResult", answer, type_id) == [])
    created = {"error": False, "job_id": 1, "message": "Create job success."}
    assert doc_validator(DOCUMENT, "createJob.response").is_valid(created)


def test_every_example_holds_to_the_contract() -> None:
    count = 0
    for endpoint in ("createJob", "getJobResult"):
        operation = DOCUMENT["paths"][f"/api/{endpoint}"]["post"]
        for example in operation["requestBody"]["content"]["application/json"]["examples"].values():
            assert validate_request(endpoint, example["value"]) == [], example
            count += 1
        answers = operation["responses"]["200"]["content"]["application/json"]["examples"]
        for name, example in answers.items():
            type_id = name[4:].partition("-")[0] if name.startswith("type") else None
            assert validate_response(endpoint, example["value"], type_id) == [], name
            count += 1
    assert count == len(CATALOGUE) + 2 + 1 + 3 * len(CATALOGUE) + 1


# Served by the running fake, and printed by the CLI


def test_the_server_serves_the_document_naming_itself() -> None:
    with FakeServer() as server:
        answer = requests.get(f"{server.url}/openapi.json", timeout=10)
        assert answer.status_code == 200
        assert answer.headers["Content-Type"].startswith("application/json")
        assert answer.json() == openapi_document(server.url)
        assert answer.json()["servers"][0]["url"] == server.url
        # As the client reached it: the Host header it sent.
        named = requests.get(f"{server.url}/openapi.json", headers={"Host": "fake.test:8080"}, timeout=10)
        assert named.json()["servers"][0]["url"] == "http://fake.test:8080"
        assert requests.head(f"{server.url}/openapi.json", timeout=10).status_code == 200
        # Fetching the document is no exchange of the API: neither journaled nor recorded.
        assert len(server.journal) == 0


def test_other_methods_on_the_document_get_the_json_405() -> None:
    with FakeServer() as server:
        answer = requests.post(f"{server.url}/openapi.json", json={}, timeout=10)
        assert answer.status_code == 405
        assert answer.headers["Allow"] == "GET, HEAD"
        assert answer.json() == {
            "error": True,
            "message": "Method POST is not allowed on /openapi.json; use GET.",
            "success": False,
        }
        [exchange] = server.journal
        assert (exchange.endpoint, exchange.path, exchange.status) == (None, "/openapi.json", 405)
        assert requests.get(f"{server.url}/openapi.yaml", timeout=10).status_code == 404


def test_openapi_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["openapi"]) == 0
    assert json.loads(capsys.readouterr().out) == openapi_document()
    assert main(["openapi", "--server-url", "http://127.0.0.1:9000/"]) == 0
    assert json.loads(capsys.readouterr().out)["servers"][0]["url"] == "http://127.0.0.1:9000"
    target = tmp_path / "openapi.json"
    assert main(["openapi", "-o", str(target)]) == 0
    assert json.loads(target.read_text("utf-8")) == openapi_document()
    assert "Chọn tất cả" in target.read_text("utf-8")  # UTF-8 as is, not escaped, in a file
    assert main(["openapi", "-o", str(tmp_path / "no" / "openapi.json")]) == 2
    assert capsys.readouterr().err.startswith("omofake: error: cannot write to")


def test_the_v2_paths_name_the_v2_schemas() -> None:
    for method in ("createTask", "getTaskResult", "getBalance"):
        operation = DOCUMENT["paths"][f"/v2/{method}"]["post"]
        assert operation["operationId"] == f"v2.{method}"
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/v2.{method}.request"}
        ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert ok == {"$ref": f"#/components/schemas/v2.{method}.response"}
        assert ok["$ref"].removeprefix("#/components/schemas/") in DOCUMENT["components"]["schemas"]
    prices = DOCUMENT["paths"]["/api/getServicePrice"]["get"]
    assert [(p["name"], p["schema"]["enum"]) for p in prices["parameters"]] == [
        ("type", ["service", "package"])
    ]
