"""Hostile clients of direct answers (:mod:`omofake.http.direct`), over real sockets on 127.0.0.1.

``tests/test_direct.py`` holds direct answers to the bytes, journal and latency of the routed
path for well-behaved clients; ``tests/test_hostile.py`` throws broken HTTP at the routed path.
This module throws it at the connection's own reading: requests trickled a byte at a time or
split anywhere, request smuggling shapes, floods of pipelined requests during a latency,
clients that reset or half-close while their answer waits, hundreds of connections at once,
stopping the server mid-wait, and bodies at the size limits. Each test checks what the client
gets and that the server still answers a normal createJob on a new connection afterwards; the
ones that can log check that nothing is logged as a warning or an error.

No test here judges speed: latencies are lower bounds an answer must respect, and the hang
guards are generous socket timeouts.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import socket
import struct
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from omofake import FakeServer
from omofake.http import connections
from omofake.http.app import DEFAULT_MAX_BODY, HEAVY_BODY

from .helpers import TOKEN, create_body, record_routed_sleeps
from .test_direct import GUARD, Answer, Wire, ask, request, wait_for, wire

# The smallest createJob the fake accepts: a request of under 200 bytes, to split everywhere.
SMALL_CREATE = {"api_token": TOKEN, "data": {"type_job_id": "30", "image_base64": "Z3JpZA=="}}
BALANCE = {"api_token": TOKEN}
JOB_ID = re.compile(rb'"job_id": \d+')


# Helpers


@pytest.fixture
def complaints(caplog: pytest.LogCaptureFixture) -> Iterator[list[logging.LogRecord]]:
    """Warnings and errors logged by any logger (omofake, aiohttp, asyncio's exception handler,
    which the server thread's loop reports through the ``asyncio`` logger) during the test."""
    caplog.set_level(logging.WARNING)
    records: list[logging.LogRecord] = []
    yield records
    records.extend(record for record in caplog.records if record.levelno >= logging.WARNING)


def _still_serving(server: FakeServer) -> None:
    """A normal createJob on a new connection is answered."""
    answer = ask(server, request("/api/createJob", create_body()))
    assert answer.status == 200 and answer.json()["error"] is False, answer


def _same(answer: Answer) -> tuple[str, list[tuple[str, str]], bytes]:
    """What two answers to the same request share: all but the Date and the job id."""
    headers = [(name, value) for name, value in answer.headers if name != "Date"]
    return answer.status_line, headers, JOB_ID.sub(b'"job_id": N', answer.body)


def _parse_answers(received: bytes) -> list[Answer]:
    """Every complete answer in ``received``, in order."""
    answers = []
    while b"\r\n\r\n" in received:
        head, _, rest = received.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = [(name, value.strip()) for name, value in (line.split(":", 1) for line in lines)]
        answer = Answer(status_line, headers, b"")
        length = int(answer.header("Content-Length") or 0)
        assert len(rest) >= length, f"an answer cut short: {received!r}"
        answer.body, received = rest[:length], rest[length:]
        answers.append(answer)
    assert received == b"", f"bytes after the last answer: {received!r}"
    return answers


def _drain(sock: socket.socket, received: bytes = b"", quiet: float = 0.5) -> tuple[list[Answer], bool]:
    """Read until the server closes, or until it has sent something and then nothing for
    ``quiet`` seconds; the answers (``received`` already, then the rest) and whether it closed.
    Silence before any byte is waited out to GUARD: a hang fails."""
    deadline = time.monotonic() + GUARD
    sock.settimeout(quiet)
    closed = False
    while True:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            if received:
                break
            assert time.monotonic() < deadline, "the server neither answered nor closed"
            continue
        except ConnectionResetError:
            closed = True
            break
        if not chunk:
            closed = True
            break
        received += chunk
    return _parse_answers(received), closed


def _nothing_more(connection: Wire, quiet: float = 0.3) -> bool:
    """Whether the server sends nothing more (no second answer) for ``quiet`` seconds."""
    connection.sock.settimeout(quiet)
    try:
        connection.sock.recv(65536)  # more bytes, or a close: either is wrong here
    except TimeoutError:
        return True
    finally:
        connection.sock.settimeout(GUARD)
    return False


def _reset(sock: socket.socket) -> None:
    """Close with an RST rather than a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


# 1. A request a byte at a time, and split anywhere


def _trickle(connection: Wire, data: bytes) -> None:
    """Send ``data`` a byte per send, paced so that most bytes come in reads of their own."""
    connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for byte in range(len(data)):
        connection.send(data[byte : byte + 1])
        time.sleep(0.0005)


@pytest.mark.parametrize("latency", [0.0, 0.05])
@pytest.mark.parametrize("trickled", ["the whole request", "its head, then its body at once"])
def test_a_request_sent_a_byte_at_a_time_is_answered_once(
    server: FakeServer, directs: list[str], latency: float, trickled: str
) -> None:
    """A byte a send: the whole request (its head is complete before its body: the connection
    waits for the rest of the body, leaving aiohttp's loop asleep), or its head, ended by its
    body in one send. It is answered directly, once, and the connection goes on."""
    server.configure(create_latency=latency)
    data = request("/api/createJob", SMALL_CREATE)
    end = len(data) if trickled == "the whole request" else data.index(b"\r\n\r\n") + 3
    with wire(server) as connection:
        _trickle(connection, data[:end])
        if end < len(data):
            connection.send(data[end:])
        answer = connection.read()
        assert _nothing_more(connection), "a second answer to one request, or a close"
        assert answer.status == 200 and answer.json()["message"] == "Create job success."
        assert connection.ask(request("/api/getBalance", BALANCE)).json()["error"] is False
    assert directs == ["/api/createJob", "/api/getBalance"]
    assert [e.endpoint for e in server.requests] == ["createJob", "getBalance"]
    _still_serving(server)


def test_a_request_split_at_any_byte_gets_the_same_answer_once(
    server: FakeServer, directs: list[str]
) -> None:
    """Split in its head or in its body, it is answered directly (a split body is waited
    for): the same answer, and the next request on the connection gets its own answer, not a
    second one to the first."""
    data = request("/api/createJob", SMALL_CREATE)
    following = request("/api/getBalance", BALANCE)
    reference = _same(ask(server, data))
    answers: dict[int, Answer] = {}
    for split in range(1, len(data)):
        with wire(server) as connection:
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection.send(data[:split])
            time.sleep(0.002)  # pacing: the two parts come in two reads
            connection.send(data[split:])
            answers[split] = connection.read()
            assert "balance" in connection.ask(following).json(), f"split at {split}"
    different = {split: answer for split, answer in answers.items() if _same(answer) != reference}
    assert different == {}, f"split at {sorted(different)} answered otherwise"
    assert len(server.requests) == 2 * len(answers) + 1
    assert len(server.jobs) == len(answers) + 1
    assert directs.count("/api/createJob") >= len(answers) - 5, "most splits are answered directly"
    _still_serving(server)


# 2. Request smuggling shapes

_BODY = json.dumps(create_body()).encode()
_LENGTH = len(_BODY)
SMUGGLED = request("/api/getBalance", BALANCE)


def _head(*lines: str, ending: str = "\r\n") -> bytes:
    return (ending.join(["POST /api/createJob HTTP/1.1", "Host: 127.0.0.1", *lines]) + ending * 2).encode()


def _chunked(payload: bytes) -> bytes:
    return f"{len(payload):x}\r\n".encode() + payload + b"\r\n0\r\n\r\n"


# Each is a createJob whose framing is ambiguous or malformed, followed by a getBalance that a
# lenient reading of the framing would answer as a second request.
SMUGGLING = {
    "Content-Length then Transfer-Encoding": _head(f"Content-Length: {_LENGTH}", "Transfer-Encoding: chunked")
    + _chunked(_BODY),
    "Transfer-Encoding then Content-Length": _head("Transfer-Encoding: chunked", f"Content-Length: {_LENGTH}")
    + _chunked(_BODY),
    "chunked hidden behind a zero Content-Length": _head("Content-Length: 0", "Transfer-Encoding: chunked")
    + b"0\r\n\r\n",
    "two different Content-Lengths": _head(f"Content-Length: {_LENGTH}", f"Content-Length: {_LENGTH + 1}")
    + _BODY
    + b" ",
    "two equal Content-Lengths": _head(f"Content-Length: {_LENGTH}", f"Content-Length: {_LENGTH}") + _BODY,
    "a Content-Length list": _head(f"Content-Length: {_LENGTH}, {_LENGTH}") + _BODY,
    "a Content-Length with a plus sign": _head(f"Content-Length: +{_LENGTH}") + _BODY,
    "a Content-Length with a minus sign": _head("Content-Length: -0") + _BODY,
    "a Content-Length with a space inside": _head(f"Content-Length: {_LENGTH // 10} {_LENGTH % 10}") + _BODY,
    "a Content-Length in hex": _head(f"Content-Length: 0x{_LENGTH:x}") + _BODY,
    "an obs-fold line": _head("X-Note: a", " folded", f"Content-Length: {_LENGTH}") + _BODY,
    "an obs-fold continuing Content-Length": _head(f"Content-Length: {_LENGTH}", " 1") + _BODY,
    "a space before the colon": _head(f"Content-Length : {_LENGTH}") + _BODY,
    "a tab before the colon": _head(f"Content-Length\t: {_LENGTH}") + _BODY,
    "bare LF line endings": _head(f"Content-Length: {_LENGTH}", ending="\n") + _BODY,
    "one bare LF": _head("X-Note: a\nContent-Length: " + str(_LENGTH)) + _BODY,
    "bare CR line endings": _head(f"Content-Length: {_LENGTH}", ending="\r") + _BODY,
    "a NUL in a header value": _head("X-Note: a\x00b", f"Content-Length: {_LENGTH}") + _BODY,
    "a NUL in Content-Length": _head(f"Content-Length: {_LENGTH}\x00") + _BODY,
    "Transfer-Encoding chunked, identity": _head("Transfer-Encoding: chunked, identity") + _chunked(_BODY),
    "Transfer-Encoding xchunked": _head("Transfer-Encoding: xchunked") + _chunked(_BODY),
    "Transfer-Encoding gzip": _head("Transfer-Encoding: gzip") + _BODY,
    "two Transfer-Encodings": _head("Transfer-Encoding: chunked", "Transfer-Encoding: chunked")
    + _chunked(_BODY),
    "a chunk size with a sign": _head("Transfer-Encoding: chunked") + f"+{_LENGTH:x}\r\n".encode() + _BODY,
    "a chunk size overflowing": _head("Transfer-Encoding: chunked") + b"1" + b"0" * 20 + b"\r\n" + _BODY,
}


def _refused_and_closed(sock: socket.socket) -> Answer | None:
    """What the server does with a smuggling attempt: its 400, if any, after checking it was
    the only answer and the connection was closed after it."""
    answers, closed = _drain(sock)
    assert closed, f"the connection stayed open after {[a.status_line for a in answers]}"
    assert len(answers) <= 1, f"more than one answer: {[(a.status_line, a.body) for a in answers]}"
    if not answers:
        return None
    refusal = answers[0]
    assert refusal.status == 400, (refusal.status_line, refusal.body)
    assert (refusal.header("Content-Type") or "").startswith("application/json")
    answer = refusal.json()
    assert answer["error"] is True and answer["message"].startswith("Bad HTTP request: "), answer
    return refusal


@pytest.mark.parametrize("case", sorted(SMUGGLING))
def test_a_smuggling_shape_is_a_json_400_and_a_close_never_a_second_answer(
    server: FakeServer, directs: list[str], complaints: list[logging.LogRecord], case: str
) -> None:
    with socket.create_connection((server.host, server.port), timeout=GUARD) as sock:
        sock.sendall(SMUGGLING[case] + SMUGGLED)
        _refused_and_closed(sock)
    assert [e.endpoint for e in server.requests] == [], "nothing of it was answered by the API"
    assert directs == []
    _still_serving(server)


@pytest.mark.parametrize("case", sorted(SMUGGLING))
def test_a_smuggling_shape_sent_during_a_direct_wait_is_refused_after_the_answer(
    server: FakeServer, directs: list[str], complaints: list[logging.LogRecord], case: str
) -> None:
    """Read while a direct answer waits out its latency, it is held, then parsed after that
    answer: the answer comes, then the 400, then the close."""
    server.configure(create_latency=0.1)
    with wire(server) as connection:
        connection.send(request("/api/createJob", SMALL_CREATE))
        wait_for(lambda: len(server.jobs) == 1, "the first request is read")
        connection.send(SMUGGLING[case] + SMUGGLED)
        first = connection.read()
        assert first.json()["message"] == "Create job success."
        # The rest: the refusal only.
        answers, closed = _drain(connection.sock, connection._buffer)
    assert closed and len(answers) <= 1, [(a.status_line, a.body) for a in answers]
    if answers:
        assert answers[0].status == 400 and answers[0].json()["error"] is True
    assert [e.endpoint for e in server.requests] == ["createJob"]
    assert directs == ["/api/createJob"]
    server.configure(create_latency=0)
    _still_serving(server)


# 3. Floods of pipelined requests


def _alternating(count: int) -> tuple[bytes, list[str]]:
    """``count`` pipelined requests, createJob and getBalance in turn, and their endpoints."""
    endpoints = ["createJob" if number % 2 == 0 else "getBalance" for number in range(count)]
    data = b"".join(
        request(f"/api/{endpoint}", SMALL_CREATE if endpoint == "createJob" else BALANCE)
        for endpoint in endpoints
    )
    return data, endpoints


def _read_in_thread(sock: socket.socket, expected: int) -> tuple[threading.Thread, list[bytes]]:
    """Read ``expected`` answers' worth in a thread (until that many heads came or the close),
    so that a client sending a flood does not deadlock with a server it does not read."""
    received: list[bytes] = []

    def read() -> None:
        buffer = b""
        while buffer.count(b"HTTP/1.") < expected or not _complete(buffer, expected):
            try:
                chunk = sock.recv(1 << 20)
            except (TimeoutError, ConnectionResetError):
                break
            if not chunk:
                break
            buffer += chunk
        received.append(buffer)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread, received


def _complete(buffer: bytes, expected: int) -> bool:
    try:
        return len(_parse_answers(buffer)) >= expected
    except AssertionError:
        return False


def _join(thread: threading.Thread) -> None:
    thread.join(GUARD)
    assert not thread.is_alive(), "the answers never all came"


def _check_in_order(answers: list[Answer], endpoints: list[str]) -> None:
    """Each answer is its request's: createJob answers carry increasing job ids, getBalance
    answers a balance."""
    assert len(answers) == len(endpoints)
    job_ids = []
    for number, (answer, endpoint) in enumerate(zip(answers, endpoints, strict=True)):
        body = answer.json()
        assert answer.status == 200 and body["error"] is False, (number, body)
        if endpoint == "createJob":
            job_ids.append(body["job_id"])
        else:
            assert "balance" in body and "job_id" not in body, (number, body)
    assert job_ids == sorted(job_ids) and len(set(job_ids)) == len(job_ids)


@pytest.mark.parametrize("latency", [0.0, 0.2])
def test_two_hundred_pipelined_requests_in_one_send_are_all_answered_in_order(
    server: FakeServer, complaints: list[logging.LogRecord], latency: float
) -> None:
    server.configure(create_latency=latency)
    data, endpoints = _alternating(200)
    with socket.create_connection((server.host, server.port), timeout=GUARD) as sock:
        thread, received = _read_in_thread(sock, len(endpoints))
        sent = time.monotonic()
        sock.sendall(data)
        _join(thread)
        answered = time.monotonic() - sent
    _check_in_order(_parse_answers(received[0]), endpoints)
    assert [e.endpoint for e in server.requests] == endpoints
    assert answered >= latency
    assert complaints == []
    server.configure(create_latency=0)
    _still_serving(server)


def test_more_than_32_pipelined_requests_each_count_their_latency_from_when_they_were_read(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As ``omofake.http.app._wait_from_arrival`` says: a latency counts from a request's
    arrival, stamped as its bytes were read, so requests read together are due together and
    only the first one to be handled waits the whole latency. aiohttp queues at most 32 parsed
    requests and parses the rest of what it read as the queue drains (calling
    ``data_received(b"")``): those must keep the time their bytes were read."""
    waits = record_routed_sleeps(monkeypatch)
    latency = 0.3
    server.configure(create_latency=latency)
    data, endpoints = _alternating(100)
    with socket.create_connection((server.host, server.port), timeout=GUARD) as sock:
        thread, received = _read_in_thread(sock, len(endpoints))
        sock.sendall(data)
        _join(thread)
    _check_in_order(_parse_answers(received[0]), endpoints)
    whole = [number for number, wait in enumerate(waits) if wait >= latency / 2]
    assert len(whole) == 1, f"{len(whole)} requests waited (nearly) a whole latency after their turn came"
    server.configure(create_latency=0)
    _still_serving(server)


def test_megabytes_pipelined_during_a_latency_are_answered_in_order_with_bounded_holding(
    server: FakeServer, complaints: list[logging.LogRecord], monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a direct answer waits, what is read is held; the connection stops reading once a
    read buffer's worth is held, so what it holds stays bounded however much the client sends."""
    held: list[int] = []
    bufsize: list[int] = []
    real_receive = connections.FakeConnection._receive

    def recording(self: connections.FakeConnection, data: bytes, now: float) -> None:
        real_receive(self, data, now)
        held.append(self._held_bytes)
        bufsize.append(self._read_bufsize)

    monkeypatch.setattr(connections.FakeConnection, "_receive", recording)
    server.configure(create_latency=0.1)
    one = request("/api/createJob", create_body())
    count = (2 * 1024 * 1024) // len(one) + 1
    with socket.create_connection((server.host, server.port), timeout=GUARD) as sock:
        thread, received = _read_in_thread(sock, count)
        sock.sendall(one * count)
        _join(thread)
    _check_in_order(_parse_answers(received[0]), ["createJob"] * count)
    assert len(server.requests) == count
    # A read buffer, plus at most one read of the socket (asyncio reads up to 256 KiB at once).
    assert max(held) <= bufsize[0] + 256 * 1024, f"held {max(held)} bytes"
    assert complaints == []
    server.configure(create_latency=0)
    _still_serving(server)


@pytest.mark.parametrize(
    ("count", "piece", "most"),
    [
        # 8 pipelined getBalance, a byte a send: pieces of a kilobyte, or ending at a head's end.
        (8, 1, lambda size: size // 1024 + 8 + 1),
        # 200 sent one by one: a piece per head for the first 64 pieces, then by the kilobyte.
        (200, None, lambda size: 64 + size // 1024 + 1),
    ],
    ids=["a byte a send", "200 requests one by one"],
)
def test_what_comes_during_a_latency_is_held_in_pieces_not_an_object_per_byte_or_request(
    server: FakeServer,
    monkeypatch: pytest.MonkeyPatch,
    count: int,
    piece: int | None,
    most: Callable[[int], int],
) -> None:
    """While a direct answer waits, what the client sends is held in pieces of a kilobyte or
    more (ending at a head's end, for the first 64: aiohttp must get a head as a read of its
    own), so a trickler cannot make a connection hold an object per byte, nor a pipeliner one
    per request."""
    pieces: list[int] = []
    real_receive = connections.FakeConnection._receive

    def recording(self: connections.FakeConnection, data: bytes, now: float) -> None:
        real_receive(self, data, now)
        pieces.append(len(self._held))

    monkeypatch.setattr(connections.FakeConnection, "_receive", recording)
    server.configure(create_latency=1.0)
    sent = request("/api/getBalance", {"api_token": TOKEN}) * count
    with socket.create_connection((server.host, server.port), timeout=GUARD) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(request("/api/createJob", create_body()))
        step = piece or len(sent) // count
        for at in range(0, len(sent), step):
            sock.sendall(sent[at : at + step])
            time.sleep(0.0005)
        thread, received = _read_in_thread(sock, count + 1)
        _join(thread)
    _check_in_order(_parse_answers(received[0]), ["createJob"] + ["getBalance"] * count)
    assert max(pieces) <= most(len(sent)), f"{max(pieces)} pieces held"
    server.configure(create_latency=0)
    _still_serving(server)


# 4. Clients that leave while their answer waits


def test_clients_that_reset_while_their_direct_answer_waits_leave_no_error(
    server: FakeServer, directs: list[str], complaints: list[logging.LogRecord]
) -> None:
    """Fifty connections reset (RST) during the latency: half while their request is being
    decided (on a later loop turn), half once it was decided and waits to be sent."""
    server.configure(create_latency=0.2)
    sockets = []
    for number in range(50):
        sock = socket.create_connection((server.host, server.port), timeout=GUARD)
        sock.sendall(request("/api/createJob", SMALL_CREATE))
        if number % 2 == 0:
            _reset(sock)  # at once: likely still to be decided
        else:
            sockets.append(sock)
    wait_for(lambda: len(server.jobs) == 50, "every request is read")
    for sock in sockets:
        _reset(sock)
    wait_for(lambda: len(server.requests) == 50, "every exchange is journaled at the end of its latency")
    assert len(directs) == 50
    assert server.errors == []
    server.configure(create_latency=0)
    _still_serving(server)
    assert complaints == [], [record.getMessage() for record in complaints]


@pytest.mark.parametrize("path", ["/api/createJob", "/api/createJob?routed"])
def test_a_half_close_during_the_latency_closes_without_an_answer_as_routed_and_logs_nothing(
    server: FakeServer, complaints: list[logging.LogRecord], path: str
) -> None:
    """A client that shuts down its sending side right after its request: the connection is
    closed at once, without the answer, by both paths (aiohttp's protocol closes the transport
    on EOF), and the exchange is journaled all the same, at the end of its latency."""
    server.configure(create_latency=0.2)
    with socket.create_connection((server.host, server.port), timeout=GUARD) as sock:
        sock.sendall(request(path, SMALL_CREATE))
        sock.shutdown(socket.SHUT_WR)
        answers, closed = _drain(sock)
    assert closed and answers == []
    wait_for(lambda: len(server.requests) == 1, "the exchange is journaled")
    assert server.requests[0].status == 200
    server.configure(create_latency=0)
    _still_serving(server)
    assert complaints == [], [record.getMessage() for record in complaints]


@pytest.mark.parametrize("path", ["/api/createJob", "/api/createJob?routed"])
def test_half_a_head_sent_with_the_request_before_it_is_closed_by_the_idle_timeout(path: str) -> None:
    """A slowloris head that comes in the same read as the end of the request before it. The
    header timeout does not see it (aiohttp's parser holds the half head and says nothing of
    it; a known limit, in the README): the idle timeout bounds it instead."""
    guard = 5.0  # ten idle timeouts: a hang guard, not a speed threshold
    with (
        FakeServer(header_timeout=0.2, idle_timeout=0.5) as server,
        wire(server) as connection,
    ):
        connection.send(request(path, SMALL_CREATE) + b"POST /api/createJob HTTP/1.1\r\nHo")
        assert connection.read().json()["message"] == "Create job success."
        connection.sock.settimeout(guard)
        try:
            closed = connection.sock.recv(65536) == b""
        except TimeoutError:
            closed = False
        except ConnectionResetError:
            closed = True
        assert closed, f"the half head was still open {guard}s later"
        _still_serving(server)


# 5. Many connections at once


def test_five_hundred_connections_at_once_are_each_answered_no_earlier_than_the_latency(
    server: FakeServer, directs: list[str]
) -> None:
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    count = min(500, (soft - 100) // 2)  # each connection takes a descriptor on each side
    latency = 0.05
    server.configure(create_latency=latency)
    data = request("/api/createJob", SMALL_CREATE)

    async def one(connected: list[None], ready: asyncio.Event) -> tuple[float, bytes]:
        reader, writer = await asyncio.open_connection(server.host, server.port)
        try:
            connected.append(None)
            await ready.wait()
            sent = time.monotonic()
            writer.write(data)
            head = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"Content-Length: (\d+)", head)
            assert length is not None, head
            body = await reader.readexactly(int(length.group(1)))
            return time.monotonic() - sent, body
        finally:
            writer.close()

    async def everyone() -> list[tuple[float, bytes]]:
        connected: list[None] = []
        ready = asyncio.Event()
        clients = [asyncio.create_task(one(connected, ready)) for _ in range(count)]
        deadline = time.monotonic() + GUARD
        while len(connected) < count:  # every connection is made, then every request is sent
            assert time.monotonic() < deadline, f"{len(connected)} of {count} connections made"
            await asyncio.sleep(0.01)
        ready.set()
        return await asyncio.wait_for(asyncio.gather(*clients), GUARD)

    results = asyncio.run(everyone())
    assert len(results) == count
    for waited, body in results:
        assert json.loads(body)["message"] == "Create job success."
        assert waited >= latency, f"answered {waited:.4f}s after it was sent"
    assert len(server.requests) == count and len(directs) == count
    server.configure(create_latency=0)
    _still_serving(server)


# 6. Stopping the server mid-wait

STOP_WHILE_WAITING = """
import asyncio, json, socket, sys, time
from omofake import FakeServer

BODY = json.dumps({"api_token": "t", "data": {"type_job_id": "30", "image_base64": "Z3JpZA=="}}).encode()
REQUEST = (
    b"POST /api/createJob HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: "
    + str(len(BODY)).encode() + b"\\r\\n\\r\\n" + BODY
)
GUARD = 20.0


def send_many(server, count):
    sockets = []
    for _ in range(count):
        sock = socket.create_connection((server.host, server.port))
        sock.sendall(REQUEST)
        sockets.append(sock)
    return sockets


def ready(server, before, decided):
    # Every connection accepted first: stopping while asyncio still makes the transport of one
    # it accepted hits CPython's gh-109564 (an AssertionError and an unclosed socket, reported
    # in dev mode), whatever the server.
    connections = server._runner.server.connections
    return len(connections) >= 80 and len(server.service.store) >= before + decided


server = FakeServer(create_latency=0.3)
sockets = []
# A thread server: stopped once half its requests are decided (the rest still being read or
# decided), then as soon as its connections are accepted.
for wait_for in (40, 0):
    server.start()
    before = len(server.service.store)
    sockets += send_many(server, 80)
    while not ready(server, before, wait_for):
        time.sleep(0.005)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < GUARD, "stop() hung"


async def main():
    for wait_for in (40, 0):
        await server.start_async()
        before = len(server.service.store)
        sockets.extend(await asyncio.to_thread(send_many, server, 80))
        while not ready(server, before, wait_for):
            await asyncio.sleep(0.005)
        started = time.monotonic()
        await asyncio.wait_for(server.stop_async(), GUARD)
        assert time.monotonic() - started < GUARD, "stop_async() hung"

asyncio.run(main())
server.configure(create_latency=0)
with server:
    import urllib.request
    request = urllib.request.Request(server.api_url + "/createJob", data=BODY, method="POST")
    assert json.load(urllib.request.urlopen(request, timeout=GUARD))["error"] is False
for sock in sockets:
    sock.close()
del server, sockets
import gc
gc.collect()
print("done")
"""


def test_stopping_with_many_direct_answers_waiting_or_being_decided_returns_and_warns_of_nothing(
    tmp_path: Any,
) -> None:
    script = tmp_path / "stop_while_waiting.py"
    script.write_text(textwrap.dedent(STOP_WHILE_WAITING))
    done = subprocess.run(
        [sys.executable, "-W", "error", "-X", "dev", str(script)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout == "done\n"
    assert done.stderr == "", "no warning, no 'Task was destroyed but it is pending!'"


# 7. Bodies at the limits


def _body_of(size: int) -> bytes:
    """A valid createJob body of exactly ``size`` bytes: a PNG of the right length, and up to
    three spaces of JSON whitespace."""
    bare = len(json.dumps(create_body(image_base64="")).encode())
    room = size - bare
    raw = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * (room // 256 + 1)
    raw = raw[: (room // 4) * 3]
    payload = json.dumps(create_body(image_base64=base64.b64encode(raw).decode())).encode()
    payload = b"{" + b" " * (size - len(payload)) + payload[1:]
    assert len(payload) == size
    return payload


@pytest.mark.parametrize(
    ("max_body", "size"),
    [
        (None, HEAVY_BODY - 1),
        (None, HEAVY_BODY),
        (None, HEAVY_BODY + 1),
        (100_000, 100_000),
        (300_000, 300_000),
    ],
    ids=["256 KiB - 1", "256 KiB", "256 KiB + 1", "max_body under 256 KiB", "max_body over 256 KiB"],
)
def test_a_body_at_a_limit_is_answered_and_only_one_within_the_direct_limit_directly(
    directs: list[str], max_body: int | None, size: int
) -> None:
    """Over 256 KiB or over max_body, never directly. Within them, directly only when the
    whole body is there when the head's end is read: a request this size comes in several
    reads (asyncio reads at most 256 KiB at a time), so aiohttp's routes answer it."""
    with FakeServer(max_body=max_body) as server:
        with wire(server) as connection:
            answer = connection.ask(request("/api/createJob", _body_of(size)))
            assert answer.status == 200 and answer.json()["message"] == "Create job success."
            # The connection goes on, with a small request answered directly.
            assert connection.ask(request("/api/getBalance", BALANCE)).json()["error"] is False
        largest = min(HEAVY_BODY, max_body or HEAVY_BODY)
        assert directs in (["/api/createJob", "/api/getBalance"], ["/api/getBalance"])
        if size > largest:
            assert directs == ["/api/getBalance"]
        assert server.requests[0].request == json.loads(_body_of(size))
        _still_serving(server)


@pytest.mark.parametrize("max_body", [100_000, 300_000])
def test_a_body_one_byte_over_max_body_is_a_json_413(directs: list[str], max_body: int) -> None:
    with FakeServer(max_body=max_body) as server:
        answer = ask(server, request("/api/createJob", _body_of(max_body + 1)))
        assert answer.status == 413 and answer.json()["error"] is True
        assert directs == []
        _still_serving(server)


def test_a_body_of_exactly_the_default_max_body_is_routed_and_answered(directs: list[str]) -> None:
    with FakeServer() as server:
        answer = ask(server, request("/api/createJob", _body_of(DEFAULT_MAX_BODY)))
        assert answer.status == 200 and answer.json()["message"] == "Create job success."
        assert directs == []
        _still_serving(server)
