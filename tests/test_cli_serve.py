"""``omofake serve`` as another process would use it: started, called over HTTP, stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from typing import Any

import pytest
import requests

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
