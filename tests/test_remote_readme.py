"""The README's "Steering a running server" runs as written, and the plugin runs the README's
pytest examples unchanged against an external ``omofake serve``.

The curl examples are run from the README itself: each ``console`` block is a list of ``$``
commands (``\\``-continued) with the output they print. A block that starts with
``omofake serve`` starts that server (on a free port instead of 8765); the commands after it
run against it, and their output must be what the README shows, the URL's port and each
exchange's ``time`` aside.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .helpers import OMOFAKE, serve
from .test_cli_serve import free_port
from .test_plugin import INI, PLUGINS, Run, write_readme_project

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
SECTION = README[README.index("<!-- section: remote -->") : README.index("<!-- /section: remote -->")]
README_URL = "http://127.0.0.1:8765"


@dataclass
class Command:
    line: str
    output: list[str] = field(default_factory=list)


def console_blocks() -> list[list[Command]]:
    blocks = []
    for block in re.findall(r"```console\n(.*?)```", SECTION, re.S):
        commands: list[Command] = []
        continued = False
        for line in block.splitlines():
            if continued:
                commands[-1].line += "\n" + line
            elif line.startswith("$ "):
                commands.append(Command(line[2:]))
            else:
                assert commands, f"output before any command in a console block: {line!r}"
                commands[-1].output.append(line)
            continued = line.endswith("\\")
        blocks.append(commands)
    return blocks


def normalized(text: str) -> Any:
    """JSON with what changes run to run (each exchange's time, the version) blanked."""
    try:
        value = json.loads(text)
    except ValueError:
        return text

    def blank(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: "..." if k in ("time", "version") else blank(v) for k, v in value.items()}
        if isinstance(value, list):
            return [blank(v) for v in value]
        return value

    return blank(value)


@contextlib.contextmanager
def started(command: str) -> Iterator[tuple[str, str]]:
    """An ``omofake serve`` command line of the README, on a free port: its URL, and the first
    line it printed."""
    args = shlex.split(command)
    assert args[:2] == ["omofake", "serve"], command
    args[args.index("--port") + 1] = "0"
    process = subprocess.Popen(
        [*OMOFAKE, *args[1:]],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        yield url, url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()


def test_every_curl_example_answers_what_the_readme_shows() -> None:
    assert shutil.which("curl"), "curl is needed to run the README's control API examples"
    blocks = console_blocks()
    ran = 0
    with contextlib.ExitStack() as stack:
        url: str | None = None
        for block in blocks:
            for command in block:
                if command.line.startswith("omofake serve"):
                    stack.close()
                    url, printed = stack.enter_context(started(command.line))
                    assert [printed.replace(url, README_URL)] == command.output
                    continue
                assert url is not None, "a curl example before any omofake serve"
                done = subprocess.run(
                    ["bash", "-c", command.line.replace(README_URL, url)],
                    capture_output=True,
                    text=True,
                    timeout=30,
                    env={k: v for k, v in os.environ.items() if "proxy" not in k.lower()},
                )
                assert done.returncode == 0, (command.line, done.stderr)
                got = done.stdout.replace(url, README_URL).splitlines()
                assert [normalized(line) for line in got] == [normalized(line) for line in command.output], (
                    command.line
                )
                ran += 1
    # Every control call is shown: health, configure, the journal, jobs, force, clock, reset.
    calls = " ".join(c.line for block in blocks for c in block)
    for path in ("health", "configure", "requests?", "jobs?", "jobs/", "clock", "reset", "Control-Token"):
        assert path in calls, path
    assert ran >= 15


def test_the_python_example_runs() -> None:
    [code] = re.findall(r"```python\n(.*?)```", SECTION, re.S)
    with serve("--quiet") as (url, _):
        exec(compile(code.replace(README_URL, url), "README.md (RemoteServer)", "exec"), {})


# The plugin on an external server


@pytest.fixture
def run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Run:
    """As in test_plugin: pytest in a subprocess, with only omofake's plugins."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.delenv("OMOFAKE_SERVER_URL", raising=False)
    pytester.makeini(INI)

    def run(*args: str) -> pytest.RunResult:
        return pytester.runpytest_subprocess(*PLUGINS, "-p", "no:cacheprovider", *args)

    return run


@pytest.fixture
def external(tmp_path: Path) -> Iterator[str]:
    record = tmp_path / "exchanges.jsonl"
    with serve("--quiet", "--record", str(record)) as (url, _):
        yield url
    # The control calls of a whole plugin run left no trace in the recording.
    assert "_omofake" not in record.read_text(encoding="utf-8")


def test_the_readme_pytest_examples_run_unchanged_against_an_external_server(
    pytester: pytest.Pytester, run: Run, external: str
) -> None:
    write_readme_project(pytester)

    result = run("--omofake-server-url", external)

    result.assert_outcomes(passed=9)
    # The README's pyproject.toml turns every option on: applied to the external server too.
    result.stdout.fnmatch_lines([f"omofake: seed=1234, strict=True, contract=True, server={external}"])


REMOTE_BEHAVIOUR = """
import pytest
import requests

from omofake import RemoteServer


def create(url, type_job_id="30"):
    body = {"api_token": "t", "data": {"type_job_id": type_job_id, "image_base64": "aGVsbG8="}}
    return requests.post(f"{url}/createJob", json=body, timeout=10).json()


def test_the_fixtures_are_the_external_server(omofake_server, omofake_session_server, omofake_url):
    assert isinstance(omofake_server, RemoteServer) and omofake_server is omofake_session_server
    assert omofake_url == omofake_server.api_url and omofake_url.startswith("SERVER_URL")


def test_leaves_state_behind(omofake_server, omofake_url):
    omofake_server.configure(tokens=["only-this"], outcome="fail")
    assert create(omofake_url)["message"] == "Invalid api token."


def test_starts_fresh(omofake_server, omofake_url):
    assert len(omofake_server.requests) == 0 and len(omofake_server.jobs) == 0
    assert create(omofake_url)["error"] is False


@pytest.mark.omofake(result=lambda job: "from a function")
def test_a_function_in_a_marker(omofake_url):
    pass


def test_violations_are_reported(omofake_url):
    create(omofake_url, 30)  # type_job_id as a number: a contract violation
"""


def test_markers_reset_and_contract_on_an_external_server(
    pytester: pytest.Pytester, run: Run, external: str
) -> None:
    pytester.makepyfile(test_remote_behaviour=REMOTE_BEHAVIOUR.replace("SERVER_URL", external))

    result = run("--omofake-server-url", external, "--omofake-contract")

    result.assert_outcomes(passed=3, failed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_a_function_in_a_marker*",
            "@pytest.mark.omofake(result=<function <lambda> at *>): result= cannot be a function on a "
            "RemoteServer: functions cannot cross HTTP*",
            "*_ test_violations_are_reported _*",
            "  createJob  $.data.type_job_id  expected: text, sent: 30",
        ],
        consecutive=False,
    )


def test_the_url_from_the_environment(
    pytester: pytest.Pytester, run: Run, external: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        test_env="def test_it(omofake_server):\n"
        f"    assert omofake_server.url == {external!r}\n"
        "    assert type(omofake_server).__name__ == 'RemoteServer'\n"
    )
    monkeypatch.setenv("OMOFAKE_SERVER_URL", external)

    run().assert_outcomes(passed=1)


def test_a_control_token(pytester: pytest.Pytester, run: Run) -> None:
    pytester.makepyfile(
        test_token="def test_it(omofake_server):\n    omofake_server.configure(outcome='fail')\n"
    )
    with serve("--quiet", "--control-token", "s3cret") as (url, _):
        refused = run("--omofake-server-url", url)
        accepted = run("--omofake-server-url", url, "--omofake-control-token", "s3cret")
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    refused.stderr.fnmatch_lines(
        [
            f"ERROR: omofake: --omofake-server-url {url}: {url} refused the control call * no control token was given*"
        ]
    )
    accepted.assert_outcomes(passed=1)


def test_a_url_that_is_not_omofake_is_a_usage_error(pytester: pytest.Pytester, run: Run) -> None:
    pytester.makepyfile(test_nothing="def test_it(omofake_server):\n    pass\n")
    with serve("--quiet", "--no-control") as (url, _):
        result = run("--omofake-server-url", url)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"ERROR: omofake: --omofake-server-url {url}: {url} has no omofake control API*"]
    )
    assert "passed" not in result.stdout.str()


def test_nothing_listening_is_a_usage_error_after_waiting(pytester: pytest.Pytester, run: Run) -> None:
    pytester.makepyfile(test_nothing="def test_it(omofake_server):\n    pass\n")
    url = f"http://127.0.0.1:{free_port()}"
    pytester.makeconftest("import omofake.pytest_plugin as p\np.READY_TIMEOUT = 0.2\n")

    result = run("--omofake-server-url", url)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"ERROR: omofake: --omofake-server-url {url}: no omofake server answered at {url} *"]
    )


def test_xdist_workers_cannot_share_one_external_server(
    pytester: pytest.Pytester, run: Run, external: str
) -> None:
    pytester.makepyfile(test_x="def test_it(omofake_server):\n    pass\n")

    result = run("-n", "2", "--omofake-server-url", external)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: omofake: --omofake-server-url cannot be shared by 2 pytest-xdist workers*"]
    )
