"""The wire reader (:mod:`omofake.http.wire`) against aiohttp's parser, on generated requests.

Each example is one request, drawn from a grammar that mixes the headers real clients send with
every shape that changes how a request is framed or refused (a second Content-Length or Host, a
Transfer-Encoding, a sign or a space in a length, folding, bare line feeds, control and non-ASCII
bytes, a query, another path, HTTP/1.0...). It goes, on a connection of its own, to a server that
answers directly (the wire reader first) and to its twin with ``direct=False`` (aiohttp parses
and routes everything); the first answers must be the same bytes, but for the Date's value.
A request the wire reader reads one way and aiohttp another would show here as two answers.

Examples are derandomized (the same ones each run: no flaky discovery in CI) and bounded. The
body always has the length any Content-Length of digits says, so that no server waits for more;
a hang guard turns a server that never answers into "no answer", which must then be the twin's
answer too. No speed is judged.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator, Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omofake import FakeServer
from omofake.http import connections, wire
from omofake.http.wire import Head

from .helpers import TOKEN, create_body
from .test_direct import Wire
from .test_wire import alike

# Long enough for any answer on loopback; only a server that waits for bytes never sent hits it.
_NO_ANSWER_AFTER = 3.0

_BODIES = [
    json.dumps({"api_token": TOKEN}).encode(),
    json.dumps({"clientKey": TOKEN}).encode(),
    b"",
    b"not json",
    # A job made on both twins alike (the same seed, the same requests in the same order).
    json.dumps(create_body()).encode(),
    json.dumps({"api_token": TOKEN, "job_id": 1}).encode(),
]
_REQUEST_LINES = [
    b"POST /api/getBalance HTTP/1.1",
    b"POST /api/getBalance HTTP/1.1",
    b"POST /api/getBalance HTTP/1.1",
    b"POST /v2/getBalance HTTP/1.1",
    b"POST /api/createJob HTTP/1.1",
    b"POST /api/createJob HTTP/1.1",
    b"POST /api/getJobResult HTTP/1.1",
    b"POST /api/getBalance HTTP/1.0",
    b"post /api/getBalance HTTP/1.1",
    b"POST  /api/getBalance HTTP/1.1",
    b"POST /api/getBalance?x=1 HTTP/1.1",
    b"POST /api/getbalance HTTP/1.1",
    b"GET /api/getBalance HTTP/1.1",
    b"POST /api/getBalance HTTP/1.1 x",
    b"POST /api/getBalance",
]
# "{n}" is the body's length.
_COMMON = [
    b"Host: 127.0.0.1",
    b"Content-Length: {n}",
    b"Content-Type: application/json",
    b"User-Agent: fuzz/1.0",
    b"Accept: */*",
    b"Accept-Encoding: gzip, deflate",
    b"Connection: keep-alive",
]
_ODD = [
    b"Host: 127.0.0.1",  # a second one, with one of the common lines
    b"Content-Length: {n}",  # likewise
    b"Content-Type: text/plain",
    b"User-Agent: other/2.0",
    b"Content-Length:{n}",
    b"Content-Length:  0{n} ",
    b"Content-Length: +{n}",
    b"Content-Length: -{n}",
    b"Content-Length: {n}, {n}",
    b"Content-Length: {n}x",
    b"Content-Length: 0x{n}",
    b"Content-Length:",
    b"Connection: close",
    b"Connection: Upgrade",
    b"Connection: keep-alive, Upgrade",
    b"Upgrade: websocket",
    b"Transfer-Encoding: chunked",
    b"Transfer-Encoding: identity",
    b"Content-Encoding: identity",
    b"Content-Encoding: gzip",
    b"Expect: 100-continue",
    b"Sec-WebSocket-Key1: 4 @1  46546xW%0l 1 5",
    b"X-Odd : value",
    b" folded",
    b"\tfolded",
    b"X-Ctl: a\x01b",
    b"X-Nul: a\x00b",
    b"X-Del: a\x7fb",
    b"X-High: caf\xc3\xa9",
    b"NoColon",
    b"X-Empty:",
    b": no name",
    b"X-Lf: a\nb",
    b"X-Cr: a\rb",
    b"X-Long: " + b"v" * 9000,
]


def _cased(line: bytes, how: int) -> bytes:
    name, colon, value = line.partition(b":")
    if not colon:
        return line
    return (name, name.lower(), name.upper(), name.title())[how] + colon + value


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    body = draw(st.sampled_from(_BODIES))
    # Mostly a clean request line, Host and Content-Length, and one odd line or none: so that
    # the wire reader reads many of them and has to hand over on the one line that is odd.
    line = draw(st.sampled_from(_REQUEST_LINES[:4] * 4 + _REQUEST_LINES[4:]))
    common = draw(st.lists(st.sampled_from(_COMMON[2:]), max_size=len(_COMMON) - 2, unique=True))
    common += [header for header in _COMMON[:2] if draw(st.integers(0, 9))]
    odd = draw(st.lists(st.sampled_from(_ODD), max_size=2)) if draw(st.booleans()) else []
    headers = draw(st.permutations(common + odd))
    how = draw(st.integers(0, 3))
    ending = draw(st.sampled_from([b"\r\n"] * 5 + [b"\n"]))
    head = ending.join([line, *(_cased(header, how) for header in headers)]) + ending * 2
    return head.replace(b"{n}", str(len(body)).encode()) + body


def request_bytes(*headers: bytes, body: bytes = _BODIES[0]) -> bytes:
    """A getBalance with these header lines and ``body``."""
    return b"\r\n".join([b"POST /api/getBalance HTTP/1.1", *headers]) + b"\r\n\r\n" + body


def _answers(
    server: FakeServer, data: bytes, cuts: Sequence[int] = (), gap: float = 0.002, *, all: bool
) -> list[object]:
    """The answers to ``data``, sent in pieces cut at ``cuts`` (``gap`` seconds apart: each a
    segment of its own, most often): the first only, or ``all`` of them up to the server's
    closing. "no answer" when the server waits for more, "closed" when it closes (or resets)."""
    connection = Wire(server)
    connection.sock.settimeout(_NO_ANSWER_AFTER)
    connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    answers: list[object] = []
    try:
        start = 0
        for cut in (*sorted(set(cuts)), len(data)):
            connection.send(data[start:cut])
            start = cut
            if cut < len(data):
                time.sleep(gap)
        answers.append(alike(connection.read()))
        while all:
            answers.append(alike(connection.read()))
    except TimeoutError:
        answers.append("no answer")
    except (AssertionError, ConnectionError):  # closed (Wire.read asserts) or reset
        answers.append("closed")
    finally:
        connection.close()
    return answers


def _first_answer(server: FakeServer, data: bytes, cuts: Sequence[int] = ()) -> object:
    return _answers(server, data, cuts, all=False)[0]


def _examples(count: int) -> settings:
    """Bounded, and the same examples each run."""
    return settings(
        max_examples=count,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


@pytest.fixture(scope="module")
def twins() -> Iterator[tuple[FakeServer, FakeServer]]:
    with FakeServer(seed=5) as direct, FakeServer(seed=5, direct=False) as routed:
        yield direct, routed


def test_a_generated_request_gets_the_answer_aiohttp_gives_it(
    twins: tuple[FakeServer, FakeServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    direct, routed = twins
    read: list[str] = []  # the paths of the heads the wire reader read
    examples: list[bytes] = []
    real = wire.read_head

    def recording(data: bytes | bytearray) -> Head | wire.More | None:
        reading = real(data)
        if isinstance(reading, Head):
            read.append(reading.path)
        return reading

    monkeypatch.setattr(connections, "read_head", recording)

    @_examples(500)
    @given(data=requests())
    def same_answer(data: bytes) -> None:
        examples.append(data)
        assert _first_answer(direct, data) == _first_answer(routed, data), data

    same_answer()
    # Many of the requests were of the strict shape: the comparison held the wire reader, not
    # only aiohttp, to aiohttp.
    assert len(examples) >= 250 and len(read) >= 60, (len(examples), len(read))
    assert {"/api/getBalance", "/v2/getBalance", "/api/createJob"} <= set(read), set(read)


def test_a_generated_request_sent_in_pieces_gets_the_answer_aiohttp_gives_it(
    twins: tuple[FakeServer, FakeServer],
) -> None:
    # The same, with the request cut into pieces: the wire reader holds an incomplete head or
    # body, then reads it or hands it over; aiohttp must not be able to tell.
    direct, routed = twins

    @_examples(120)
    @given(data=requests(), cuts=st.lists(st.integers(1, 400), max_size=3))
    def same_answer(data: bytes, cuts: list[int]) -> None:
        inside = [cut for cut in cuts if cut < len(data)]
        assert _first_answer(direct, data, inside) == _first_answer(routed, data, inside), (data, inside)

    same_answer()


_LAST = b"POST /api/getBalance HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s" % (
    len(_BODIES[0]),
    _BODIES[0],
)


def _all_answers(server: FakeServer, data: bytes, cuts: Sequence[int], gap: float = 0.002) -> list[object]:
    return _answers(server, data, cuts, gap, all=True)


def test_generated_requests_one_after_another_on_a_connection_get_aiohttps_answers(
    twins: tuple[FakeServer, FakeServer],
) -> None:
    # Up to three generated requests on one connection, then one that asks to close it, sent
    # whole or in pieces: the wire reader reads some, hands the connection over at the first
    # that is not of its shape (or at the last, at the latest), and every answer, up to the
    # close, is aiohttp's.
    direct, routed = twins

    @_examples(120)
    @given(sent=st.lists(requests(), min_size=1, max_size=3), cuts=st.lists(st.integers(1, 900), max_size=3))
    def same_answers(sent: list[bytes], cuts: list[int]) -> None:
        data = b"".join(sent) + _LAST
        inside = [cut for cut in cuts if cut < len(data)]
        answers = _all_answers(direct, data, inside)
        assert answers == _all_answers(routed, data, inside), (data, inside)
        lengths.append(len(answers))

    lengths: list[int] = []
    same_answers()
    # The shape that found the reader merging a held head with a later read: a strict head in
    # one read, then its body and a request aiohttp refuses in the next (two answers, not one).
    good = request_bytes(b"Host: 127.0.0.1", b"Content-Length: %d" % len(_BODIES[0]))
    data = good + b"POST /api/getBalance HTTP/1.1\r\n\r\n" + _BODIES[0] + _LAST
    cut = [good.index(b"\r\n\r\n") + 4]
    # Pieces 50 ms apart: read apart, even on a busy machine, as the count below needs.
    answers = _all_answers(direct, data, cut, gap=0.05)
    assert answers == _all_answers(routed, data, cut, gap=0.05)
    assert len(answers) == 3, answers
    # Some connections carried several answers: the reader's hand-over was met mid-connection.
    assert max(lengths) >= 4 and lengths.count(1) < len(lengths) // 2, lengths


def test_a_head_then_its_body_and_a_bad_request_sent_during_a_latency_get_aiohttps_answers() -> None:
    # While a direct answer waits its latency, what the client sends is held, and small reads
    # are kept together; but a head aiohttp would have read on its own stays a read of its own,
    # or aiohttp, meeting the bad request in the same read, drops it (one answer, not two).
    body = _BODIES[0]
    first = request_bytes(b"Host: x", b"Content-Length: %d" % len(body))
    head = first[: first.index(b"\r\n\r\n") + 4]
    pieces = [first, head, body + b"POST /api/getBalance HTTP/1.1\r\n\r\n" + body + _LAST]
    answers = []
    for direct in (True, False):
        with FakeServer(seed=5, direct=direct, latency=0.2) as server:
            data = b"".join(pieces)
            cuts = [len(pieces[0]), len(pieces[0]) + len(pieces[1])]
            # 50 ms apart, well within the 0.2 s wait: read apart, even on a busy machine.
            answers.append(_all_answers(server, data, cuts, gap=0.05))
    assert answers[0] == answers[1]
    assert [answer[0] for answer in answers[0][:3]] == [  # type: ignore[index]
        "HTTP/1.1 200 OK",
        "HTTP/1.1 200 OK",
        "HTTP/1.0 400 Bad Request",
    ]
