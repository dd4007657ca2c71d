"""The control API under ``/_omofake/``, over real HTTP on 127.0.0.1, with several client libraries."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
from openapi_spec_validator import validate

from omofake import Exchange, FakeServer, ManualClock, Violation, __version__
from omofake.core.behaviour import Behaviour
from omofake.core.jobs import Job, JobStore
from omofake.core.journal import record_line
from omofake.dialects.v2.tasks import TASK_CLASSES
from omofake.http.control import TOKEN_HEADER

from .controlcalls import CALLERS, Caller, control
from .helpers import TOKEN, Poster, create_body
from .test_v2_http import task_of


@pytest.fixture(params=sorted(CALLERS))
def call(request: pytest.FixtureRequest) -> Caller:
    """Call with each client library in turn: requests, httpx and urllib."""
    return CALLERS[request.param]


@pytest.fixture(scope="module")
def manual_server() -> Iterator[FakeServer]:
    with FakeServer(clock=ManualClock()) as server:
        yield server


@pytest.fixture
def clocked(manual_server: FakeServer) -> FakeServer:
    manual_server.reset()
    return manual_server


def api(server: FakeServer, endpoint: str, body: Any) -> dict[str, Any]:
    answer = requests.post(f"{server.api_url}/{endpoint}", json=body, timeout=10)
    result: dict[str, Any] = answer.json()
    return result


def poll(server: FakeServer, job_id: int) -> dict[str, Any]:
    return api(server, "getJobResult", {"api_token": TOKEN, "job_id": job_id})


def python_error(server: FakeServer, **settings: Any) -> BaseException:
    """What ``server.configure(**settings)`` raises in Python."""
    with pytest.raises((TypeError, ValueError)) as caught:
        server.configure(**settings)
    server.reset()
    return caught.value


# health


def test_health_says_what_the_server_is(server: FakeServer, call: Caller) -> None:
    api(server, "createJob", create_body())
    status, body, _ = call("GET", f"{server.url}/_omofake/health")
    assert status == 200
    assert body == {
        "status": "ok",
        "version": __version__,
        "dialects": ["v1", "v2"],
        "jobs": 1,
        "requests": 1,
        "requests_total": body["requests_total"],
        "clock": "monotonic",
        "strict": False,
        "control_token": False,
    }
    assert body["requests_total"] >= 1


def test_health_of_a_manual_clock(clocked: FakeServer) -> None:
    assert control(clocked.url, "GET", "health")[1]["clock"] == "manual"


# configure


def test_configure_an_object_changes_what_the_api_answers(server: FakeServer, post: Poster) -> None:
    status, answer = post(f"{server.url}/_omofake/configure", {"outcome": "fail", "running_polls": 1})
    assert (status, answer) == (200, {"ok": True})
    job_id = api(server, "createJob", create_body())["job_id"]
    assert [poll(server, job_id)["status"] for _ in range(2)] == ["running", "fail"]


def test_configure_scopes_job_type_and_times(server: FakeServer, post: Poster) -> None:
    assert post(f"{server.url}/_omofake/configure", {"job_type": 23, "outcome": "fail", "times": 1})[0] == 200
    other = api(server, "createJob", create_body("30"))["job_id"]
    first, second = (api(server, "createJob", create_body("23"))["job_id"] for _ in range(2))
    assert [poll(server, j)["status"] for j in (other, first, second)] == ["success", "fail", "success"]


def test_configure_scopes_a_token(server: FakeServer, call: Caller) -> None:
    settings = {"token": "token-of-ci-17", "outcome": "fail"}
    assert call("POST", f"{server.url}/_omofake/configure", settings)[0] == 200
    theirs = api(server, "createJob", create_body() | {"api_token": "token-of-ci-17"})["job_id"]
    mine = api(server, "createJob", create_body())["job_id"]
    assert [poll(server, job)["status"] for job in (theirs, mine)] == ["fail", "success"]


def test_configure_a_list_applies_in_order(server: FakeServer, call: Caller) -> None:
    calls = [{"outcome": "fail"}, {"outcome": None, "running_polls": 1}]
    assert call("POST", f"{server.url}/_omofake/configure", calls)[:2] == (200, {"ok": True})
    job_id = api(server, "createJob", create_body())["job_id"]
    assert [poll(server, job_id)["status"] for _ in range(2)] == ["running", "success"]


@pytest.mark.parametrize(
    "settings",
    [
        {"outcom": "fail"},
        {"outcome": "maybe"},
        {"running_polls": -1},
        {"tokens": "abc"},
        {"seed": 1, "times": 2},
    ],
)
def test_a_bad_setting_is_a_400_with_the_python_message(
    server: FakeServer, call: Caller, settings: dict[str, Any]
) -> None:
    expected = python_error(server, **settings)
    status, body, _ = call("POST", f"{server.url}/_omofake/configure", settings)
    assert status == 400
    assert body == {"error": True, "message": str(expected), "exception": type(expected).__name__}
    assert call("GET", f"{server.url}/_omofake/health")[0] == 200  # still serving


def test_a_list_is_all_or_nothing_and_names_the_bad_call(server: FakeServer) -> None:
    expected = python_error(server, result_latency=(3, 1))
    status, body, _ = control(
        server.url, "POST", "configure", [{"outcome": "fail"}, {"result_latency": [3, 1]}]
    )
    assert status == 400
    assert body == {"error": True, "message": str(expected), "exception": "ValueError", "index": 1}
    job_id = api(server, "createJob", create_body())["job_id"]
    assert poll(server, job_id)["status"] == "success"  # the first call was not applied either


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            b"{bad",
            "the body is not JSON: Expecting property name enclosed in double quotes (line 1, column 2)",
        ),
        (b"", "/_omofake/configure needs a JSON body"),
        (b"\xff\xfe", "the body is not UTF-8 text (byte 0)"),
        (b'{"latency": NaN}', "the body is not JSON: NaN is not a JSON value"),
        (
            b"3",
            'configure takes a JSON object of settings, such as {"outcome": "fail"}, or a list of them, not 3',
        ),
        (
            b'["x"]',
            "configure[0] must be a dict of configure settings, such as {'outcome': 'fail', 'times': 1}, not 'x'",
        ),
    ],
)
def test_a_bad_body_is_a_400_with_a_clear_message(
    server: FakeServer, call: Caller, raw: bytes, message: str
) -> None:
    status, body, _ = call("POST", f"{server.url}/_omofake/configure", raw)
    assert status == 400
    assert body["error"] is True and body["message"] == message
    assert "Traceback" not in json.dumps(body)


# reset


def test_reset_forgets_jobs_requests_and_settings(server: FakeServer, call: Caller) -> None:
    server.configure(outcome="fail")
    api(server, "createJob", create_body())
    assert call("POST", f"{server.url}/_omofake/reset")[:2] == (200, {"ok": True})
    assert len(server.jobs) == 0 and len(server.requests) == 0
    job_id = api(server, "createJob", create_body())["job_id"]
    assert poll(server, job_id)["status"] == "success"
    assert call("POST", f"{server.url}/_omofake/reset", {})[0] == 200


def test_reset_with_a_bad_body(server: FakeServer) -> None:
    for body in ([], {"tokn": "x"}, {"token": 3}, {"token": ""}):
        status, answer, _ = control(server.url, "POST", "reset", body)
        assert status == 400 and answer["error"] is True, body


def test_reset_by_token_keeps_other_tokens_jobs(server: FakeServer) -> None:
    mine = api(server, "createJob", create_body() | {"api_token": "token-mine-1"})["job_id"]
    theirs = api(server, "createJob", create_body() | {"api_token": "token-theirs"})["job_id"]
    assert control(server.url, "POST", "reset", {"token": "token-mine-1"})[0] == 200
    assert mine not in server.jobs and theirs in server.jobs
    left = control(server.url, "GET", "requests")[1]["requests"]
    assert [item["token"] for item in left] == ["token-theirs"]


# requests


def test_requests_is_the_journal_losslessly(server: FakeServer, call: Caller) -> None:
    job_id = api(server, "createJob", create_body("23", type_job_id=23))["job_id"]  # a violation
    poll(server, job_id)
    requests.post(f"{server.url}/api/nowhere", json={}, timeout=10)
    status, body, _ = call("GET", f"{server.url}/_omofake/requests")
    assert status == 200
    exchanges = [Exchange.from_dict(item) for item in body["requests"]]
    assert exchanges == list(server.requests)
    assert (
        len(exchanges) == 3
        and exchanges[0].violations
        and exchanges[0].violations[0].path == "$.data.type_job_id"
    )
    assert body["requests"][0]["request"]["api_token"] == TOKEN  # unmasked


def test_requests_filters(server: FakeServer, call: Caller) -> None:
    first = api(server, "createJob", create_body())["job_id"]
    second = api(server, "createJob", create_body() | {"api_token": "another-token"})["job_id"]
    poll(server, first)
    poll(server, second)
    base = f"{server.url}/_omofake/requests"

    def paths(query: str) -> list[tuple[str | None, int | None]]:
        status, body, _ = call("GET", f"{base}?{query}")
        assert status == 200, body
        return [(item["endpoint"], item["job_id"]) for item in body["requests"]]

    assert paths("endpoint=createJob") == [("createJob", first), ("createJob", second)]
    assert paths(f"job={second}") == [("createJob", second), ("getJobResult", second)]
    assert paths("token=another-token") == [("createJob", second)]
    assert paths(f"endpoint=getJobResult&job={first}") == [("getJobResult", first)]
    assert paths("endpoint=getBalance") == []
    assert len(paths("endpoint=&job=&token=")) == 4  # empty filters filter nothing


def test_requests_with_a_bad_filter(server: FakeServer) -> None:
    status, body, _ = control(server.url, "GET", "requests?jobs=1")
    assert (
        status == 400
        and body["message"] == "unknown filter(s) jobs on /_omofake/requests; known: endpoint, job, token"
    )
    status, body, _ = control(server.url, "GET", "requests?job=abc")
    assert status == 400 and body["message"] == "a job id is a whole number, not 'abc'"


def test_control_calls_are_never_journaled_nor_recorded(tmp_path: Path) -> None:
    record = tmp_path / "exchanges.jsonl"
    with FakeServer(record=record) as server:
        api(server, "createJob", create_body())
        for method, name, body in [
            ("GET", "health", None),
            ("POST", "configure", {"running_polls": 0}),
            ("GET", "requests", None),
            ("GET", "jobs", None),
            ("GET", "clock", None),
            ("GET", "nowhere", None),
            ("DELETE", "health", None),
            ("POST", "configure", "{bad"),
        ]:
            control(server.url, method, name, body.encode() if isinstance(body, str) else body)
        assert [e.path for e in server.requests] == ["/api/createJob"]
        assert server.journal.total == 1
    lines = record.read_text("utf-8").splitlines()
    assert [json.loads(line)["endpoint"] for line in lines] == ["createJob"]


# jobs


def test_jobs_lists_every_job_with_filters(server: FakeServer, call: Caller) -> None:
    server.configure(running_polls=1)
    done, running = (api(server, "createJob", create_body("23"))["job_id"] for _ in range(2))
    poll(server, done)
    poll(server, done)
    status, body, _ = call("GET", f"{server.url}/_omofake/jobs")
    assert status == 200
    assert [job["id"] for job in body["jobs"]] == [done, running]
    job = server.jobs[done]
    assert body["jobs"][0] == {
        "id": done,
        "type_job_id": "23",
        "status": "success",
        "outcome": "success",
        "polls": 2,
        "result": job.result,
        "planned_result": job.planned_result,
        "input": None,
        "data": {"type_job_id": "23"},
        "token": TOKEN,
        "created_at": job.created_at,
    }
    assert [j["id"] for j in call("GET", f"{server.url}/_omofake/jobs?status=running")[1]["jobs"]] == [
        running
    ]
    assert [j["id"] for j in call("GET", f"{server.url}/_omofake/jobs?status=success")[1]["jobs"]] == [done]
    status, body, _ = call("GET", f"{server.url}/_omofake/jobs?status=done")
    assert (status, body["message"]) == (400, "status must be one of running, success, fail, not 'done'")


@pytest.mark.skipif(
    "token" not in {f.name for f in dataclasses.fields(Job)}, reason="Job.token lands with faults"
)
def test_jobs_filter_by_token(server: FakeServer) -> None:
    api(server, "createJob", create_body())
    theirs = api(server, "createJob", create_body() | {"api_token": "another-token"})["job_id"]
    assert [j["id"] for j in control(server.url, "GET", "jobs?token=another-token")[1]["jobs"]] == [theirs]


def test_one_job_and_unknown_ones(server: FakeServer, call: Caller) -> None:
    job_id = api(server, "createJob", create_body())["job_id"]
    status, body, _ = call("GET", f"{server.url}/_omofake/jobs/{job_id}")
    assert status == 200 and body["id"] == job_id and body["status"] == "running"
    for wrong in (str(job_id + 1), "abc", "-1"):
        status, body, _ = call("GET", f"{server.url}/_omofake/jobs/{wrong}")
        assert status == 404 and body["error"] is True, wrong


@pytest.mark.parametrize("dialect", ["v1", "v2"])
def test_forcing_a_job_is_what_polls_then_answer(server: FakeServer, call: Caller, dialect: str) -> None:
    server.configure(running_polls=100)
    if dialect == "v1":
        job_id = api(server, "createJob", create_body("23"))["job_id"]
    else:
        task = {"clientKey": TOKEN, "task": task_of(TASK_CLASSES["ImageToTextTask"])}
        task_id = requests.post(f"{server.v2_url}/createTask", json=task, timeout=10).json()["taskId"]
        job_id = next(iter(server.jobs))
    status, body, _ = call(
        "POST", f"{server.url}/_omofake/jobs/{job_id}", {"status": "success", "result": "77"}
    )
    assert status == 200 and (body["status"], body["result"]) == ("success", "77")
    if dialect == "v1":
        assert poll(server, job_id) == {"error": False, "status": "success", "result": "77", "success": True}
    else:
        answer = requests.post(
            f"{server.v2_url}/getTaskResult", json={"clientKey": TOKEN, "taskId": task_id}, timeout=10
        ).json()
        assert answer["status"] == "ready" and answer["solution"] == {"text": "77"}


def test_forcing_fail_and_running(server: FakeServer) -> None:
    job_id = api(server, "createJob", create_body("23"))["job_id"]
    assert control(server.url, "POST", f"jobs/{job_id}", {"status": "fail"})[0] == 200
    assert poll(server, job_id)["status"] == "fail"
    # Forced back to running, it stays so, however often it is polled, until forced again.
    assert control(server.url, "POST", f"jobs/{job_id}", {"status": "running"})[1]["status"] == "running"
    assert [poll(server, job_id)["status"] for _ in range(3)] == ["running"] * 3
    forced = control(server.url, "POST", f"jobs/{job_id}", {"status": "success"})[1]
    assert poll(server, job_id)["result"] == forced["planned_result"] == forced["result"]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"status": "done"}, 400, "status must be 'running', 'success' or 'fail', not 'done'"),
        ({"status": "fail", "result": "x"}, 400, "a result goes with status 'success' only, not with 'fail'"),
        ({"status": "success", "result": ""}, 400, "result must be a non-empty text, not ''"),
        ({"result": "x"}, 400, None),
        ({"status": "success", "extra": 1}, 400, None),
    ],
)
def test_forcing_a_job_wrongly(server: FakeServer, body: Any, status: int, message: str | None) -> None:
    job_id = api(server, "createJob", create_body())["job_id"]
    answer = control(server.url, "POST", f"jobs/{job_id}", body)
    assert answer[0] == status
    if message is not None:
        assert answer[1] == {"error": True, "message": message, "exception": "ValueError"}
    assert server.jobs[job_id].status == "running"


def test_forcing_an_unknown_job_is_a_404(server: FakeServer) -> None:
    status, body, _ = control(server.url, "POST", "jobs/123", {"status": "fail"})
    assert (status, body) == (404, {"error": True, "message": "Job 123 not found."})


# clock


def test_advancing_a_manual_clock_finishes_a_solve_after_job(clocked: FakeServer, call: Caller) -> None:
    clocked.configure(solve_after=30)
    job_id = api(clocked, "createJob", create_body())["job_id"]
    assert poll(clocked, job_id)["status"] == "running"
    start = clocked.service.store.clock.now()  # a reset leaves the clock where it is
    assert call("GET", f"{clocked.url}/_omofake/clock")[1] == {"now": start, "manual": True}
    status, body, _ = call("POST", f"{clocked.url}/_omofake/clock", {"advance": 29.5})
    assert (status, body) == (200, {"now": start + 29.5, "manual": True})
    assert poll(clocked, job_id)["status"] == "running"
    call("POST", f"{clocked.url}/_omofake/clock", {"advance": 0.5})
    assert poll(clocked, job_id)["status"] == "success"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"advance": -1}, "a clock cannot go back"),
        ({"advance": "5"}, 'advance takes a number of seconds, 0 or more, not "5"'),
        ({"advance": True}, "advance takes a number of seconds, 0 or more, not true"),
        (b'{"advance": 1e400}', "advance takes a number of seconds, 0 or more, not Infinity"),
        ({"forward": 1}, 'the clock takes {"advance": seconds}, not {"forward": 1}'),
    ],
)
def test_advancing_wrongly(clocked: FakeServer, body: Any, message: str) -> None:
    start = clocked.service.store.clock.now()
    status, answer, _ = control(clocked.url, "POST", "clock", body)
    assert (status, answer["message"]) == (400, message)
    assert clocked.service.store.clock.now() == start


def test_a_monotonic_clock_cannot_be_advanced(server: FakeServer, call: Caller) -> None:
    status, body, _ = call("GET", f"{server.url}/_omofake/clock")
    assert status == 200 and body["manual"] is False and isinstance(body["now"], float)
    status, body, _ = call("POST", f"{server.url}/_omofake/clock", {"advance": 1})
    assert status == 409
    assert body["message"].startswith("the server's clock is not manual")
    assert "--manual-clock" in body["message"]


# paths, methods, errors


def test_unknown_control_paths_and_wrong_methods(server: FakeServer, call: Caller) -> None:
    paths = ("/_omofake/nowhere", "/_omofake", "/_omofake/", "/_omofake/jobs/1/2", "/_omofake/jobs/")
    # A newline in the path (sent encoded) is still the control API's: its route takes any path.
    for path in (*paths, "/_omofake/a%0Ab"):
        status, body, _ = call("GET", f"{server.url}{path}")
        assert status == 404 and body["error"] is True and body["message"].startswith("no control call"), path
    status, body, headers = call("DELETE", f"{server.url}/_omofake/health")
    assert (status, body["message"], headers["Allow"]) == (
        405,
        "DELETE is not allowed on /_omofake/health: use GET",
        "GET",
    )
    status, body, headers = call("PUT", f"{server.url}/_omofake/jobs/1")
    assert status == 405 and headers["Allow"] == "GET, POST"
    assert len(server.requests) == 0


def test_a_failure_inside_is_a_500_and_the_server_keeps_serving(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(server.service.store, "force", broken)
    job_id = api(server, "createJob", create_body())["job_id"]
    status, body, _ = control(server.url, "POST", f"jobs/{job_id}", {"status": "fail"})
    assert (status, body) == (500, {"error": True, "message": "omofake failed: RuntimeError: disk on fire"})
    assert control(server.url, "GET", "health")[0] == 200


def test_the_control_token_is_required_when_set(call: Caller) -> None:
    with FakeServer(control_token="s3cret-token") as server:
        for path in ("health", "nowhere"):
            status, body, _ = call("GET", f"{server.url}/_omofake/{path}")
            assert (status, body["message"]) == (
                401,
                f"this server's control API needs the header {TOKEN_HEADER}",
            )
        status, body, _ = call("GET", f"{server.url}/_omofake/health", headers={TOKEN_HEADER: "wrong"})
        assert (status, body["message"]) == (401, f"wrong {TOKEN_HEADER}")
        status, body, _ = call(
            "POST", f"{server.url}/_omofake/configure", {"outcome": "fail"}, {TOKEN_HEADER: "s3cret-token"}
        )
        assert status == 200
        assert (
            control(server.url, "GET", "health", **{TOKEN_HEADER: "s3cret-token"})[1]["control_token"] is True
        )
        # The API itself does not need it.
        assert api(server, "createJob", create_body())["error"] is False


def test_without_control_a_control_path_is_an_unknown_path_of_the_api(call: Caller) -> None:
    with FakeServer(control=False) as server:
        assert server.control is None
        status, body, _ = call("GET", f"{server.url}/_omofake/health")
        assert status == 404
        assert body["error"] is True and body["success"] is False
        assert body["message"].startswith(
            "Not found: GET /_omofake/health. The API answers POST /api/createJob"
        )
        assert [e.path for e in server.requests] == ["/_omofake/health"]
    with pytest.raises(ValueError, match="control_token goes with the control API"):
        FakeServer(control=False, control_token="x")
    with pytest.raises(ValueError, match="control_token must be a non-empty text"):
        FakeServer(control_token="")


def test_openapi_json_has_no_control_paths_and_the_control_api_has_its_own(server: FakeServer) -> None:
    document = requests.get(f"{server.url}/openapi.json", timeout=10).json()
    assert not [path for path in document["paths"] if "_omofake" in path]
    status, own, _ = control(server.url, "GET", "openapi.json")
    assert status == 200
    validate(own)
    assert own["servers"][0]["url"] == server.url
    assert {path.rsplit("/", 1)[-1] for path in own["paths"]} >= {
        "health",
        "configure",
        "reset",
        "requests",
        "jobs",
        "{id}",
        "clock",
    }
    assert len(server.requests) == 0


# the core operations under it


def test_an_exchange_round_trips_through_a_dict() -> None:
    violation = Violation(
        "createJob", "request", "$.data.type_job_id", "text", "23", "type", "must be text", "f.jsonl", 3
    )
    exchange = Exchange(
        "createJob",
        "POST",
        "/api/createJob",
        {"api_token": "t", "data": {"n": 1e400, "s": "\u00e9"}},
        {"error": False, "job_id": 5},
        200,
        datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc),
        (violation,),
        5,
        "23",
    )
    data = exchange.to_dict()
    assert data["time"] == "2026-01-02T03:04:05.678901+00:00"
    assert data["violations"][0]["line"] == 3
    assert set(data) == {f.name for f in dataclasses.fields(Exchange)}
    assert Exchange.from_dict(data) == exchange
    assert Exchange.from_dict({**data, "from_a_newer_server": 1}) == exchange
    with pytest.raises(KeyError, match="an exchange needs 'endpoint'"):
        Exchange.from_dict({k: v for k, v in data.items() if k != "endpoint"})
    # Through the wire's strict JSON too (1e400 stays out of range, not Infinity).
    assert math.isinf(Exchange.from_dict(json.loads(record_line(data))).request["data"]["n"])


def test_job_store_force_keeps_eviction_order_right() -> None:
    store = JobStore(seed=1, clock=ManualClock(), max_jobs=2)
    first, second = (store.create("30", Behaviour(), input=None, images=1) for _ in range(2))
    store.force(first.id, "success")
    store.force(first.id, "running")  # no longer finished: not the first to go
    store.force(second.id, "fail")
    store.create("30", Behaviour(), input=None, images=1)
    assert first.id in store and second.id not in store
    with pytest.raises(KeyError):
        store.force(12, "fail")


def test_requests_holding_a_body_too_deep_to_write_back() -> None:
    deep: Any = "x"
    for _ in range(100_000):  # deeper than json's encoder goes on any Python (3.13's passes 3000)
        deep = [deep]
    exchange = Exchange("createJob", "POST", "/api/createJob", deep, {}, 200, datetime.now(timezone.utc))
    with FakeServer(self_check=False) as server:
        server.journal.add(exchange)
        api(server, "createJob", create_body())
        status, body, _ = control(server.url, "GET", "requests")
    assert status == 200
    assert [item["request"] is None for item in body["requests"]] == [True, False]
    assert body["requests"][0]["unrecorded"] == "request nested too deeply"
