"""Isolation between tests: a reset() is a clean cut, reads are snapshots, user code cannot hang
or crash the server, and a stopped server restarts, warns of nothing and leaves no memory behind."""

from __future__ import annotations

import asyncio
import gc
import inspect
import json
import socket
import subprocess
import sys
import textwrap
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from omofake import FakeServer
from omofake.core.jobs import Job

from .helpers import TOKEN, body_awaited, create_body

# Generous waits for a state the server must reach: a safety net against a hang, never a
# measure of speed (the loop ends as soon as the condition holds).
PATIENCE = 60.0


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.01)


def post(server: FakeServer, endpoint: str, body: Any, timeout: float = 10) -> tuple[int, Any]:
    answer = requests.post(f"{server.api_url}/{endpoint}", json=body, timeout=timeout)
    return answer.status_code, answer.json()


def send_raw(server: FakeServer, endpoint: str, body: Any) -> socket.socket:
    """Send a request on a socket of its own and leave its answer unread."""
    payload = json.dumps(body).encode()
    sock = socket.create_connection((server.host, server.port), timeout=PATIENCE)
    head = (
        f"POST /api/{endpoint} HTTP/1.1\r\nHost: {server.host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    )
    sock.sendall(head.encode() + payload)
    return sock


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    with sock:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def abandon(server: FakeServer, endpoint: str, body: Any) -> None:
    """A client that gives up before the (slow) answer comes, as with a short timeout."""
    with pytest.raises(requests.exceptions.Timeout):
        requests.post(f"{server.api_url}/{endpoint}", json=body, timeout=0.05)


# 1. A request abandoned before reset() reaches nothing after it


def test_a_request_abandoned_before_reset_reaches_nothing_after_it(tmp_path: Path) -> None:
    record = tmp_path / "exchanges.jsonl"
    seen: list[Any] = []
    with FakeServer(seed=7, record=record, self_check=True) as server:
        server.journal.listeners.append(seen.append)
        server.configure(result_latency=0.5)  # a job's latency is fixed when it is created
        _, created = post(server, "createJob", create_body("30"))
        job_id = created["job_id"]
        server.configure(create_latency=0.5)
        # Each breaks the contract (job_id as text, type_job_id as a number), as in a test that
        # the next one, under omofake_contract, must not pay for.
        abandon(server, "getJobResult", {"api_token": TOKEN, "job_id": str(job_id)})
        abandon(server, "createJob", create_body("30", type_job_id=30))
        # Both reached the service (a poll counted, a job made) before the reset below.
        wait_for(lambda: server.jobs[job_id].polls == 1 and len(server.jobs) == 2, "the requests arrive")
        # (On a very slow machine their latency may already be over: then they belong to this
        # test, and the checks below still hold.)
        total = server.journal.total
        seen.clear()
        server.reset()
        wait_for(lambda: _handlers(server) == 0, "the abandoned requests are answered")

        assert list(server.requests) == [] and seen == []
        assert server.journal.total == total, "no counter moves for a request from before the reset"
        assert len(record.read_text().splitlines()) == total, "nothing recorded after the reset"
        # The seed repeats the job id: the next test's job must not inherit the stale poll.
        _, again = post(server, "createJob", create_body("30"))
        assert again["job_id"] == job_id
        post(server, "getJobResult", {"api_token": TOKEN, "job_id": job_id})
        assert server.requests.polls(job_id) == 1 and server.jobs[job_id].polls == 1
        assert server.requests.violations == []


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "routed"])
def test_a_request_still_arriving_at_reset_is_refused_and_touches_no_job(direct: bool) -> None:
    with FakeServer(seed=3, direct=direct) as server:
        sock = socket.create_connection((server.host, server.port), timeout=PATIENCE)
        payload = json.dumps(create_body("30")).encode()
        head = f"POST /api/createJob HTTP/1.1\r\nHost: x\r\nContent-Length: {len(payload)}\r\n\r\n"
        # The headers and half the body before the reset, the rest after it.
        sock.sendall(head.encode() + payload[:10])
        wait_for(lambda: _begun(server), "the server reads the first request's head")
        server.reset()
        sock.sendall(payload[10:])
        answer = read_until_json(sock)
        assert answer["error"] is True and "reset" in answer["message"]
        assert len(server.jobs) == 0 and list(server.requests) == []
        # The next job gets the seed's first id, as if nothing had happened.
        _, created = post(server, "createJob", create_body("30"))
        server.reset()
        _, again = post(server, "createJob", create_body("30"))
        assert again["job_id"] == created["job_id"]


def _handlers(server: FakeServer) -> int:
    """Requests being handled (answered or not)."""
    loop = server._loop
    assert loop is not None
    return sum(1 for task in asyncio.all_tasks(loop) if "_handle_request" in repr(task.get_coro()))


def _handlers_waiting(server: FakeServer) -> int:
    """Request handlers that have started and wait (for the rest of a body, or a latency)."""
    loop = server._loop
    assert loop is not None
    return sum(
        1
        for task in asyncio.all_tasks(loop)
        if "_handle_request" in repr(coro := task.get_coro())
        and inspect.getcoroutinestate(coro) == inspect.CORO_SUSPENDED  # type: ignore[arg-type]
    )


def _begun(server: FakeServer) -> bool:
    """A request whose head was read waits for the rest of its body: in a routed handler, or
    on a connection that will answer it directly (omofake.http.connections)."""
    return _handlers_waiting(server) > 0 or body_awaited(server)


def read_until_json(sock: socket.socket) -> Any:
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    while len(rest) < length:
        rest += sock.recv(65536)
    sock.close()
    return json.loads(rest[:length])


PLUGIN_PAIR = """
    import asyncio, time

    import pytest
    import requests

    BODY = {"api_token": "t", "data": {"type_job_id": "30", "image_base64": "Z3JpZA=="}}
    LEFT_OPEN = []


    def test_a_gives_up_on_slow_answers(omofake_server, omofake_url):
        omofake_server.configure(result_latency=0.5)
        job_id = requests.post(f"{omofake_url}/createJob", json=BODY, timeout=10).json()["job_id"]
        omofake_server.configure(create_latency=0.5)
        for endpoint, body in (
            ("getJobResult", {"api_token": "t", "job_id": str(job_id)}),
            ("createJob", {**BODY, "data": {**BODY["data"], "type_job_id": 30}}),
        ):
            with pytest.raises(requests.exceptions.Timeout):
                requests.post(f"{omofake_url}/{endpoint}", json=body, timeout=0.05)
        deadline = time.monotonic() + 60
        while not (omofake_server.jobs[job_id].polls == 1 and len(omofake_server.jobs) == 2):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        LEFT_OPEN.append(job_id)
        # The cut a test's teardown may make: from here the abandoned requests belong to no test
        # (so this test's own contract check never races with their latency).
        omofake_server.reset()
        # Requests abandoned by a failing test must not leak either.
        assert {FAIL}


    def test_b_innocent(omofake_server, omofake_url):
        job_id = LEFT_OPEN.pop()
        # Once the abandoned requests are answered, they had every chance to leak.
        loop = omofake_server._loop
        deadline = time.monotonic() + 60
        while [t for t in asyncio.all_tasks(loop) if "_handle_request" in repr(t.get_coro())]:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert list(omofake_server.requests) == []
        created = requests.post(f"{omofake_url}/createJob", json=BODY, timeout=10).json()
        assert created["job_id"] == job_id  # the seed repeats it
        requests.post(f"{omofake_url}/getJobResult", json={"api_token": "t", "job_id": job_id}, timeout=10)
        assert omofake_server.requests.polls(job_id) == 1
        assert omofake_server.jobs[job_id].polls == 1
        assert len(omofake_server.requests) == 2
"""


@pytest.mark.parametrize("workers", [None, "2"], ids=["serial", "xdist"])
def test_plugin_an_abandoned_request_never_reaches_the_next_test(
    pytester: pytest.Pytester, workers: str | None
) -> None:
    # Two files, so that with -n 2 both workers carry a pair (each pair stays on one worker).
    pytester.makepyfile(
        test_pair_one=textwrap.dedent(PLUGIN_PAIR).replace("{FAIL}", "True"),
        test_pair_two=textwrap.dedent(PLUGIN_PAIR).replace("{FAIL}", "False"),
    )
    flags = ["--omofake-seed", "11", "--omofake-contract", "-p", "no:cacheprovider"]
    if workers is not None:
        flags += ["-n", workers, "--dist", "loadfile"]
    result = pytester.runpytest_subprocess(*flags)
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.no_fnmatch_line("*omofake contract*")
    result.stdout.fnmatch_lines(["*test_pair_two.py::test_a_gives_up_on_slow_answers*"])


# 2. Reads are consistent snapshots while another thread resets


def test_reads_of_jobs_and_requests_are_snapshots_while_another_thread_resets() -> None:
    problems: list[BaseException] = []
    stop = threading.Event()
    with FakeServer() as server:
        session = requests.Session()

        def create_and_reset() -> None:
            try:
                for _ in range(50):
                    for _ in range(3):
                        session.post(f"{server.api_url}/createJob", json=create_body("30"), timeout=10)
                    server.reset()
            finally:
                stop.set()

        def read() -> None:
            try:
                while not stop.is_set():
                    jobs = dict(server.jobs)
                    items = list(server.jobs.items())
                    values = list(server.jobs.values())
                    assert all(isinstance(job, Job) for job in (*jobs.values(), *values))
                    assert all(job.id == job_id for job_id, job in items)
                    journal = server.requests
                    for i in range(len(journal)):
                        assert journal[i].endpoint == "createJob"
                    assert len(journal.create_jobs) == len(journal)
            except BaseException as exc:
                problems.append(exc)
                stop.set()

        threads = [threading.Thread(target=create_and_reset)] + [
            threading.Thread(target=read) for _ in range(3)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        session.close()
    assert problems == []


def test_a_snapshot_of_requests_stays_as_it_was_read() -> None:
    with FakeServer() as server:
        post(server, "createJob", create_body("30"))
        before = server.requests
        post(server, "createJob", create_body("30"))
        server.reset()
        assert len(before) == 1 and before[0].endpoint == "createJob"
        assert len(server.requests) == 0


# 3. User code (result= functions): outside locks, and a clear error when it fails


def test_a_result_function_may_call_configure_without_hanging_the_server() -> None:
    with FakeServer() as server:

        def result(job: Job) -> str:
            server.configure(seed=5, running_polls=0)
            server.configure(result_latency=0)
            assert len(server.jobs) >= 0
            return "made by the test"

        server.configure(result=result)
        status, created = post(server, "createJob", create_body("30"))
        assert status == 200 and created["error"] is False
        _, answer = post(server, "getJobResult", {"api_token": TOKEN, "job_id": created["job_id"]})
        assert (answer["status"], answer["result"]) == ("success", "made by the test")
        assert server.errors == []


def broken_result(job: Job) -> str:
    raise ValueError("no result for you")


def number_result(job: Job) -> Any:
    return 42


@pytest.mark.parametrize(
    ("function", "problem"),
    [
        (broken_result, "broken_result() raised ValueError: no result for you"),
        (number_result, "number_result() must return a non-empty str (the job's result text), not 42"),
    ],
)
def test_a_failing_result_function_is_a_clear_error_naming_it(function: Any, problem: str) -> None:
    with FakeServer(self_check=True) as server:
        server.configure(result=function)
        status, answer = post(server, "createJob", create_body("30"))
        assert status == 500 and answer["error"] is True
        assert problem in answer["message"] and "Please report it" not in answer["message"]
        assert [error.message for error in server.errors] == [f"the result function {problem}"]
        assert len(server.jobs) == 0
        # The server keeps serving; a reset forgets the error.
        server.configure(result=None)
        assert post(server, "createJob", create_body("30"))[1]["error"] is False
        server.reset()
        assert server.errors == []


def test_plugin_fails_a_test_whose_result_function_failed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        import requests

        BODY = {"api_token": "t", "data": {"type_job_id": "30", "image_base64": "Z3JpZA=="}}


        def explode(job):
            raise RuntimeError("kaboom")


        @pytest.mark.omofake(result=explode)
        def test_result_function_fails(omofake_url):
            answer = requests.post(f"{omofake_url}/createJob", json=BODY, timeout=10)
            assert answer.status_code == 500


        def test_the_next_test_is_not_blamed(omofake_url):
            assert requests.post(f"{omofake_url}/createJob", json=BODY, timeout=10).json()["error"] is False
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*omofake: code the test gave the fake failed*", "*explode() raised RuntimeError: kaboom*"]
    )


# 4. Restartable servers that warn of nothing


def test_a_thread_server_restarts_and_keeps_recording(tmp_path: Path) -> None:
    record = tmp_path / "exchanges.jsonl"
    server = FakeServer(record=record)
    for _ in range(3):
        with server:
            assert post(server, "createJob", create_body("30"))[0] == 200
    assert len(record.read_text().splitlines()) == 3
    assert len(server.requests) == 3 and len(server.jobs) == 3


def test_an_async_server_restarts_and_keeps_recording(tmp_path: Path) -> None:
    record = tmp_path / "exchanges.jsonl"

    async def main() -> None:
        import aiohttp

        server = FakeServer(record=record)
        async with aiohttp.ClientSession() as session:
            for _ in range(3):
                async with (
                    server,
                    session.post(f"{server.api_url}/createJob", json=create_body("30")) as answer,
                ):
                    assert answer.status == 200

    asyncio.run(main())
    assert len(record.read_text().splitlines()) == 3


STOP_WITH_PENDING = """
import asyncio, json, socket, sys, time
from omofake import FakeServer

BODY = json.dumps({"api_token": "t", "data": {"type_job_id": "30", "image_base64": "Z3JpZA=="}}).encode()


def pending(server, target):
    sock = socket.create_connection((server.host, server.port))
    sock.sendall(
        b"POST " + target + b" HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: "
        + str(len(BODY)).encode() + b"\\r\\n\\r\\n" + BODY
    )
    return sock


# Answered directly, and (a query string) routed through aiohttp to a handler task.
TARGETS = (b"/api/createJob", b"/api/createJob?routed")


def taken_in(server, before):
    # Its job is made as it arrives; its answer waits out the latency.
    return len(server.service.store) > before


server = FakeServer(create_latency=30, record=sys.argv[1])
sockets = []
for target in TARGETS:
    server.start()
    before = len(server.service.store)
    sockets.append(pending(server, target))
    while not taken_in(server, before):
        time.sleep(0.01)
    server.stop()


async def main():
    for target in TARGETS:
        await server.start_async()
        before = len(server.service.store)
        sockets.append(pending(server, target))
        while not taken_in(server, before):
            await asyncio.sleep(0.01)
        await server.stop_async()

asyncio.run(main())
server.configure(create_latency=0)
with server:
    import urllib.request
    request = urllib.request.Request(server.api_url + "/createJob", data=BODY, method="POST")
    assert json.load(urllib.request.urlopen(request))["error"] is False
for sock in sockets:
    sock.close()
del server, sockets
import gc
import inspect
gc.collect()
print("done")
"""


def test_stopping_with_a_request_pending_then_restarting_leaves_no_warning(tmp_path: Path) -> None:
    script = tmp_path / "stop_with_pending.py"
    script.write_text(STOP_WITH_PENDING)
    done = subprocess.run(
        [sys.executable, "-W", "error", "-X", "dev", str(script), str(tmp_path / "rec.jsonl")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "done\n"
    assert done.stderr == "", "no warning, no 'Task was destroyed but it is pending!'"
    assert len((tmp_path / "rec.jsonl").read_text().splitlines()) == 1


# 5. Nothing of a stopped server stays reachable


def test_a_stopped_server_is_collected_with_its_app_store_and_journal() -> None:
    big = create_body("30", image_base64="QUFB" * (256 * 1024))  # a 1 MiB image
    refs: list[weakref.ref[Any]] = []
    for _ in range(3):
        server = FakeServer()
        with server:
            assert post(server, "createJob", big)[0] == 200
            assert server.app is not None
            refs += [weakref.ref(x) for x in (server, server.app, server.service.store, server.journal)]
        assert server.app is None
        refs.append(weakref.ref(server.requests[0]))
        del server
    gc.collect()
    assert [ref() for ref in refs] == [None] * len(refs)


def test_a_stopped_async_server_is_collected() -> None:
    refs: list[weakref.ref[Any]] = []

    async def main() -> None:
        import aiohttp

        server = FakeServer()
        async with server, aiohttp.ClientSession() as session:
            async with session.post(f"{server.api_url}/createJob", json=create_body("30")) as answer:
                assert answer.status == 200
            refs.extend(weakref.ref(x) for x in (server, server.app, server.service.store, server.journal))

    asyncio.run(main())
    gc.collect()
    assert [ref() for ref in refs] == [None] * len(refs)
