"""Behaviour scoped to one token (``configure(token=...)``), the journal by token, and
``reset(token=...)``: through real HTTP on 127.0.0.1 unless the core alone is the point."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from omofake import FakeServer
from omofake.core.behaviour import BehaviourTable

from .helpers import TOKEN, create_body

A, B = "ci-test-17", "ci-test-18"


def create(server: FakeServer, token: str, job_type: str = "30") -> dict[str, Any]:
    body = {**create_body(job_type), "api_token": token}
    answer: dict[str, Any] = requests.post(f"{server.api_url}/createJob", json=body, timeout=10).json()
    return answer


def poll(server: FakeServer, token: str, job_id: int) -> dict[str, Any]:
    body = {"api_token": token, "job_id": job_id}
    answer: dict[str, Any] = requests.post(f"{server.api_url}/getJobResult", json=body, timeout=10).json()
    return answer


def outcome(server: FakeServer, token: str, job_type: str = "30") -> str:
    created = create(server, token, job_type)
    status: str = poll(server, token, created["job_id"])["status"]
    return status


def test_a_token_scope_applies_to_that_tokens_requests_only(server: FakeServer) -> None:
    server.configure(token=A, outcome="fail")
    assert outcome(server, A) == "fail"
    assert outcome(server, B) == "success"
    assert outcome(server, TOKEN) == "success"


def test_precedence_script_then_token_and_type_then_token_then_type_then_global(server: FakeServer) -> None:
    server.configure(running_polls=1)
    server.configure(job_type=23, running_polls=2)
    server.configure(token=A, running_polls=3)
    server.configure(token=A, job_type=23, running_polls=4)

    def polls(token: str, job_type: str) -> int:
        job_id = create(server, token, job_type)["job_id"]
        return server.jobs[job_id].behaviour.running_polls

    assert polls(B, "30") == 1  # global
    assert polls(B, "23") == 2  # the type's
    assert polls(A, "30") == 3  # the token's beats the global
    assert polls(A, "23") == 4  # token and type beat both
    server.configure(token=A, running_polls=5, times=1)
    assert polls(B, "23") == 2  # another token's job leaves the script alone
    assert polls(A, "23") == 5  # the script beats everything, once
    assert polls(A, "23") == 4


def test_a_token_script_waits_for_its_token_and_type(server: FakeServer) -> None:
    server.configure(token=A, job_type=23, outcome="fail", times=1)
    assert outcome(server, A, "30") == "success"
    assert outcome(server, B, "23") == "success"
    assert outcome(server, A, "23") == "fail"
    assert outcome(server, A, "23") == "success"


def test_none_undoes_a_token_setting(server: FakeServer) -> None:
    server.configure(token=A, outcome="fail")
    server.configure(token=A, outcome=None)
    assert outcome(server, A) == "success"


def test_token_scoped_latency_reaches_requests_that_name_no_job(server: FakeServer) -> None:
    server.configure(token=A, create_error="Balance is not enough.")
    assert create(server, A)["message"] == "Balance is not enough."
    assert create(server, B)["error"] is False


def test_job_token_and_the_journal_by_token(server: FakeServer) -> None:
    a_job, b_job = create(server, A)["job_id"], create(server, B)["job_id"]
    poll(server, A, a_job)
    assert server.jobs[a_job].token == A and server.jobs[b_job].token == B
    mine = server.requests.for_token(A)
    assert [e.endpoint for e in mine] == ["createJob", "getJobResult"]
    assert all(e.token == A for e in mine)
    assert mine.create_jobs[0].job_id == a_job  # a snapshot with the usual questions
    assert [e.job_id for e in server.requests.for_token(B)] == [b_job]


def test_the_journal_keeps_the_token_as_sent(server: FakeServer) -> None:
    requests.post(f"{server.api_url}/getBalance", json={"api_token": 12345}, timeout=10)
    requests.post(f"{server.api_url}/getBalance", json={}, timeout=10)
    assert [e.token for e in server.requests] == [12345, None]
    assert len(server.requests.for_token(12345)) == 1


def test_v2_scopes_by_client_key(server: FakeServer) -> None:
    server.configure(token=A, outcome="fail")
    for key, expected in ((A, "fail"), (B, "ready")):
        task = {"type": "ImageToTextTask", "imageBase64": create_body()["data"]["image_base64"]}
        created = requests.post(
            f"{server.v2_url}/createTask", json={"clientKey": key, "task": task}, timeout=10
        ).json()
        result = requests.post(
            f"{server.v2_url}/getTaskResult", json={"clientKey": key, "taskId": created["taskId"]}, timeout=10
        ).json()
        assert result["status"] == expected, result
    assert {job.token for job in server.jobs.values()} == {A, B}
    assert [e.endpoint for e in server.requests.for_token(A)] == ["v2/createTask", "v2/getTaskResult"]


def test_reset_of_one_token_forgets_only_its_settings_jobs_and_requests(server: FakeServer) -> None:
    server.configure(running_polls=1)  # global: kept
    server.configure(token=A, outcome="fail")
    server.configure(token=A, job_type=23, create_error="Balance is not enough.")
    server.configure(token=A, outcome="fail", times=3)
    server.configure(token=B, result="kept")
    a_job, b_job = create(server, A)["job_id"], create(server, B)["job_id"]

    server.reset(token=A)

    assert a_job not in server.jobs and b_job in server.jobs
    assert len(server.requests.for_token(A)) == 0 and len(server.requests.for_token(B)) == 1
    again = create(server, A, "23")
    assert again["error"] is False  # the token+type error is gone
    job = server.jobs[again["job_id"]]
    assert job.outcome == "success"  # and so are its settings and its scripts
    assert job.behaviour.running_polls == 1  # the global setting stays
    assert server.jobs[b_job].planned_result == "kept"
    later = create(server, B)["job_id"]
    assert server.jobs[later].planned_result == "kept"


def test_reset_of_a_token_keeps_other_requests_and_a_global_reset_still_forgets_all(
    server: FakeServer,
) -> None:
    create(server, A)
    create(server, B)
    total = server.journal.total
    server.reset(token=A)
    assert server.journal.total == total  # a count of all ever answered
    assert [e.token for e in server.requests] == [B]
    server.configure(token=B, outcome="fail")
    server.reset()
    assert len(server.requests) == 0 and len(server.jobs) == 0
    assert outcome(server, B) == "success"


def test_balance_with_a_token_sets_that_tokens_balance(server: FakeServer) -> None:
    server.configure(balance="10")
    server.configure(token=A, balance="0.00010")
    balance = requests.post(f"{server.api_url}/getBalance", json={"api_token": A}, timeout=10).json()
    assert balance["balance"] == "0.00010"
    assert create(server, A, "30")["error"] is False  # 30 costs 0.00010
    assert create(server, A, "30")["message"] == "Balance is not enough."
    assert create(server, B, "30")["error"] is False
    other = requests.post(f"{server.api_url}/getBalance", json={"api_token": B}, timeout=10).json()
    assert other["balance"] == "9.99990"
    server.reset(token=A)  # forgets its own amount and what it spent
    back = requests.post(f"{server.api_url}/getBalance", json={"api_token": A}, timeout=10).json()
    assert back["balance"] == "10.00000"


@pytest.mark.parametrize(
    ("knobs", "message"),
    [
        ({"token": A, "seed": 1}, "seed apply to the whole server, not to a token"),
        ({"token": A, "tokens": [A]}, "tokens apply to the whole server, not to a token"),
        ({"token": A, "strict": True, "balance": "1"}, "strict apply to the whole server"),
        ({"token": A, "balance": "1", "times": 1}, "balance apply to the whole server, not to a job_type"),
        ({"token": A, "balance": {"x": "1"}}, "balance with token= must be one amount"),
        ({"token": "", "outcome": "fail"}, "token must be an api token"),
        ({"token": 17, "outcome": "fail"}, "token must be an api token"),
    ],
)
def test_what_a_token_scope_cannot_take_is_a_clear_error(
    server: FakeServer, knobs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        server.configure(**knobs)


def test_a_bad_token_to_reset_is_a_clear_error(server: FakeServer) -> None:
    with pytest.raises(ValueError, match="token must be an api token"):
        server.reset(token="")


def test_the_resolved_cache_stays_bounded_over_thousands_of_tokens() -> None:
    table = BehaviourTable()
    table.set({"running_polls": 2}, token="scoped")
    for number in range(5000):
        assert table.for_new_job("30", f"token-{number}").running_polls == 0
        table.for_unknown_job(f"token-{number}")
    assert table.for_new_job("30", "scoped").running_polls == 2
    # One entry per (type, scoped token or none): the 5,000 unscoped tokens share one.
    assert set(table._resolved) == {("30", None), (None, None), ("30", "scoped")}


def test_the_marker_takes_a_token(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile(
        test_marker_token="""
import pytest
import requests

IMAGE = "aGVsbG8="


def outcome(url, token):
    body = {"api_token": token, "data": {"type_job_id": "30", "image_base64": IMAGE}}
    job_id = requests.post(f"{url}/createJob", json=body, timeout=10).json()["job_id"]
    poll = {"api_token": token, "job_id": job_id}
    return requests.post(f"{url}/getJobResult", json=poll, timeout=10).json()["status"]


@pytest.mark.omofake(token="ci-test-17", outcome="fail")
def test_scoped(omofake_url, omofake_server):
    assert outcome(omofake_url, "ci-test-17") == "fail"
    assert outcome(omofake_url, "someone-else") == "success"


@pytest.mark.omofake(token="ci-test-17", seed=3)
def test_bad_scope(omofake_url):
    pass
"""
    )
    result = pytester.runpytest_subprocess(
        "-p", "pytest_asyncio.plugin", "-p", "omofake", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*seed apply to the whole server, not to a token*"])
