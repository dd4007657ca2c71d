"""``omofake serve`` as another process would use it: started, called over HTTP, stopped."""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from omofake import FakeServer

from .controlcalls import control
from .helpers import OMOFAKE, TOKEN, create_body, serve


def call(url: str, endpoint: str, body: Any) -> dict[str, Any]:
    answer = requests.post(f"{url}/api/{endpoint}", json=body, timeout=10)
    assert answer.status_code == 200
    result: dict[str, Any] = answer.json()
    return result


def test_serve_answers_every_type_and_stops_cleanly_on_sigterm() -> None:
    with serve() as (url, process):
        for type_id in ("13", "14", "23", "26", "30"):
            job_id = call(url, "createJob", create_body(type_id))["job_id"]
            assert call(url, "getJobResult", {"api_token": TOKEN, "job_id": job_id})["status"] == "success"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert process.stderr is not None
        log = process.stderr.read()
    assert log.count("POST /api/createJob 200") == 5 and log.count("POST /api/getJobResult 200") == 5
    assert "token=test***" in log and TOKEN not in log
    assert "Traceback" not in log


def test_serve_stops_cleanly_on_ctrl_c() -> None:
    with serve() as (url, process):
        call(url, "createJob", create_body())
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
        assert process.stderr is not None
        assert "Traceback" not in process.stderr.read()


def test_serve_flags_set_the_behaviour() -> None:
    flags = [
        "--running-polls",
        "1",
        "--fail-rate",
        "1",
        "--token",
        "t-one",
        "--token",
        "t-two",
        "--seed",
        "9",
        "--strict",
        "--latency",
        "0:0.01",
        "--quiet",
    ]
    with serve(*flags) as (url, process):
        assert call(url, "createJob", create_body()) == {"error": True, "message": "Invalid api token."}
        body = create_body("23", type_job_id=23) | {"api_token": "t-two"}
        assert "must be text" in call(url, "createJob", body)["message"]
        job_id = call(url, "createJob", create_body("23") | {"api_token": "t-one"})["job_id"]
        poll = {"api_token": "t-one", "job_id": job_id}
        assert [call(url, "getJobResult", poll)["status"] for _ in range(2)] == ["running", "fail"]
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
        assert process.stderr is not None
        assert "POST /api" not in process.stderr.read()  # --quiet
    with serve("--seed", "9", "--quiet") as (url, _):
        assert call(url, "createJob", create_body("23"))["job_id"] == job_id


def test_serve_max_body() -> None:
    with serve("--max-body", "100", "--quiet") as (url, _):
        answer = requests.post(f"{url}/api/createJob", json=create_body(), timeout=10)
        assert answer.status_code == 413
        assert answer.json() == {
            "error": True,
            "message": "Request body is larger than the limit of 100 bytes.",
            "success": False,
        }


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--port", "99999"], "a port is 0 to 65535"),
        (["--port", "http"], "expected a whole number of 0 or more"),
        (["--fail-rate", "2"], "a probability is 0 to 1"),
        (["--latency", "3:1"], "minimum above its maximum"),
        (["--running-polls", "-1"], "expected a whole number of 0 or more"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_flags_exit_2_with_a_message(flags: list[str], message: str) -> None:
    done = subprocess.run([*OMOFAKE, "serve", *flags], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_port_in_use_is_a_clear_error() -> None:
    with serve("--quiet") as (url, _):
        port = url.rsplit(":", 1)[1]
        done = subprocess.run([*OMOFAKE, "serve", "--port", port], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert f"omofake: error: cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr


def test_console_script_and_module_are_the_same_command() -> None:
    script = os.path.join(os.path.dirname(sys.executable), "omofake")
    for command in ([script], OMOFAKE):
        done = subprocess.run([*command, "--version"], capture_output=True, text=True, timeout=30)
        assert done.returncode == 0 and done.stdout.startswith("omofake ")
    done = subprocess.run([*OMOFAKE], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "serve" in done.stdout


def test_serve_keeps_serving_after_garbage() -> None:
    with serve("--quiet") as (url, _):
        for raw in (b"", b"{", b"\x00\xff", json.dumps([1]).encode()):
            assert requests.post(f"{url}/api/createJob", data=raw, timeout=10).json()["error"] is True
        assert requests.get(f"{url}/api/createJob", timeout=10).status_code == 405
        assert call(url, "createJob", create_body())["error"] is False


def test_real_world_client_styles_against_serve_for_every_type() -> None:
    from .helpers import PNG, POSTERS, job_data

    with serve("--quiet") as (url, _):
        for type_id in ("13", "14", "23", "26", "30"):
            data = job_data(type_id)
            styles = {
                "json= with text type": create_body(type_id),
                "json= with integer type": create_body(type_id, type_job_id=int(type_id)),
                "hand-built string": json.dumps({"api_token": TOKEN, "data": data}),
            }
            for style, body in styles.items():
                for library, post in POSTERS.items():
                    status, created = post(f"{url}/api/createJob", body)
                    assert (status, created["error"]) == (200, False), (type_id, style, library, created)
                    # The job id pasted into a template unquoted, as a shell or PHP client does.
                    poll = '{"api_token": "%s", "job_id": %d}' % (TOKEN, created["job_id"])  # noqa: UP031
                    status, answer = post(f"{url}/api/getJobResult", poll)
                    assert status == 200 and answer["status"] == "success", (type_id, style, library, answer)
        assert PNG in styles["hand-built string"]


# Flags that cannot work are refused up front (exit 2), never a traceback


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--token", ""], "a token cannot be empty"),
        (["--latency", "nan"], "expected a finite number"),
        (["--latency", "inf"], "expected a finite number"),
        (["--latency", "0:nan"], "expected a finite number"),
        (["--fail-rate", "nan"], "expected a finite number"),
        (["--solve-after", "inf"], "expected a finite number"),
        (["--solve-after", "1e400"], "expected a finite number"),
        (["--max-body", "0"], "expected a whole number of 1 or more"),
        (["--idle-timeout", "0"], "expected a number above 0"),
        (["--header-timeout", "nan"], "expected a number above 0"),
        (["--ready-file", "/no/such/folder/url"], "no folder /no/such/folder"),
    ],
)
def test_flags_that_cannot_work_exit_2(flags: list[str], message: str) -> None:
    done = subprocess.run([*OMOFAKE, "serve", *flags], capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stdout) == (2, "")
    assert message in done.stderr
    assert "Traceback" not in done.stderr


# Where it listens


def start(*flags: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*OMOFAKE, "serve", "--port", "0", "--quiet", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def stop(process: subprocess.Popen[str]) -> str:
    """SIGTERM; expects exit 0; returns what it wrote to standard error."""
    process.send_signal(signal.SIGTERM)
    try:
        _, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    return err


def test_ipv6_loopback_url_is_bracketed_and_reachable() -> None:
    process = start("--host", "::1", "--token", "v6-token-123456")
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    try:
        assert re.fullmatch(r"http://\[::1\]:\d+", url), url
        body = create_body() | {"api_token": "v6-token-123456"}
        assert call(url, "createJob", body)["error"] is False
    finally:
        err = stop(process)
    assert "warning" not in err and "Traceback" not in err


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_loopback_hosts_get_no_warning(host: str) -> None:
    process = start("--host", host)
    assert process.stdout is not None and process.stdout.readline().startswith("http://")
    assert "warning" not in stop(process)


def test_a_host_reachable_from_the_network_is_warned_about() -> None:
    # Bound for a moment, on a free port, and only a random token is accepted.
    process = start("--host", "0.0.0.0", "--token", os.urandom(16).hex())
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    err = stop(process)
    assert url.startswith("http://0.0.0.0:")
    assert "omofake: warning: listening on 0.0.0.0, not a loopback address" in err
    assert "reachable from the network" in err


def test_fake_server_url_brackets_ipv6() -> None:
    with FakeServer("::1") as server:
        assert re.fullmatch(r"http://\[::1\]:\d+", server.url)
        answer = requests.get(f"{server.url}/openapi.json", timeout=10)
        assert answer.status_code == 200


# Log lines: what the client chose is escaped, tokens masked whatever they hold

FORGED = "30\n2026-01-01 00:00:00,000 POST /api/createJob 200 token=*** Create job success."


def test_log_lines_cannot_be_forged_nor_carry_terminal_escapes() -> None:
    with serve() as (url, process):
        requests.post(
            f"{url}/api/createJob", json=create_body() | {"api_token": "\x1b[2J\x1b[31mtoken"}, timeout=10
        )
        requests.post(f"{url}/api/createJob", json=create_body(type_job_id=FORGED), timeout=10)
        requests.post(f"{url}/api/%1b[31mred%0Aforged%0D", json={}, timeout=10)
        requests.post(f"{url}/api/createJob", json=create_body(type_job_id="x" * 10_000), timeout=10)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert process.stderr is not None
        log = process.stderr.read()
    assert "\x1b" not in log and "\r" not in log
    lines = log.splitlines()
    # The two start lines (the API, the control API), one line per request, the stop line:
    # nothing the client can add.
    assert len(lines) == 7, lines
    assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ", line) for line in lines), lines
    assert "token=\\x1b[2J***" in log
    assert "type=30\\n2026-01-01 00:00:00,000 POST" in log
    assert "POST /api/\\x1b[31mred\\nforged\\r 404" in log
    assert "x" * 81 not in log and "...(+9920 chars)" in log


@pytest.mark.parametrize(
    ("token", "shown"),
    [
        (["secret-token-in-a-list"], "token=<list>***"),
        ({"key": "secret-token-in-an-object"}, "token=<object>***"),
        (987654321012345, "token=<number>***"),
        ("secret-token-as-text", "token=secr***"),
        ("short", "token=***"),
    ],
)
def test_tokens_are_masked_in_the_log_whatever_they_hold(tmp_path: Path, token: Any, shown: str) -> None:
    record = tmp_path / "exchanges.jsonl"
    with serve("--record", str(record)) as (url, process):
        requests.post(f"{url}/api/createJob", json=create_body() | {"api_token": token}, timeout=10)
        requests.post(f"{url}/api/getJobResult", json={"api_token": token, "job_id": 1}, timeout=10)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert process.stderr is not None
        log = process.stderr.read()
    recorded = record.read_text(encoding="utf-8")
    for secret in ("secret-token", "987654321012345", "short"):
        assert secret not in log and secret not in recorded
    assert log.count(shown) == 2


# Recording never breaks answering


def test_recording_to_a_full_disk_warns_once_and_keeps_serving() -> None:
    with serve("--record", "/dev/full") as (url, process):
        for _ in range(3):
            job_id = call(url, "createJob", create_body())["job_id"]
            assert call(url, "getJobResult", {"api_token": TOKEN, "job_id": job_id})["status"] == "success"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert process.stderr is not None
        log = process.stderr.read()
    assert log.count("omofake: recording to /dev/full stopped: No space left on device") == 1
    assert log.count("POST /api/createJob 200") == 3
    assert "Traceback" not in log and " 500 " not in log


def _small_file_limit() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))


def test_recording_stops_when_writes_start_failing_and_the_file_keeps_whole_lines(tmp_path: Path) -> None:
    record = tmp_path / "exchanges.jsonl"
    process = subprocess.Popen(
        [*OMOFAKE, "serve", "--port", "0", "--record", str(record)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=_small_file_limit,  # writes past 1000 bytes fail (EFBIG)
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        body = {"api_token": TOKEN, "data": {"type_job_id": "30", "image_base64": "aGVsbG8="}}
        answers = [requests.post(f"{url}/api/createJob", json=body, timeout=10) for _ in range(12)]
    finally:
        err = stop(process)
    assert [a.status_code for a in answers] == [200] * 12
    assert all(a.json()["error"] is False for a in answers)
    assert err.count(f"omofake: recording to {record} stopped: File too large") == 1
    assert "Traceback" not in err
    text = record.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert 0 < len(lines) < 12 and text.endswith("\n")  # the cut line was taken back
    assert all(json.loads(line)["endpoint"] == "createJob" for line in lines)


# Waiting for the server: omofake wait, serve --ready-file


def wait(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*OMOFAKE, "wait", *args], capture_output=True, text=True, timeout=60, env=env, check=False
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_wait_returns_once_the_server_answers_and_leaves_no_trace(tmp_path: Path) -> None:
    record = tmp_path / "exchanges.jsonl"
    # Proxy settings must not send the probe elsewhere: the fake is reached directly.
    env = {**os.environ, "http_proxy": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
    with serve("--record", str(record)) as (url, _):
        for target in (url, f"{url}/api"):
            done = wait(target, "--timeout", "10", env=env)
            assert (done.returncode, done.stdout, done.stderr) == (0, f"{target}\n", "")
    assert record.read_text(encoding="utf-8") == ""  # the probes are not exchanges


def test_wait_gives_up_after_its_timeout() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    done = wait(url, "--timeout", "0.5")
    assert done.returncode == 1
    assert done.stderr.startswith(f"omofake: error: no answer from {url} within 0.5 s (last try: ")
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["127.0.0.1:8765"], "is not an http:// URL"),
        ([], "give either a URL or --ready-file FILE"),
        (["http://127.0.0.1:1", "--ready-file", "f"], "give either a URL or --ready-file FILE"),
        (["http://127.0.0.1:1", "--timeout", "nan"], "expected a finite number"),
    ],
)
def test_wait_usage_errors_exit_2(args: list[str], message: str) -> None:
    done = wait(*args)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


def test_ready_file_is_written_once_listening_and_removed_on_stop(tmp_path: Path) -> None:
    ready = tmp_path / "omofake.url"
    ready.write_text("http://127.0.0.1:9\n", encoding="utf-8")  # left by an earlier run
    waiting = subprocess.Popen(
        [*OMOFAKE, "wait", "--ready-file", str(ready), "--timeout", "30"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    process = start("--ready-file", str(ready))
    try:
        out, err = waiting.communicate(timeout=60)
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert (waiting.returncode, out, err) == (0, f"{url}\n", "")
        assert ready.read_text(encoding="utf-8") == f"{url}\n"
        assert call(url, "createJob", create_body())["error"] is False
        assert [p.name for p in tmp_path.iterdir()] == ["omofake.url"]  # no temporary file left
    finally:
        if waiting.poll() is None:
            waiting.kill()
            waiting.communicate()
        stop(process)
    assert not ready.exists()


def test_timeout_flags_reach_the_server() -> None:
    # The server closes (recv gives b"") a connection that sends nothing; without the flags it
    # would wait 10 s (header) or 75 s (idle). The socket timeout is a hang guard, not a threshold.
    with serve("--quiet", "--header-timeout", "0.3", "--idle-timeout", "0.3") as (url, _):
        host, port = url.removeprefix("http://").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=20) as silent:
            assert silent.recv(1) == b""
        with socket.create_connection((host, int(port)), timeout=20) as idle:
            idle.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = b""
            while chunk := idle.recv(65536):  # the answer, then the close of an idle connection
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 200")


# The control API of a served fake (see tests/test_control_api.py for each call)


def test_serve_manual_clock_moves_only_when_told(tmp_path: Path) -> None:
    record = tmp_path / "exchanges.jsonl"
    with serve("--manual-clock", "--solve-after", "5", "--record", str(record)) as (url, process):
        assert control(url, "GET", "health")[1]["clock"] == "manual"
        job_id = call(url, "createJob", create_body())["job_id"]
        poll = {"api_token": TOKEN, "job_id": job_id}
        assert call(url, "getJobResult", poll)["status"] == "running"
        assert control(url, "POST", "clock", {"advance": 5})[:2] == (200, {"now": 5.0, "manual": True})
        assert call(url, "getJobResult", poll)["status"] == "success"
        status, _, _ = control(url, "POST", f"jobs/{job_id}", {"status": "success", "result": "42"})
        assert status == 200 and call(url, "getJobResult", poll)["result"] == "42"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert process.stderr is not None
        log = process.stderr.read()
    # Control calls are logged as such, and neither journaled nor recorded.
    assert "control: POST /_omofake/clock 200" in log and f"control API at {url}/_omofake/" in log
    recorded = [json.loads(line)["endpoint"] for line in record.read_text("utf-8").splitlines()]
    assert recorded == ["createJob", "getJobResult", "getJobResult", "getJobResult"]


def test_serve_on_a_real_clock_refuses_to_advance_it() -> None:
    with serve("--quiet") as (url, _):
        status, body, _ = control(url, "POST", "clock", {"advance": 5})
        assert status == 409 and "--manual-clock" in body["message"]


def test_serve_no_control_leaves_control_paths_to_the_api() -> None:
    with serve("--no-control") as (url, process):
        answer = requests.get(f"{url}/_omofake/health", timeout=10)
        assert answer.status_code == 404
        assert answer.json()["message"].startswith("Not found: GET /_omofake/health.")
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
        assert process.stderr is not None
        log = process.stderr.read()
    assert "GET /_omofake/health 404" in log and "control API" not in log


def test_serve_control_token_from_the_flag_or_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with serve("--quiet", "--control-token", "flag-token") as (url, _):
        assert control(url, "GET", "health")[0] == 401
        assert control(url, "GET", "health", **{"X-Omofake-Control-Token": "flag-token"})[0] == 200
    monkeypatch.setenv("OMOFAKE_CONTROL_TOKEN", "env-token")
    with serve("--quiet") as (url, _):
        assert control(url, "GET", "health", **{"X-Omofake-Control-Token": "flag-token"})[0] == 401
        assert control(url, "GET", "health", **{"X-Omofake-Control-Token": "env-token"})[0] == 200
    with serve("--quiet", "--control-token", "flag-token") as (url, _):  # the flag wins
        assert control(url, "GET", "health", **{"X-Omofake-Control-Token": "flag-token"})[0] == 200


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--no-control", "--control-token", "t"], "--control-token goes with the control API"),
        (["--control-token", ""], "a control token cannot be empty"),
        (["--config", "/nonexistent/scenario.toml"], "cannot read the scenario /nonexistent/scenario.toml"),
    ],
)
def test_bad_control_flags_exit_2(flags: list[str], message: str) -> None:
    done = subprocess.run([*OMOFAKE, "serve", *flags], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr


def test_serve_no_direct_from_the_flag_or_a_scenario_file_answers_as_usual(tmp_path: Path) -> None:
    scenario = tmp_path / "routed.toml"
    scenario.write_text("[server]\nno_direct = true\nquiet = true\n", "utf-8")
    for flags in (("--no-direct", "--quiet"), ("--config", str(scenario))):
        with serve(*flags) as (url, _):
            job_id = call(url, "createJob", create_body())["job_id"]
            assert call(url, "getJobResult", {"api_token": TOKEN, "job_id": job_id})["status"] == "success"
