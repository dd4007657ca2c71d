"""Scenario files: ``omofake serve --config FILE``, ``FakeServer(scenario=...)``, ``load_scenario``."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests

from omofake import FakeServer, ManualClock, Scenario, ScenarioError, load_scenario
from omofake.cli import main
from omofake.http.control import TOKEN_HEADER

from .controlcalls import control
from .helpers import OMOFAKE, TOKEN, create_body, serve

SCENARIO_TOML = """\
# A run where every job takes 10 s and the first Rotate job fails.
[server]
port = 9                 # the command line's --port wins
manual_clock = true
running_polls = 3        # so does --running-polls
quiet = true
control_token = "token-from-the-file"

[[configure]]
solve_after = 10

[[configure]]
job_type = 23
outcome = "fail"
times = 1
"""

SCENARIO = {
    "server": {
        "port": 9,
        "manual_clock": True,
        "running_polls": 3,
        "quiet": True,
        "control_token": "token-from-the-file",
    },
    "configure": [{"solve_after": 10}, {"job_type": 23, "outcome": "fail", "times": 1}],
}


@pytest.fixture(params=["toml", "json"])
def scenario_file(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    if request.param == "toml":
        path = tmp_path / "scenario.toml"
        path.write_text(SCENARIO_TOML, "utf-8")
    else:
        path = tmp_path / "scenario.json"
        path.write_text(json.dumps(SCENARIO, indent=2), "utf-8")
    return path


def api(url: str, endpoint: str, body: Any) -> dict[str, Any]:
    answer: dict[str, Any] = requests.post(f"{url}/api/{endpoint}", json=body, timeout=10).json()
    return answer


def status_of(url: str, job_id: int) -> str:
    status: str = api(url, "getJobResult", {"api_token": TOKEN, "job_id": job_id})["status"]
    return status


# Read from Python


def test_load_scenario_reads_both_formats_alike(scenario_file: Path) -> None:
    scenario = load_scenario(scenario_file)
    assert isinstance(scenario, Scenario)
    assert scenario.path == scenario_file
    assert dict(scenario.server) == SCENARIO["server"]
    assert list(scenario.configure) == SCENARIO["configure"]


def test_a_scenario_is_the_baseline_reset_returns_to(scenario_file: Path) -> None:
    clock = ManualClock()
    with FakeServer(clock=clock, scenario=scenario_file) as server:
        for _ in range(2):  # the second time round, after a reset: the script is armed again
            first, second = (api(server.url, "createJob", create_body("23"))["job_id"] for _ in range(2))
            assert status_of(server.url, first) == "running"  # solve_after=10
            clock.advance(10)
            assert [status_of(server.url, job) for job in (first, second)] == ["fail", "success"]
            server.configure(solve_after=0, times=None)
            server.reset()
            assert len(server.jobs) == 0


def test_the_control_api_reset_returns_to_the_scenario(tmp_path: Path) -> None:
    path = tmp_path / "fail-once.toml"
    path.write_text('[[configure]]\noutcome = "fail"\ntimes = 1\n', "utf-8")
    with FakeServer(scenario=path) as server:
        for _ in range(2):
            jobs = [api(server.url, "createJob", create_body())["job_id"] for _ in range(2)]
            assert [status_of(server.url, job) for job in jobs] == ["fail", "success"]
            assert control(server.url, "POST", "reset")[0] == 200


def test_a_scenario_as_a_list_or_a_loaded_file(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"configure": [{"outcome": "fail"}]}), "utf-8")
    for scenario in ([{"outcome": "fail"}], load_scenario(path), str(path)):
        with FakeServer(scenario=scenario) as server:
            job_id = api(server.url, "createJob", create_body())["job_id"]
            assert status_of(server.url, job_id) == "fail"


def test_keyword_settings_come_first_then_the_scenario() -> None:
    with FakeServer(running_polls=2, outcome="fail", scenario=[{"outcome": "success"}]) as server:
        job_id = api(server.url, "createJob", create_body())["job_id"]
        assert [status_of(server.url, job_id) for _ in range(3)] == ["running", "running", "success"]


def test_reset_of_a_token_applies_its_part_of_the_scenario_again() -> None:
    ci = "token-of-ci-job-17"
    with FakeServer(scenario=[{"token": ci, "outcome": "fail", "times": 1}]) as server:
        for _ in range(2):
            jobs = [
                api(server.url, "createJob", create_body() | {"api_token": ci})["job_id"] for _ in range(2)
            ]
            polls = [api(server.url, "getJobResult", {"api_token": ci, "job_id": j})["status"] for j in jobs]
            assert polls == ["fail", "success"]
            server.reset(token=ci)


@pytest.mark.parametrize(
    ("scenario", "error", "message"),
    [
        ([{"outcom": "fail"}], TypeError, "scenario[0]: unknown omofake setting(s) outcom; known: "),
        (
            [{}, {"running_polls": -1}],
            ValueError,
            "scenario[1]: running_polls must be a whole number, 0 or more, not -1",
        ),
        ([3], TypeError, "scenario[0] must be a dict of configure settings"),
        ({"outcome": "fail"}, TypeError, "scenario must be a list of configure calls"),
    ],
)
def test_a_bad_scenario_in_python(scenario: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error) as caught:
        FakeServer(scenario=scenario)
    assert str(caught.value).startswith(message)


# Bad files

BAD_FILES = [
    ("s.toml", "[server\nport = 1\n", "s.toml:1:8: not TOML: Expected ']' at the end of a table declaration"),
    ("s.toml", "[server]\nport = \n", "s.toml:2:8: not TOML: Invalid value"),
    ("s.json", '{"configure": [\n  {"outcome": "fail"}\n', "s.json:3:1: not JSON: Expecting ',' delimiter"),
    ("s.json", '{"configure": [{"latency": NaN}]}', "s.json: not JSON: NaN is not JSON"),
    ("s.json", "[1, 2]", "s.json: a scenario is an object with server and configure, not [1, 2]"),
    (
        "s.toml",
        "[servr]\nport = 1\n",
        "s.toml: unknown section(s) servr; a scenario has [server] and [[configure]]",
    ),
    ("s.toml", "server = 3\n", "s.toml: server must be a table of serve settings, not 3"),
    (
        "s.toml",
        "[configure]\noutcome = 'fail'\n",
        "s.toml: configure must be an array of tables ([[configure]] in TOML, a list in JSON), not {'outcome': 'fail'}",
    ),
    ("s.json", '{"configure": [3]}', "s.json: configure[0]: a configure call is a table of settings, not 3"),
    (
        "s.toml",
        "[server]\nquiet = true\n\n[[configure]]\nrunning_polls = 1\n\n[[configure]]  # the second\noutcom = 'fail'\n",
        "s.toml:7: configure[1]: unknown omofake setting(s) outcom; known: ",
    ),
    (
        "s.toml",
        "[[configure]]\nseed = 3\ntimes = 2\n",
        "s.toml:1: configure[0]: seed apply to the whole server, not to a job_type or times",
    ),
    (
        "s.json",
        '{"configure": [{"outcome": "maybe"}]}',
        "s.json: configure[0]: outcome must be 'success' or 'fail', not 'maybe'",
    ),
    ("s.toml", b"\xff\xfe[server]\n", "s.toml: not UTF-8 text (byte 0)"),
]


@pytest.mark.parametrize(("name", "content", "message"), BAD_FILES)
def test_a_bad_file_names_where(tmp_path: Path, name: str, content: str | bytes, message: str) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, "utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value).startswith(message.replace(name, str(path), 1))


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(
        ScenarioError, match=r"cannot read the scenario .*nothing\.toml: No such file or directory"
    ):
        load_scenario(tmp_path / "nothing.toml")


BAD_SERVER_TABLES = [
    ("bogus = 1", "server.bogus: unknown serve setting; known: balance, balance_error, control_token, "),
    ("port = 99999", "server.port: a port is 0 to 65535, not 99999"),
    ("port = 'http'", "server.port: expected a whole number of 0 or more, not 'http'"),
    ("port = 8765.5", "server.port: expected a whole number of 0 or more, not '8765.5'"),
    ("strict = 'yes'", "server.strict: expected true or false, not 'yes'"),
    ("timing = 'slow'", "server.timing: expected one of 'instant', 'realistic', not 'slow'"),
    ("fail_rate = 2", "server.fail_rate: a probability is 0 to 1, not 2"),
    ("host = 127", "server.host: expected text, not 127"),
    ("latency = {min = 1}", "server.latency: expected text or a number, as the flag takes, not {'min': 1}"),
    ("token = ['ok', '']", "server.token: a token cannot be empty"),
    ("config = 'other.toml'", "server.config: unknown serve setting"),
    ("control_token = ''", "server.control_token: a control token cannot be empty"),
]


@pytest.mark.parametrize(("line", "message"), BAD_SERVER_TABLES)
def test_serve_refuses_a_bad_server_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, message: str
) -> None:
    path = tmp_path / "scenario.toml"
    path.write_text(f"# settings\n[server]\nquiet = true\n{line}\n", "utf-8")
    assert main(["serve", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"omofake: error: {path}:4: {message}"), err


@pytest.mark.parametrize(("name", "content", "message"), BAD_FILES[:3] + BAD_FILES[9:10])
def test_serve_refuses_a_bad_file_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content, "utf-8")
    assert main(["serve", "--config", str(path)]) == 2
    assert capsys.readouterr().err.startswith(f"omofake: error: {message.replace(name, str(path), 1)}")


def test_serve_with_a_bad_file_prints_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "scenario.toml"
    path.write_text("[[configure]]\noutcom = 'fail'\n", "utf-8")
    done = subprocess.run(
        [*OMOFAKE, "serve", "--config", str(path)], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2
    assert done.stderr.startswith(
        f"omofake: error: {path}:1: configure[0]: unknown omofake setting(s) outcom;"
    )
    assert "Traceback" not in done.stderr and done.stdout == ""


# Served


def test_serve_config_runs_the_scenario_and_flags_win(scenario_file: Path) -> None:
    guard = {TOKEN_HEADER: "token-from-the-file"}
    with serve("--config", str(scenario_file), "--running-polls", "0") as (url, process):
        assert not url.endswith(":9")  # --port 0 beat the file's port
        assert control(url, "GET", "health")[0] == 401  # the file's control token
        assert control(url, "GET", "health", **guard)[1]["clock"] == "manual"
        for _ in range(2):
            first, second = (api(url, "createJob", create_body("23"))["job_id"] for _ in range(2))
            assert status_of(url, first) == "running"  # solve_after=10; no running polls (the flag)
            assert control(url, "POST", "clock", {"advance": 10}, **guard)[0] == 200
            assert [status_of(url, job) for job in (first, second)] == ["fail", "success"]
            assert control(url, "POST", "reset", **guard)[0] == 200  # the script is armed again
        process.terminate()
        assert process.wait(timeout=10) == 0
        assert process.stderr is not None
        assert "POST /api" not in process.stderr.read()  # quiet, from the file


def test_the_readme_scenario_is_a_valid_scenario(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text("utf-8")
    section = readme[readme.index("### Scenario files") : readme.index("<!-- /section: scenarios -->")]
    [toml] = re.findall(r"```toml\n(.*?)```", section, re.S)
    path = tmp_path / "scenario.toml"
    path.write_text(toml, "utf-8")
    scenario = load_scenario(path)
    assert scenario.server["token"] == ["ci-token-1", "ci-token-2"]
    assert [call.get("job_type") for call in scenario.configure] == [None, 23, None]
    # The [server] table passes serve's checks too (an unknown key would exit 2 here).
    path.write_text(toml.replace("port = 8765", "port = 99999"), "utf-8")
    assert main(["serve", "--config", str(path)]) == 2
