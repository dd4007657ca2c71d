"""The README keeps up with the code: the two opening commands, every message, every job type,
the examples, and the contract-CI snippet run as written."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from omofake.core.catalogue import CATALOGUE
from omofake.dialects.v1 import messages

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
CI = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text(encoding="utf-8")


def test_opens_with_the_two_commands_and_ci_runs_the_second() -> None:
    block = re.search(r"```bash\n(.*?)```", README, re.S)
    assert block is not None and README.index(block.group(0)) < 200
    serve, test = (line.split("  #")[0].strip() for line in block.group(1).strip().splitlines())
    assert serve.endswith("omofake serve") and "pip install" in serve
    assert "pytest" in test and "pip install" in test
    assert test in CI


@pytest.mark.parametrize("name", sorted(messages.ALL))
def test_every_message_is_in_the_catalogue(name: str) -> None:
    assert f"`{messages.ALL[name]}`" in README.replace("\\|", "|")


@pytest.mark.parametrize("type_id", sorted(CATALOGUE))
def test_every_job_type_is_in_the_table(type_id: str) -> None:
    assert re.search(rf"^\| `{type_id}` \| {re.escape(CATALOGUE[type_id].name)} \|", README, re.M)


def test_quick_start_python_example_runs() -> None:
    section = README[README.index("## Quick start") : README.index("<!-- /section: quickstart -->")]
    [code] = re.findall(r"```python\n(.*?)```", section, re.S)
    exec(compile(code, "README.md (quick start)", "exec"), {})


def test_configuration_example_runs() -> None:
    section = README[README.index("## Configuration") : README.index("<!-- /section: configuration -->")]
    [code] = re.findall(r"```python\n(.*?)```", section, re.S)
    from omofake import FakeServer

    with FakeServer() as server:
        exec(compile(code, "README.md (configuration)", "exec"), {"server": server})


# The contract-CI snippet, run exactly as written

BIN = Path(sys.executable).parent  # where the venv's omofake command is

RUN_YOUR_TESTS = """#!{python}
import json, os, urllib.request
url = os.environ["OMOCAPTCHA_API_URL"]
opener = urllib.request.build_opener(urllib.request.ProxyHandler({{}}))
def post(endpoint, body):
    request = urllib.request.Request(f"{{url}}/{{endpoint}}", data=json.dumps(body).encode(), method="POST")
    return json.load(opener.open(request, timeout=10))
data = {{"type_job_id": {type_job_id}, "image_base64": "aW5uZXI=|b3V0ZXI="}}
job = post("createJob", {{"api_token": "ci-token", "data": data}})
post("getJobResult", {{"api_token": "ci-token", "job_id": job["job_id"]}})
"""


def contract_snippet() -> str:
    section = README[README.index("### 1. Record with `omofake serve`") : README.index("### 2. In pytest")]
    [snippet] = re.findall(r"```bash\n(.*?)```", section, re.S)
    return snippet


def run_snippet(tmp_path: Path, type_job_id: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "run-your-tests"
    script.write_text(RUN_YOUR_TESTS.format(python=sys.executable, type_job_id=type_job_id), encoding="utf-8")
    script.chmod(0o755)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    process = subprocess.Popen(
        ["bash", "-c", contract_snippet()],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: whatever it left running is ours to stop
    )
    try:
        out, err = process.communicate(timeout=120)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        if process.poll() is None:
            process.kill()
            process.communicate()
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def test_the_contract_ci_snippet_waits_for_the_fake_and_records_everything(tmp_path: Path) -> None:
    done = run_snippet(tmp_path, '"23"')
    assert done.returncode == 0, done.stderr
    assert "omofake validate: all 2 exchanges in 1 file hold to the contract." in done.stdout
    assert len((tmp_path / "exchanges.jsonl").read_text(encoding="utf-8").splitlines()) == 2


def test_the_contract_ci_snippet_fails_the_day_the_client_drifts(tmp_path: Path) -> None:
    done = run_snippet(tmp_path, "23")
    assert done.returncode == 1, done.stderr
    assert "exchanges.jsonl:1: createJob request $.data.type_job_id: expected text, found 23" in done.stdout
