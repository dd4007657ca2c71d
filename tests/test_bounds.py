"""Bounded memory for a long-running server: the job store (``max_jobs``), job input text, and
the journal by count and by bytes; the shutdown line of ``omofake serve`` counts every request."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from omofake import FakeServer
from omofake.cli import SERVE_JOURNAL_BYTES, SERVE_JOURNAL_SIZE, SERVE_MAX_JOBS
from omofake.core.jobs import MAX_INPUT

from .helpers import OMOFAKE, TOKEN, create_body, serve

ROOT = Path(__file__).resolve().parent.parent


def call(url: str, endpoint: str, body: Any, session: Any = requests) -> dict[str, Any]:
    answer = session.post(f"{url}/api/{endpoint}", json=body, timeout=10)
    assert answer.status_code == 200
    result: dict[str, Any] = answer.json()
    return result


def poll(url: str, job_id: int) -> dict[str, Any]:
    return call(url, "getJobResult", {"api_token": TOKEN, "job_id": job_id})


def test_the_job_finished_longest_ago_is_forgotten_first() -> None:
    with FakeServer(max_jobs=3, running_polls=1) as server:
        first, second, third = (call(server.url, "createJob", create_body())["job_id"] for _ in range(3))
        poll(server.url, third)  # running: the first poll answers running
        assert poll(server.url, third)["status"] == "success"
        poll(server.url, second)
        assert poll(server.url, second)["status"] == "success"  # finished after the third
        fourth = call(server.url, "createJob", create_body())["job_id"]
        assert poll(server.url, third)["message"] == f"Job {third} not found."
        assert sorted(server.jobs) == sorted([first, second, fourth])
        fifth = call(server.url, "createJob", create_body())["job_id"]
        assert poll(server.url, second)["message"] == f"Job {second} not found."
        # Every job still running: the oldest goes.
        sixth = call(server.url, "createJob", create_body())["job_id"]
        assert poll(server.url, first)["message"] == f"Job {first} not found."
        assert sorted(server.jobs) == sorted([fourth, fifth, sixth])


def test_a_job_keeps_a_bounded_copy_of_its_input() -> None:
    with FakeServer() as server:
        text = "tàu thuyền " * 100_000
        job_id = call(server.url, "createJob", create_body("14", input=text))["job_id"]
        kept = server.jobs[job_id].input
        assert kept == text[:MAX_INPUT]
        assert server.requests.last().request["data"]["input"] == text  # the journal has it whole


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "10"])
def test_bounds_must_be_whole_numbers(bad: Any) -> None:
    for keyword in ("max_jobs", "journal_size", "journal_bytes"):
        with pytest.raises(ValueError, match="whole number, 1 or more"):
            FakeServer(**{keyword: bad})


def test_the_journal_is_bounded_by_bytes_oldest_first_and_counts_everything() -> None:
    image = "QUFB" * (64 * 1024)  # 256 KiB of base64
    with FakeServer(journal_bytes=3 * len(image)) as server:
        sent = [call(server.url, "createJob", create_body(image_base64=image))["job_id"] for _ in range(6)]
        kept = [exchange.job_id for exchange in server.requests]
        assert kept == sent[-len(kept) :] and 1 <= len(kept) < 3
        assert server.journal.size <= 3 * len(image)
        assert server.journal.total == 6
        # Small exchanges are kept until the bytes run out, and a reset keeps the count going.
        call(server.url, "getJobResult", {"api_token": TOKEN, "job_id": 1})
        server.reset()
        assert len(server.requests) == 0 and server.journal.total == 7


def test_serve_max_jobs_flag_and_shutdown_line_counts_every_request() -> None:
    requests_sent = SERVE_JOURNAL_SIZE + 5  # more than the journal keeps
    with serve("--max-jobs", "2", "--quiet") as (url, process), requests.Session() as session:
        first = call(url, "createJob", create_body(), session)["job_id"]
        for _ in range(requests_sent - 2):
            call(url, "createJob", create_body(), session)
        assert poll(url, first)["message"] == f"Job {first} not found."
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        assert process.stderr is not None
        log = process.stderr.read()
    assert f"omofake stopped after {requests_sent} request(s)" in log


def test_serve_defaults_bound_jobs_and_journal() -> None:
    assert SERVE_MAX_JOBS == 100_000 and SERVE_JOURNAL_BYTES == 64 * 1024 * 1024
    done = subprocess.run([*OMOFAKE, "serve", "--help"], capture_output=True, text=True, timeout=60)
    assert "--max-jobs N" in done.stdout and "100000" in done.stdout


@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_serve_rejects_a_bad_max_jobs(value: str) -> None:
    done = subprocess.run(
        [*OMOFAKE, "serve", "--max-jobs", value], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "--max-jobs" in done.stderr and "whole number, 1 or more" in done.stderr
    assert "Traceback" not in done.stderr


def test_memory_benchmark_runs_and_reports_a_ratio() -> None:
    flags = ("--small", "2000", "--large", "20000", "--max-jobs", "1000", "--json")
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "memory.py"), *flags],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr  # 2 would be a broken run
    result = json.loads(done.stdout)
    assert result["rss_small"] > 0 and result["rss_large"] > 0
    assert result["ratio"] == pytest.approx(result["rss_large"] / result["rss_small"], rel=0.01)
    assert result["target"] == 2.0
    assert result["passed"] is (result["ratio"] <= 2.0)
    assert result["jobs_kept_large"] == 1000
