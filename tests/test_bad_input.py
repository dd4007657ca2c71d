"""Every bad input gets a clear error in the API's shape, and the server keeps serving."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from omofake import FakeServer

from .helpers import PNG, TOKEN, Poster, create_body

TWO = f"{PNG}|{PNG}"

CREATE_ERRORS: list[tuple[str, Any, str]] = [
    ("empty body", b"", "Request body is not valid JSON."),
    ("not JSON", b"api_token=x&type=13", "Request body is not valid JSON."),
    ("truncated JSON", b'{"api_token": "x", "data": {', "Request body is not valid JSON."),
    ("NaN is not JSON", b'{"api_token": "x", "data": NaN}', "Request body is not valid JSON."),
    ("invalid UTF-8", b'{"api_token": "\xff\xfe"}', "Request body is not valid JSON."),
    ("deep nesting", b"[" * 100_000 + b"]" * 100_000, "Request body is not valid JSON."),
    ("a list", [1, 2], "Request body must be a JSON object."),
    ("a string", '"hello"', "Request body must be a JSON object."),
    ("null", "null", "Request body must be a JSON object."),
    ("no token", {"data": {"type_job_id": "30", "image_base64": PNG}}, "Missing field api_token."),
    ("empty token", {"api_token": "", "data": {}}, "Field api_token must not be empty."),
    ("token a number", {"api_token": 123, "data": {}}, "Field api_token must be text, not the number 123."),
    ("no data", {"api_token": TOKEN}, "Missing field data."),
    ("data a string", {"api_token": TOKEN, "data": "30"}, 'Field data must be an object, not the text "30".'),
    ("data a list", {"api_token": TOKEN, "data": []}, "Field data must be an object, not a list."),
    ("no type", {"api_token": TOKEN, "data": {"image_base64": PNG}}, "Missing field data.type_job_id."),
    (
        "unknown type",
        create_body(type_job_id="99"),
        'Unknown service: data.type_job_id "99" is not one of 1, 2, 3, 11, 13, 14, 21, 22, 23, 24, 25, 26, 30, 31, 33, 41, 43, 44, 45, 47, 48, 52, 55.',
    ),
    (
        "unknown type as number",
        create_body(type_job_id=99),
        'Unknown service: data.type_job_id "99" is not one of 1, 2, 3, 11, 13, 14, 21, 22, 23, 24, 25, 26, 30, 31, 33, 41, 43, 44, 45, 47, 48, 52, 55.',
    ),
    ("type null", create_body(type_job_id=None), "Field data.type_job_id must be text, not null."),
    (
        "type a float",
        create_body(type_job_id=13.5),
        "Field data.type_job_id must be text, not the number 13.5.",
    ),
    (
        "no image",
        {"api_token": TOKEN, "data": {"type_job_id": "30"}},
        "Missing field data.image_base64, required for type_job_id 30.",
    ),
    (
        "image a number",
        create_body(image_base64=5),
        "Field data.image_base64 must be text, not the number 5.",
    ),
    (
        "no input for 13",
        create_body("13", input=None) | {"data": {"type_job_id": "13", "image_base64": PNG}},
        "Missing field data.input, required for type_job_id 13.",
    ),
    (
        "no input for 14",
        {"api_token": TOKEN, "data": {"type_job_id": "14", "image_base64": PNG}},
        "Missing field data.input, required for type_job_id 14.",
    ),
    ("empty input", create_body("14", input=""), "Field data.input must not be empty."),
    (
        "one image for 23",
        create_body("23", image_base64=PNG),
        'Field data.image_base64 must hold 2 images joined by "|" (inner|outer) for type_job_id 23, not 1 image.',
    ),
    (
        "one image for 26",
        create_body("26", image_base64=PNG),
        'Field data.image_base64 must hold 2 images joined by "|" (mask|background) for type_job_id 26, not 1 image.',
    ),
    (
        "two images for 30",
        create_body("30", image_base64=TWO),
        'Field data.image_base64 must hold 1 image for type_job_id 30, not 2 images joined by "|".',
    ),
    (
        "three images for 23",
        create_body("23", image_base64=f"{TWO}|{PNG}"),
        'Field data.image_base64 must hold 2 images joined by "|" (inner|outer) for type_job_id 23, not 3 images joined by "|".',
    ),
    (
        "empty image",
        create_body("30", image_base64=""),
        "Field data.image_base64 is not valid base64 (image 1 of 1).",
    ),
    (
        "empty second image",
        create_body("26", image_base64=f"{PNG}|"),
        "Field data.image_base64 is not valid base64 (image 2 of 2).",
    ),
    (
        "not base64",
        create_body("30", image_base64="not base64!"),
        "Field data.image_base64 is not valid base64 (image 1 of 1).",
    ),
    (
        "missing padding",
        create_body("30", image_base64="aGVsbG8"),
        "Field data.image_base64 is not valid base64 (image 1 of 1).",
    ),
    (
        "data URI",
        create_body("30", image_base64="data:image/png;base64," + PNG),
        "Field data.image_base64 is not valid base64 (image 1 of 1).",
    ),
    (
        "line breaks",
        create_body("30", image_base64=PNG[:76] + "\n" + PNG[76:]),
        "Field data.image_base64 is not valid base64 (image 1 of 1).",
    ),
    (
        "bad second image",
        create_body("23", image_base64=f"{PNG}|@@@@"),
        "Field data.image_base64 is not valid base64 (image 2 of 2).",
    ),
]

RESULT_ERRORS: list[tuple[str, Any, str]] = [
    ("no token", {"job_id": 1}, "Missing field api_token."),
    ("no job id", {"api_token": TOKEN}, "Missing field job_id."),
    (
        "job id text",
        {"api_token": TOKEN, "job_id": "abc"},
        'Field job_id must be a number such as 123456, not the text "abc".',
    ),
    (
        "job id null",
        {"api_token": TOKEN, "job_id": None},
        "Field job_id must be a number such as 123456, not null.",
    ),
    (
        "job id true",
        {"api_token": TOKEN, "job_id": True},
        "Field job_id must be a number such as 123456, not true.",
    ),
    (
        "job id float",
        {"api_token": TOKEN, "job_id": 1.5},
        "Field job_id must be a number such as 123456, not the number 1.5.",
    ),
    (
        "job id object",
        {"api_token": TOKEN, "job_id": {}},
        "Field job_id must be a number such as 123456, not an object.",
    ),
    ("job id zero", {"api_token": TOKEN, "job_id": 0}, "Job 0 not found."),
    ("job id negative", {"api_token": TOKEN, "job_id": -4}, "Job -4 not found."),
    ("unknown job", {"api_token": TOKEN, "job_id": 42}, "Job 42 not found."),
    ("huge job id", {"api_token": TOKEN, "job_id": 10**30}, f"Job {10**30} not found."),
    (
        "unicode digits",
        {"api_token": TOKEN, "job_id": "١٢٣"},
        'Field job_id must be a number such as 123456, not the text "١٢٣".',
    ),
]


def _still_serving(server: FakeServer) -> None:
    created = requests.post(f"{server.api_url}/createJob", json=create_body("30"), timeout=5).json()
    assert created["error"] is False


@pytest.mark.parametrize(
    ("body", "message"), [c[1:] for c in CREATE_ERRORS], ids=[c[0] for c in CREATE_ERRORS]
)
def test_create_job_errors(server: FakeServer, post: Poster, body: Any, message: str) -> None:
    status, answer = post(f"{server.api_url}/createJob", body)
    assert (status, answer) == (200, {"error": True, "message": message, "success": False})
    assert len(server.jobs) == 0
    assert server.requests.last().violations, "a refused request breaks the contract somewhere"
    _still_serving(server)


@pytest.mark.parametrize(
    ("body", "message"), [c[1:] for c in RESULT_ERRORS], ids=[c[0] for c in RESULT_ERRORS]
)
def test_get_job_result_errors(server: FakeServer, post: Poster, body: Any, message: str) -> None:
    status, answer = post(f"{server.api_url}/getJobResult", body)
    assert (status, answer) == (200, {"error": True, "message": message, "success": False})
    _still_serving(server)


def test_token_is_checked_before_the_rest(server: FakeServer) -> None:
    server.configure(tokens=["good-token"])
    bad = {"api_token": "wrong", "data": {"type_job_id": "99"}}
    answer = requests.post(f"{server.api_url}/createJob", json=bad, timeout=5).json()
    assert answer == {"error": True, "message": "Invalid api token.", "success": False}
    answer = requests.post(
        f"{server.api_url}/getJobResult", json={"api_token": "wrong", "job_id": 1}, timeout=5
    ).json()
    assert answer == {"error": True, "message": "Invalid api token.", "success": False}
    good = create_body("30") | {"api_token": "good-token"}
    assert requests.post(f"{server.api_url}/createJob", json=good, timeout=5).json()["error"] is False


def test_unknown_path_is_a_json_404(server: FakeServer, post: Poster) -> None:
    for path in ("/api/createTask", "/api/getTaskResult", "/", "/api/createJob/", "/api/getBalances"):
        status, answer = post(server.url + path, create_body())
        assert status == 404
        assert answer == {
            "error": True,
            "message": f"Not found: POST {path}. The API answers POST /api/createJob, /api/getJobResult, "
            "/api/getBalance and /api/getService.",
            "success": False,
        }
        [violation] = server.requests.last().violations
        assert (violation.endpoint, violation.found) == (path, f"POST {path}")
    _still_serving(server)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_wrong_method_is_a_json_405(server: FakeServer, method: str) -> None:
    answer = requests.request(method, f"{server.api_url}/getJobResult", timeout=5)
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "POST"
    assert answer.json() == {
        "error": True,
        "message": f"Method {method} is not allowed on /api/getJobResult; use POST.",
        "success": False,
    }
    _still_serving(server)


def test_body_over_the_limit_is_a_json_413(post: Poster) -> None:
    with FakeServer(max_body=1024) as server:
        status, answer = post(f"{server.api_url}/createJob", create_body("30", image_base64="QUFB" * 300))
        assert (status, answer) == (
            413,
            {
                "error": True,
                "message": "Request body is larger than the limit of 1024 bytes.",
                "success": False,
            },
        )
        small = create_body("30", image_base64="QUFB")
        assert post(f"{server.api_url}/createJob", small)[1]["error"] is False


def test_default_body_limit_is_20_mib(server: FakeServer) -> None:
    big = "QUFB" * (5 * 1024 * 1024 + 1)  # just over 20 MiB of base64
    answer = requests.post(
        f"{server.api_url}/createJob", json=create_body("30", image_base64=big), timeout=30
    )
    assert answer.status_code == 413
    assert answer.json()["message"] == "Request body is larger than the limit of 20971520 bytes."
    under = "QUFB" * (4 * 1024 * 1024)  # 16 MiB image: accepted
    assert (
        requests.post(
            f"{server.api_url}/createJob", json=create_body("30", image_base64=under), timeout=30
        ).json()["error"]
        is False
    )


WEIRD_BODIES = [
    b"{}",
    b'{"api_token": null, "data": null}',
    b'{"api_token": "t", "data": {"type_job_id": {"$ref": "#"}}}',
    b'{"api_token": "t", "data": {"type_job_id": "13", "input": ["x"], "image_base64": "QUFB"}}',
    b'{"api_token": "t", "job_id": 1e400}',
    b'{"api_token": "t", "job_id": -0.0}',
    b'{"api_token": "\\u0000", "data": {"type_job_id": "\\ud800"}}',
    b'{"api_token": "t", "data": {"type_job_id": "30", "image_base64": "' + b"|" * 10_000 + b'"}}',
    json.dumps({"api_token": "t" * 100_000, "data": {"type_job_id": "2" * 5000}}).encode(),
    '{"api_token": "tôi", "data": {"type_job_id": "30", "image_base64": "ảnh"}}'.encode(),
]


@pytest.mark.parametrize("endpoint", ["createJob", "getJobResult"])
@pytest.mark.parametrize("body", WEIRD_BODIES)
def test_weird_bodies_get_an_api_error_never_a_crash(server: FakeServer, endpoint: str, body: bytes) -> None:
    answer = requests.post(f"{server.api_url}/{endpoint}", data=body, timeout=10)
    assert answer.status_code == 200
    assert answer.json()["error"] is True
    assert answer.json()["message"].endswith(".")
    _still_serving(server)
