"""The Node integration example (examples/node-integration/) runs against ``omofake serve``.

CI has Node 20; a machine without ``node`` fails these tests with a message saying so, rather
than skipping them, so that the example cannot rot unnoticed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .helpers import serve

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "node-integration"
FAULTS = ("reset", "empty", "truncated", "bad_gateway", "unavailable", "rate_limited", "hang")


def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.fail("node (version 20 or later) is needed to run examples/node-integration/: install it")
    return found


def run_example(url: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    environment.pop("OMOFAKE_CONTROL_TOKEN", None)
    return subprocess.run(
        [node(), str(EXAMPLE / "integration.mjs")],
        env={**environment, "OMOFAKE_URL": url, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_node_is_recent_enough_for_fetch() -> None:
    done = subprocess.run([node(), "--version"], capture_output=True, text=True, timeout=30)
    assert int(done.stdout.strip().lstrip("v").split(".")[0]) >= 20, done.stdout


def test_the_example_passes_against_a_plain_server() -> None:
    with serve("--quiet") as (url, _):
        done = run_example(url, OMOFAKE_TOKEN="node-suite")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert "ok - a job of node-suite fails" in lines
    assert "ok - a job of another token succeeds" in lines
    for fault in FAULTS:
        assert any(line.startswith(f"ok - fault {fault} is seen as such: ") for line in lines), fault
    assert any(
        line.startswith("ok - fault unavailable is seen as such: HTTP 503, Retry-After 2") for line in lines
    )
    assert "ok - fault reset is seen as such: no answer (ECONNRESET)" in lines
    assert "ok - fault hang is seen as such: HTTP 200, JSON" in lines
    assert "ok - the journal names each fault, in order" in lines
    assert "ok - after a reset by token, none of its requests are left" in lines
    assert "# the other token's job was done after 1 poll(s)" in lines
    assert lines[-1] == "# all checks passed"
    assert "not ok" not in done.stdout + done.stderr


def test_the_example_with_a_scenario_file_and_a_control_token() -> None:
    flags = ("--quiet", "--config", str(EXAMPLE / "scenario.toml"), "--control-token", "s3cret")
    with serve(*flags) as (url, _):
        done = run_example(url + "/api", OMOFAKE_CONTROL_TOKEN="s3cret")
    assert done.returncode == 0, done.stdout + done.stderr
    # The scenario's baseline (two running polls) reached the script's jobs.
    assert "# the other token's job was done after 3 poll(s)" in done.stdout.splitlines()


def test_the_example_fails_on_a_mismatch() -> None:
    # Without the control token the server asks for, the script cannot steer it: exit 1, said why.
    with serve("--quiet", "--control-token", "s3cret") as (url, _):
        done = run_example(url)
    assert done.returncode == 1
    assert "not ok - GET /_omofake/health: HTTP 401" in done.stderr
