"""The Python face of the contract checks: omofake.contract, as users call it in their own tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from omofake.contract import (
    ContractError,
    Violation,
    assert_valid_file,
    assert_valid_request,
    assert_valid_response,
    format_violations,
    validate_exchange,
    validate_file,
    validate_request,
    validate_response,
)
from omofake.contract.exchanges import UnreadableInput
from omofake.core.catalogue import CATALOGUE

from .helpers import TOKEN, create_body

TYPES = list(CATALOGUE)


def paths(violations: list[Violation]) -> list[str]:
    return [v.path for v in violations]


# Requests


@pytest.mark.parametrize("type_id", TYPES)
def test_a_documented_request_of_every_type_holds(type_id: str) -> None:
    assert validate_request("createJob", create_body(type_id)) == []
    assert_valid_request("createJob", create_body(type_id))
    assert validate_request("getJobResult", {"api_token": TOKEN, "job_id": 123456}) == []


def test_a_wrong_type_names_the_path_what_was_expected_and_found() -> None:
    [violation] = validate_request("createJob", create_body("23", type_job_id=23))
    assert (violation.endpoint, violation.direction, violation.path) == (
        "createJob",
        "request",
        "$.data.type_job_id",
    )
    assert (violation.expected, violation.found, violation.keyword) == ("text", "23", "type")
    assert str(violation) == "createJob request $.data.type_job_id: expected text, found 23"


def test_a_missing_field_required_by_the_job_type() -> None:
    body = create_body("13")
    del body["data"]["input"]
    [violation] = validate_request("createJob", body)
    assert (violation.path, violation.expected, violation.found) == ("$.data.input", "present", "missing")
    assert "type_job_id 13" in violation.message


def test_several_problems_are_all_listed_most_pressing_first() -> None:
    # An unknown type requires no image (the types decide that), but an image must still be text.
    body = {"api_token": "", "data": {"type_job_id": "99", "image_base64": 5}}
    violations = validate_request("createJob", body)
    assert paths(violations) == ["$.api_token", "$.data.type_job_id", "$.data.image_base64"]


def test_job_id_as_text_breaks_the_documented_contract() -> None:
    [violation] = validate_request("getJobResult", {"api_token": TOKEN, "job_id": "123456"})
    assert (violation.path, violation.expected) == ("$.job_id", "a whole number")


def test_a_body_that_is_not_an_object() -> None:
    [violation] = validate_request("getJobResult", None)
    assert (violation.path, violation.expected, violation.found) == ("$", "an object", "null")


def test_an_endpoint_the_api_does_not_have_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="createTask"):
        validate_request("createTask", {})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="createTask"):
        validate_response("createTask", {})  # type: ignore[arg-type]


# Responses


SUCCESS = {"13": "1|4|7", "14": "2|5", "23": "50", "26": "123", "30": "abcxyz"}


@pytest.mark.parametrize("type_id", TYPES)
def test_every_documented_answer_of_every_type_holds_for_that_type(type_id: str) -> None:
    job_type = CATALOGUE[type_id]
    for answer in (
        job_type.success_answer(SUCCESS.get(type_id, job_type.example_result)),
        job_type.running_answer(),
        job_type.fail_answer(),
        {"error": True, "message": "Invalid api token."},
    ):
        assert validate_response("getJobResult", answer, type_id) == [], answer
        assert validate_response("getJobResult", answer, int(type_id)) == [], answer
        assert validate_response("getJobResult", answer) == [], answer
        assert_valid_response("getJobResult", answer, type_id)


def test_a_result_is_checked_against_its_own_job_type() -> None:
    answer = {"error": False, "status": "success", "result": "abc"}
    # Text is a fine result for image-to-text (30), so without the type it passes ...
    assert validate_response("getJobResult", answer) == []
    assert validate_response("getJobResult", answer, "30") == []
    # ... but a rotation (23) is a whole number of degrees.
    [violation] = validate_response("getJobResult", answer, "23")
    assert (violation.direction, violation.path, violation.found) == ("response", "$.result", '"abc"')
    assert "rotation" in violation.expected


def test_type_26_answers_empty_text_where_the_others_answer_null() -> None:
    running_26 = {"error": False, "status": "running", "result": ""}
    assert validate_response("getJobResult", running_26, "26") == []
    assert paths(validate_response("getJobResult", running_26, "13")) == ["$.result"]
    running_13 = {"error": False, "status": "running", "result": None}
    assert paths(validate_response("getJobResult", running_13, "26")) == ["$.result"]
    fail_without_error_code = {"error": False, "status": "fail", "result": ""}
    [violation] = validate_response("getJobResult", fail_without_error_code, "26")
    assert (violation.path, violation.found) == ("$.error_code", "missing")


def test_an_unknown_job_type_is_a_violation_not_a_crash() -> None:
    [violation] = validate_response(
        "getJobResult", {"error": False, "status": "running", "result": None}, "99"
    )
    assert violation.found == "type_job_id 99"


def test_create_job_answers() -> None:
    assert (
        validate_response("createJob", {"error": False, "job_id": 123456, "message": "Create job success."})
        == []
    )
    assert validate_response("createJob", {"error": True, "message": "Invalid api token."}) == []
    violations = validate_response("createJob", {"error": False, "job_id": "123456", "message": "ok"})
    assert "$.job_id" in paths(violations)


# The assert_* helpers and the report


def test_assert_helpers_raise_an_assertion_error_with_the_readable_report() -> None:
    with pytest.raises(ContractError) as raised:
        assert_valid_request("createJob", create_body("23", type_job_id=23, image_base64=5))
    error = raised.value
    assert isinstance(error, AssertionError)
    assert [v.path for v in error.violations] == ["$.data.type_job_id", "$.data.image_base64"]
    assert str(error) == (
        "2 contract violation(s):\n"
        "  - createJob request $.data.type_job_id: expected text, found 23\n"
        "  - createJob request $.data.image_base64: expected text, found 5"
    )
    with pytest.raises(ContractError, match=r"getJobResult response \$\.result"):
        assert_valid_response("getJobResult", {"error": False, "status": "success", "result": "x"}, "26")


def test_format_violations_and_to_dict() -> None:
    violation = Violation("createJob", "request", "$.data", "present", "missing", "required", "Missing.")
    assert (
        format_violations([violation])
        == "1 contract violation(s):\n  - createJob request $.data: expected present, found missing"
    )
    assert violation.to_dict() == {
        "endpoint": "createJob",
        "direction": "request",
        "path": "$.data",
        "expected": "present",
        "found": "missing",
        "message": "Missing.",
    }
    located = violation.at("run.jsonl", 7)
    assert (located.file, located.line, violation.file) == ("run.jsonl", 7, None)
    assert str(located) == "run.jsonl:7: createJob request $.data: expected present, found missing"
    assert located.to_dict() == {"file": "run.jsonl", "line": 7, **violation.to_dict()}


# One exchange


def test_validate_exchange_checks_request_answer_and_status() -> None:
    request = create_body("23")
    assert (
        validate_exchange(
            "createJob", request, {"error": False, "job_id": 1, "message": "Create job success."}
        )
        == []
    )
    violations = validate_exchange("createJob", None, {"error": True, "message": "Too large."}, status=413)
    assert [(v.direction, v.path, v.keyword) for v in violations] == [
        ("request", "$", "type"),
        ("response", "$", "status"),
    ]
    assert violations[1].found == "HTTP status 413"
    # Status unknown (traffic recorded without it): not checked.
    assert validate_exchange("createJob", request, {"error": True, "message": "x"}, status=None) == []


def test_validate_exchange_narrows_get_job_result_to_the_type() -> None:
    poll = {"api_token": TOKEN, "job_id": 5}
    answer = {"error": False, "status": "success", "result": "abc"}
    assert validate_exchange("getJobResult", poll, answer) == []
    assert paths(validate_exchange("getJobResult", poll, answer, type_job_id="26")) == ["$.result"]


@pytest.mark.parametrize("endpoint", ["/api/createTask", "getTaskResult", "createjob", ""])
def test_validate_exchange_flags_an_endpoint_the_api_does_not_have(endpoint: str) -> None:
    [violation] = validate_exchange(endpoint, {}, {"error": True, "message": "Not found."}, status=404)
    assert (violation.endpoint, violation.keyword, violation.path) == (endpoint, "endpoint", "$")
    assert violation.found == f"{json.dumps(endpoint)} (answered HTTP 404)"
    assert "createJob, getJobResult, getBalance or getService" in violation.expected


# A whole file


def write_lines(path: Path, *records: Any) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_validate_file_locates_each_violation(tmp_path: Path) -> None:
    good = {
        "endpoint": "getJobResult",
        "request": {"api_token": "t", "job_id": 1},
        "response": {"error": True, "message": "Job 1 not found."},
        "status": 200,
    }
    bad = {**good, "request": {"api_token": "t", "job_id": "1"}}
    file = write_lines(tmp_path / "run.jsonl", good, bad, good)
    [violation] = validate_file(file)
    assert (violation.file, violation.line, violation.path) == (str(file), 2, "$.job_id")
    with pytest.raises(ContractError, match=r"run\.jsonl:2: getJobResult request \$\.job_id"):
        assert_valid_file(file)
    assert_valid_file(write_lines(tmp_path / "clean.jsonl", good, good))


def test_validate_file_raises_for_unreadable_input(tmp_path: Path) -> None:
    with pytest.raises(UnreadableInput, match="cannot read it"):
        validate_file(tmp_path / "missing.jsonl")
    (tmp_path / "bad.jsonl").write_text('{"endpoint": "createJob"}\n', encoding="utf-8")
    with pytest.raises(UnreadableInput) as raised:
        validate_file(tmp_path / "bad.jsonl")
    assert (raised.value.line, str(raised.value)) == (
        1,
        f"{tmp_path / 'bad.jsonl'}:1: not an exchange: request and response missing (an exchange has "
        "endpoint, request and response; status, time and type_job_id are optional)",
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (123456, 123456),
        (123456.0, 123456),
        ("123456", 123456),
        (1.5, None),
        ("12a", None),
        ("١٢٣", None),
        (True, None),
        (None, None),
        ([1], None),
    ],
)
def test_job_id_as_int_reads_what_the_fake_reads(value: object, expected: int | None) -> None:
    from omofake.contract import job_id_as_int

    assert job_id_as_int(value) == expected


def test_a_poll_with_a_whole_float_job_id_is_checked_against_its_jobs_type(tmp_path: Path) -> None:
    from omofake.contract.exchanges import check_file

    lines = [
        {
            "endpoint": "createJob",
            "request": {"api_token": "t", "data": {"type_job_id": "26", "image_base64": "QUFB|QUFB"}},
            "response": {"error": False, "job_id": 123456, "message": "Create job success."},
        },
        {
            "endpoint": "getJobResult",
            "request": {"api_token": "t", "job_id": 123456.0},
            "response": {"error": False, "status": "running", "result": None},
        },
    ]
    path = tmp_path / "float.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    _, poll = check_file(path)
    # Type 26 answers "" while running, so null is caught only when the type was learned.
    assert poll.type_job_id == "26"
    assert [v.path for v in poll.violations] == ["$.result"]
