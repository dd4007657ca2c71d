"""The job-type catalogue and the schema files say the same thing, and generated results fit them."""

from __future__ import annotations

import re

import pytest

from omofake.contract import validate_request, validate_response
from omofake.contract.registry import load_schema
from omofake.core.catalogue import CATALOGUE, JobType
from omofake.core.draws import Draws

from .helpers import PNG, RESULT_FORMATS, create_body

TYPES = list(CATALOGUE)
# Every type_job_id a public v1 page documents, and the two the service lists name without a page.
DOCUMENTED = ["1", "2", "3", "11", "13", "14", "21", "22", "23", "24", "25", "26", "30", "31", "33"]
DOCUMENTED += ["41", "43", "44", "45", "47", "48", "52", "55"]


def test_the_catalogue_holds_every_documented_type_in_order() -> None:
    assert TYPES == DOCUMENTED
    assert load_schema("createJob.request")["$defs"]["data"]["properties"]["type_job_id"]["enum"] == TYPES
    assert list(load_schema("getJobResult.response")["$defs"]["byType"]) == TYPES
    assert [b["$ref"] for b in load_schema("getJobResult.response")["anyOf"]] == [
        f"#/$defs/byType/{t}" for t in TYPES
    ]


@pytest.mark.parametrize("type_id", TYPES)
def test_field_types_agree(type_id: str) -> None:
    """Each documented field's JSON type (text or number) and allowed values are the schema's."""
    rules = load_schema("createJob.request")["$defs"][f"type{type_id}"]
    job_type = CATALOGUE[type_id]
    assert sorted(rules["required"]) == sorted(job_type.required[1:])
    assert set(rules["properties"]) == set(job_type.required[1:])
    for spec in job_type.fields:
        rule = rules["properties"][spec.name]
        assert rule["type"] == {"text": "string", "number": "number"}[spec.kind]
        assert type(spec.example) is {"text": str, "number": int}[spec.kind]
        assert rule.get("enum", []) == list(spec.choices)
        assert validate_request("createJob", create_body(type_id, **{spec.name: spec.example})) == []
        wrong = 340 if spec.kind == "text" else [340]
        body = create_body(type_id, **{spec.name: wrong})
        assert [(v.path, v.keyword) for v in validate_request("createJob", body)] == [
            (f"$.data.{spec.name}", "type")
        ]


@pytest.mark.parametrize("type_id", TYPES)
def test_required_fields_agree(type_id: str) -> None:
    job_type = CATALOGUE[type_id]
    assert validate_request("createJob", create_body(type_id)) == []
    for name in job_type.required:
        body = create_body(type_id)
        del body["data"][name]
        assert [v.path for v in validate_request("createJob", body)] == [f"$.data.{name}"]
    optional = {"input", "image_base64"} - set(job_type.required)
    for name in optional:  # present or absent, the schema does not mind
        assert validate_request("createJob", create_body(type_id, **{name: "x"})) == []


@pytest.mark.parametrize("type_id", [t for t in TYPES if CATALOGUE[t].images])
def test_image_counts_agree(type_id: str) -> None:
    images = CATALOGUE[type_id].images
    assert len(CATALOGUE[type_id].image_roles) == images
    for count in range(1, 5):
        body = create_body(type_id, image_base64="|".join([PNG] * count))
        assert (validate_request("createJob", body) == []) == (count == images)


@pytest.mark.parametrize("type_id", TYPES)
def test_generated_results_fit_the_response_schema(type_id: str) -> None:
    job_type = CATALOGUE[type_id]
    fake = Draws(0)
    views = [{}, {"width_view": 1, "height_view": 1}, {"width_view": 340.5, "height_view": 212}]
    for i in range(300):
        answer = JobType.success_answer(job_type.make_result(fake, views[i % 3]))
        assert validate_response("getJobResult", answer, type_id) == []
        assert re.fullmatch(RESULT_FORMATS[type_id], answer["result"]), answer["result"]
    assert validate_response("getJobResult", JobType.success_answer(job_type.example_result), type_id) == []
    assert validate_response("getJobResult", job_type.running_answer(), type_id) == []
    assert validate_response("getJobResult", job_type.fail_answer(), type_id) == []


def test_results_look_real() -> None:
    fake = Draws(1)
    tiles = [CATALOGUE["13"].make_result(fake) for _ in range(200)]
    assert all(1 <= int(i) <= 9 for t in tiles for i in t.split("|"))
    assert all(t.split("|") == sorted(t.split("|"), key=int) for t in tiles)
    assert all(0 <= int(CATALOGUE["23"].make_result(fake)) < 360 for _ in range(200))
    assert all(CATALOGUE["30"].make_result(fake).isalnum() for _ in range(200))
    assert len({CATALOGUE["30"].make_result(fake) for _ in range(200)}) > 150


@pytest.mark.parametrize("type_id", TYPES)
def test_pending_answers_are_per_type(type_id: str) -> None:
    # "" where the type's (newest) page shows it (V1-6), null elsewhere.
    pending = "" if type_id in ("11", "22", "25", "26") else None
    assert CATALOGUE[type_id].running_answer() == {"error": False, "status": "running", "result": pending}
    extra = {"error_code": ""} if type_id == "26" else {}
    assert CATALOGUE[type_id].fail_answer() == {"error": False, "status": "fail", **extra, "result": pending}


def test_a_result_of_another_type_is_caught() -> None:
    assert validate_response("getJobResult", JobType.success_answer("1|4|7"), 26)
    assert validate_response("getJobResult", {"error": False, "status": "fail", "result": None}, 26)
    assert validate_response("getJobResult", {"error": False, "status": "running", "result": ""}, 13)
    assert not validate_response("getJobResult", {"error": False, "status": "running", "result": ""})


def test_every_schema_says_where_its_rules_come_from() -> None:
    for name in ("createJob.request", "createJob.response", "getJobResult.request", "getJobResult.response"):
        schema = load_schema(name)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["$id"] == f"urn:omofake:schema:{name}"
        assert "description" in schema
    request_defs = load_schema("createJob.request")["$defs"]
    response_defs = load_schema("getJobResult.response")["$defs"]["byType"]
    for type_id, job_type in CATALOGUE.items():
        assert job_type.doc_page in request_defs[f"type{type_id}"]["description"]
        assert job_type.doc_page in response_defs[type_id]["description"]
    assert 'error_code ""' in response_defs["26"]["description"]
    assert 'result ""' in response_defs["26"]["description"]
    for type_id in ("31", "33"):  # no page: the decision is said where the rules are
        assert "Decision" in request_defs[f"type{type_id}"]["description"]
        assert "Decision" in response_defs[type_id]["description"]
    assert "V1-14" in request_defs["type44"]["description"]
    assert "V1-6" in response_defs["22"]["description"]
