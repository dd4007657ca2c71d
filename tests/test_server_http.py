"""The fake over real HTTP on loopback: both endpoints, every job type, several client libraries."""

from __future__ import annotations

import json
import re

import pytest
import requests

from omofake import FakeServer
from omofake.core.catalogue import CATALOGUE

from .helpers import INPUTS, PNG, RESULT_FORMATS, TOKEN, Poster, create_body

TYPES = sorted(CATALOGUE)


@pytest.mark.parametrize("type_job_id", TYPES)
def test_every_job_type_is_created_and_solved(server: FakeServer, post: Poster, type_job_id: str) -> None:
    status, created = post(f"{server.api_url}/createJob", create_body(type_job_id))
    assert status == 200
    assert created == {
        "error": False,
        "job_id": created["job_id"],
        "message": "Create job success.",
        "success": True,
    }
    assert isinstance(created["job_id"], int) and created["job_id"] > 0

    status, answer = post(f"{server.api_url}/getJobResult", {"api_token": TOKEN, "job_id": created["job_id"]})
    assert status == 200
    assert answer["error"] is False and answer["status"] == "success"
    assert list(answer) == ["error", "status", "result", "success"]
    assert re.fullmatch(RESULT_FORMATS[type_job_id], answer["result"])
    job = server.jobs[created["job_id"]]
    assert (job.type_job_id, job.status, job.result, job.polls) == (
        type_job_id,
        "success",
        answer["result"],
        1,
    )
    assert job.input == INPUTS.get(type_job_id)


def test_job_ids_are_unique_positive_integers(server: FakeServer) -> None:
    ids = [
        requests.post(f"{server.api_url}/createJob", json=create_body(t), timeout=5).json()["job_id"]
        for t in TYPES * 10
    ]
    assert len(set(ids)) == len(ids)
    assert all(isinstance(i, int) and i > 0 for i in ids)


def test_hand_built_json_with_unquoted_job_id(server: FakeServer, post: Poster) -> None:
    # The way a PHP or shell client writes it: a template string, job id pasted in bare.
    body = '{"api_token": "TOKEN", "data": {"type_job_id": "30", "image_base64": "IMAGE"}}'
    _, created = post(f"{server.api_url}/createJob", body.replace("TOKEN", TOKEN).replace("IMAGE", PNG))
    poll = '{"api_token": "TOKEN", "job_id": JOB}'.replace("TOKEN", TOKEN).replace(
        "JOB", str(created["job_id"])
    )
    assert '"job_id": ' + str(created["job_id"]) + "}" in poll
    _, answer = post(f"{server.api_url}/getJobResult", poll)
    assert answer["status"] == "success"


@pytest.mark.parametrize("type_job_id", [23, "23"], ids=["integer", "text"])
def test_type_job_id_as_integer_or_text(server: FakeServer, post: Poster, type_job_id: object) -> None:
    _, created = post(f"{server.api_url}/createJob", create_body("23", type_job_id=type_job_id))
    assert created["error"] is False
    assert server.jobs[created["job_id"]].type_job_id == "23"
    exchange = server.requests.last("createJob")
    # Accepted, but the journal still says it breaks the documented contract.
    assert [v.path for v in exchange.violations] == ([] if type_job_id == "23" else ["$.data.type_job_id"])


def test_job_id_as_text_is_accepted_but_noted(server: FakeServer, post: Poster) -> None:
    _, created = post(f"{server.api_url}/createJob", create_body("30"))
    _, answer = post(f"{server.api_url}/getJobResult", {"api_token": TOKEN, "job_id": str(created["job_id"])})
    assert answer["status"] == "success"
    [violation] = server.requests.last("getJobResult").violations
    assert (violation.path, violation.expected) == ("$.job_id", "a whole number")


def test_strict_mode_requires_the_documented_forms(server: FakeServer, post: Poster) -> None:
    server.configure(strict=True)
    _, answer = post(f"{server.api_url}/createJob", create_body("23", type_job_id=23))
    assert answer == {
        "error": True,
        "message": 'Field data.type_job_id must be text such as "23", not the number 23.',
    }
    _, created = post(f"{server.api_url}/createJob", create_body("23"))
    _, answer = post(f"{server.api_url}/getJobResult", {"api_token": TOKEN, "job_id": str(created["job_id"])})
    assert answer == {
        "error": True,
        "message": f'Field job_id must be a number such as 123456, not the text "{created["job_id"]}".',
    }


def test_type_26_quirks(server: FakeServer, post: Poster) -> None:
    server.configure(job_type=26, running_polls=1, outcome="fail")
    _, created = post(f"{server.api_url}/createJob", create_body("26"))
    poll = {"api_token": TOKEN, "job_id": created["job_id"]}
    assert post(f"{server.api_url}/getJobResult", poll)[1] == {
        "error": False,
        "status": "running",
        "result": "",
        "success": True,
    }
    _, failed = post(f"{server.api_url}/getJobResult", poll)
    assert failed == {"error": False, "status": "fail", "error_code": "", "result": "", "success": True}
    # The order the page shows, and the undocumented success last.
    assert list(failed) == ["error", "status", "error_code", "result", "success"]


@pytest.mark.parametrize("type_job_id", ["13", "14", "23", "30"])
def test_other_types_answer_null_while_running_and_on_fail(server: FakeServer, type_job_id: str) -> None:
    server.configure(running_polls=1, outcome="fail")
    job_id = requests.post(f"{server.api_url}/createJob", json=create_body(type_job_id), timeout=5).json()[
        "job_id"
    ]
    poll = {"api_token": TOKEN, "job_id": job_id}
    answers = [requests.post(f"{server.api_url}/getJobResult", json=poll, timeout=5).json() for _ in range(3)]
    assert answers == [
        {"error": False, "status": "running", "result": None, "success": True},
        {"error": False, "status": "fail", "result": None, "success": True},
        {"error": False, "status": "fail", "result": None, "success": True},
    ]


def test_answers_are_json_with_the_right_content_type(server: FakeServer) -> None:
    answer = requests.post(f"{server.api_url}/createJob", json=create_body(), timeout=5)
    assert answer.headers["Content-Type"].startswith("application/json")
    assert json.loads(answer.content) == answer.json()


def test_journal_records_body_answer_and_job(server: FakeServer) -> None:
    created = requests.post(f"{server.api_url}/createJob", json=create_body("13"), timeout=5).json()
    requests.post(
        f"{server.api_url}/getJobResult", json={"api_token": TOKEN, "job_id": created["job_id"]}, timeout=5
    )
    first, second = server.requests
    assert (first.endpoint, first.request, first.response, first.status) == (
        "createJob",
        create_body("13"),
        created,
        200,
    )
    assert (second.endpoint, second.job_id, second.type_job_id) == ("getJobResult", created["job_id"], "13")
    assert server.requests.polls(created["job_id"]) == 1
    assert server.requests.create_jobs == [first] and server.requests.job_results == [second]
    assert first.to_record()["request"]["api_token"] == "test***"


def test_reset_forgets_jobs_requests_and_configuration(server: FakeServer) -> None:
    server.configure(outcome="fail", tokens=["only-this"])
    requests.post(f"{server.api_url}/createJob", json=create_body(), timeout=5)
    server.reset()
    assert len(server.jobs) == 0 and len(server.requests) == 0
    created = requests.post(f"{server.api_url}/createJob", json=create_body(), timeout=5).json()
    answer = requests.post(
        f"{server.api_url}/getJobResult", json={"api_token": TOKEN, "job_id": created["job_id"]}, timeout=5
    ).json()
    assert answer["status"] == "success"


def test_url_and_repr() -> None:
    server = FakeServer()
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.url
    with server:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.url)
        assert server.api_url == server.url + "/api"
        assert "job(s)" in repr(server)
    assert not server.running
    server.stop()  # twice is fine
