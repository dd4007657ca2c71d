"""What the request hot path was made faster at keeps its behaviour (see benchmarks/throughput.py).

The request log line, formatted once and buffered; one JSON decoder for every body; results from
the seeded ``random.Random``; the compiled check's per-type switch; latency counted from each
request's arrival. No test here judges speed: they check what is answered, logged and waited for.
"""

from __future__ import annotations

import asyncio
import copy
import io
import json
import re
import socket
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from omofake import FakeServer
from omofake.cli import RequestLog, exchange_line
from omofake.contract import validation as contract
from omofake.contract.fastcheck import compile_schema
from omofake.contract.registry import request_check, request_validator
from omofake.contract.validation import loads_json, reject_json_constant
from omofake.core.catalogue import CATALOGUE
from omofake.core.draws import Draws
from omofake.core.journal import Exchange, now_utc
from omofake.dialects.v1.service import parse_body
from omofake.http import app as http_app
from tests.helpers import TOKEN, create_body, record_routed_sleeps
from tests.test_bad_input import CREATE_ERRORS, RESULT_ERRORS

STAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ")


def exchange(path: str = "/api/createJob", type_job_id: str | None = "30", **request: Any) -> Exchange:
    body = {"api_token": TOKEN, "data": {"type_job_id": "30"}} | request
    answer = {"error": False, "job_id": 123456, "message": "Create job success."}
    return Exchange("createJob", "POST", path, body, answer, 200, now_utc(), (), 123456, type_job_id)


# The request log line


class CountingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def test_the_log_line_says_what_the_old_one_said() -> None:
    stream = CountingStream()
    RequestLog(stream)(exchange())
    line = stream.getvalue()
    assert STAMP.match(line) and line.endswith("\n") and line.count("\n") == 1
    assert line[len("2026-01-01 00:00:00,000 ") :] == (
        "POST /api/createJob 200 token=test*** type=30 job=123456 Create job success.\n"
    )


def test_the_log_line_escapes_and_cuts_what_the_client_chose() -> None:
    forged = exchange(
        "/api/\x1b[31mred\nforged\r",
        api_token="\x1b[2J\x1b[31mtoken",
        type_job_id=None,
        data={"type_job_id": "30\n2026-01-01 00:00:00,000 POST"},
    )
    line = exchange_line(forged)
    assert line.isprintable() and "\x1b" not in line
    assert line.startswith("POST /api/\\x1b[31mred\\nforged\\r 200 token=\\x1b[2J***")
    assert "type=30\\n2026-01-01 00:00:00,000 POST" in line
    long = Exchange("createJob", "POST", "/api/createJob", {"api_token": "a\\b" * 100}, {}, 200, now_utc())
    assert "token=a\\\\ba***" in exchange_line(long)  # a backslash is escaped, never kept bare
    cut = exchange_line(exchange(type_job_id=None, data={"type_job_id": "x" * 10_000}))
    assert "x" * 81 not in cut and "type=" + "x" * 80 + "...(+9920 chars)" in cut


def test_the_log_line_names_a_fault_and_masks_a_v2_client_key() -> None:
    reset = Exchange(
        "getJobResult",
        "POST",
        "/api/getJobResult",
        {"api_token": TOKEN, "job_id": 1},
        {},
        0,
        now_utc(),
        token=TOKEN,
        fault="reset",
    )
    assert exchange_line(reset) == "POST /api/getJobResult 0 token=test*** fault=reset -"
    key = "v2-client-key-1234"
    v2 = Exchange(
        "v2/getBalance",
        "POST",
        "/v2/getBalance",
        {"clientKey": key},
        {"errorId": 0, "balance": 1},
        200,
        now_utc(),
        token=key,
    )
    line = exchange_line(v2)
    assert "token=v2-c***" in line and key not in line


def test_a_kept_line_differs_by_its_job_id_and_never_mixes_tokens_of_other_types() -> None:
    # The log keeps the parts of its lines that repeat: the job id still changes, a token
    # spelled 1 and one spelled true still read as what they are, and the kept parts stay few.
    from omofake import cli

    first, second = exchange(), exchange()
    object.__setattr__(second, "job_id", 654321)
    assert exchange_line(first).replace("123456", "654321") == exchange_line(second)
    numbered = Exchange(
        "getBalance", "POST", "/api/getBalance", {"api_token": 1}, {"error": True}, 200, now_utc()
    )
    boolean = Exchange(
        "getBalance", "POST", "/api/getBalance", {"api_token": True}, {"error": True}, 200, now_utc()
    )
    assert "token=<number>***" in exchange_line(numbered) and "token=<boolean>***" in exchange_line(boolean)
    assert "token=<number>***" in exchange_line(numbered)  # asked again, after the boolean one
    for n in range(3 * cli._CACHED_LINES):
        token = f"token-{n:08d}"
        line = exchange_line(exchange(api_token=token))
        assert f"token={token[:4]}***" in line and token not in line
    assert len(cli._LINE_PARTS) <= cli._CACHED_LINES
    huge = "t" * 100_000
    assert "token=tttt***" in exchange_line(exchange(api_token=huge))
    assert not any(huge in key for key in cli._LINE_PARTS), "a client's huge value is not kept"


def test_lines_of_one_loop_turn_are_written_together_after_it() -> None:
    stream = CountingStream()
    log = RequestLog(stream)

    async def three_requests() -> tuple[str, str]:
        for _ in range(3):
            log(exchange())
        before = stream.getvalue()
        await asyncio.sleep(0)  # the next turn of the loop
        return before, stream.getvalue()

    before, after = asyncio.run(three_requests())
    assert before == "" and after.count("POST /api/createJob 200") == 3 and stream.writes == 1


def test_off_the_loop_a_line_is_written_at_once() -> None:
    stream = CountingStream()
    RequestLog(stream)(exchange())
    assert stream.getvalue().count("\n") == 1


def test_a_broken_stream_does_not_break_answering() -> None:
    stream = io.StringIO()
    stream.close()
    RequestLog(stream)(exchange())  # no exception: the answer matters more than its log line


# JSON bodies


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": 1}',
        b'\xef\xbb\xbf{"a": 1}',  # UTF-8 with a BOM, which json.loads accepts in bytes
        '{"a": "ả"}'.encode("utf-16"),
        '{"a": "ả"}'.encode("utf-32-le"),
        b'{"a": 123456789012345678901234567890}',
        b'{"a": 1e400}',
        b'"\\ud800"',
        '\ufeff{"a": 1}',  # text with a BOM: an error, as json.loads says
        b"",
        b"[1,",
        b'{"a": \xff}',
    ],
)
def test_loads_json_is_json_loads(raw: bytes | str) -> None:
    def outcome(load: Any) -> Any:
        try:
            return ("value", load(raw))
        except (ValueError, RecursionError) as exc:
            return (type(exc), str(exc))

    assert outcome(loads_json) == outcome(lambda r: json.loads(r, parse_constant=reject_json_constant))


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_json_constants_are_still_refused(constant: str) -> None:
    body, problem = parse_body(f'{{"api_token": "x", "data": {constant}}}'.encode(), "createJob")
    assert body is None and problem is not None
    assert problem.message == "Request body is not valid JSON."
    with pytest.raises(ValueError, match=f"{constant.lstrip('-')} is not a JSON value"):
        loads_json(f"[{constant}]")


# Seeded results


def results(seed: int) -> dict[str, list[str]]:
    source = Draws(seed)
    return {t: [CATALOGUE[t].make_result(source, {}) for _ in range(20)] for t in CATALOGUE}


def test_a_seed_repeats_every_types_results_and_another_seed_does_not() -> None:
    first = results(11)
    assert results(11) == first
    assert results(12) != first


def test_the_image_types_results_keep_their_shapes() -> None:
    made = results(5)
    for text in made["30"]:  # read off a distorted image: no look-alikes such as 0/o, 1/l
        assert re.fullmatch(r"[a-hjkmnp-z2-9]{4,6}", text), text
    for text in made["13"]:  # tiles of a 3x3 grid, ascending, no repeats
        tiles = [int(t) for t in text.split("|")]
        assert 2 <= len(tiles) <= 4 and tiles == sorted(set(tiles)) and all(1 <= t <= 9 for t in tiles)
    assert all(0 <= int(text) <= 359 for text in made["14"] if text.isdigit())
    assert len({*made["30"]}) > 10  # drawn, not fixed


# The compiled check: fast on valid bodies, and every invalid one still explained by jsonschema


@pytest.mark.parametrize(
    ("endpoint", "cases"), [("createJob", CREATE_ERRORS), ("getJobResult", RESULT_ERRORS)]
)
def test_every_invalid_body_the_suite_knows_gets_jsonschemas_violations(
    endpoint: Any, cases: list[tuple[str, Any, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    bodies = [json.loads(body) if isinstance(body, str) else body for _, body, _ in cases]
    bodies = [body for body in bodies if not isinstance(body, bytes)]
    check, validator = request_check(endpoint), request_validator(endpoint)
    assert check is not None
    for body in bodies:
        # The fast path may only say "valid", and only when jsonschema says so too.
        assert check(body) == validator.is_valid(body), body
    with_check = [contract.validate_request(endpoint, copy.deepcopy(body)) for body in bodies]
    monkeypatch.setattr(contract, "request_check", lambda endpoint: None)
    assert with_check == [contract.validate_request(endpoint, copy.deepcopy(body)) for body in bodies]
    assert sum(1 for found in with_check if found) >= len(bodies) // 2


SWITCH = {
    "type": ["object", "string"],
    "allOf": [
        {"if": {"properties": {"t": {"const": "a"}}, "required": ["t"]}, "then": {"required": ["x"]}},
        {"if": {"properties": {"t": {"const": "b"}}, "required": ["t"]}, "then": {"required": ["y"]}},
        {"if": {"properties": {"t": {"const": "a"}}, "required": ["t"]}, "then": {"required": ["z"]}},
    ],
}


@pytest.mark.parametrize(
    "instance",
    [
        {},
        {"t": "a"},
        {"t": "a", "x": 1},
        {"t": "a", "x": 1, "z": 1},
        {"t": "b"},
        {"t": "b", "y": 1},
        {"t": "c"},
        {"t": 1},
        {"t": ["a"]},
        {"t": None, "x": 1},
        "a",  # not an object: every "if" holds, and every "then" passes (they ask of objects)
    ],
)
def test_the_per_type_switch_answers_as_jsonschema(instance: Any) -> None:
    check = compile_schema(SWITCH, Registry().resolver_with_root(DRAFT202012.create_resource(SWITCH)))
    assert check is not None
    assert check(instance) == Draft202012Validator(SWITCH).is_valid(instance)


# Latency counts from arrival


def test_a_request_queued_behind_another_does_not_wait_its_latency_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two requests pipelined in one packet arrive together: the second is handled only after the
    first has waited its latency, and then has nothing left to wait (it used to wait again)."""
    waits = record_routed_sleeps(monkeypatch)
    with FakeServer(latency=0.2) as server:
        body = json.dumps(create_body()).encode()
        head = (
            f"POST /api/createJob HTTP/1.1\r\nHost: {server.host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        with socket.create_connection((server.host, server.port), timeout=20) as sock:
            sock.sendall(head + body + head + body)
            received = b""
            while received.count(b"Create job success.") < 2:
                chunk = sock.recv(65536)
                assert chunk, received
                received += chunk
        assert len(server.requests.create_jobs) == 2
    assert len(waits) == 1 and 0 < waits[0] <= 0.2


def test_a_request_that_arrived_before_its_latency_ran_out_waits_only_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    waits: list[float] = []

    async def recording_sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(http_app, "_sleep", recording_sleep)

    class Request(dict[Any, Any]):
        method, path, content_length = "POST", "/api/createJob", None

        def __init__(self, arrived: float) -> None:
            super().__init__({http_app.ARRIVAL_KEY: arrived})
            self.app = {http_app.JOURNAL_KEY: server.journal}

    async def answer(arrived_ago: float) -> None:
        service = server.service
        answer = service.answer("createJob", create_body())
        assert answer.delay == 0.5
        request = Request(asyncio.get_running_loop().time() - arrived_ago)
        await http_app._answer_after_delay(request, service, "createJob", {}, answer, server.journal)  # type: ignore[arg-type]

    with FakeServer(latency=0.5) as server:
        asyncio.run(answer(10.0))  # arrived long ago: answered at once
        asyncio.run(answer(0.0))  # just arrived: what is left of the latency
    assert len(waits) == 1 and 0 < waits[0] <= 0.5
