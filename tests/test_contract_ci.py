"""The ready GitHub Actions job (examples/github-actions/contract.yml) and the README's
"Contract testing in CI" section: both do what they say."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from omofake.cli import build_parser, main

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / "examples" / "github-actions" / "contract.yml"
README = (ROOT / "README.md").read_text(encoding="utf-8")
BIN = Path(sys.executable).parent  # where the venv's omofake command is


def steps() -> dict[str, dict[str, Any]]:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    [job] = workflow["jobs"].values()
    return {step.get("name", step.get("uses")): step for step in job["steps"]}


def omofake_commands(script: str) -> list[list[str]]:
    """Each ``omofake ...`` command of a shell script, as arguments (up to a redirection or ``&``)."""
    commands = []
    for line in script.splitlines():
        line = line.strip()
        if line.startswith("omofake "):
            words = shlex.split(re.split(r"\s(?:[12]?>|&|\|)", line)[0])
            commands.append(words[1:])
    return commands


def test_the_workflow_records_then_validates_with_flags_omofake_has() -> None:
    by_name = steps()
    commands = [c for step in by_name.values() for c in omofake_commands(step.get("run", ""))]
    assert [c[0] for c in commands] == ["serve", "wait", "validate"]
    parser = build_parser()
    for command in commands:
        parser.parse_args(command)  # exits (SystemExit) on a flag omofake does not have
    serve, wait, validate = commands
    assert "--record" in serve and serve[serve.index("--record") + 1] in validate
    # The job waits for the very server it started, by the file that server writes.
    assert serve[serve.index("--ready-file") + 1] == wait[wait.index("--ready-file") + 1]
    assert validate[:4] == ["validate", "--format", "junit", "--output"]
    # The report and the recording are kept whatever happened.
    for name in ("Stop the fake", "Check the recorded exchanges against the documented contract"):
        assert by_name[name]["if"] == "always()"
    assert by_name["Keep the exchanges and the report"]["if"] == "always()"


SUT_STEP = "Run the system under test against the fake"


def run_workflow(tmp_path: Path, system_under_test: str) -> dict[str, subprocess.CompletedProcess[str]]:
    """Run the job's shell steps here as GitHub would (bash -e, in order, on one folder, the
    env file read between steps), with our own system under test and a free port."""
    if shutil.which("omofake", path=str(BIN)) is None:
        pytest.skip("the omofake command is not installed next to this Python")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    github_env = tmp_path / "github.env"
    github_env.touch()
    env["GITHUB_ENV"] = str(github_env)
    results: dict[str, subprocess.CompletedProcess[str]] = {}
    try:
        for name, step in steps().items():
            if "run" not in step:
                continue
            if name == "Install omofake":
                continue  # already installed: this is its test suite
            script = system_under_test if name == SUT_STEP else step["run"].replace("--port 8765", "--port 0")
            if not step.get("if") and any(r.returncode for r in results.values()):
                continue  # a failed step skips those without if: always()
            for line in github_env.read_text(encoding="utf-8").splitlines():
                key, _, value = line.partition("=")
                env[key] = value
            results[name] = subprocess.run(
                ["bash", "-e", "-o", "pipefail", "-c", script],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
    finally:
        # The server this test started, if the workflow's own stop step did not run.
        pid_file = tmp_path / "omofake.pid"
        stopped = results.get("Stop the fake")
        if pid_file.exists() and (stopped is None or stopped.returncode != 0):
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
    return results


CLIENT = """
import json, os, urllib.request
url = os.environ["OMOCAPTCHA_API_URL"]
def post(endpoint, body):
    request = urllib.request.Request(f"{url}/{endpoint}", data=json.dumps(body).encode(), method="POST")
    return json.load(urllib.request.urlopen(request, timeout=10))
data = {"type_job_id": TYPE, "image_base64": "aW5uZXI=|b3V0ZXI="}
job = post("createJob", {"api_token": "ci-token", "data": data})
post("getJobResult", {"api_token": "ci-token", "job_id": job["job_id"]})
"""


def sut(type_job_id: str) -> str:
    program = CLIENT.replace("TYPE", type_job_id)
    return f"{shlex.quote(sys.executable)} -c {shlex.quote(program)}"


def test_the_workflow_passes_for_a_client_that_keeps_the_contract(tmp_path: Path) -> None:
    results = run_workflow(tmp_path, sut('"23"'))
    assert {name: r.returncode for name, r in results.items()} == {
        "Start the fake OMOcaptcha API, recording every exchange": 0,
        SUT_STEP: 0,
        "Stop the fake": 0,
        "Check the recorded exchanges against the documented contract": 0,
    }
    check = results["Check the recorded exchanges against the documented contract"]
    assert "all 2 exchanges in 1 file hold to the contract" in check.stdout
    report = ET.parse(tmp_path / "omocaptcha-contract.xml").getroot()
    assert (report.get("tests"), report.get("failures")) == ("2", "0")


def test_the_workflow_fails_the_day_the_client_drifts(tmp_path: Path) -> None:
    results = run_workflow(tmp_path, sut("23"))  # the number 23: the lenient fake still answers
    check = results["Check the recorded exchanges against the documented contract"]
    assert results[SUT_STEP].returncode == 0
    assert check.returncode == 1
    assert "omocaptcha-exchanges.jsonl:1: createJob request $.data.type_job_id: expected text, found 23" in (
        check.stdout
    )
    report = ET.parse(tmp_path / "omocaptcha-contract.xml").getroot()
    assert report.get("failures") == "1"


def test_the_workflow_fails_when_nothing_reached_the_fake(tmp_path: Path) -> None:
    results = run_workflow(tmp_path, "true")
    check = results["Check the recorded exchanges against the documented contract"]
    assert check.returncode == 1 and "no exchanges recorded" in check.stdout


# The README section


def section() -> str:
    return README[README.index("## Contract testing in CI") : README.index("<!-- /section: contract -->")]


def test_the_readme_python_example_runs() -> None:
    [code] = re.findall(r"```python\n(.*?)```", section(), re.S)
    exec(compile(code, "README.md (contract testing)", "exec"), {})


def test_the_readme_example_line_is_the_exchange_format(tmp_path: Path) -> None:
    [line] = re.findall(r"```json\n(.*?)\n```", section(), re.S)
    file = tmp_path / "one.jsonl"
    file.write_text(line + "\n", encoding="utf-8")
    record = json.loads(line)
    assert set(record) == {"endpoint", "request", "response", "status", "time", "type_job_id"}
    assert main(["validate", str(file)]) == 0


def test_the_readme_har_conversion(tmp_path: Path) -> None:
    if shutil.which("jq") is None:
        pytest.skip("jq is not installed")
    [command] = [c for c in re.findall(r"```bash\n(.*?)```", section(), re.S) if "jq " in c]
    entry = {
        "startedDateTime": "2024-05-01T12:00:00.000Z",
        "request": {
            "url": "https://omocaptcha.com/api/createJob",
            "postData": {
                "text": json.dumps({"api_token": "t", "data": {"type_job_id": 30, "image_base64": "aGk="}})
            },
        },
        "response": {
            "status": 200,
            "content": {"text": json.dumps({"error": False, "job_id": 7, "message": "Create job success."})},
        },
    }
    other = {**entry, "request": {"url": "https://example.com/", "postData": {"text": "{}"}}}
    (tmp_path / "session.har").write_text(json.dumps({"log": {"entries": [other, entry]}}), "utf-8")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        ["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    # The one createJob exchange, converted; it sends type_job_id as a number: exit 1.
    assert done.returncode == 1, done.stderr
    assert "exchanges.jsonl:1: createJob request $.data.type_job_id: expected text, found 30" in done.stdout
    [record] = [json.loads(x) for x in (tmp_path / "exchanges.jsonl").read_text("utf-8").splitlines()]
    assert (record["endpoint"], record["status"], record["response"]["job_id"]) == ("createJob", 200, 7)
