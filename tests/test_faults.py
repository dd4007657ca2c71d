"""Transport faults (``configure(fault=...)``) as clients see them, over real HTTP on 127.0.0.1
with several client libraries; their scopes, rates, journal entries and recordings; and the
server serving normally after each."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
import requests

from omofake import FakeServer
from omofake.contract.validation import validate_file
from omofake.core.behaviour import FAULTS, BehaviourTable, Fault, Side
from omofake.http.faults import WIRE_FAULTS

from .helpers import OMOFAKE, PNG, TOKEN, create_body

OTHER = "another-token-4567"


class Seen:
    """What a client library got: a status, headers and the body, as bytes."""

    def __init__(self, status: int, headers: dict[str, str], content: bytes) -> None:
        self.status = status
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.content = content


def via_requests(url: str, body: Any, timeout: float = 10) -> Seen:
    answer = requests.post(url, json=body, timeout=timeout)
    return Seen(answer.status_code, dict(answer.headers), answer.content)


def via_httpx(url: str, body: Any, timeout: float = 10) -> Seen:
    answer = httpx.post(url, json=body, timeout=timeout)
    return Seen(answer.status_code, dict(answer.headers), answer.content)


Send = Callable[..., Seen]
CLIENTS: dict[str, Send] = {"requests": via_requests, "httpx": via_httpx}
#: What each library raises when the connection is reset, or the answer is too slow.
CONNECTION_ERRORS = {"requests": requests.ConnectionError, "httpx": httpx.TransportError}
TIMEOUTS = {"requests": requests.Timeout, "httpx": httpx.TimeoutException}


@pytest.fixture(params=sorted(CLIENTS))
def client(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def create(server: FakeServer, send: Send = via_requests, token: str = TOKEN, job_type: str = "30") -> Seen:
    return send(f"{server.api_url}/createJob", {**create_body(job_type), "api_token": token})


def poll(server: FakeServer, job_id: int, send: Send = via_requests, token: str = TOKEN) -> Seen:
    return send(f"{server.api_url}/getJobResult", {"api_token": token, "job_id": job_id})


def serves_normally(server: FakeServer) -> None:
    created = json.loads(create(server).content)
    assert created["error"] is False
    assert json.loads(poll(server, created["job_id"]).content)["status"] == "success"


# What a client sees, fault by fault


def test_reset_closes_the_connection_without_an_answer(server: FakeServer, client: str) -> None:
    server.configure(fault="reset", times=1)
    with pytest.raises(CONNECTION_ERRORS[client]):
        create(server, CLIENTS[client])
    [exchange] = server.requests
    assert (exchange.fault, exchange.status, exchange.response) == ("reset", 0, {})
    assert len(server.jobs) == 0
    serves_normally(server)


def test_reset_seen_by_aiohttp(server: FakeServer) -> None:
    server.configure(create_fault="reset")

    async def scenario() -> None:
        async with aiohttp.ClientSession() as http:
            with pytest.raises(aiohttp.ClientError):
                async with http.post(f"{server.api_url}/createJob", json=create_body()) as answer:
                    await answer.read()

    asyncio.run(scenario())
    server.configure(create_fault=None)
    serves_normally(server)


def test_empty_is_a_200_with_no_body_and_a_closed_connection(server: FakeServer, client: str) -> None:
    server.configure(fault="empty", times=1)
    seen = create(server, CLIENTS[client])
    assert (seen.status, seen.content) == (200, b"")
    assert seen.headers["content-length"] == "0" and seen.headers["connection"] == "close"
    with pytest.raises(json.JSONDecodeError):
        json.loads(seen.content)
    assert server.requests[0].fault == "empty" and server.requests[0].status == 200
    serves_normally(server)


def test_truncated_is_json_cut_mid_way_with_a_matching_length(server: FakeServer, client: str) -> None:
    server.configure(fault="truncated", times=1)
    seen = create(server, CLIENTS[client])
    assert seen.status == 200 and seen.headers["content-type"].startswith("application/json")
    assert int(seen.headers["content-length"]) == len(seen.content) > 0
    assert seen.content.startswith(b'{"error": true, "message": "')
    with pytest.raises(json.JSONDecodeError):
        json.loads(seen.content)
    assert server.requests[0].fault == "truncated" and server.requests[0].response == {}
    serves_normally(server)


def test_bad_gateway_is_the_html_page_a_cdn_sends(server: FakeServer, client: str) -> None:
    server.configure(fault="bad_gateway", times=1)
    seen = create(server, CLIENTS[client])
    assert seen.status == 502 and seen.headers["content-type"].startswith("text/html")
    assert b"<title>502 Bad Gateway</title>" in seen.content
    assert "retry-after" not in seen.headers
    serves_normally(server)


@pytest.mark.parametrize(("fault", "status"), [("unavailable", 503), ("rate_limited", 429)])
def test_unavailable_and_rate_limited_say_when_to_retry(
    server: FakeServer, client: str, fault: str, status: int
) -> None:
    server.configure(fault=fault, times=2)
    seen = create(server, CLIENTS[client])
    assert seen.status == status and seen.headers["retry-after"] == "1"  # the default
    assert seen.headers["content-type"].startswith("text/html") and str(status).encode() in seen.content
    server.configure(fault=None)  # a setting of its own does not touch the script
    server.configure(fault=fault, retry_after=7, times=1)
    assert create(server, CLIENTS[client]).headers["retry-after"] == "1"  # the first script first
    assert create(server, CLIENTS[client]).headers["retry-after"] == "7"
    assert [e.status for e in server.requests] == [status] * 3
    serves_normally(server)


def test_hang_answers_for_real_after_hang_seconds(server: FakeServer, client: str) -> None:
    server.configure(fault="hang", hang_seconds=0.2, times=1)
    seen = create(server, CLIENTS[client])
    answer = json.loads(seen.content)
    assert seen.status == 200 and answer["error"] is False
    [exchange] = server.requests
    assert exchange.fault == "hang" and exchange.response == answer  # the real answer, sent late
    assert answer["job_id"] in server.jobs


def test_a_client_that_gives_up_on_a_hang_times_out(server: FakeServer, client: str) -> None:
    server.configure(result_fault="hang", hang_seconds=0.2)
    job_id = json.loads(create(server).content)["job_id"]
    with pytest.raises(TIMEOUTS[client]):
        poll(server, job_id, lambda url, body: CLIENTS[client](url, body, timeout=0.05))
    server.configure(result_fault=None)
    assert json.loads(poll(server, job_id).content)["status"] == "success"


def test_stopping_the_server_does_not_wait_for_a_hang() -> None:
    server = FakeServer(fault="hang", hang_seconds=600).start()
    seen: list[BaseException | Seen] = []

    def client() -> None:
        try:
            seen.append(create(server, lambda url, body: via_requests(url, body, timeout=900)))
        except requests.RequestException as exc:
            seen.append(exc)

    thread = threading.Thread(target=client)
    thread.start()
    for _ in range(1000):  # the job is made before the hang: then the request is in it
        if server.jobs:
            break
        time.sleep(0.01)
    assert server.jobs and not server.requests  # hanging, not yet answered
    server.stop()
    thread.join()
    # Stopped with the hang still to run: the client is cut off, with no answer.
    assert isinstance(seen[0], requests.ConnectionError)


# What a faulted request does not do


def test_a_create_fault_makes_no_job_and_charges_nothing(server: FakeServer) -> None:
    server.configure(balance="0.00010", create_fault="bad_gateway")
    for _ in range(3):
        assert create(server).status == 502
    assert len(server.jobs) == 0
    server.configure(create_fault=None)
    balance = json.loads(via_requests(f"{server.api_url}/getBalance", {"api_token": TOKEN}).content)
    assert balance["balance"] == "0.00010"


def test_the_retry_story_two_polls_fault_the_third_succeeds(server: FakeServer, client: str) -> None:
    send = CLIENTS[client]
    job_id = json.loads(create(server, send).content)["job_id"]
    server.configure(result_fault="unavailable", times=2)
    assert [poll(server, job_id, send).status for _ in range(2)] == [503, 503]
    assert server.jobs[job_id].polls == 0  # a faulted poll is no poll
    third = json.loads(poll(server, job_id, send).content)
    assert third["status"] == "success" and server.jobs[job_id].polls == 1
    assert [e.fault for e in server.requests] == [None, "unavailable", "unavailable", None]
    assert [e.job_id for e in server.requests.job_results] == [job_id] * 3


def test_a_result_fault_set_after_the_job_was_made_still_hits_its_polls(server: FakeServer) -> None:
    job_id = json.loads(create(server).content)["job_id"]
    server.configure(result_fault="empty")
    assert poll(server, job_id).content == b""
    assert json.loads(create(server).content)["error"] is False  # the create side is not hit


def test_requests_that_name_no_job_are_on_the_create_side(server: FakeServer) -> None:
    server.configure(create_fault="rate_limited")
    assert via_requests(f"{server.api_url}/getBalance", {"api_token": TOKEN}).status == 429
    assert via_requests(f"{server.api_url}/getService", {"api_token": TOKEN}).status == 429
    assert requests.get(f"{server.url}/api/getServicePrice?type=service", timeout=10).status_code == 429


def test_a_malformed_request_gets_its_error_not_the_fault(server: FakeServer) -> None:
    server.configure(fault="reset")
    answer = json.loads(via_requests(f"{server.api_url}/createJob", {"api_token": TOKEN}).content)
    assert answer["error"] is True and server.requests[0].fault is None


# Scopes, times and rates


def test_a_fault_scoped_to_a_job_type(server: FakeServer) -> None:
    server.configure(job_type=23, create_fault="bad_gateway")
    assert create(server, job_type="23").status == 502
    assert create(server, job_type="30").status == 200


def test_a_fault_scoped_to_a_token(server: FakeServer, client: str) -> None:
    send = CLIENTS[client]
    server.configure(token=OTHER, fault="unavailable")
    assert create(server, send, token=OTHER).status == 503
    mine = json.loads(create(server, send).content)
    assert mine["error"] is False and poll(server, mine["job_id"], send, token=OTHER).status == 503
    assert poll(server, mine["job_id"], send).status == 200
    assert [e.fault for e in server.requests.for_token(OTHER)] == ["unavailable", "unavailable"]


def test_a_fault_script_counts_faulted_requests_of_its_scope(server: FakeServer) -> None:
    server.configure(token=OTHER, job_type=23, create_fault="empty", times=2)
    assert create(server, job_type="23").status == 200  # another token: no fault, nothing used up
    assert create(server, token=OTHER, job_type="30").content != b""  # another type
    assert [create(server, token=OTHER, job_type="23").content for _ in range(3)][:2] == [b"", b""]
    assert [e.fault for e in server.requests] == [None, None, "empty", "empty", None]


def test_fault_rate_draws_from_the_seeded_source() -> None:
    def pattern() -> list[int]:
        with FakeServer(seed=11, create_fault="unavailable", fault_rate=0.5) as server:
            return [
                via_requests(f"{server.api_url}/getBalance", {"api_token": TOKEN}).status for _ in range(16)
            ]

    first = pattern()
    assert set(first) == {200, 503}
    assert pattern() == first


def test_fault_rate_with_times_uses_up_only_what_faults(server: FakeServer) -> None:
    server.configure(seed=4)
    server.configure(create_fault="unavailable", fault_rate=0.5, times=3)
    statuses = [via_requests(f"{server.api_url}/getBalance", {"api_token": TOKEN}).status for _ in range(40)]
    assert statuses.count(503) == 3 and statuses.count(200) == 37


def test_fault_layers_resolve_nearest_first() -> None:
    table = BehaviourTable()

    def fault(side: Side, job_type: str | None, token: str | None) -> Fault | None:
        return table.fault_for(side, job_type, token, lambda rate: rate >= 1)

    table.set({"fault": "empty"})
    table.set({"create_fault": "bad_gateway"}, job_type=23)
    table.set({"create_fault": "unavailable", "retry_after": 5}, token="t")
    table.set({"create_fault": "rate_limited"}, token="t", job_type=23)
    assert fault("create", "30", "x") == Fault("empty")
    assert fault("create", "23", "x") == Fault("bad_gateway")
    assert fault("create", None, "t") == Fault("unavailable", retry_after=5)
    assert fault("create", "23", "t") == Fault("rate_limited", retry_after=5)
    assert fault("result", "23", "t") == Fault("empty", retry_after=5)
    table.set({"create_fault": "hang", "hang_seconds": 0.5}, token="t", times=1)
    assert fault("result", "23", "t") == Fault("empty", retry_after=5)  # not the script's side
    assert fault("create", "30", "t") == Fault("hang", retry_after=5, hang_seconds=0.5)
    assert fault("create", "30", "t") == Fault("unavailable", retry_after=5)
    table.set({"fault": None})
    table.set({"create_fault": None}, job_type=23)
    table.clear("t")
    assert not table.has_faults and fault("create", "23", "t") is None


@pytest.mark.parametrize(
    ("knobs", "error", "message"),
    [
        ({"fault": "timeout"}, ValueError, "fault must be one of 'reset', 'empty'"),
        ({"result_fault": 502}, ValueError, "result_fault must be one of"),
        ({"fault_rate": 1.5}, ValueError, "fault_rate must be between 0 and 1"),
        ({"retry_after": 1.5}, ValueError, "retry_after must be a whole number of seconds"),
        ({"hang_seconds": -1}, ValueError, "hang_seconds must be a number of seconds"),
        (
            {"fault": "reset", "outcome": "fail", "times": 1},
            ValueError,
            "times= counts jobs for fail_rate but faulted requests for create_fault, result_fault: "
            "configure them in separate calls",
        ),
        ({"faults": "reset"}, TypeError, "unknown omofake setting"),
        (
            {"fault_rate": 0.5, "times": 2},
            ValueError,
            "times= with fault_rate counts faulted requests: name the fault too",
        ),
    ],
)
def test_bad_fault_settings_are_clear_errors(
    server: FakeServer, knobs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message.replace("(", r"\(")):
        server.configure(**knobs)


def test_fault_knobs_and_job_knobs_together_without_times(server: FakeServer) -> None:
    server.configure(result_fault="bad_gateway", outcome="fail")
    job_id = json.loads(create(server).content)["job_id"]
    assert poll(server, job_id).status == 502 and server.jobs[job_id].outcome == "fail"


# v2


def test_v2_faults_by_client_key(server: FakeServer, client: str) -> None:
    send = CLIENTS[client]
    server.configure(token=OTHER, create_fault="truncated")
    server.configure(job_type="ImageToTextTask", result_fault="rate_limited", times=1)
    task = {"type": "ImageToTextTask", "imageBase64": PNG}
    cut = send(f"{server.v2_url}/createTask", {"clientKey": OTHER, "task": task})
    assert cut.content.startswith(b'{"errorId": 1, "errorCode": "') and cut.status == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(cut.content)
    created = json.loads(send(f"{server.v2_url}/createTask", {"clientKey": TOKEN, "task": task}).content)
    first = send(f"{server.v2_url}/getTaskResult", {"clientKey": TOKEN, "taskId": created["taskId"]})
    assert first.status == 429 and first.headers["retry-after"] == "1"
    second = send(f"{server.v2_url}/getTaskResult", {"clientKey": TOKEN, "taskId": created["taskId"]})
    assert json.loads(second.content)["status"] == "ready"
    assert [(e.endpoint, e.token, e.fault) for e in server.requests] == [
        ("v2/createTask", OTHER, "truncated"),
        ("v2/createTask", TOKEN, None),
        ("v2/getTaskResult", TOKEN, "rate_limited"),
        ("v2/getTaskResult", TOKEN, None),
    ]
    assert len(server.jobs) == 1


# The journal, the record file and `omofake validate`


def test_every_fault_is_recorded_and_validates(tmp_path: Path) -> None:
    path = tmp_path / "exchanges.jsonl"
    with FakeServer(record=path, seed=1) as server:
        for fault in FAULTS:
            server.configure(fault=fault, hang_seconds=0, times=1)
            with contextlib.suppress(requests.RequestException):  # the reset
                create(server)
        serves_normally(server)
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [line.get("fault") for line in lines] == [*FAULTS, None, None]
    assert "status" not in lines[0]  # a reset sends none
    assert [line["status"] for line in lines[1:6]] == [WIRE_FAULTS[f].status for f in FAULTS[1:6]]
    assert all(line["response"] == {} for line in lines[:6])
    assert lines[0]["request"]["api_token"] == "test***"  # masked, as every line
    assert validate_file(path) == []
    done = subprocess.run([*OMOFAKE, "validate", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all 9 exchanges in 1 file hold to the contract" in done.stdout


def test_validate_still_checks_the_request_of_a_faulted_exchange(tmp_path: Path) -> None:
    path = tmp_path / "faulted.jsonl"
    record = {
        "endpoint": "createJob",
        "request": {"api_token": "x", "data": {"type_job_id": 30, "image_base64": PNG}},
        "response": {},
        "status": 503,
        "fault": "unavailable",
    }
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    [violation] = validate_file(path)
    assert violation.path == "$.data.type_job_id" and violation.direction == "request"
    path.write_text(json.dumps({**record, "fault": 5}) + "\n", encoding="utf-8")
    from omofake.contract.exchanges import UnreadableInput

    with pytest.raises(UnreadableInput, match="fault is a number, not text"):
        validate_file(path)
