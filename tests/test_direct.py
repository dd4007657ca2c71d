"""Direct answers (:mod:`omofake.http.direct`): the common request answered from
``data_received`` has the bytes, journal and latency of a routed one, and whatever it does not
take (HTTP/1.0, ``Connection: close``, compressed bodies, ``Expect``, query strings, pipelining,
big bodies, transport faults) is still answered, by aiohttp's routes.

Everything goes over real sockets on 127.0.0.1. Which path answered is seen by wrapping
``omofake.http.connections.reply``, the function the connection calls for a direct answer. A
query string on an endpoint's path is routed to the same handler, which gives a routed twin of
each direct request. No test here judges speed: latencies are lower bounds the answer must
respect, and the hang guards are generous socket timeouts.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import re
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from omofake import FakeServer
from omofake.core.behaviour import Fault
from omofake.core.state import NO_FAULTS, FakeState
from omofake.http import app as http_app
from omofake.http import connections, direct
from omofake.http.app import HEAVY_BODY

from .helpers import PNG, TOKEN, body_awaited, create_body, record_routed_sleeps

# A hang guard, not a speed threshold: only a server that never answers reaches it.
GUARD = 20.0


# Raw HTTP


@dataclass
class Answer:
    """One answer as it came on the wire."""

    status_line: str
    #: Every header, in the order sent.
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def status(self) -> int:
        return int(self.status_line.split()[1])

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)

    def json(self) -> Any:
        return json.loads(self.body)


def request(
    path: str,
    body: Any,
    *,
    version: str = "1.1",
    headers: dict[str, str] | None = None,
    host: str = "127.0.0.1",
) -> bytes:
    """The bytes of a POST of ``body`` (a dict as JSON, or bytes as they are)."""
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    lines = [f"POST {path} HTTP/{version}", f"Host: {host}", "Content-Type: application/json"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    lines.append(f"Content-Length: {len(payload)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


class Wire:
    """A client connection that reads answers one at a time, by their Content-Length."""

    def __init__(self, server: FakeServer) -> None:
        self.sock = socket.create_connection((server.host, server.port), timeout=GUARD)
        self._buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _more(self) -> None:
        chunk = self.sock.recv(65536)
        assert chunk, f"the server closed the connection; unread: {self._buffer!r}"
        self._buffer += chunk

    def read(self) -> Answer:
        while b"\r\n\r\n" not in self._buffer:
            self._more()
        head, _, self._buffer = self._buffer.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = [(name, value.strip()) for name, value in (line.split(":", 1) for line in lines)]
        answer = Answer(status_line, headers, b"")
        length = int(answer.header("Content-Length") or 0)
        while len(self._buffer) < length:
            self._more()
        answer.body, self._buffer = self._buffer[:length], self._buffer[length:]
        return answer

    def ask(self, data: bytes) -> Answer:
        self.send(data)
        return self.read()

    def closed_by_server(self) -> bool:
        """Whether the server closes the connection (with nothing more sent) before GUARD."""
        try:
            return self.sock.recv(65536) == b"" and not self._buffer
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.sock.close()


@contextmanager
def wire(server: FakeServer) -> Iterator[Wire]:
    connection = Wire(server)
    try:
        yield connection
    finally:
        connection.close()


def ask(server: FakeServer, data: bytes) -> Answer:
    """One request on a connection of its own."""
    with wire(server) as connection:
        return connection.ask(data)


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Wait for a state the server must reach: a guard against a hang, not a measure of speed."""
    deadline = time.monotonic() + GUARD
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.01)


# Which path answered


@pytest.fixture(scope="module")
def shared_server() -> Iterator[FakeServer]:
    """One seeded server for the module: after a reset, the same request makes the same job."""
    with FakeServer(seed=11) as server:
        yield server


# 1. The same bytes as a routed answer

UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
V2_IMAGE = {"type": "ImageToTextTask", "imageBase64": PNG}


def _created_job(server: FakeServer) -> dict[str, Any]:
    job_id = ask(server, request("/api/createJob", create_body())).json()["job_id"]
    return {"api_token": TOKEN, "job_id": job_id}


def _created_task(server: FakeServer) -> dict[str, Any]:
    created = ask(server, request("/v2/createTask", {"clientKey": TOKEN, "task": V2_IMAGE})).json()
    return {"clientKey": TOKEN, "taskId": created["taskId"]}


def _failing_result(server: FakeServer) -> dict[str, Any]:
    def result(job: Any) -> str:
        raise ValueError("no result today")

    server.configure(result=result)
    return create_body()


# (path, a function of the server that prepares it and gives the body)
SAME_BYTES: dict[str, tuple[str, Callable[[FakeServer], Any]]] = {
    "createJob": ("/api/createJob", lambda server: create_body()),
    "createJob, not JSON": ("/api/createJob", lambda server: b"{not json"),
    "createJob, no token": ("/api/createJob", lambda server: {"data": {"type_job_id": "30"}}),
    "createJob, unknown type": ("/api/createJob", lambda server: create_body(type_job_id="999")),
    "getJobResult": ("/api/getJobResult", _created_job),
    "getJobResult, unknown job": ("/api/getJobResult", lambda server: {"api_token": TOKEN, "job_id": 1}),
    "getBalance": ("/api/getBalance", lambda server: {"api_token": TOKEN}),
    "getService": ("/api/getService", lambda server: {"api_token": TOKEN}),
    "v2 createTask": ("/v2/createTask", lambda server: {"clientKey": TOKEN, "task": V2_IMAGE}),
    "v2 createTask, no image": (
        "/v2/createTask",
        lambda server: {"clientKey": TOKEN, "task": {"type": "ImageToTextTask"}},
    ),
    "v2 getTaskResult": ("/v2/getTaskResult", _created_task),
    "v2 getBalance": ("/v2/getBalance", lambda server: {"clientKey": TOKEN}),
    "v2 getBalance, no key": ("/v2/getBalance", lambda server: {}),
    "500: a result function fails": ("/api/createJob", _failing_result),
}


def _twins(
    server: FakeServer, path: str, prepare: Callable[[FakeServer], Any], directs: list[str]
) -> tuple[Answer, Answer]:
    """The answer to the request answered directly, then routed, each after a reset."""
    answers = []
    for target in (path, f"{path}?routed"):
        server.reset()
        body = prepare(server)
        directs.clear()
        answers.append(ask(server, request(target, body)))
        assert directs == ([path] if target == path else []), f"{target} went the wrong way"
    return answers[0], answers[1]


@pytest.mark.parametrize("case", sorted(SAME_BYTES))
def test_a_direct_answer_has_the_status_headers_and_body_of_the_routed_one(
    server: FakeServer, directs: list[str], case: str
) -> None:
    path, prepare = SAME_BYTES[case]
    answered, routed = _twins(server, path, prepare, directs)
    assert answered.status_line == routed.status_line
    assert [name for name, _ in answered.headers] == [name for name, _ in routed.headers]
    assert [h for h in answered.headers if h[0] != "Date"] == [h for h in routed.headers if h[0] != "Date"]
    # The seed makes the same job after each reset; a v2 task id is a fresh uuid4 each time.
    assert UUID.sub(b"<uuid>", answered.body) == UUID.sub(b"<uuid>", routed.body)
    server.errors.clear()  # the failing result function's, expected here


def test_the_non_200_case_is_one(server: FakeServer, directs: list[str]) -> None:
    """The byte comparison above covers an answer that is not a 200."""
    answered, _ = _twins(server, *SAME_BYTES["500: a result function fails"], directs)
    assert answered.status == 500 and answered.json()["error"] is True
    server.errors.clear()


def test_a_direct_exchange_is_journaled_as_a_routed_one(server: FakeServer, directs: list[str]) -> None:
    journaled = []
    for path in ("/api/createJob", "/api/createJob?routed"):
        server.reset()
        ask(server, request(path, create_body()))
        (exchange,) = server.requests
        journaled.append(exchange)
    answered, routed = journaled
    assert directs == ["/api/createJob"]
    same = ("endpoint", "method", "path", "request", "response", "status", "job_id", "type_job_id", "token")
    assert {name: getattr(answered, name) for name in same} == {name: getattr(routed, name) for name in same}
    assert server.journal.total >= 2


# 2. What is not answered directly is still answered


def _gzip(body: dict[str, Any]) -> bytes:
    return gzip.compress(json.dumps(body).encode())


def test_http_1_0_without_keep_alive_is_routed_and_closed(server: FakeServer, directs: list[str]) -> None:
    with wire(server) as connection:
        answer = connection.ask(request("/api/createJob", create_body(), version="1.0"))
        assert answer.status == 200 and answer.json()["error"] is False
        assert connection.closed_by_server()
    assert directs == []


def test_http_1_0_with_keep_alive_is_routed_and_kept_alive(server: FakeServer, directs: list[str]) -> None:
    data = request("/api/createJob", create_body(), version="1.0", headers={"Connection": "keep-alive"})
    with wire(server) as connection:
        for _ in range(2):
            answer = connection.ask(data)
            assert answer.status == 200 and answer.json()["error"] is False
    assert directs == []
    assert len(server.requests) == 2


def test_connection_close_is_routed_answered_and_closed(server: FakeServer, directs: list[str]) -> None:
    with wire(server) as connection:
        answer = connection.ask(request("/api/createJob", create_body(), headers={"Connection": "close"}))
        assert answer.json()["error"] is False
        assert answer.header("Connection") == "close"
        assert connection.closed_by_server()
    assert directs == []


@pytest.mark.parametrize("encoding", ["gzip", "GZip "])
def test_a_compressed_body_is_routed_and_inflated(
    server: FakeServer, directs: list[str], encoding: str
) -> None:
    data = request("/api/createJob", _gzip(create_body()), headers={"Content-Encoding": encoding})
    assert ask(server, data).json()["error"] is False
    assert directs == []
    assert server.requests[0].request == create_body()


def test_an_identity_content_encoding_is_still_answered_directly(
    server: FakeServer, directs: list[str]
) -> None:
    answer = ask(server, request("/api/createJob", create_body(), headers={"Content-Encoding": "identity"}))
    assert answer.json()["error"] is False
    assert directs == ["/api/createJob"]


def test_expect_100_continue_is_routed_and_answered_after_the_continue(
    server: FakeServer, directs: list[str]
) -> None:
    data = request("/api/createJob", create_body(), headers={"Expect": "100-continue"})
    head, _, body = data.partition(b"\r\n\r\n")
    with wire(server) as connection:
        connection.send(head + b"\r\n\r\n")
        interim = connection.read()
        assert interim.status == 100
        connection.send(body)
        assert connection.read().json()["error"] is False
    assert directs == []


def test_a_query_string_is_routed_to_the_same_endpoint(server: FakeServer, directs: list[str]) -> None:
    answer = ask(server, request("/api/createJob?a=1&b", create_body()))
    assert answer.json()["error"] is False
    assert directs == []
    assert server.requests[0].endpoint == "createJob"


def test_two_requests_pipelined_in_one_packet_are_routed_and_answered_in_order(
    server: FakeServer, directs: list[str]
) -> None:
    with wire(server) as connection:
        connection.send(
            request("/api/createJob", create_body()) + request("/api/getBalance", {"api_token": TOKEN})
        )
        first, second = connection.read(), connection.read()
        assert first.json()["message"] == "Create job success."
        assert "balance" in second.json()
        # The connection goes on, and the next lone request is answered directly again.
        assert connection.ask(request("/api/getBalance", {"api_token": TOKEN})).status == 200
    assert directs == ["/api/getBalance"]
    assert [e.endpoint for e in server.requests] == ["createJob", "getBalance", "getBalance"]


def test_a_body_split_across_two_packets_is_answered(server: FakeServer, directs: list[str]) -> None:
    data = request("/api/createJob", create_body())
    with wire(server) as connection:
        connection.send(data[:-20])
        time.sleep(0.05)  # so that the server most likely reads the two parts apart
        connection.send(data[-20:])
        assert connection.read().json()["error"] is False
        # Whichever way it went, the next request on the connection is direct.
        assert connection.ask(data).json()["error"] is False
    assert directs[-1:] == ["/api/createJob"]
    assert len(server.requests) == 2


def test_a_head_split_across_two_packets_is_answered_directly(server: FakeServer, directs: list[str]) -> None:
    data = request("/api/createJob", create_body())
    cut = data.index(b"\r\n\r\n") - 10
    with wire(server) as connection:
        connection.send(data[:cut])
        time.sleep(0.05)
        connection.send(data[cut:])
        assert connection.read().json()["error"] is False
    assert directs == ["/api/createJob"]


def test_a_body_over_256_kib_is_routed_and_answered(server: FakeServer, directs: list[str]) -> None:
    image = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * (HEAVY_BODY // 256)).decode()
    body = create_body(image_base64=image)
    data = request("/api/createJob", body)
    assert len(json.dumps(body)) > HEAVY_BODY
    with wire(server) as connection:
        assert connection.ask(data).json()["error"] is False
        # A small one after it on the same connection is direct.
        assert connection.ask(request("/api/createJob", create_body())).json()["error"] is False
    assert directs == ["/api/createJob"]


def test_a_body_over_the_server_limit_is_routed_to_its_413() -> None:
    with FakeServer(max_body=1000) as server:
        answer = ask(server, request("/api/createJob", create_body()))
        assert answer.status == 413 and answer.json()["error"] is True
        small = ask(server, request("/api/getBalance", {"api_token": TOKEN}))
        assert small.status == 200


def test_other_methods_and_unknown_paths_are_routed(server: FakeServer, directs: list[str]) -> None:
    assert ask(server, request("/api/nothing", create_body())).status == 404
    assert ask(server, request("/api/createJob/", create_body())).status == 404
    get = b"GET /api/createJob HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
    assert ask(server, get).status == 405
    assert directs == []


# 3. Latency


def test_a_direct_answer_comes_no_earlier_than_its_latency(server: FakeServer, directs: list[str]) -> None:
    server.configure(create_latency=0.3)
    with wire(server) as connection:
        sent = time.monotonic()
        answer = connection.ask(request("/api/createJob", create_body()))
        assert time.monotonic() - sent >= 0.3
    assert answer.json()["error"] is False
    assert directs == ["/api/createJob"]
    assert len(server.requests) == 1


def test_a_request_sent_during_the_wait_is_answered_after_the_first(
    server: FakeServer, directs: list[str]
) -> None:
    server.configure(create_latency=0.3)  # a poll of a job takes the result latency: none
    with wire(server) as connection:
        connection.send(request("/api/createJob", create_body()))
        wait_for(lambda: len(server.jobs) == 1, "the first request is read")
        connection.send(request("/api/getJobResult", {"api_token": TOKEN, "job_id": 1}))
        first, second = connection.read(), connection.read()
    assert first.json()["message"] == "Create job success."
    assert second.json()["message"] == "Job 1 not found."
    assert directs == ["/api/createJob", "/api/getJobResult"]
    assert [e.endpoint for e in server.requests] == ["createJob", "getJobResult"]


LATENCY = 0.5


def test_a_routed_request_sent_during_the_wait_waits_only_the_rest_of_its_latency(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The routed path's behaviour, which the direct path's test below holds it to: a request
    read while the one before it waits has its latency counted from its arrival."""
    waits = record_routed_sleeps(monkeypatch)
    server.configure(create_latency=LATENCY)
    with wire(server) as connection:
        connection.send(request("/api/createJob?routed", create_body()))
        wait_for(lambda: len(waits) == 1, "the first request waits")
        time.sleep(LATENCY / 2)  # well into the wait: the first is late by far less on a busy machine
        connection.send(request("/api/getBalance?routed", {"api_token": TOKEN}))
        connection.read(), connection.read()
    assert len(waits) == 2 and waits[1] < LATENCY, waits


def test_a_request_sent_during_the_wait_counts_its_latency_from_when_it_was_sent(
    server: FakeServer, directs: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a routed request's does (the test above): the second request, sent while the first
    waits, is due its latency after it was sent, not its latency after the first's answer."""
    loop = server._loop
    assert loop is not None
    dues: list[float] = []
    real_call_at = loop.call_at

    def recording_call_at(when: float, callback: Any, *args: Any, **kwargs: Any) -> asyncio.TimerHandle:
        if getattr(callback, "__name__", "") == "_send_directly":
            dues.append(when)
        return real_call_at(when, callback, *args, **kwargs)

    monkeypatch.setattr(loop, "call_at", recording_call_at)
    server.configure(create_latency=LATENCY)
    with wire(server) as connection:
        connection.send(request("/api/createJob", create_body()))
        wait_for(lambda: len(dues) == 1, "the first request waits")
        time.sleep(LATENCY / 2)  # as above
        sent = time.monotonic()  # the loop's clock too
        connection.send(request("/api/getBalance", {"api_token": TOKEN}))
        connection.read(), connection.read()
    assert directs == ["/api/createJob", "/api/getBalance"]
    assert sent < dues[0], "the second request was sent while the first waited"
    assert len(dues) == 2
    # Sent before the first was due, so due less than a latency after it.
    assert dues[1] < dues[0] + LATENCY, f"due {dues[1] - dues[0]:.3f}s after the first"


def test_a_client_that_leaves_during_the_wait_is_journaled_and_the_server_goes_on(
    server: FakeServer, directs: list[str]
) -> None:
    server.configure(create_latency=0.3)
    with wire(server) as connection:
        connection.send(request("/api/createJob", create_body()))
        wait_for(lambda: len(server.jobs) == 1, "the request is read")
    wait_for(lambda: len(server.requests) == 1, "the exchange is journaled at the end of its latency")
    assert server.requests[0].status == 200
    server.configure(create_latency=0)
    assert ask(server, request("/api/createJob", create_body())).json()["error"] is False
    assert directs == ["/api/createJob", "/api/createJob"]


def test_a_latency_longer_than_the_idle_timeout_is_not_cut_by_it(directs: list[str]) -> None:
    with (
        FakeServer(idle_timeout=0.1, header_timeout=600, create_latency=0.3) as server,
        wire(server) as connection,
    ):
        for _ in range(2):
            assert connection.ask(request("/api/createJob", create_body())).json()["error"] is False
    assert directs == ["/api/createJob", "/api/createJob"]


# 4. Keep-alive


def test_a_connection_answered_directly_stays_usable_for_many_requests(
    server: FakeServer, directs: list[str]
) -> None:
    with wire(server) as connection:
        for number in range(50):
            path, body = (
                ("/api/createJob", create_body())
                if number % 2 == 0
                else ("/api/getBalance", {"api_token": TOKEN})
            )
            answer = connection.ask(request(path, body))
            assert answer.status == 200 and answer.json()["error"] is False
            assert answer.header("Connection") is None  # HTTP/1.1's default: kept alive
    assert len(directs) == 50
    assert len(server.requests) == 50


def test_the_idle_timeout_closes_a_connection_after_direct_answers(directs: list[str]) -> None:
    with FakeServer(idle_timeout=0.3, header_timeout=600) as server, wire(server) as connection:
        for _ in range(2):
            assert connection.ask(request("/api/createJob", create_body())).json()["error"] is False
        assert connection.closed_by_server()
    assert directs == ["/api/createJob", "/api/createJob"]


def test_the_header_timeout_still_closes_a_connection_that_sends_half_a_head_after_a_direct_answer(
    directs: list[str],
) -> None:
    with FakeServer(idle_timeout=600, header_timeout=0.3) as server, wire(server) as connection:
        assert connection.ask(request("/api/createJob", create_body())).json()["error"] is False
        connection.send(b"POST /api/createJob HTTP/1.1\r\nHost: x\r\n")
        assert connection.closed_by_server()
    assert directs == ["/api/createJob"]


# 5. Transport faults


def test_with_a_fault_configured_requests_are_routed_and_the_fault_acted_out(
    server: FakeServer, directs: list[str]
) -> None:
    server.configure(fault="bad_gateway")
    answer = ask(server, request("/api/createJob", create_body()))
    assert (
        answer.status == 502
        and answer.header(
            "Content-Type",
        )
        is not None
    )
    assert b"502 Bad Gateway" in answer.body
    server.configure(fault="reset")
    with wire(server) as connection:
        connection.send(request("/api/getBalance", {"api_token": TOKEN}))
        assert connection.closed_by_server()
    assert directs == []
    assert [(e.endpoint, e.fault) for e in server.requests] == [
        ("createJob", "bad_gateway"),
        ("getBalance", "reset"),
    ]
    server.reset()
    assert ask(server, request("/api/createJob", create_body())).json()["error"] is False
    assert directs == ["/api/createJob"]


def test_a_fault_of_one_token_routes_every_request(server: FakeServer, directs: list[str]) -> None:
    """The direct path cannot tell whose request it is before deciding: any fault routes all."""
    server.configure(fault="unavailable", token="someone-else")
    assert ask(server, request("/api/getBalance", {"api_token": TOKEN})).status == 200
    assert directs == []


def test_no_faults_keeps_a_configured_fault_from_a_request() -> None:
    state = FakeState()
    state.configure(fault="reset", times=1)
    marker = NO_FAULTS.set(True)
    try:
        assert state.fault_for("create", "30", TOKEN) is None
        assert state.fault_for("result", "30", TOKEN) is None
    finally:
        NO_FAULTS.reset(marker)
    # Not used up: the next request that may get it gets it, once.
    assert state.fault_for("create", "30", TOKEN) == Fault("reset")
    assert state.fault_for("create", "30", TOKEN) is None


def test_a_fault_configured_while_a_direct_request_is_decided_is_left_for_the_next(
    server: FakeServer, directs: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = direct.decide

    def configure_then_decide(service: Any, endpoint: str, raw: bytes) -> Any:
        server.configure(fault="bad_gateway", times=1)  # after the direct path's check
        return real(service, endpoint, raw)

    monkeypatch.setattr(direct, "decide", configure_then_decide)
    assert ask(server, request("/api/createJob", create_body())).json()["error"] is False
    monkeypatch.setattr(direct, "decide", real)
    assert ask(server, request("/api/createJob", create_body())).status == 502
    assert ask(server, request("/api/createJob", create_body())).status == 200
    assert directs == ["/api/createJob", "/api/createJob"]  # the first and the last
    assert [e.fault for e in server.requests] == [None, "bad_gateway", None]


# 6. A bug answers a 500 in the API's shape, and the server goes on


def test_a_bug_in_deciding_is_a_500_in_the_api_shape_like_the_routed_one(
    server: FakeServer, directs: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(service: Any, endpoint: str, raw: bytes) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(direct, "decide", broken)
    monkeypatch.setattr(http_app, "decide", broken)
    with wire(server) as connection:
        answered = connection.ask(request("/api/createJob", create_body()))
        routed = connection.ask(request("/api/createJob?routed", create_body()))
        v2 = connection.ask(request("/v2/createTask", {"clientKey": TOKEN, "task": V2_IMAGE}))
        monkeypatch.undo()
        # The same connection goes on.
        assert connection.ask(request("/api/createJob", create_body())).json()["error"] is False
    assert answered.status == 500
    assert answered.json() == {
        "error": True,
        "message": "Internal error in omofake: RuntimeError: a bug. Please report it.",
        "success": False,
    }
    assert (answered.status_line, answered.body) == (routed.status_line, routed.body)
    assert [h for h in answered.headers if h[0] != "Date"] == [h for h in routed.headers if h[0] != "Date"]
    assert (
        v2.status == 500
        and v2.json()["errorId"] == 1
        and "RuntimeError: a bug" in v2.json()["errorDescription"]
    )
    assert len(server.requests) == 1, "a request that failed so is not journaled"


def test_a_failing_journal_listener_is_a_500_and_the_server_goes_on(
    server: FakeServer, directs: list[str]
) -> None:
    def failing(exchange: Any) -> None:
        raise OSError("disk full")

    server.journal.listeners.append(failing)
    try:
        with wire(server) as connection:
            answered = connection.ask(request("/api/getBalance", {"api_token": TOKEN}))
            routed = connection.ask(request("/api/getBalance?routed", {"api_token": TOKEN}))
    finally:
        server.journal.listeners.remove(failing)
    assert directs == ["/api/getBalance"]
    assert (answered.status_line, answered.body) == (routed.status_line, routed.body)
    assert answered.status == 500
    assert [h for h in answered.headers if h[0] != "Date"] == [h for h in routed.headers if h[0] != "Date"]
    assert "OSError: disk full" in answered.json()["message"]
    assert ask(server, request("/api/getBalance", {"api_token": TOKEN})).status == 200


# 7. A reset during the latency


@pytest.mark.parametrize("path", ["/api/createJob", "/api/createJob?routed"])
def test_an_exchange_waiting_at_a_reset_is_not_journaled_after_it(
    server: FakeServer, directs: list[str], path: str
) -> None:
    seen: list[Any] = []
    server.journal.listeners.append(seen.append)
    try:
        server.configure(create_latency=0.5)
        total = server.journal.total
        with wire(server) as connection:
            connection.send(request(path, create_body()))
            wait_for(lambda: len(server.jobs) == 1, "the request is read")
            server.reset()
            answer = connection.read()
    finally:
        server.journal.listeners.remove(seen.append)
    assert answer.status == 200
    assert list(server.requests) == [] and seen == []
    assert server.journal.total == total
    assert directs == ([path] if "?" not in path else [])


# 8. Bodies in other framings


def _chunked(path: str, body: dict[str, Any]) -> bytes:
    payload = json.dumps(body).encode()
    half = len(payload) // 2
    chunks = b"".join(
        f"{len(part):x}\r\n".encode() + part + b"\r\n" for part in (payload[:half], payload[half:])
    )
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    return head.encode() + chunks + b"0\r\n\r\n"


def test_a_chunked_body_gets_the_answer_and_journal_entry_of_the_routed_one(
    server: FakeServer, directs: list[str]
) -> None:
    answers, journaled = [], []
    for path in ("/api/createJob", "/api/createJob?routed"):
        server.reset()
        answers.append(ask(server, _chunked(path, create_body())))
        journaled.append(server.requests[0])
    answered, routed = answers
    assert answered.json()["error"] is False
    assert (answered.status_line, answered.body) == (routed.status_line, routed.body)
    assert [h for h in answered.headers if h[0] != "Date"] == [h for h in routed.headers if h[0] != "Date"]
    assert journaled[0].request == journaled[1].request == create_body()
    assert directs == ["/api/createJob"]


def test_an_empty_body_gets_the_answer_of_the_routed_one(server: FakeServer, directs: list[str]) -> None:
    answered = ask(server, request("/api/createJob", b""))
    routed = ask(server, request("/api/createJob?routed", b""))
    assert (answered.status_line, answered.body) == (routed.status_line, routed.body)
    assert answered.json()["error"] is True
    assert directs == ["/api/createJob"]


# 9. Stopping the server with an answer waiting


@pytest.mark.parametrize("path", ["/api/createJob", "/api/createJob?routed"])
def test_stopping_a_thread_server_answers_and_journals_a_request_waiting_its_latency(
    directs: list[str], path: str
) -> None:
    """As aiohttp's graceful shutdown does for a routed request: stop() returns once it is
    answered, journaled (and recorded) by the server that took it."""
    server = FakeServer(create_latency=0.3)
    with server, wire(server) as connection:
        connection.send(request(path, create_body()))
        wait_for(lambda: len(server.jobs) == 1, "the request is read")
        server.stop()
        assert len(server.requests) == 1, "journaled before stop() returned"
        assert connection.read().json()["error"] is False


@pytest.mark.parametrize("path", ["/api/createJob", "/api/createJob?routed"])
def test_stopping_an_async_server_answers_and_journals_a_request_waiting_its_latency(
    directs: list[str], path: str
) -> None:
    async def stop_while_waiting() -> tuple[int, int, bytes]:
        server = FakeServer(create_latency=0.3)
        await server.start_async()
        reader, writer = await asyncio.open_connection(server.host, server.port)
        try:
            writer.write(request(path, create_body()))
            while len(server.jobs) < 1:
                await asyncio.sleep(0.01)
            await server.stop_async()
            at_stop = len(server.requests)
            received = await asyncio.wait_for(reader.read(), GUARD)
            await asyncio.sleep(0.5)  # past the latency: nothing more comes
            return at_stop, len(server.requests), received
        finally:
            writer.close()

    at_stop, later, received = asyncio.run(stop_while_waiting())
    assert b"Create job success." in received
    assert at_stop == later == 1, "journaled before stop_async() returned, and only then"


# Decisions one per loop turn while a latency is configured


def test_turns_do_one_item_per_loop_turn_in_order_and_go_on_after_a_failing_one() -> None:
    """What arrives between two items (a socket read, here a callback) runs between them."""
    from omofake.http.connections import Turns

    order: list[str] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        turns = Turns(loop)

        def first() -> None:
            order.append("first")
            loop.call_soon(order.append, "meanwhile")

        def failing() -> None:
            order.append("failing")
            raise RuntimeError("boom")

        turns.add(first)
        turns.add(failing)
        turns.add(lambda: order.append("last"))
        for _ in range(10):
            await asyncio.sleep(0)

    errors: list[dict[str, Any]] = []

    async def watched() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: errors.append(context))
        await main()

    asyncio.run(watched())
    assert order == ["first", "meanwhile", "failing", "last"]
    assert len(errors) == 1 and isinstance(errors[0]["exception"], RuntimeError)


def test_only_a_configured_latency_makes_direct_requests_wait_a_turn(server: FakeServer) -> None:
    behaviours = server.service.state.behaviours
    assert behaviours.has_latency is False
    server.configure(result_latency=0.01)
    assert behaviours.has_latency is True
    server.configure(result_latency=0)
    assert behaviours.has_latency is False
    server.configure(create_latency=(0.01, 0.02), times=1)  # a script counts too
    assert behaviours.has_latency is True
    server.reset()
    assert behaviours.has_latency is False


# Turning direct answers off


def test_direct_false_routes_every_request_and_answers_the_same(directs: list[str]) -> None:
    """``FakeServer(direct=False)`` (``serve --no-direct``): every request through aiohttp's
    routes, with the same bytes as a server that answers directly (Date aside)."""
    exchanges = [
        request("/api/createJob", create_body()),
        request("/api/getBalance", {"api_token": TOKEN}),
        request("/api/createJob", {"api_token": TOKEN}),
    ]
    answers: dict[bool, list[Answer]] = {}
    for answer_directly in (False, True):
        with FakeServer(seed=11, direct=answer_directly) as each:
            answers[answer_directly] = [ask(each, data) for data in exchanges]
            assert each.app is not None
            assert (connections.direct_routes(each.app) is not None) is answer_directly
    assert directs == ["/api/createJob", "/api/getBalance", "/api/createJob"]  # the second server's only

    def without_date(answer: Answer) -> tuple[str, list[tuple[str, str]], bytes]:
        return answer.status_line, [(k, v) for k, v in answer.headers if k != "Date"], answer.body

    assert [without_date(a) for a in answers[False]] == [without_date(a) for a in answers[True]]


# A body that comes after its head


def test_a_body_slower_than_the_idle_timeout_is_waited_for_and_the_idle_timeout_still_works_after(
    directs: list[str],
) -> None:
    """A head whose body is still coming is no idle connection: aiohttp's keep-alive timer,
    which sees its loop asleep, must not close it (a routed request is not cut either). Once
    answered, the connection is idle again and the timer closes it."""
    data = request("/api/createJob", create_body())
    head = data.index(b"\r\n\r\n") + 4
    with FakeServer(idle_timeout=0.2) as server, wire(server) as connection:
        connection.send(data[: head + 5])
        wait_for(lambda: len(server.jobs) == 0 and body_awaited(server), "the head is read")
        time.sleep(0.6)  # three idle timeouts while the body is on its way
        connection.send(data[head + 5 :])
        assert connection.read().json()["error"] is False
        assert connection.closed_by_server(), "the idle timeout closes it once answered"
    assert directs == ["/api/createJob"]


def test_a_request_pipelined_behind_a_body_that_came_late_is_routed_in_order(
    server: FakeServer, directs: list[str]
) -> None:
    data = request("/api/createJob", create_body())
    head = data.index(b"\r\n\r\n") + 4
    with wire(server) as connection:
        connection.send(data[: head + 5])
        wait_for(lambda: body_awaited(server), "the head is read")
        connection.send(data[head + 5 :] + request("/api/getBalance", {"api_token": TOKEN}))
        assert connection.read().json()["message"] == "Create job success."
        assert "balance" in connection.read().json()
    assert directs == []  # two requests queued at once: aiohttp's loop answers both, in order
    assert [e.endpoint for e in server.requests] == ["createJob", "getBalance"]


def test_an_answer_head_kept_within_a_second_carries_the_date_of_its_second(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Heads are made once per status, type and length, and made again when the Date ticks.
    dates = iter(["Mon, 07 Dec 2026 01:00:00 GMT"] * 2 + ["Mon, 07 Dec 2026 01:00:01 GMT"] * 2)
    monkeypatch.setattr(direct, "rfc822_formatted_time", lambda: next(dates))
    first = direct._head(200, "application/json", 42)
    assert direct._head(200, "application/json", 42) is first  # kept within the second
    later = direct._head(200, "application/json", 42)
    assert later != first and b"Date: Mon, 07 Dec 2026 01:00:01 GMT\r\n" in later
    other = direct._head(500, "application/json; charset=utf-8", 7)
    assert other.startswith(
        b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json; charset=utf-8\r\n"
    )
    assert b"Content-Length: 7\r\n" in other and other.endswith(b"\r\n\r\n")
