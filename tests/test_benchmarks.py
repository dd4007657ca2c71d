"""The throughput benchmark still runs end to end. Its figures are for people to read: a test on a
shared machine checks that it measures and reports, never how fast anything was."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_throughput_benchmark_runs_and_reports_a_ratio() -> None:
    flags = ("--rounds", "1", "--requests", "200", "--warmup", "20", "--concurrency", "4", "--json")
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "throughput.py"), *flags],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr  # 2 would be a broken run
    result = json.loads(done.stdout)
    assert result["rps_fake"] > 0 and result["rps_minimal"] > 0
    assert result["ratio"] == pytest.approx(result["rps_fake"] / result["rps_minimal"], rel=0.01)
    assert result["target"] == 0.70
    assert result["passed"] is (result["ratio"] >= 0.70)
