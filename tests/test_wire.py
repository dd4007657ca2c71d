"""The wire reader (:mod:`omofake.http.wire`): the strict request heads a connection reads
itself, without aiohttp's parser, and what it hands to aiohttp.

``read_head`` is tested on its own: the heads real clients send (wrk, requests, httpx, aiohttp)
are read, with their path, Content-Length and end; each request smuggling shape or oddity is
refused (None, aiohttp's to judge); every proper prefix of a head it reads may still become one
(MORE), and an incomplete head that goes wrong is refused at once; its cache of heads stays
bounded and says what a fresh reading says.

Then over real sockets on 127.0.0.1, with ``omofake.http.connections.read_head`` wrapped by a
recorder (which heads were read by the wire reader) and ``directs`` (which requests were
answered directly): real clients' requests are read there; each answer is byte-identical (Date
aside) to a ``direct=False`` server's with the same seed; a request that is not of the shape
(a bad header, pipelining, a heavy body, a fault configured) gets what aiohttp gives it on a
``direct=False`` server, in the middle of a connection too; trickled heads and bodies, the
header and idle timeouts, a reset during a body and a latency behave as on the routed path.

No test here judges speed: latencies are lower bounds the answer must respect, and the hang
guards are generous socket timeouts.
"""

from __future__ import annotations

import asyncio
import json
import select
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeAlias

import aiohttp
import httpx
import pytest
import requests

from omofake import FakeServer
from omofake.http import connections, wire
from omofake.http.app import HEAVY_BODY
from omofake.http.wire import MORE, Head, More, read_head

from .helpers import TOKEN, body_awaited, create_body
from .test_direct import GUARD, UUID, V2_IMAGE, Answer, Wire, ask, request, wait_for
from .test_direct import wire as connect
from .test_direct_hostile import _trickle
from .test_isolation import _begun

BALANCE = {"api_token": TOKEN}
Reading: TypeAlias = Head | More | None


# Servers, and what read and answered each request


@pytest.fixture(scope="module")
def shared_server() -> Iterator[FakeServer]:
    """One seeded server for the module: after a reset, the same request makes the same job."""
    with FakeServer(seed=11) as server:
        yield server


@pytest.fixture(scope="module")
def shared_routed() -> Iterator[FakeServer]:
    """Its twin without direct answers: every request parsed by aiohttp and routed."""
    with FakeServer(seed=11, direct=False) as server:
        yield server


@pytest.fixture
def routed(shared_routed: FakeServer) -> FakeServer:
    shared_routed.reset()
    return shared_routed


@pytest.fixture
def heads(monkeypatch: pytest.MonkeyPatch) -> list[Reading]:
    """What the wire reader said of the bytes of each read it was given, from now on, in order."""
    readings: list[Reading] = []
    real = wire.read_head  # what omofake.http.connections calls, by the name it imported

    def recording(data: bytes | bytearray) -> Reading:
        reading = real(data)
        readings.append(reading)
        return reading

    monkeypatch.setattr(connections, "read_head", recording)
    return readings


def read_paths(readings: list[Reading]) -> list[str]:
    """The paths of the complete heads the wire reader read."""
    return [reading.path for reading in readings if isinstance(reading, Head)]


def alike(answer: Answer) -> tuple[str, list[tuple[str, str]], bytes]:
    """What an answer shares with its twin from the other server: all but the Date's value and
    a v2 task id (a fresh uuid4 each time); the headers' names and order included."""
    headers = [(name, "<date>" if name == "Date" else value) for name, value in answer.headers]
    return answer.status_line, headers, UUID.sub(b"<uuid>", answer.body)


def kept_alive(connection: Wire) -> bool:
    """Whether the server still answers on the connection (a getBalance), or closed it."""
    try:
        connection.send(request("/api/getBalance", BALANCE))
        return connection.read().status == 200
    except (AssertionError, ConnectionError):  # Wire.read asserts that the server did not close
        return False


def head_of(data: bytes) -> bytes:
    return data[: data.index(b"\r\n\r\n") + 4]


# 1. read_head on its own

_BODY = json.dumps(BALANCE).encode()

# Captured once from each client over a loopback socket, byte for byte: a JSON POST of a
# 31-byte body (httpx writes its JSON without spaces); wrk 4 with the Lua script of
# benchmarks/throughput.py, the others with json=.
REAL_HEADS: dict[str, bytes] = {
    "wrk": (
        b"POST /api/getJobResult HTTP/1.1\r\nHost: 127.0.0.1:45003\r\n"
        b"Content-Length: 31\r\nContent-Type: application/json\r\n\r\n"
    ),
    "requests.Session": (
        b"POST /api/getJobResult HTTP/1.1\r\nHost: 127.0.0.1:36107\r\n"
        b"User-Agent: python-requests/2.34.2\r\nAccept-Encoding: gzip, deflate\r\nAccept: */*\r\n"
        b"Connection: keep-alive\r\nContent-Length: 31\r\nContent-Type: application/json\r\n\r\n"
    ),
    "requests.post": (
        b"POST /api/getJobResult HTTP/1.1\r\nHost: 127.0.0.1:54801\r\n"
        b"User-Agent: python-requests/2.34.2\r\nAccept-Encoding: gzip, deflate\r\nAccept: */*\r\n"
        b"Connection: keep-alive\r\nContent-Length: 31\r\nContent-Type: application/json\r\n\r\n"
    ),
    "httpx.Client": (
        b"POST /api/getJobResult HTTP/1.1\r\nHost: 127.0.0.1:36557\r\nAccept: */*\r\n"
        b"Accept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\nUser-Agent: python-httpx/0.29.0\r\n"
        b"Content-Length: 28\r\nContent-Type: application/json\r\n\r\n"
    ),
    "aiohttp.ClientSession": (
        b"POST /api/getJobResult HTTP/1.1\r\nHost: 127.0.0.1:39753\r\nAccept: */*\r\n"
        b"Accept-Encoding: gzip, deflate\r\nUser-Agent: Python/3.11 aiohttp/3.14.5\r\n"
        b"Content-Length: 31\r\nContent-Type: application/json\r\n\r\n"
    ),
}


def strict(*lines: str, path: str = "/api/getBalance", start: str | None = None) -> bytes:
    """A head of the request line (``POST <path> HTTP/1.1`` unless ``start``) and ``lines``."""
    first = start if start is not None else f"POST {path} HTTP/1.1"
    return "".join(f"{line}\r\n" for line in (first, *lines)).encode("latin-1") + b"\r\n"


def _padded(size: int) -> bytes:
    """A strict head of exactly ``size`` bytes (one long header value)."""
    bare = strict("Host: x", "X-Pad: ", "Content-Length: 2")
    return bare.replace(b"X-Pad: ", b"X-Pad: " + b"a" * (size - len(bare)))


def _many(count: int) -> bytes:
    """A strict head of ``count`` header lines, Content-Length among them."""
    return strict("Host: x", *(f"X-{n}: {n}" for n in range(count - 2)), "Content-Length: 2")


# (the head, the path and Content-Length it says)
ACCEPTED: dict[str, tuple[bytes, str, int]] = {
    **{
        f"real: {name}": (head, "/api/getJobResult", int(head.split(b"Content-Length: ")[1].split(b"\r")[0]))
        for name, head in REAL_HEADS.items()
    },
    "names in any case": (
        strict("hOsT: x", "CONTENT-LENGTH: 12", "content-type: application/json", "cOnNeCtIoN: keep-alive"),
        "/api/getBalance",
        12,
    ),
    "Connection: Keep-Alive": (
        strict("Host: x", "Connection: Keep-Alive", "Content-Length: 5"),
        "/api/getBalance",
        5,
    ),
    "Connection twice, both keep-alive": (
        strict("Host: x", "Connection: keep-alive", "Connection:keep-alive", "Content-Length: 5"),
        "/api/getBalance",
        5,
    ),
    "Content-Length with spaces and tabs around": (
        strict("Host: x", "Content-Length: \t 17 \t "),
        "/api/getBalance",
        17,
    ),
    "Content-Length without a space": (strict("Host: x", "Content-Length:17"), "/api/getBalance", 17),
    "Content-Length with leading zeros": (strict("Host: x", "Content-Length: 00017"), "/api/getBalance", 17),
    "Content-Length of 15 digits": (
        strict("Host: x", "Content-Length: 999999999999999"),
        "/api/getBalance",
        999999999999999,
    ),
    "Content-Length: 0": (strict("Host: x", "Content-Length: 0"), "/api/getBalance", 0),
    "names like Content-Length that frame nothing": (
        strict("Host: x", "X-Content-Length: 9", "Content-Lengths: 9", "Content-Length: 5"),
        "/api/getBalance",
        5,
    ),
    "an empty value and a value of visible ASCII, spaces and tabs": (
        strict(
            "Host: x",
            "X-Empty:",
            "X-All: !\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~ \tend",
            "Content-Length: 5",
        ),
        "/api/getBalance",
        5,
    ),
    "a v2 path": (strict("Host: x", "Content-Length: 5", path="/v2/createTask"), "/v2/createTask", 5),
    "a path with a query": (
        strict("Host: x", "Content-Length: 5", path="/api/createJob?a=1&b"),
        "/api/createJob?a=1&b",
        5,
    ),
    "100 headers": (_many(100), "/api/getBalance", 2),
    "a head of 8189 bytes": (_padded(8189), "/api/getBalance", 2),
    "a head of 8190 bytes, the most read": (_padded(8190), "/api/getBalance", 2),
}


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_a_strict_head_is_read_with_its_path_length_and_end(case: str) -> None:
    head, path, length = ACCEPTED[case]
    body = b"x" * min(length, 64)
    assert read_head(head + body) == Head(path, length, len(head))
    assert read_head(head) == Head(path, length, len(head)), "the body need not have come"


_CL = f"Content-Length: {len(_BODY)}"

REFUSED: dict[str, bytes] = {
    "Content-Length twice, equal": strict("Host: x", _CL, _CL),
    "Content-Length twice, not equal": strict("Host: x", "Content-Length: 5", "Content-Length: 6"),
    "Content-Length twice, names in other cases": strict("Host: x", "content-length: 5", "CONTENT-LENGTH: 5"),
    "Content-Length and Transfer-Encoding": strict("Host: x", _CL, "Transfer-Encoding: chunked"),
    "Transfer-Encoding and Content-Length": strict("Host: x", "Transfer-Encoding: chunked", _CL),
    "Transfer-Encoding alone": strict("Host: x", "Transfer-Encoding: chunked"),
    "Transfer-Encoding: identity": strict("Host: x", "Transfer-Encoding: identity", _CL),
    "Content-Length with a plus sign": strict("Host: x", "Content-Length: +5"),
    "Content-Length with a minus sign": strict("Host: x", "Content-Length: -5"),
    "Content-Length with a space inside": strict("Host: x", "Content-Length: 1 5"),
    "Content-Length in hex": strict("Host: x", "Content-Length: 0x5"),
    "Content-Length in hex digits": strict("Host: x", "Content-Length: 1f"),
    "Content-Length empty": strict("Host: x", "Content-Length:"),
    "Content-Length blank": strict("Host: x", "Content-Length:   "),
    "Content-Length of 16 digits": strict("Host: x", "Content-Length: 0000000000000005"),
    "Content-Length of 20 digits": strict("Host: x", "Content-Length: 18446744073709551621"),
    "Content-Length as a list": strict("Host: x", "Content-Length: 5, 5"),
    "Content-Length with a non-ASCII digit": strict("Host: x").replace(
        b"\r\n\r\n", "\r\nContent-Length: \uff15\r\n\r\n".encode()
    ),
    "Connection: close": strict("Host: x", "Connection: close", _CL),
    "Connection: upgrade": strict("Host: x", "Connection: upgrade", _CL),
    "Connection: keep-alive, upgrade": strict("Host: x", "Connection: keep-alive, upgrade", _CL),
    "Connection: keep-alive then close": strict(
        "Host: x", "Connection: keep-alive", "Connection: close", _CL
    ),
    "Connection: empty": strict("Host: x", "Connection:", _CL),
    "Expect: 100-continue": strict("Host: x", "Expect: 100-continue", _CL),
    "Upgrade: websocket": strict("Host: x", "Upgrade: websocket", _CL),
    "Content-Encoding: gzip": strict("Host: x", "Content-Encoding: gzip", _CL),
    "Content-Encoding: identity": strict("Host: x", "Content-Encoding: identity", _CL),
    "HTTP/1.0": strict("Host: x", _CL, start="POST /api/getBalance HTTP/1.0"),
    "HTTP/1.2": strict("Host: x", _CL, start="POST /api/getBalance HTTP/1.2"),
    "HTTP/2.0": strict("Host: x", _CL, start="POST /api/getBalance HTTP/2.0"),
    "lowercase http": strict("Host: x", _CL, start="POST /api/getBalance http/1.1"),
    "lowercase method": strict("Host: x", _CL, start="post /api/getBalance HTTP/1.1"),
    "GET": strict("Host: x", _CL, start="GET /api/getBalance HTTP/1.1"),
    "PUT": strict("Host: x", _CL, start="PUT /api/getBalance HTTP/1.1"),
    "two spaces after the method": strict("Host: x", _CL, start="POST  /api/getBalance HTTP/1.1"),
    "two spaces before the version": strict("Host: x", _CL, start="POST /api/getBalance  HTTP/1.1"),
    "a tab in the request line": strict("Host: x", _CL, start="POST\t/api/getBalance HTTP/1.1"),
    "a target not starting with a slash": strict(
        "Host: x", _CL, start="POST http://x/api/getBalance HTTP/1.1"
    ),
    "a space after the version": strict("Host: x", _CL, start="POST /api/getBalance HTTP/1.1 "),
    "obs-fold with a space": strict("Host: x", "X-Folded: a", " b", _CL),
    "obs-fold with a tab": strict("Host: x", "X-Folded: a", "\tb", _CL),
    "obs-fold of the Content-Length": strict("Host: x", "Content-Length:", f" {len(_BODY)}"),
    "bare LF line ends": strict("Host: x", _CL).replace(b"\r\n", b"\n"),
    "a bare LF in one line": strict("Host: x", _CL).replace(b"Host: x\r\n", b"Host: x\n"),
    "a bare CR in a value": strict("Host: x\ry", _CL),
    "a space before the colon": strict("Host: x", f"Content-Length : {len(_BODY)}"),
    "a tab before the colon": strict("Host: x", f"Content-Length\t: {len(_BODY)}"),
    "a space in a name": strict("Host: x", "Bad Header: x", _CL),
    "a line without a colon": strict("Host: x", "Bad Header", _CL),
    "an empty name": strict("Host: x", ": x", _CL),
    "a NUL in a value": strict("Host: x", "X-A: a\x00b", _CL),
    "a DEL in a value": strict("Host: x", "X-A: a\x7fb", _CL),
    "an ESC in a value": strict("Host: x", "X-A: a\x1b[31m", _CL),
    "a vertical tab in a value": strict("Host: x", "X-A: a\x0bb", _CL),
    "a byte of 0x80 in a value": strict("Host: x", "X-A: a\x80", _CL),
    "UTF-8 in a value": strict("Host: x", _CL).replace(b"Host: x", "Host: café".encode()),
    "a byte of 0xff in a name": strict("Host: x", "X-\xff: a", _CL),
    "a byte of 0x80 in the path": strict("Host: x", _CL, path="/api/getBalance\x80"),
    "101 headers": _many(101),
    "a head of 8191 bytes": _padded(8191),
    "a head of 20000 bytes": _padded(20000),
    "no Content-Length": strict("Host: x", "Content-Type: application/json"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_smuggling_shape_or_oddity_is_left_to_aiohttp(case: str) -> None:
    head = REFUSED[case]
    assert read_head(head + _BODY) is None
    assert read_head(head) is None


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_every_proper_prefix_of_a_strict_head_may_still_become_one(case: str) -> None:
    head = ACCEPTED[case][0]
    not_more = [cut for cut in range(len(head)) if read_head(head[:cut]) is not MORE]
    assert not_more == [], f"cuts not read as MORE: {not_more[:10]}"
    assert isinstance(read_head(head), Head)


# An incomplete head that has already gone wrong: refused before its blank line comes.
GONE_WRONG: dict[str, bytes] = {
    "a bad header line, ended": b"POST /api/createJob HTTP/1.1\r\nBad Header\r\n",
    "a bad header line, unended": b"POST /api/createJob HTTP/1.1\r\nHost: x\r\nBad Header",
    "a space before the colon": b"POST /api/createJob HTTP/1.1\r\nContent-Length :",
    "a NUL in a partial line": b"POST /api/createJob HTTP/1.1\r\nHost: a\x00",
    "an ESC in a partial line": b"POST /api/createJob HTTP/1.1\r\nHost: x\r\nX-A: \x1b",
    "a byte of 0x80 in a partial line": b"POST /api/createJob HTTP/1.1\r\nHost: caf\xc3",
    "a CR not followed by LF": b"POST /api/createJob HTTP/1.1\r\nHost: x\rX",
    "obs-fold": b"POST /api/createJob HTTP/1.1\r\nHost: x\r\n y",
    "a bare LF after the request line": b"POST /api/createJob HTTP/1.1\n",
    "a bare LF after a header": b"POST /api/createJob HTTP/1.1\r\nHost: x\n",
    "a partial request line GET": b"GET ",
    "a partial request line G": b"G",
    "a partial request line of a lowercase method": b"pos",
    "a partial request line PUT": b"PUT /api/createJob",
    "two spaces after POST": b"POST  ",
    "a target not starting with a slash": b"POST h",
    "a space in the path": b"POST /api/create Job",
    "HTTP/1.0 so far": b"POST /api/createJob HTTP/1.0",
    "HTTP/2 so far": b"POST /api/createJob HTTP/2",
    "lowercase http so far": b"POST /api/createJob http",
    "a request line of 8190 bytes without its end": b"POST /" + b"a" * 8184,
}


@pytest.mark.parametrize("case", sorted(GONE_WRONG))
def test_an_incomplete_head_that_went_wrong_is_left_to_aiohttp_at_once(case: str) -> None:
    assert read_head(GONE_WRONG[case]) is None


def test_the_heads_read_are_kept_at_most_256_and_a_kept_reading_is_a_fresh_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(wire, "_KNOWN", {})
    for number in range(1000):
        head = strict("Host: x", f"Content-Length: {number}")
        assert read_head(head) == Head("/api/getBalance", number, len(head))
        assert len(wire._KNOWN) <= 256
    assert 0 < len(wire._KNOWN) <= 256
    cases = [head for head, _, _ in ACCEPTED.values()] + list(REFUSED.values()) + list(GONE_WRONG.values())
    for head in cases:
        monkeypatch.setattr(wire, "_KNOWN", {})
        fresh = read_head(head + b"{}")
        ended = head.find(b"\r\n\r\n", 0, 8190)
        if ended < 0:
            assert not wire._KNOWN, "no head to keep"
            continue
        # Kept under the head's bytes, and what is kept is what a reading with nothing kept says.
        kept = dict(wire._KNOWN)
        assert kept == {head[: ended + 4]: fresh}, head[:60]
        assert read_head(head + b"[]") == fresh, head[:60]
        monkeypatch.setattr(wire, "_KNOWN", {head[: ended + 4]: Head("/kept", 7, 7)})
        assert read_head(head) == Head("/kept", 7, 7), "a kept head is not read again"


# 2. Real clients over real sockets: read by the wire reader, answered directly


def _with_requests_session(url: str, body: dict[str, Any], count: int) -> list[Any]:
    with requests.Session() as session:
        return [session.post(url, json=body, timeout=GUARD).json() for _ in range(count)]


def _with_requests_post(url: str, body: dict[str, Any], count: int) -> list[Any]:
    return [requests.post(url, json=body, timeout=GUARD).json() for _ in range(count)]


def _with_httpx(url: str, body: dict[str, Any], count: int) -> list[Any]:
    with httpx.Client(timeout=GUARD) as client:
        return [client.post(url, json=body).json() for _ in range(count)]


def _with_aiohttp(url: str, body: dict[str, Any], count: int) -> list[Any]:
    async def main() -> list[Any]:
        timeout = aiohttp.ClientTimeout(total=GUARD)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            answers = []
            for _ in range(count):
                async with session.post(url, json=body) as answer:
                    answers.append(await answer.json())
            return answers

    return asyncio.run(main())


CLIENTS: dict[str, Callable[[str, dict[str, Any], int], list[Any]]] = {
    "requests.Session": _with_requests_session,
    "requests.post": _with_requests_post,
    "httpx.Client": _with_httpx,
    "aiohttp.ClientSession": _with_aiohttp,
}


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_real_clients_requests_are_read_by_the_wire_reader_and_answered_directly(
    server: FakeServer, heads: list[Reading], directs: list[str], client: str
) -> None:
    answers = CLIENTS[client](f"{server.api_url}/createJob", create_body(), 20)
    assert [answer["message"] for answer in answers] == ["Create job success."] * 20
    assert len({answer["job_id"] for answer in answers}) == 20
    assert None not in heads, "no request was handed to aiohttp"
    assert read_paths(heads) == ["/api/createJob"] * 20
    assert directs == ["/api/createJob"] * 20
    assert [exchange.endpoint for exchange in server.requests] == ["createJob"] * 20


# 3. The same bytes as a server without direct answers


def _sequence(server: FakeServer) -> dict[str, Answer]:
    """The API's requests on one connection: each endpoint, and a few errors."""
    answers: dict[str, Answer] = {}
    with connect(server) as connection:
        answers["createJob"] = connection.ask(request("/api/createJob", create_body()))
        job = {"api_token": TOKEN, "job_id": answers["createJob"].json()["job_id"]}
        answers["getJobResult"] = connection.ask(request("/api/getJobResult", job))
        answers["getJobResult again"] = connection.ask(request("/api/getJobResult", job))
        answers["getJobResult, unknown job"] = connection.ask(
            request("/api/getJobResult", {"api_token": TOKEN, "job_id": 12345})
        )
        answers["getBalance"] = connection.ask(request("/api/getBalance", BALANCE))
        answers["createJob, no token"] = connection.ask(request("/api/createJob", {"data": {}}))
        task = {"clientKey": TOKEN, "task": V2_IMAGE}
        answers["v2 createTask"] = connection.ask(request("/v2/createTask", task))
        task_id = {"clientKey": TOKEN, "taskId": answers["v2 createTask"].json()["taskId"]}
        answers["v2 getTaskResult"] = connection.ask(request("/v2/getTaskResult", task_id))
        answers["v2 getBalance"] = connection.ask(request("/v2/getBalance", {"clientKey": TOKEN}))
    return answers


def test_each_answer_read_by_the_wire_reader_is_the_bytes_of_the_routed_one(
    server: FakeServer, routed: FakeServer, heads: list[Reading], directs: list[str]
) -> None:
    answered = _sequence(server)
    paths = list(directs)
    read = read_paths(heads)
    routed_answers = _sequence(routed)
    assert len(directs) == len(paths), "the direct=False server answered nothing directly"
    assert (
        read
        == paths
        == [
            "/api/createJob",
            "/api/getJobResult",
            "/api/getJobResult",
            "/api/getJobResult",
            "/api/getBalance",
            "/api/createJob",
            "/v2/createTask",
            "/v2/getTaskResult",
            "/v2/getBalance",
        ]
    )
    assert {name: alike(answer) for name, answer in answered.items()} == {
        name: alike(answer) for name, answer in routed_answers.items()
    }
    assert answered["getJobResult"].json()["error"] is False
    assert answered["v2 getTaskResult"].status == 200


@pytest.mark.parametrize(
    "body",
    [b"", b"{not json", b"[]", b"null", json.dumps(create_body()).encode() + b"}"],
    ids=["Content-Length: 0", "not JSON", "a JSON array", "JSON null", "JSON and a stray brace"],
)
def test_an_empty_or_broken_body_gets_the_answer_of_the_routed_one(
    server: FakeServer, routed: FakeServer, heads: list[Reading], directs: list[str], body: bytes
) -> None:
    answered = ask(server, request("/api/createJob", body))
    assert read_paths(heads) == directs == ["/api/createJob"]
    refused = ask(routed, request("/api/createJob", body))
    assert answered.status == refused.status and answered.json()["error"] is True
    assert alike(answered) == alike(refused)


# 4. What is not of the shape: aiohttp's, as on a server without direct answers

_GOOD = request("/api/getBalance", BALANCE)
_HEAD, _, _ = _GOOD.partition(b"\r\n\r\n")

# Requests that are not of the strict shape, each alone on the wire.
NOT_STRICT: dict[str, bytes] = {
    "a Bad Header line": _GOOD.replace(b"Host: 127.0.0.1\r\n", b"Host: 127.0.0.1\r\nBad Header\r\n"),
    "a space before a colon": _GOOD.replace(b"Host: 127.0.0.1", b"Host : 127.0.0.1"),
    "Content-Length twice, not equal": _HEAD + b"\r\nContent-Length: 3\r\n\r\n" + _BODY,
    "Content-Length and Transfer-Encoding": (
        _HEAD
        + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
        + f"{len(_BODY):x}\r\n".encode()
        + _BODY
        + b"\r\n0\r\n\r\n"
    ),
    "Content-Length with a sign": _GOOD.replace(
        f"Content-Length: {len(_BODY)}".encode(), f"Content-Length: +{len(_BODY)}".encode()
    ),
    "a NUL in a value": _GOOD.replace(b"Host: 127.0.0.1", b"Host: 127.0.0.1\x00"),
    "obs-fold": _GOOD.replace(b"Host: 127.0.0.1\r\n", b"Host: 127.0.0.1\r\n folded\r\n"),
    "bare LF line ends": _HEAD.replace(b"\r\n", b"\n") + b"\n\n" + _BODY,
    "HTTP/1.2": _GOOD.replace(b"HTTP/1.1", b"HTTP/1.2"),
    "HTTP/1.0": _GOOD.replace(b"HTTP/1.1", b"HTTP/1.0"),
    "Connection: close": _GOOD.replace(b"Host: 127.0.0.1", b"Host: 127.0.0.1\r\nConnection: close"),
    "a chunked body": (
        _HEAD.replace(f"Content-Length: {len(_BODY)}".encode(), b"Transfer-Encoding: chunked")
        + b"\r\n\r\n"
        + f"{len(_BODY):x}\r\n".encode()
        + _BODY
        + b"\r\n0\r\n\r\n"
    ),
    "no Content-Length": _HEAD.replace(f"\r\nContent-Length: {len(_BODY)}".encode(), b"") + b"\r\n\r\n",
    "a GET": _GOOD.replace(b"POST", b"GET"),
    "a path not answered directly": _GOOD.replace(b"/api/getBalance", b"/api/nothing"),
}

# Requests of the strict shape that aiohttp's parser (3.14) refuses: the wire reader must leave
# them to it too, or a server with direct answers answers what one without refuses.
AIOHTTP_REFUSES: dict[str, bytes] = {
    "no Host": _GOOD.replace(b"Host: 127.0.0.1\r\n", b""),
    "Host twice": _GOOD.replace(b"Host: 127.0.0.1\r\n", b"Host: 127.0.0.1\r\nHost: evil.example\r\n"),
    "Content-Type twice": _GOOD.replace(
        b"Content-Type: application/json\r\n",
        b"Content-Type: application/json\r\nContent-Type: text/plain\r\n",
    ),
    "User-Agent twice": _GOOD.replace(
        b"Host: 127.0.0.1\r\n", b"Host: 127.0.0.1\r\nUser-Agent: a\r\nUser-Agent: b\r\n"
    ),
    "Sec-WebSocket-Key1": _GOOD.replace(
        b"Host: 127.0.0.1\r\n", b"Host: 127.0.0.1\r\nSec-WebSocket-Key1: x\r\n"
    ),
}


def _after_a_strict_request(server: FakeServer, data: bytes) -> tuple[Answer, Answer, bool]:
    """A strict getBalance, then ``data``, on one connection: both answers, and whether the
    connection was kept after the second."""
    with connect(server) as connection:
        first = connection.ask(_GOOD)
        second = connection.ask(data)
        return first, second, kept_alive(connection)


def _alone(server: FakeServer, data: bytes) -> tuple[Answer, bool]:
    with connect(server) as connection:
        answer = connection.ask(data)
        return answer, kept_alive(connection)


@pytest.mark.parametrize("case", sorted(NOT_STRICT))
def test_a_request_not_of_the_shape_after_a_strict_one_gets_what_aiohttp_gives_it(
    server: FakeServer, routed: FakeServer, heads: list[Reading], directs: list[str], case: str
) -> None:
    """Mid-connection: the strict request is answered directly, the next one is handed to
    aiohttp, which answers (or refuses) it and keeps or closes the connection as it does on a
    fresh connection of a server without direct answers."""
    data = NOT_STRICT[case]
    first, second, kept = _after_a_strict_request(server, data)
    assert directs[:1] == read_paths(heads)[:1] == ["/api/getBalance"]
    last = heads[-1]
    assert last is None or (isinstance(last, Head) and last.path == "/api/nothing"), "handed over"
    alone, kept_alone = _alone(routed, data)
    _, routed_second, routed_kept = _after_a_strict_request(routed, data)
    assert first.status == 200 and "balance" in first.json()
    assert alike(second) == alike(alone) == alike(routed_second)
    assert kept == kept_alone == routed_kept


def test_a_bad_header_line_is_the_400_in_the_api_shape_and_a_close(
    server: FakeServer, heads: list[Reading]
) -> None:
    _, second, kept = _after_a_strict_request(server, NOT_STRICT["a Bad Header line"])
    assert second.status == 400
    assert second.json()["error"] is True and second.json()["message"].startswith("Bad HTTP request")
    assert kept is False
    assert heads[-1] is None


@pytest.mark.parametrize("case", sorted(AIOHTTP_REFUSES))
def test_a_strict_looking_request_aiohttp_refuses_is_refused_alike(
    server: FakeServer, routed: FakeServer, case: str
) -> None:
    """The wire reader's promise (omofake.http.wire's docstring): a request it reads means the
    same to aiohttp. Here aiohttp refuses it with a 400 on a server without direct answers."""
    data = AIOHTTP_REFUSES[case]
    refused, kept_refused = _alone(routed, data)
    assert refused.status == 400 and refused.json()["error"] is True
    answered, kept = _alone(server, data)
    assert (answered.status, answered.body) == (refused.status, refused.body)
    assert alike(answered) == alike(refused)
    assert kept == kept_refused


# 5. Pipelining


def test_a_strict_request_and_a_second_in_the_same_send_are_answered_in_order(
    server: FakeServer, heads: list[Reading], directs: list[str]
) -> None:
    created = request("/api/createJob", create_body())
    with connect(server) as connection:
        connection.send(created + request("/api/getBalance", BALANCE))
        first, second = connection.read(), connection.read()
        assert first.json()["message"] == "Create job success."
        assert "balance" in second.json() and second.json()["error"] is False
        # The connection is aiohttp's from then on, and still answers.
        job = {"api_token": TOKEN, "job_id": first.json()["job_id"]}
        assert connection.ask(request("/api/getJobResult", job)).status == 200
    # The head was read, then the bytes after its body handed the connection to aiohttp.
    head = len(head_of(created))
    assert heads == [Head("/api/createJob", len(created) - head, head)]
    assert [exchange.endpoint for exchange in server.requests] == ["createJob", "getBalance", "getJobResult"]
    # The pair went through aiohttp's routes; the lone request after it was parsed by aiohttp
    # and answered directly (tests/test_direct.py's pipelining test).
    assert directs == ["/api/getJobResult"]


def test_a_body_that_comes_late_with_a_second_request_behind_it_is_answered_in_order(
    server: FakeServer, heads: list[Reading], directs: list[str]
) -> None:
    data = request("/api/createJob", create_body())
    head = len(head_of(data))
    with connect(server) as connection:
        connection.send(data[: head + 5])
        wait_for(lambda: body_awaited(server), "the head is read")
        assert read_paths(heads) == ["/api/createJob"]
        connection.send(data[head + 5 :] + request("/api/getBalance", BALANCE))
        first, second = connection.read(), connection.read()
    assert first.json()["message"] == "Create job success."
    assert "balance" in second.json() and second.json()["error"] is False
    assert [exchange.endpoint for exchange in server.requests] == ["createJob", "getBalance"]
    assert len(server.jobs) == 1


def _reset_while_the_body_comes(server: FakeServer, begun: Callable[[], bool], behind: bytes) -> list[Answer]:
    """A createJob's head and a bit of its body, a reset, then the rest of the body and ``behind``."""
    data = request("/api/createJob", create_body())
    head = len(head_of(data))
    answers = []
    with connect(server) as connection:
        connection.send(data[: head + 10])
        wait_for(begun, "the server reads the head")
        server.reset()
        connection.send(data[head + 10 :] + behind)
        answers.append(connection.read())
        if behind:
            answers.append(connection.read())
    return answers


def test_a_reset_while_a_wire_read_body_comes_makes_the_request_stale(
    server: FakeServer, routed: FakeServer, heads: list[Reading], directs: list[str]
) -> None:
    """As tests/test_isolation.py expects of either path: refused, no job, nothing journaled."""
    (answered,) = _reset_while_the_body_comes(server, lambda: body_awaited(server), b"")
    assert read_paths(heads) == directs == ["/api/createJob"]
    assert answered.json()["error"] is True and "reset" in answered.json()["message"]
    assert len(server.jobs) == 0 and list(server.requests) == []
    (refused,) = _reset_while_the_body_comes(routed, lambda: _begun(routed), b"")
    assert alike(answered) == alike(refused)


def test_a_reset_while_a_wire_read_body_comes_makes_it_stale_with_a_request_pipelined_behind_it(
    server: FakeServer, routed: FakeServer, heads: list[Reading]
) -> None:
    """The same reset, when the rest of the body comes with a second request behind it (the
    connection is handed to aiohttp then): the first is still the stale one, as it is on a
    server without direct answers, and the second is answered after it."""
    behind = request("/api/getBalance", BALANCE)
    refused, balance = _reset_while_the_body_comes(routed, lambda: _begun(routed), behind)
    assert refused.json()["error"] is True and "reset" in refused.json()["message"]
    answered, second = _reset_while_the_body_comes(server, lambda: body_awaited(server), behind)
    assert read_paths(heads) == ["/api/createJob"]
    assert alike(answered) == alike(refused), answered.body
    assert "balance" in second.json() and alike(second) == alike(balance)
    assert len(server.jobs) == 0
    assert [exchange.endpoint for exchange in server.requests] == ["getBalance"]


# 6. Trickles


def test_a_head_and_body_trickled_a_byte_a_send_are_read_and_answered_directly(
    server: FakeServer, routed: FakeServer, heads: list[Reading], directs: list[str]
) -> None:
    created = request("/api/createJob", create_body())
    answers = []
    for each in (server, routed):
        with connect(each) as connection:
            _trickle(connection, head_of(created))
            time.sleep(0.01)
            connection.send(created[len(head_of(created)) :])  # the body in one piece
            answers.append(connection.read())
            _trickle(
                connection,
                request("/api/getJobResult", {"api_token": TOKEN, "job_id": answers[-1].json()["job_id"]}),
            )
            answers.append(connection.read())
            _trickle(connection, _GOOD)
            answers.append(connection.read())
    assert [answer.status for answer in answers] == [200] * 6
    assert [alike(answer) for answer in answers[:3]] == [alike(answer) for answer in answers[3:]]
    assert read_paths(heads) == directs == ["/api/createJob", "/api/getJobResult", "/api/getBalance"]
    assert None not in heads and heads.count(MORE) > 10, "the heads came in many reads"


def _trickle_until_answered(connection: Wire, data: bytes) -> int:
    """Send ``data`` a byte per send until the server's answer starts to come; how many bytes
    were sent by then (all of them if it has not come yet)."""
    connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for sent in range(len(data)):
        if select.select([connection.sock], [], [], 0)[0]:
            return sent
        connection.send(data[sent : sent + 1])
        time.sleep(0.002)
    return len(data)


@pytest.mark.parametrize(
    ("bad", "breaks_at"),
    [
        (b"POST /api/getBalance HTTP/1.1\r\nHost: x\r\nBad Header\r\n", b"Bad "),
        # Well-formed lines, but a second Host, which aiohttp refuses as the next header begins.
        (b"POST /api/getBalance HTTP/1.1\r\nHost: x\r\nHost: y\r\nAccept: */*\r\n", b"Host: y"),
    ],
    ids=["a line without a colon", "a second Host"],
)
def test_a_bad_head_trickled_a_byte_a_send_is_refused_before_its_blank_line(
    server: FakeServer, routed: FakeServer, heads: list[Reading], bad: bytes, breaks_at: bytes
) -> None:
    answers = []
    for each in (server, routed):
        with connect(each) as connection:
            sent = _trickle_until_answered(connection, bad)
            assert sent > bad.index(breaks_at), "not answered before the bad bytes"
            # Nothing more is sent (no blank line ends the head): a server waiting for it hangs here.
            answers.append(connection.read())
            assert not kept_alive(connection)
    answered, refused = answers
    assert answered.status == 400 and answered.json()["error"] is True
    assert alike(answered) == alike(refused)
    assert heads[-1] is None and MORE in heads, "the wire reader read the start, then handed it over"


# 7. Timeouts


def test_the_header_timeout_closes_a_connection_whose_strict_head_never_ends(
    heads: list[Reading], directs: list[str]
) -> None:
    with FakeServer(idle_timeout=600, header_timeout=0.3) as server, connect(server) as connection:
        connection.send(b"POST /api/createJob HTTP/1.1\r\nHost: x\r\n")
        assert connection.closed_by_server()
    assert heads and all(reading is MORE for reading in heads), "read by the wire reader, never handed over"
    assert directs == []


def test_the_header_timeout_closes_a_strict_head_that_never_ends_after_a_direct_answer(
    heads: list[Reading], directs: list[str]
) -> None:
    with FakeServer(idle_timeout=600, header_timeout=0.3) as server, connect(server) as connection:
        connection.send(_GOOD)
        assert connection.read().status == 200
        connection.send(b"POST /api/createJob HTTP/1.1\r\nHost: x\r\n")
        assert connection.closed_by_server()
    assert heads[-1] is MORE and None not in heads
    assert directs == ["/api/getBalance"]


@pytest.mark.parametrize("answer_directly", [True, False], ids=["wire", "routed"])
def test_a_head_whose_body_is_slow_is_not_cut_by_the_header_or_idle_timeout(
    heads: list[Reading], directs: list[str], answer_directly: bool
) -> None:
    """As tests/test_direct.py's slow body: a body on its way is no idle time, and the head is
    complete, so neither timeout closes the connection; once answered, the idle timeout does."""
    data = request("/api/createJob", create_body())
    head = len(head_of(data))
    with (
        FakeServer(idle_timeout=0.3, header_timeout=0.3, direct=answer_directly) as server,
        connect(server) as connection,
    ):
        connection.send(data[: head + 5])
        if answer_directly:
            wait_for(lambda: body_awaited(server), "the head is read")
        time.sleep(1.0)  # three of each timeout while the body is on its way
        connection.send(data[head + 5 :])
        answer = connection.read()
        assert answer.json()["message"] == "Create job success."
        assert connection.closed_by_server(), "the idle timeout closes it once answered"
    assert read_paths(heads) == directs == (["/api/createJob"] if answer_directly else [])


# 8. Latency


def test_a_wire_read_request_is_answered_no_earlier_than_the_latency_after_its_head(
    server: FakeServer, heads: list[Reading], directs: list[str]
) -> None:
    server.configure(latency=0.2)
    data = request("/api/createJob", create_body())
    head = len(head_of(data))
    with connect(server) as connection:
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sent = time.monotonic()
        connection.send(data[:head])
        wait_for(lambda: body_awaited(server), "the head is read")
        connection.send(data[head:])
        answer = connection.read()
        waited = time.monotonic() - sent
        again_sent = time.monotonic()
        polled = connection.ask(
            request("/api/getJobResult", {"api_token": TOKEN, "job_id": answer.json()["job_id"]})
        )
        again = time.monotonic() - again_sent
    assert answer.json()["message"] == "Create job success." and polled.status == 200
    assert waited >= 0.2, waited
    assert again >= 0.2, again
    assert read_paths(heads) == directs == ["/api/createJob", "/api/getJobResult"]


# 9. Heavy bodies and faults


def _padded_create(size: int) -> bytes:
    """A createJob body of exactly ``size`` bytes (JSON padded with trailing spaces)."""
    body = json.dumps(create_body()).encode()
    return body + b" " * (size - len(body))


@pytest.mark.parametrize("size", [HEAVY_BODY, HEAVY_BODY + 1], ids=["256 KiB", "256 KiB + 1"])
def test_a_body_over_256_kib_is_handed_to_aiohttp_and_answered(
    server: FakeServer, heads: list[Reading], directs: list[str], size: int
) -> None:
    with connect(server) as connection:
        answer = connection.ask(request("/api/createJob", _padded_create(size)))
        assert answer.json()["message"] == "Create job success."
        assert connection.ask(_GOOD).status == 200
    (first, *_) = [reading for reading in heads if isinstance(reading, Head)]
    assert (first.path, first.length) == ("/api/createJob", size)
    if size > HEAVY_BODY:
        assert None not in heads and len(read_paths(heads)) == 1, "the connection is aiohttp's after it"
        assert directs == ["/api/getBalance"]  # aiohttp's parser read it, then answered directly
    else:
        assert read_paths(heads) == directs == ["/api/createJob", "/api/getBalance"]
    assert server.requests[0].request == create_body()


def test_a_fault_makes_the_wire_reader_hand_over_and_a_new_connection_is_read_again_once_cleared(
    server: FakeServer, heads: list[Reading], directs: list[str]
) -> None:
    server.configure(fault="bad_gateway")
    with connect(server) as connection:
        answer = connection.ask(_GOOD)
    assert answer.status == 502 and b"502 Bad Gateway" in answer.body
    assert read_paths(heads) == ["/api/getBalance"] and directs == []
    server.configure(fault=None)
    heads.clear()
    with connect(server) as connection:
        assert connection.ask(_GOOD).json()["error"] is False
        assert connection.ask(request("/api/createJob", create_body())).json()["error"] is False
    assert read_paths(heads) == directs == ["/api/getBalance", "/api/createJob"]
    assert [(exchange.endpoint, exchange.fault) for exchange in server.requests] == [
        ("getBalance", "bad_gateway"),
        ("getBalance", None),
        ("createJob", None),
    ]
