"""The throughput benchmark still runs end to end. Its figures are for people to read: a test on a
shared machine checks that it measures and reports, never how fast anything was."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_benchmark(*flags: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "throughput.py"), *flags, "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr  # 2 would be a broken run
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_the_python_fallback_runs_and_says_it_is_capped() -> None:
    flags = ("--load", "python", "--rounds", "1", "--requests", "200", "--warmup", "20", "--concurrency", "4")
    result = run_benchmark(*flags)
    assert result["load"] == "python" and result["capped"] is True
    assert result["rps_fake"] > 0 and result["rps_minimal"] > 0
    assert result["ratio"] == pytest.approx(result["rps_fake"] / result["rps_minimal"], rel=0.01)
    # Its verdict is the server CPU per request, which the capped load generator cannot flatter.
    assert result["target"] == 0.80
    assert result["passed"] is (result["cpu_ratio"] >= 0.80)


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_the_wrk_benchmark_reports_each_endpoint_against_its_target() -> None:
    result = run_benchmark("--rounds", "1", "--seconds", "1", "--warmup-seconds", "1", "--connections", "4")
    assert result["load"] == "wrk" and result["capped"] is False
    endpoints = result["endpoints"]
    assert set(endpoints) == {"createJob", "getJobResult"}
    assert {e: f["target"] for e, f in endpoints.items()} == {"createJob": 0.80, "getJobResult": 0.90}
    for figures in endpoints.values():
        assert figures["rps_fake"] > 0 and figures["rps_bare"] > 0
        assert figures["ratio"] == pytest.approx(figures["rps_fake"] / figures["rps_bare"], rel=0.01)
        assert figures["passed"] is (figures["ratio"] >= figures["target"])
    assert result["passed"] is all(f["passed"] for f in endpoints.values())
    # One run per server, endpoint and round, alternated.
    assert [(r["endpoint"], r["server"]) for r in result["runs"]] == [
        ("createJob", "fake"),
        ("createJob", "bare"),
        ("getJobResult", "fake"),
        ("getJobResult", "bare"),
    ]


@pytest.mark.parametrize("client", ["protocol", "streams"])
def test_the_latency_benchmark_times_every_request_with_either_client(client: str) -> None:
    flags = ["--rounds", "2", "--warmup", "0", "--concurrency", "5", "--latency", "0.05", "--pause", "0"]
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "latency.py"), *flags, "--client", client, "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["client"] == client and result["requests"] == 10
    # Each request waited its latency: measured from its write, never less (1 ms of clock slack).
    assert result["min_excess_ms"] >= -1.0
    assert result["median_excess_ms"] <= result["p99_excess_ms"] <= result["max_excess_ms"]
    assert result["passed"] is (
        result["median_excess_ms"] <= result["target_median_ms"]
        and result["p99_excess_ms"] <= result["target_p99_ms"]
    )
