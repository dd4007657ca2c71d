"""RemoteServer passes the same behaviour tests as FakeServer.

Every test in the first part runs twice: on an in-process :class:`FakeServer`, and on a
:class:`RemoteServer` steering an ``omofake serve`` subprocess through its control API. Both
run on a manual clock, so timing is stepped, never waited for.
"""

from __future__ import annotations

import http.server
import json
import math
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from omofake import FakeServer, FakeServerLike, JobLike, ManualClock, RemoteServer, RemoteServerError

from .helpers import TOKEN, create_body, serve
from .test_cli_serve import free_port

IMAGE = "aGVsbG8="


@dataclass
class Harness:
    """A server under test, with what only one kind of server does done each its own way."""

    server: FakeServerLike
    advance: Callable[[float], None]
    force: Callable[[int, str, str | None], None]
    remote: bool


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """One ``omofake serve --manual-clock --record FILE`` for the module: its URL and record file."""
    record = tmp_path_factory.mktemp("served") / "exchanges.jsonl"
    with serve("--quiet", "--manual-clock", "--record", str(record)) as (url, _):
        yield url, record


@pytest.fixture(scope="module")
def local_server() -> Iterator[tuple[FakeServer, ManualClock]]:
    clock = ManualClock()
    with FakeServer(clock=clock) as server:
        yield server, clock


@pytest.fixture(params=["FakeServer", "RemoteServer"])
def harness(
    request: pytest.FixtureRequest,
) -> Harness:
    if request.param == "FakeServer":
        server, clock = request.getfixturevalue("local_server")
        server.reset()

        def force_local(job_id: int, status: str, result: str | None) -> None:
            server.service.store.force(job_id, status, result)

        return Harness(server, clock.advance, force_local, remote=False)
    url, _ = request.getfixturevalue("served")
    remote = RemoteServer(url)
    remote.reset()

    def force_remote(job_id: int, status: str, result: str | None) -> None:
        remote.force_job(job_id, status, result)

    return Harness(remote, remote.advance_clock, force_remote, remote=True)


def create(server: FakeServerLike, job_type: str = "30", token: str = TOKEN, **data: Any) -> dict[str, Any]:
    body = create_body(job_type, **data) | {"api_token": token}
    answer: dict[str, Any] = requests.post(f"{server.api_url}/createJob", json=body, timeout=10).json()
    return answer


def poll(server: FakeServerLike, job_id: int, token: str = TOKEN) -> dict[str, Any]:
    body = {"api_token": token, "job_id": job_id}
    answer: dict[str, Any] = requests.post(f"{server.api_url}/getJobResult", json=body, timeout=10).json()
    return answer


def statuses(server: FakeServerLike, job_id: int, n: int, token: str = TOKEN) -> list[str]:
    return [poll(server, job_id, token)["status"] for _ in range(n)]


# The same behaviour, wherever the fake runs


def test_urls(harness: Harness) -> None:
    server = harness.server
    assert isinstance(server, FakeServerLike)  # the protocol typed fixtures use
    assert server.api_url == server.url + "/api" and server.v2_url == server.url + "/v2"
    assert server.url.startswith("http://127.0.0.1:")


def test_running_polls_and_outcome(harness: Harness) -> None:
    harness.server.configure(running_polls=2, outcome="fail")
    job_id = create(harness.server)["job_id"]
    assert statuses(harness.server, job_id, 3) == ["running", "running", "fail"]


def test_times_scripts_the_next_jobs(harness: Harness) -> None:
    harness.server.configure(outcome="fail", times=1)
    first, second = create(harness.server)["job_id"], create(harness.server)["job_id"]
    assert (poll(harness.server, first)["status"], poll(harness.server, second)["status"]) == (
        "fail",
        "success",
    )


def test_job_type_scope_and_fixed_result(harness: Harness) -> None:
    harness.server.configure(job_type=23, result="123")
    harness.server.configure(job_type="ImageToTextTask", outcome="fail")
    rotate, text = create(harness.server, "23")["job_id"], create(harness.server, "30")["job_id"]
    assert poll(harness.server, rotate)["result"] == "123"
    assert poll(harness.server, text)["status"] == "fail"


def test_latency_as_a_range_crosses_as_a_list(harness: Harness) -> None:
    harness.server.configure(latency=(0, 0), tokens={"b-token-123456", TOKEN}, balance="10")
    assert create(harness.server)["error"] is False
    assert create(harness.server, token="unknown-token")["message"] == "Invalid api token."


def test_infinity_and_decimals_cross(harness: Harness) -> None:
    harness.server.configure(solve_after=math.inf, balance=Decimal("0.00020"), prices={30: Decimal("0.0001")})
    job_id = create(harness.server)["job_id"]
    harness.advance(1e9)
    assert poll(harness.server, job_id)["status"] == "running"  # never done
    assert create(harness.server)["error"] is False
    assert create(harness.server)["message"] == "Balance is not enough."


def test_token_scope(harness: Harness) -> None:
    harness.server.configure(token="ci-test-17", outcome="fail")
    mine, theirs = create(harness.server, token="ci-test-17"), create(harness.server)
    assert poll(harness.server, mine["job_id"], "ci-test-17")["status"] == "fail"
    assert poll(harness.server, theirs["job_id"])["status"] == "success"


def test_reset_with_a_token_forgets_only_that_token(harness: Harness) -> None:
    harness.server.configure(token="ci-test-17", outcome="fail")
    harness.server.configure(running_polls=1)
    mine, theirs = create(harness.server, token="ci-test-17")["job_id"], create(harness.server)["job_id"]
    harness.server.reset(token="ci-test-17")
    assert set(harness.server.jobs) == {theirs} and mine not in harness.server.jobs
    assert [e.job_id for e in harness.server.requests] == [theirs]
    job_id = create(harness.server, token="ci-test-17")["job_id"]
    assert statuses(harness.server, job_id, 2, "ci-test-17") == ["running", "success"]


def test_reset_forgets_jobs_requests_and_configuration(harness: Harness) -> None:
    harness.server.configure(outcome="fail", running_polls=3)
    create(harness.server)
    harness.server.reset()
    assert len(harness.server.jobs) == 0 and len(harness.server.requests) == 0
    job_id = create(harness.server)["job_id"]
    assert poll(harness.server, job_id)["status"] == "success"


def test_the_journal(harness: Harness) -> None:
    server = harness.server
    first = create(server, "13", input="panda")["job_id"]
    second = create(server, type_job_id=30)["job_id"]  # a number: accepted, but a violation
    for job_id in (first, first, second):
        poll(server, job_id)
    requests.get(f"{server.api_url}/createJob", timeout=10)

    journal = server.requests
    assert [e.endpoint for e in journal] == [
        "createJob",
        "createJob",
        "getJobResult",
        "getJobResult",
        "getJobResult",
        None,
    ]
    assert [e.job_id for e in journal.create_jobs] == [first, second]
    assert journal.last("createJob").request["data"]["type_job_id"] == 30
    assert journal.create_jobs[0].request["data"]["input"] == "panda"
    assert journal.create_jobs[0].request["api_token"] == TOKEN  # unmasked, as in process
    assert journal.last().status == 405 and journal.last().method == "GET"
    assert (journal.polls(first), journal.polls(second)) == (2, 1)
    assert journal.last("getJobResult").response["status"] == "success"
    assert journal.last("getJobResult").type_job_id == "30"
    [(exchange, type_violation), (_, method_violation)] = journal.violations
    assert exchange.job_id == second
    assert (type_violation.path, type_violation.expected, type_violation.found) == (
        "$.data.type_job_id",
        "text",
        "30",
    )
    assert method_violation.found == "GET /api/createJob"


def test_the_jobs(harness: Harness) -> None:
    harness.server.configure(running_polls=1, result="2|5")
    job_id = create(harness.server, "13", input="panda")["job_id"]
    job = harness.server.jobs[job_id]
    assert (job.id, job.type_job_id, job.status, job.polls, job.done) == (job_id, "13", "running", 0, False)
    assert (job.outcome, job.result, job.input) == ("success", None, "panda")
    statuses(harness.server, job_id, 2)
    job = harness.server.jobs[job_id]
    assert (job.status, job.result, job.polls, job.done) == ("success", "2|5", 2, True)
    assert "image_base64" not in job.data and job.data["input"] == "panda"
    assert list(harness.server.jobs) == [job_id]
    assert isinstance(job, JobLike) and job.token == TOKEN


def test_forcing_a_job(harness: Harness) -> None:
    harness.server.configure(running_polls=100)
    job_id = create(harness.server)["job_id"]
    harness.force(job_id, "success", "forced")
    assert poll(harness.server, job_id) == {
        "error": False,
        "status": "success",
        "result": "forced",
        "success": True,
    }


def test_a_manual_clock(harness: Harness) -> None:
    harness.server.configure(solve_after=30)
    job_id = create(harness.server)["job_id"]
    assert poll(harness.server, job_id)["status"] == "running"
    harness.advance(29)
    assert poll(harness.server, job_id)["status"] == "running"
    harness.advance(1)
    assert poll(harness.server, job_id)["status"] == "success"


def test_errors_is_a_list(harness: Harness) -> None:
    assert list(harness.server.errors) == []


BAD_KNOBS: list[dict[str, Any]] = [
    {"running_pols": 2},
    {"outcome": "maybe"},
    {"outcome": "fail", "fail_rate": 1},
    {"running_polls": -1},
    {"latency": [3, 1]},
    {"job_type": 999},
    {"times": 0, "outcome": "fail"},
    {"tokens": ["ok", ""]},
    {"balance": "0.000001"},
    {"seed": 1, "job_type": 23},
    {"error": ""},
]


@pytest.mark.parametrize("knobs", BAD_KNOBS, ids=lambda knobs: ",".join(knobs))
def test_a_bad_configure_raises_the_same_error_as_in_process(
    knobs: dict[str, Any], local_server: tuple[FakeServer, ManualClock], served: tuple[str, Path]
) -> None:
    local, _ = local_server
    local.reset()
    with pytest.raises((TypeError, ValueError)) as in_process:
        local.configure(**knobs)
    with pytest.raises((TypeError, ValueError)) as over_http:
        RemoteServer(served[0]).configure(**knobs)
    assert type(over_http.value) is type(in_process.value)
    assert str(over_http.value) == str(in_process.value)


# What only a RemoteServer has to say


def test_a_function_cannot_cross_http(served: tuple[str, Path]) -> None:
    with pytest.raises(TypeError, match="functions cannot cross HTTP"):
        RemoteServer(served[0]).configure(result=lambda job: "x")
    with pytest.raises(TypeError, match="configure values cross HTTP as JSON"):
        RemoteServer(served[0]).configure(balance=object())


def test_nan_cannot_cross_http(served: tuple[str, Path]) -> None:
    # JSON has no NaN (1e400 spells infinity, nothing spells NaN): refused before sending.
    with pytest.raises(ValueError, match="NaN cannot be sent to a RemoteServer"):
        RemoteServer(served[0]).configure(latency=[0.0, float("nan")])


def test_health_and_the_api_url_accepted_as_the_url(served: tuple[str, Path]) -> None:
    url, _ = served
    remote = RemoteServer(url + "/api/")
    assert remote.url == url
    health = remote.health()
    assert health["status"] == "ok" and health["clock"] == "manual"
    assert health["dialects"] == ["v1", "v2"]


def test_leaving_the_block_changes_nothing_on_the_server(served: tuple[str, Path]) -> None:
    url, _ = served
    with RemoteServer(url) as remote:
        remote.reset()
        remote.configure(outcome="fail")
        job_id = create(remote)["job_id"]
    assert RemoteServer(url).jobs[job_id].outcome == "fail"
    assert poll(RemoteServer(url), job_id)["status"] == "fail"


def test_requests_filtered_on_the_server(served: tuple[str, Path]) -> None:
    remote = RemoteServer(served[0])
    remote.reset()
    mine, theirs = create(remote, token="ci-test-17")["job_id"], create(remote)["job_id"]
    poll(remote, mine, "ci-test-17")
    assert [e.job_id for e in remote.get_requests(token="ci-test-17")] == [mine, mine]
    assert [e.endpoint for e in remote.get_requests(endpoint="getJobResult")] == ["getJobResult"]
    assert [e.job_id for e in remote.get_requests(job=theirs)] == [theirs]
    assert list(remote.get_jobs(token="ci-test-17")) == [mine]
    assert remote.job(mine).token == "ci-test-17"
    with pytest.raises(KeyError):
        remote.job(1)
    with pytest.raises(KeyError):
        remote.force_job(1, "success")


def test_advance_clock_returns_the_new_reading(served: tuple[str, Path]) -> None:
    remote = RemoteServer(served[0])
    before = remote.clock()
    assert before["manual"] is True
    assert remote.advance_clock(2.5) == before["now"] + 2.5


def test_control_calls_are_never_recorded(served: tuple[str, Path]) -> None:
    url, record = served
    remote = RemoteServer(url)
    remote.reset()
    before = record.read_text(encoding="utf-8")
    remote.health()
    remote.configure(running_polls=1)
    job_id = create(remote)["job_id"]
    remote.force_job(job_id, "fail")
    remote.advance_clock(1)
    list(remote.requests), dict(remote.jobs), remote.clock()
    remote.reset()
    added = record.read_text(encoding="utf-8")[len(before) :].splitlines()
    assert [json.loads(line)["endpoint"] for line in added] == ["createJob"]
    assert "_omofake" not in "".join(added)


def test_proxy_settings_are_ignored(served: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    assert RemoteServer(served[0]).health()["status"] == "ok"


def test_a_server_on_the_real_clock_says_so() -> None:
    with (
        serve("--quiet") as (url, _),
        pytest.raises(RuntimeError, match="is not manual: start it with omofake serve --manual-clock"),
    ):
        RemoteServer(url).advance_clock(1)


# Clear errors when the URL is not a usable omofake


def test_nothing_listening() -> None:
    port = free_port()
    remote = RemoteServer(f"http://127.0.0.1:{port}")
    with pytest.raises(RemoteServerError, match=f"no omofake server answers at http://127.0.0.1:{port}: "):
        remote.reset()
    with pytest.raises(RemoteServerError, match=r"no omofake server answered at .* within 0\.2 s"):
        remote.wait_ready(0.2)


class _NotOmofake(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html>hello</html>" if self.path.startswith("/_omofake/health") else b"{}"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def not_omofake() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotOmofake)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_server_that_is_not_omofake(not_omofake: str) -> None:
    with pytest.raises(
        RemoteServerError, match="is not an omofake server: GET /_omofake/health answered HTTP 200"
    ):
        RemoteServer(not_omofake).configure(outcome="fail")


def test_control_turned_off() -> None:
    with (
        serve("--quiet", "--no-control") as (url, _),
        pytest.raises(RemoteServerError, match=r"has no omofake control API .*--no-control") as found,
    ):
        RemoteServer(url).reset()
    assert found.value.status == 404


def test_a_control_token() -> None:
    with serve("--quiet", "--control-token", "s3cret") as (url, _):
        with pytest.raises(RemoteServerError, match="no control token was given") as missing:
            RemoteServer(url).configure(outcome="fail")
        with pytest.raises(RemoteServerError, match="the control token is wrong"):
            RemoteServer(url, control_token="guess").reset()
        assert missing.value.status == 401
        remote = RemoteServer(url, control_token="s3cret")
        remote.configure(outcome="fail")
        assert poll(remote, create(remote)["job_id"])["status"] == "fail"
