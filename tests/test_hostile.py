"""The HTTP layer survives hostile input: huge images, compression bombs, broken HTTP, clients
that leave or never finish, and running out of file descriptors, without stalling other clients.

No test here judges speed (see benchmarks/big_body.py for that): hang guards are generous
timeouts on sockets, and the rest is counted (bytes inflated, bytes allocated, log lines).
"""

from __future__ import annotations

import codecs
import gzip
import json
import os
import random
import re
import socket
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from omofake import FakeServer
from omofake.contract import patterns, reject_json_constant, validate_request
from omofake.contract.fastcheck import compile_schema
from omofake.contract.registry import load_schema, validator
from omofake.http import jsonbody
from tests.helpers import PNG, create_body, serve

# A hang guard, not a speed threshold: only a server that never answers reaches it.
GUARD = 20.0


# Raw HTTP, for what client libraries will not send


def _address(server: FakeServer) -> tuple[str, int]:
    return server.host, server.port


def raw_exchange(address: tuple[str, int], data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``data`` as is, read until the server closes; the status, headers and body."""
    with socket.create_connection(address, timeout=GUARD) as sock:
        sock.sendall(data)
        received = _read_until_closed(sock)
    return _parse(received)


def _read_until_closed(sock: socket.socket) -> bytes:
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def _parse(received: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    return status, headers, body


def post_bytes(
    address: tuple[str, int], path: str, body: bytes, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    lines = [f"POST {path} HTTP/1.1", f"Host: {address[0]}", "Content-Type: application/json"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    lines += [f"Content-Length: {len(body)}", "Connection: close"]
    return raw_exchange(address, ("\r\n".join(lines) + "\r\n\r\n").encode() + body)


def _json(body: bytes) -> Any:
    return json.loads(body)


def _still_serving(server: FakeServer) -> None:
    answer = requests.post(f"{server.api_url}/createJob", json=create_body(), timeout=GUARD)
    assert answer.json()["error"] is False


# 1. Base64 images: a linear check, and big bodies off the event loop

PATTERN_CORPUS = [
    "",
    "\n",
    "Q",
    "QQ",
    "QQ=",
    "QQ==",
    "QQ==\n",
    "QQ==\n\n",
    "\nQQ==",
    "QUI=",
    "QUJD",
    "QUJD\n",
    "QUJDRA==",
    "Q===",
    "====",
    "QQ==QQ==",
    "QUJ",
    "QUJDR",
    "QUJDRA=",
    "QUJDRA===",
    "QQ-_",
    "QQ== ",
    " QQ==",
    "ảnh=",
    "\ud800QQ=",
    "|",
    "QQ==|",
    "|QQ==",
    "QQ==|QUI=",
    "QQ==|QUI=\n",
    "QQ==|QUI=|QUJD",
    "QQ==\n|QUI=",
    "QUJD|QUJD|",
    PNG,
    f"{PNG}|{PNG}",
    PNG[:-1],
    PNG + "=",
]


def _fuzz(count: int) -> Iterator[str]:
    rng = random.Random(7)
    alphabet = "QUJD+/=|\n a"
    for _ in range(count):
        yield "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))


@pytest.mark.parametrize("images", range(1, patterns.MAX_IMAGES + 1))
def test_the_image_check_answers_as_the_schema_pattern_does(images: int) -> None:
    pattern = patterns.images_pattern(images)
    check = patterns.known_pattern(pattern)
    assert check is not None
    corpus = [*PATTERN_CORPUS, *_fuzz(20_000), *("|".join([PNG] * n) for n in range(1, 6))]
    disagreements = [t for t in corpus if check(t) != (re.search(pattern, t) is not None)]
    assert not disagreements, disagreements[:10]
    assert {check(t) for t in corpus} == {True, False}


def test_the_schema_files_use_the_recognised_patterns() -> None:
    schema = load_schema("createJob.request")
    used = {schema["$defs"][f"type{t}"]["properties"]["image_base64"]["pattern"] for t in (13, 23)}
    assert used == {patterns.images_pattern(1), patterns.images_pattern(2)}
    # Every other pattern still goes through re.
    assert patterns.known_pattern("^a+$") is None
    other = {"pattern": "^a+$"}
    check = compile_schema(other, Registry().resolver_with_root(DRAFT202012.create_resource(other)))
    assert check is not None and check("aa") and not check("b")


@pytest.mark.parametrize("valid", [True, False])
def test_checking_a_big_image_takes_memory_in_proportion_to_it(valid: bool) -> None:
    # re's backtracking took ~30 bytes per character; a linear check needs no copy of the text.
    image = "QUJD" * (1 << 20) + ("" if valid else "!")  # 4 MiB
    body = create_body("30", image_base64=image)
    tracemalloc.start()
    try:
        violations = validate_request("createJob", body)
        explained = validator("createJob.request").is_valid(body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (violations == []) is valid and explained is valid
    assert peak < len(image) // 2, f"checking a {len(image)}-character image took {peak} bytes"


def test_an_invalid_big_image_gets_the_usual_message(server: FakeServer) -> None:
    image = "QUJD" * (1 << 18)
    bodies = {
        "30": (image + "!", "Field data.image_base64 is not valid base64 (image 1 of 1)."),
        "23": (f"{PNG}|{image}=", "Field data.image_base64 is not valid base64 (image 2 of 2)."),
    }
    for type_id, (images, message) in bodies.items():
        answer = requests.post(
            f"{server.api_url}/createJob", json=create_body(type_id, image_base64=images), timeout=GUARD
        )
        assert answer.json() == {"error": True, "message": message, "success": False}
        [violation] = server.requests.last().violations
        assert violation.found.endswith("...") and len(violation.found) <= 60


def test_a_big_body_is_checked_off_the_event_loop(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a big body is being checked, a small request is answered (before: it waited)."""
    from omofake.dialects.v1 import service

    checking, release = threading.Event(), threading.Event()
    real = service.validate_request

    def held_up(endpoint: Any, body: Any) -> Any:
        if isinstance(body, dict) and len(json.dumps(body)) > 1 << 20:
            checking.set()
            release.wait(GUARD)
        return real(endpoint, body)

    monkeypatch.setattr(service, "validate_request", held_up)
    big = create_body("30", image_base64="QUJD" * (1 << 19))  # 2 MiB
    answers: list[Any] = []
    sender = threading.Thread(
        target=lambda: answers.append(
            requests.post(f"{server.api_url}/createJob", json=big, timeout=GUARD * 2).json()
        )
    )
    sender.start()
    try:
        assert checking.wait(GUARD)
        small = requests.post(f"{server.api_url}/createJob", json=create_body(), timeout=GUARD)
        assert small.json()["error"] is False
        assert not release.is_set() and not answers  # the big one is still being checked
    finally:
        release.set()
        sender.join(GUARD * 2)
    assert answers and answers[0]["error"] is False


def _big_bodies() -> Iterator[bytes]:
    long = "QUJD" * (jsonbody.LONG_STRING // 2)
    yield json.dumps(create_body("30", image_base64=long)).encode()
    yield json.dumps(create_body("23", image_base64=f"{long}|{long}", extra=[long, {"k": long}])).encode()
    yield json.dumps({long: 1, "a": long, "b": [1, 2.5, None, True]}).encode()
    yield json.dumps({"a": long, "b": "x"}, indent=2).encode()
    yield json.dumps(long).encode()
    yield json.dumps([long, long]).encode()
    yield json.dumps(
        {"a": "é😀" * 40_000, "b": "ảnh" + long}, ensure_ascii=False
    ).encode()  # split code points
    yield json.dumps({"a": long + '\n"/'}).encode()  # escapes: left to json.loads
    yield b'{"a": "' + long.encode() + b'\xed\xa0\x80", "b": 1}'  # an encoded surrogate
    yield b'{"a": "' + long.encode() + b'\x01"}'  # a control character
    yield b'{"a": "' + long.encode() + b'\xff\xfe"}'  # not UTF-8
    yield b'{"a": "' + long.encode() + b'"'  # unterminated object
    yield b'{"a": "' + long.encode()  # unterminated string
    yield b'{"a": "' + long.encode() + b'"} trailing'
    yield b'{"a": "' + long.encode() + b'", "b": NaN}'
    yield b'{"a": "' + long.encode() + b'", "a": "short"}'
    yield b'{"a": "' + long.encode() + b'", "' + long.encode() + b'": 1, "' + long.encode() + b'": 2}'
    yield b"[" * 100_000 + b'"' + long.encode() + b'"' + b"]" * 100_000
    yield codecs.BOM_UTF8 + json.dumps({"a": long}).encode()
    yield json.dumps({"a": long}).encode("utf-16")
    yield b'{"a": "\\\\' + long.encode() + b'\\\\", "b": "\\"}'


def _loads(parse: Callable[[bytes], Any], raw: bytes) -> tuple[str, Any]:
    try:
        return "ok", json.dumps(parse(raw))  # dumps: the keys' order counts too
    except (ValueError, RecursionError) as exc:
        return "error", type(exc).__name__


def test_a_big_body_parses_as_json_loads_parses_it() -> None:
    outcomes = set()
    for raw in _big_bodies():
        expected = _loads(lambda r: json.loads(r, parse_constant=reject_json_constant), raw)
        assert _loads(lambda r: jsonbody.loads(r, reject_json_constant), raw) == expected, raw[:80]
        outcomes.add(expected[0])
    assert outcomes == {"ok", "error"}


def test_the_big_body_benchmark_runs(tmp_path: Any) -> None:
    """A smoke test of benchmarks/big_body.py at a small size; its figures are not judged here."""
    script = os.path.join(os.path.dirname(os.path.dirname(__file__)), "benchmarks", "big_body.py")
    done = subprocess.run(
        [sys.executable, script, "--image-mb", "1", "--small-requests", "40", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode in (0, 1), done.stderr
    figures = json.loads(done.stdout)
    assert {"alone", "with_big_body", "ratio", "check_peak_bytes"} <= set(figures)


# 2. Compressed bodies: the limit applies to the inflated bytes, and inflating stops there


class _CountingZlib:
    """Counts the bytes zlib inflates, whoever asks (aiohttp or omofake)."""

    def __init__(self) -> None:
        self.inflated = 0
        self._real = zlib.decompressobj

    def decompressobj(self, *args: Any, **kwargs: Any) -> Any:
        counter, real = self, self._real(*args, **kwargs)

        class Counting:
            def decompress(self, data: bytes, max_length: int = 0) -> bytes:
                out = real.decompress(data, max_length)
                counter.inflated += len(out)
                return out

            def flush(self, *flush_args: Any) -> bytes:
                out = real.flush(*flush_args)
                counter.inflated += len(out)
                return out

            def __getattr__(self, name: str) -> Any:
                return getattr(real, name)

        return Counting()


def _gzip_bomb(size: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * (1 << 20)
    parts = [compressor.compress(block) for _ in range(size >> 20)]
    return b"".join(parts) + compressor.flush()


def test_a_gzip_bomb_is_inflated_no_further_than_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    limit = 1 << 20
    bomb = _gzip_bomb(128 << 20)  # 128 MiB of zeros in ~130 KB
    assert len(bomb) < limit
    counting = _CountingZlib()
    monkeypatch.setattr(zlib, "decompressobj", counting.decompressobj)
    with FakeServer(max_body=limit) as server:
        status, _headers, body = post_bytes(
            _address(server), "/api/createJob", bomb, {"Content-Encoding": "gzip"}
        )
        # The answer came and the server closed the connection: whatever it inflated is counted.
        assert status == 413
        assert _json(body) == {
            "error": True,
            "message": f"Request body is larger than the limit of {limit} bytes.",
            "success": False,
        }
        assert counting.inflated <= 2 * limit, f"inflated {counting.inflated} bytes for a limit of {limit}"
        _still_serving(server)


@pytest.mark.parametrize("encoding", ["gzip", "x-gzip", "deflate", "deflate-raw"])
def test_compressed_bodies_are_read(encoding: str) -> None:
    body = json.dumps(create_body("23")).encode()
    if encoding == "deflate":
        sent = zlib.compress(body)
    elif encoding == "deflate-raw":  # what some clients send as "deflate"
        squeezer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        sent, encoding = squeezer.compress(body) + squeezer.flush(), "deflate"
    else:
        sent = gzip.compress(body)
    with FakeServer() as server:
        status, _, answer = post_bytes(
            _address(server), "/api/createJob", sent, {"Content-Encoding": encoding}
        )
        assert (status, _json(answer)["error"]) == (200, False)
        assert server.requests.last().request == json.loads(body)


def test_a_body_inflating_past_the_limit_is_413_though_it_was_sent_small() -> None:
    body = json.dumps(create_body("30", image_base64="QUJD" * 1000)).encode()
    with FakeServer(max_body=2000) as server:
        status, _, answer = post_bytes(
            _address(server), "/api/createJob", gzip.compress(body), {"Content-Encoding": "gzip"}
        )
        assert status == 413
        assert _json(answer)["message"] == "Request body is larger than the limit of 2000 bytes."


def test_two_gzip_members_are_one_body(server: FakeServer) -> None:
    body = json.dumps(create_body()).encode()
    sent = gzip.compress(body[:10]) + gzip.compress(body[10:])
    status, _, answer = post_bytes(_address(server), "/api/createJob", sent, {"Content-Encoding": "gzip"})
    assert (status, _json(answer)["error"]) == (200, False)


@pytest.mark.parametrize("encoding", ["br", "zstd", "gzip, br", "compress"])
def test_an_encoding_it_cannot_undo_is_a_json_415(server: FakeServer, encoding: str) -> None:
    status, headers, answer = post_bytes(
        _address(server), "/api/createJob", b"\x0b\x02\x80{}\x03", {"Content-Encoding": encoding}
    )
    assert status == 415
    assert headers["content-type"].startswith("application/json")
    assert _json(answer) == {
        "error": True,
        "message": f"Content-Encoding {encoding} is not supported; send the body uncompressed, gzip or deflate.",
        "success": False,
    }
    [violation] = server.requests.last().violations
    assert violation.found == f"Content-Encoding {encoding}"
    _still_serving(server)


@pytest.mark.parametrize("value", [0, -1, -(1 << 20), 0.0, float("nan"), float("inf"), "20", True])
@pytest.mark.parametrize("name", ["max_body", "idle_timeout", "header_timeout"])
def test_limits_must_be_positive_numbers(name: str, value: Any) -> None:
    with pytest.raises(ValueError, match=name):
        FakeServer(**{name: value})


def test_max_body_is_whole_bytes_and_none_is_the_default() -> None:
    with pytest.raises(ValueError, match="whole number of bytes"):
        FakeServer(max_body=10.5)
    with FakeServer(max_body=None, idle_timeout=None, header_timeout=None) as server:
        _still_serving(server)


# 3. Malformed compressed bodies: a 400 in the API's shape, journaled


@pytest.mark.parametrize(
    ("encoding", "sent"),
    [
        ("gzip", b"not gzip at all"),
        # mtime=0: a gzip header carries the time, and under xdist every worker must collect
        # the same test ids.
        ("gzip", gzip.compress(b'{"api_token": "t"}', mtime=0)[:-6]),  # cut short
        ("gzip", gzip.compress(b"{}", mtime=0) + b"trailing junk"),
        ("deflate", b"\x78\x9c\xff\xff\xff"),
        ("deflate", zlib.compress(b"{}") + b"more"),
        ("gzip", b""),
    ],
    ids=["not-gzip", "gzip-cut-short", "gzip-trailing-junk", "deflate-broken", "deflate-trailing", "empty"],
)
def test_a_malformed_compressed_body_is_a_json_400(server: FakeServer, encoding: str, sent: bytes) -> None:
    status, headers, answer = post_bytes(
        _address(server), "/api/getJobResult", sent, {"Content-Encoding": encoding}
    )
    assert status == 400
    assert headers["content-type"].startswith("application/json")
    message = f"Request body is not valid {encoding} data: it could not be decompressed."
    assert _json(answer) == {"error": True, "message": message, "success": False}
    exchange = server.requests.last()
    assert (exchange.endpoint, exchange.status, exchange.request) == ("getJobResult", 400, None)
    [violation] = exchange.violations
    assert (violation.message, violation.found) == (message, f"a body that is not valid {encoding} data")
    _still_serving(server)


# 4. A client leaving mid-body is not an error


def test_a_client_leaving_mid_body_logs_nothing() -> None:
    with serve("--quiet") as (url, process):
        host, port = url.removeprefix("http://").split(":")
        body = json.dumps(create_body()).encode()
        head = (
            f"POST /api/createJob HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        for _ in range(20):
            with socket.create_connection((host, int(port)), timeout=GUARD) as sock:
                sock.sendall(head + body[: len(body) // 2])
        answer = requests.post(f"{url}/api/createJob", json=create_body(), timeout=GUARD)
        assert answer.json()["error"] is False
        process.terminate()
        _, stderr = process.communicate(timeout=GUARD)
    assert process.returncode == 0
    assert "Traceback" not in stderr, stderr[-3000:]
    # The start and stop lines, maybe: nothing per disconnect (there were 16 lines each).
    assert len(stderr.splitlines()) < 20, stderr[-3000:]


# 5. aiohttp's own refusals, in the API's error shape


def _head(request_line: str, *headers: str) -> bytes:
    return ("\r\n".join([request_line, "Host: 127.0.0.1", *headers]) + "\r\n\r\n").encode()


BROKEN_HTTP = {
    "request line over 8190 bytes": _head("GET /" + "a" * 9000 + " HTTP/1.1"),
    "too many headers": _head("POST /api/createJob HTTP/1.1", *(f"X-{i}: {i}" for i in range(200))),
    "a header over 8190 bytes": _head("POST /api/createJob HTTP/1.1", "X-Big: " + "b" * 9000),
    "invalid method": _head("G(T /api/createJob HTTP/1.1"),
    "bad chunk size": _head("POST /api/createJob HTTP/1.1", "Transfer-Encoding: chunked")
    + b"zz\r\n{}\r\n0\r\n\r\n",
    "bad HTTP version": _head("POST /api/createJob HTTP/9"),
    "bad Content-Length": _head("POST /api/createJob HTTP/1.1", "Content-Length: -3"),
}


@pytest.mark.parametrize("case", sorted(BROKEN_HTTP))
def test_aiohttps_own_400s_are_in_the_api_shape(server: FakeServer, case: str) -> None:
    status, headers, body = raw_exchange(_address(server), BROKEN_HTTP[case])
    assert status == 400, (status, body)
    assert headers["content-type"].startswith("application/json")
    answer = _json(body)
    assert answer["error"] is True and answer["success"] is False  # lenient: as every answer
    assert answer["message"].startswith("Bad HTTP request: ") and answer["message"].endswith(".")
    assert "\n" not in answer["message"] and not answer["message"].endswith(":.")
    assert len(answer["message"]) < 300
    _still_serving(server)


def test_aiohttps_own_400s_are_in_v1s_shape_even_under_v2(server: FakeServer) -> None:
    # aiohttp refuses a broken head before its path is known: the first dialect's shape answers.
    status, _, body = raw_exchange(
        _address(server), _head("POST /v2/createTask HTTP/1.1", "X-Big: " + "b" * 9000)
    )
    assert (status, _json(body)["error"], _json(body)["success"]) == (400, True, False)
    server.configure(strict=True)
    _, _, body = raw_exchange(_address(server), BROKEN_HTTP["a header over 8190 bytes"])
    assert "success" not in _json(body)  # strict: the documented shape only


def test_bad_chunking_after_the_head_is_a_json_400_not_a_hang(server: FakeServer) -> None:
    """aiohttp refused the second chunk but left the first request waiting for its body."""
    with socket.create_connection(_address(server), timeout=GUARD) as sock:
        sock.sendall(_head("POST /api/createJob HTTP/1.1", "Transfer-Encoding: chunked") + b"2\r\n{}\r\n")
        time.sleep(0.2)  # pacing, not a threshold: the server reads the body before the bad chunk
        sock.sendall(b"zz\r\n")
        status, headers, body = _parse(_read_until_closed(sock))
    assert status == 400 and headers["content-type"].startswith("application/json")
    assert _json(body) == {
        "error": True,
        "message": "Bad HTTP request: Invalid character in chunk size.",
        "success": False,
    }
    _still_serving(server)


# 6. Connection timeouts, and running out of file descriptors


@contextmanager
def _connection(server: FakeServer) -> Iterator[socket.socket]:
    with socket.create_connection(_address(server), timeout=GUARD) as sock:
        yield sock


def _closed_by_server(sock: socket.socket, trickle: Callable[[], bytes] | None = None) -> bool:
    """Whether the server closes ``sock`` before GUARD; ``trickle`` sends a byte now and then."""
    deadline = time.monotonic() + GUARD
    sock.settimeout(0.1)
    while time.monotonic() < deadline:
        try:
            if sock.recv(65536) == b"":
                return True
        except TimeoutError:
            pass
        except ConnectionResetError:
            return True
        if trickle is not None:
            try:
                sock.sendall(trickle())
            except (BrokenPipeError, ConnectionResetError):
                return True
    return False


def test_a_slowloris_head_is_closed_after_the_header_timeout() -> None:
    with FakeServer(header_timeout=0.5, idle_timeout=600) as server, _connection(server) as sock:
        sock.sendall(b"POST /api/createJob HTTP/1.1\r\nHost: x\r\n")
        assert _closed_by_server(sock, trickle=lambda: b"X-a: b\r\n")
        _still_serving(server)


def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout() -> None:
    with FakeServer(header_timeout=0.5, idle_timeout=600) as server, _connection(server) as sock:
        assert _closed_by_server(sock)


def test_an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() -> None:
    with FakeServer(header_timeout=600, idle_timeout=0.5) as server, _connection(server) as sock:
        body = json.dumps(create_body()).encode()
        for _ in range(2):  # the second request on the same connection: kept alive until idle
            sock.sendall(
                b"POST /api/createJob HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            head = b""
            while b"\r\n\r\n" not in head:
                head += sock.recv(1)
            length = int(re.search(rb"Content-Length: (\d+)", head, re.I).group(1))  # type: ignore[union-attr]
            answer = b""
            while len(answer) < length:
                answer += sock.recv(length - len(answer))
            assert json.loads(answer)["error"] is False
        assert _closed_by_server(sock)


def test_a_slow_request_is_not_cut_by_the_header_timeout() -> None:
    """The header timeout bounds the head only: a request being answered is not closed."""
    with FakeServer(header_timeout=0.3, idle_timeout=600, create_latency=1.0) as server:
        answer = requests.post(f"{server.api_url}/createJob", json=create_body(), timeout=GUARD)
        assert answer.json()["error"] is False


FD_SERVER = textwrap.dedent(
    """
    import asyncio, logging, resource, sys
    from omofake import FakeServer

    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    resource.setrlimit(resource.RLIMIT_NOFILE, (int(sys.argv[1]), int(sys.argv[1])))

    async def main():
        async with FakeServer(header_timeout=1.5) as server:
            print(server.url, flush=True)
            await asyncio.sleep(3600)

    asyncio.run(main())
    """
)


def test_running_out_of_file_descriptors_is_logged_once_and_the_server_recovers() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", FD_SERVER, "64"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    socks: list[socket.socket] = []
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://"), process.stderr.read() if process.stderr else url
        host, port = url.removeprefix("http://").split(":")
        for _ in range(120):  # more than the server's 64 descriptors allow
            try:
                socks.append(socket.create_connection((host, int(port)), timeout=2))
            except OSError:
                break
        time.sleep(3.5)  # accept() fails and is retried every second meanwhile
        for sock in socks:
            sock.close()
        socks.clear()
        answer = requests.post(f"{url}/api/createJob", json=create_body(), timeout=GUARD)
        assert answer.json()["error"] is False
    finally:
        for sock in socks:
            sock.close()
        process.terminate()
        _, stderr = process.communicate(timeout=GUARD)
    reports = stderr.count("cannot accept connections")
    assert 1 <= reports <= 3, stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]


def test_a_pipelined_request_after_an_answer_is_served() -> None:
    """Two requests in one packet: the header timeout must not close the second."""
    with FakeServer(header_timeout=0.5) as server:
        body = json.dumps(create_body()).encode()
        one = (
            b"POST /api/createJob HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        last = one.replace(b"Host: x\r\n", b"Host: x\r\nConnection: close\r\n")
        with _connection(server) as sock:
            sock.sendall(one + last)
            received = _read_until_closed(sock)
        assert received.count(b"HTTP/1.1 200") == 2
        assert received.count(b'"error": false') == 2
