"""The pytest plugin, as a downstream project meets it.

Each test writes small test files with ``pytester`` and runs them in a pytest subprocess: the
fake runs in a thread, and the plugin must come in through its entry point, as after
``pip install omofake``. Option parsing is checked in-process, where it is cheap.

Plugin autoloading is off in the inner runs, which name the plugins they use: the runs are then
independent of whatever else the environment has installed (an order-randomising plugin would
break the tests that check state does not leak), and they start in a fraction of the time. The
examples project runs with autoloading on, exactly as a downstream project would.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from omofake.contract import Violation, validate_request
from omofake.core.journal import Exchange, now_utc
from omofake.http.server import SELF_CHECK_ENV
from omofake.pytest_plugin import _SETTINGS, Settings, describe_violations

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")

# The plugins the inner runs load, by entry point name (omofake) or module (the others: their
# entry point names, asyncio and xdist, are also names of modules already imported). omofake
# comes last, as it imports pytest_asyncio, which pytest would then warn it cannot rewrite.
PLUGINS = ("-p", "pytest_asyncio.plugin", "-p", "xdist.plugin", "-p", "omofake")
INI = """\
[pytest]
asyncio_mode = strict
asyncio_default_fixture_loop_scope = function
"""

Run = Callable[..., pytest.RunResult]


@pytest.fixture
def run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Run:
    """Run pytest in a subprocess in the pytester folder, with only omofake's plugins."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makeini(INI)

    def run(*args: str) -> pytest.RunResult:
        return pytester.runpytest_subprocess(*PLUGINS, "-p", "no:cacheprovider", *args)

    return run


# Fixtures, the marker and the journal, in one run


BEHAVIOUR = """
import json
import re
import urllib.request

import aiohttp
import httpx
import pytest
import requests

from omofake import FakeServer, JobFailed, OmoClient, OmoError

IMAGE = "aGVsbG8="
TOKEN = "t"


def job(type_job_id="30", image=IMAGE, **data):
    return {"api_token": TOKEN, "data": {"type_job_id": type_job_id, "image_base64": image, **data}}


def poll(job_id):
    return {"api_token": TOKEN, "job_id": job_id}


def post_requests(url, body):
    return requests.post(url, json=body, timeout=10).json()


def post_httpx(url, body):
    return httpx.post(url, json=body, timeout=10).json()


def post_urllib(url, body):
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


post = post_requests


@pytest.mark.parametrize("send", [post_requests, post_httpx, post_urllib])
def test_sync_clients(send, omofake_url, omofake_server):
    assert omofake_url == omofake_server.api_url
    assert re.fullmatch(r"http://127\\.0\\.0\\.1:\\d+/api", omofake_url)
    created = send(f"{omofake_url}/createJob", job())
    answer = send(f"{omofake_url}/getJobResult", poll(created["job_id"]))
    assert answer == {"error": False, "status": "success", "result": answer["result"], "success": True}
    assert len(omofake_server.requests) == 2


def test_leaves_state_behind(omofake_server, omofake_url):
    omofake_server.configure(outcome="fail", running_polls=3, tokens=["only-this"])
    assert post(f"{omofake_url}/createJob", job())["message"] == "Invalid api token."


def test_starts_fresh(omofake_server, omofake_url):
    assert len(omofake_server.requests) == 0 and len(omofake_server.jobs) == 0
    created = post(f"{omofake_url}/createJob", job())
    assert post(f"{omofake_url}/getJobResult", poll(created["job_id"]))["status"] == "success"


def test_the_same_server_all_session(omofake_server, omofake_session_server):
    assert omofake_server is omofake_session_server


@pytest.fixture(scope="session")
def app_settings(omofake_session_server):
    return {"captcha_api": omofake_session_server.api_url}


def test_session_scoped_fixtures_get_the_url(app_settings, omofake_url):
    assert app_settings["captcha_api"] == omofake_url


@pytest.mark.omofake(running_polls=1)
def test_marker(omofake_url):
    created = post(f"{omofake_url}/createJob", job())
    assert post(f"{omofake_url}/getJobResult", poll(created["job_id"]))["status"] == "running"
    assert post(f"{omofake_url}/getJobResult", poll(created["job_id"]))["status"] == "success"


@pytest.mark.omofake(job_type=23, outcome="fail", result=None)
@pytest.mark.omofake(times=1, create_error="Balance is not enough.")
def test_marker_scopes(omofake_url):
    assert post(f"{omofake_url}/createJob", job())["message"] == "Balance is not enough."
    rotate = post(f"{omofake_url}/createJob", job("23", "aW5uZXI=|b3V0ZXI="))["job_id"]
    text = post(f"{omofake_url}/createJob", job())["job_id"]
    assert post(f"{omofake_url}/getJobResult", poll(rotate))["status"] == "fail"
    assert post(f"{omofake_url}/getJobResult", poll(text))["status"] == "success"


def test_journal_helpers(omofake_server, omofake_url):
    first = post(f"{omofake_url}/createJob", job("13", input="panda"))["job_id"]
    second = post(f"{omofake_url}/createJob", job())["job_id"]
    for job_id in (first, first, second):
        post(f"{omofake_url}/getJobResult", poll(job_id))
    requests.get(f"{omofake_url}/createJob", timeout=10)

    journal = omofake_server.requests
    assert [e.endpoint for e in journal] == [
        "createJob", "createJob", "getJobResult", "getJobResult", "getJobResult", None,
    ]
    assert [e.job_id for e in journal.create_jobs] == [first, second]
    assert journal.for_endpoint("createJob") == journal.create_jobs
    assert len(journal.job_results) == 3
    assert journal.last("createJob").request["data"] == {
        "type_job_id": "30", "image_base64": IMAGE,
    }
    assert journal.create_jobs[0].request["data"]["input"] == "panda"
    assert journal.last("getJobResult").job_id == second
    assert journal.last().status == 405
    assert (journal.polls(first), journal.polls(second), journal.polls(1)) == (2, 1, 0)
    [(exchange, violation)] = journal.violations
    assert exchange.method == "GET" and violation.found == "GET /api/createJob"


@pytest.mark.asyncio
async def test_async_client(omofake_client, omofake_server):
    assert isinstance(omofake_client, OmoClient)
    result = await omofake_client.solve(26, images=(b"mask", b"background"))
    [job_id] = omofake_server.jobs
    assert result == omofake_server.jobs[job_id].result


@pytest.mark.asyncio
@pytest.mark.omofake(running_polls=5)
async def test_async_client_polls_without_waiting_2_s(omofake_client, omofake_server):
    await omofake_client.solve(30, images=b"png")
    assert len(omofake_server.requests.job_results) == 6


@pytest.mark.asyncio
@pytest.mark.omofake(outcome="fail")
async def test_async_client_failure(omofake_client):
    with pytest.raises(JobFailed):
        await omofake_client.solve(30, images=b"png")


@pytest.mark.asyncio
async def test_async_with_aiohttp(omofake_url, omofake_server):
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{omofake_url}/createJob", json=job()) as response:
            assert (await response.json())["error"] is False
    assert len(omofake_server.jobs) == 1


@pytest.mark.omofake(tokens=["right-token"])
class TestTokens:
    @pytest.fixture
    def omofake_token(self):
        return "right-token"

    @pytest.mark.asyncio
    async def test_overridden_token(self, omofake_client):
        assert omofake_client.api_token == "right-token"
        assert await omofake_client.solve(30, images=b"png")

    @pytest.mark.asyncio
    async def test_wrong_token(self, omofake_url):
        async with OmoClient("wrong-token", base_url=omofake_url) as client:
            with pytest.raises(OmoError, match="Invalid api token."):
                await client.create_job(30, images=b"png")


# Errors the plugin must explain.


@pytest.mark.omofake(running_polls=2)
def test_marker_without_the_fake():
    pass


@pytest.mark.omofake(running_pols=2)
def test_marker_typo(omofake_server):
    pass


@pytest.mark.omofake(outcome="maybe")
def test_marker_bad_value(omofake_server):
    pass


@pytest.mark.omofake(2)
def test_marker_positional(omofake_server):
    pass


@pytest.mark.asyncio(loop_scope="module")
async def test_client_in_another_loop(omofake_client):
    await omofake_client.solve(30, images=b"png")
"""

LEVELS = """
import pytest
import requests

pytestmark = pytest.mark.omofake(result="module")


def result(url):
    body = {"api_token": "t", "data": {"type_job_id": "30", "image_base64": "aGVsbG8="}}
    job_id = requests.post(f"{url}/createJob", json=body, timeout=10).json()["job_id"]
    return requests.post(f"{url}/getJobResult", json={"api_token": "t", "job_id": job_id}, timeout=10).json()["result"]


def test_module(omofake_url):
    assert result(omofake_url) == "module"


@pytest.mark.omofake(result="class")
class TestLevels:
    def test_class_over_module(self, omofake_url):
        assert result(omofake_url) == "class"

    @pytest.mark.omofake(result="function")
    def test_function_over_class(self, omofake_url):
        assert result(omofake_url) == "function"

    @pytest.mark.omofake(result="top")
    @pytest.mark.omofake(result="bottom")
    def test_stacked_apply_top_to_bottom(self, omofake_url):
        assert result(omofake_url) == "bottom"
"""


def test_fixtures_marker_and_journal(pytester: pytest.Pytester, run: Run) -> None:
    pytester.makepyfile(test_behaviour=BEHAVIOUR, test_levels=LEVELS)

    result = run("-v")

    # test_journal_helpers sends a GET, against the contract, and passes: the check is off.
    result.assert_outcomes(passed=22, errors=4)
    result.stdout.fnmatch_lines(["omofake: seed=None, strict=False, contract=False"])
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_marker_typo*",
            "@pytest.mark.omofake(running_pols=2): unknown omofake setting(s) running_pols; known: *",
            "*ERROR at setup of test_marker_bad_value*",
            "@pytest.mark.omofake(outcome='maybe'): outcome must be 'success' or 'fail', not 'maybe'",
            "*ERROR at setup of test_marker_positional*",
            "@pytest.mark.omofake takes keywords only (those of FakeServer.configure), not 2",
            "*ERROR at teardown of test_client_in_another_loop*",
            "omofake_client was used in another event loop than the one its fixture runs in *",
        ],
        consecutive=False,
    )
    result.stdout.fnmatch_lines(
        [
            "*test_marker_without_the_fake*",
            "*PytestWarning: @pytest.mark.omofake has no effect here: the test uses no omofake fixture*",
        ]
    )
    # The errors are the messages alone: no traceback through the plugin.
    assert "_apply_markers" not in result.stdout.str()


# The options


def violations_body(job_id_text: str = "552737") -> str:
    return f'''
import pytest
import requests

IMAGE = "aGVsbG8="


def send(url, endpoint, body):
    return requests.post(f"{{url}}/{{endpoint}}", json=body, timeout=10).json()


def test_clean(omofake_url):
    created = send(omofake_url, "createJob", {{"api_token": "t", "data": {{"type_job_id": "30", "image_base64": IMAGE}}}})
    assert send(omofake_url, "getJobResult", {{"api_token": "t", "job_id": created["job_id"]}})["error"] is False


def test_undocumented_forms(omofake_url):
    # The fake accepts both (it is not strict), but neither is the documented form.
    created = send(omofake_url, "createJob", {{"api_token": "t", "data": {{"type_job_id": 23, "image_base64": "aW5uZXI=|b3V0ZXI="}}}})
    assert created["error"] is False
    assert send(omofake_url, "getJobResult", {{"api_token": "t", "job_id": "{job_id_text}"}})["error"] is True


def test_refused_request(omofake_url):
    answer = send(omofake_url, "createJob", {{"api_token": "t", "data": {{"type_job_id": "13", "image_base64": IMAGE}}}})
    assert answer["message"] == "Missing field data.input, required for type_job_id 13."


def test_wrong_endpoint(omofake_url):
    assert requests.post(f"{{omofake_url}}/createTask", json={{}}, timeout=10).status_code == 404


def test_fails_anyway(omofake_url):
    send(omofake_url, "getJobResult", {{"api_token": "t"}})
    assert False, "its own failure"


@pytest.fixture
def cleanup(omofake_url):
    yield
    send(omofake_url, "getJobResult", {{"api_token": "t", "job_id": -1}})


def test_violation_in_fixture_teardown(cleanup):
    pass
'''


def test_contract_option_fails_tests_with_a_readable_list(pytester: pytest.Pytester, run: Run) -> None:
    pytester.makepyfile(test_contract=violations_body())

    result = run("--omofake-contract")

    # test_violation_in_fixture_teardown passes, then errors at teardown.
    result.assert_outcomes(passed=2, failed=4, errors=1)
    result.stdout.fnmatch_lines(["omofake: seed=None, strict=False, contract=True"])
    out = result.stdout.str()
    sample = re.search(r"```text\n(omofake contract: .*?)```", README, re.S)
    assert sample is not None
    # The README shows this very failure.
    assert sample.group(1) in out
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_violation_in_fixture_teardown*",
            "omofake contract: the code under test sent 1 request that breaks the documented "
            "OMOcaptcha API (1 violation):",
            "  getJobResult  $.job_id  expected: a number of at least 1, sent: -1",
            "The JSON Schemas shipped with omofake state the documented contract; *",
            "*_ test_refused_request _*",
            "omofake contract: *",
            "  createJob  $.data.input  expected: present, sent: nothing",
            "*_ test_wrong_endpoint _*",
            "omofake contract: *",
            "  /api/createTask  $  expected: POST /api/createJob, getJobResult, getBalance or getService, "
            "sent: POST /api/createTask",
            "*_ test_fails_anyway _*",
            "E * AssertionError: its own failure",
            "*- Captured omofake contract call -*",
            "omofake contract: *",
            "  getJobResult  $.job_id  expected: present, sent: nothing",
        ],
        consecutive=False,
    )


STRICT = """
import pytest
import requests


def create(url, type_job_id):
    body = {"api_token": "t", "data": {"type_job_id": type_job_id, "image_base64": "aGVsbG8="}}
    return requests.post(f"{url}/createJob", json=body, timeout=10).json()


def test_number_type_refused(omofake_url):
    assert create(omofake_url, 30) == {
        "error": True, "message": 'Field data.type_job_id must be text such as "30", not the number 30.',
    }


def test_text_type_accepted(omofake_url):
    assert create(omofake_url, "30")["error"] is False


@pytest.mark.omofake(strict=False)
def test_marker_relaxes_it(omofake_url):
    assert create(omofake_url, 30)["error"] is False


def test_strict_again_after_the_marker(omofake_url, omofake_server):
    assert create(omofake_url, 30)["error"] is True
    assert omofake_server.service.strict
"""


def test_strict_option(pytester: pytest.Pytester, run: Run) -> None:
    pytester.makepyfile(test_strict=STRICT)

    run("--omofake-strict").assert_outcomes(passed=4)


SEEDED = """
import json

import pytest
import requests

from omofake import OmoClient

TYPES = {"13": "Z3JpZA==", "23": "aW5uZXI=|b3V0ZXI=", "26": "bWFzaw==|Ymc=", "30": "aGVsbG8="}


def solve_all(url):
    out = {}
    for type_job_id, image in TYPES.items():
        data = {"type_job_id": type_job_id, "image_base64": image}
        if type_job_id == "13":
            data["input"] = "panda"
        job_id = requests.post(f"{url}/createJob", json={"api_token": "t", "data": data}, timeout=10).json()["job_id"]
        answer = requests.post(f"{url}/getJobResult", json={"api_token": "t", "job_id": job_id}, timeout=10).json()
        out[type_job_id] = [job_id, answer["result"]]
    return out


def record(name, value):
    with open("records.jsonl", "a") as f:
        f.write(json.dumps([name, value]) + "\\n")


def test_first(omofake_url):
    record("first", solve_all(omofake_url))


def test_second(omofake_url):
    record("second", solve_all(omofake_url))


@pytest.mark.omofake(seed=99)
def test_other_seed(omofake_url):
    record("other", solve_all(omofake_url))


@pytest.mark.asyncio
async def test_client(omofake_client):
    record("client", await omofake_client.solve(30, images=b"png"))
"""


def test_seed_gives_the_same_ids_and_results_every_run(pytester: pytest.Pytester, run: Run) -> None:
    pytester.makepyfile(test_seeded=SEEDED)
    records = pytester.path / "records.jsonl"

    def recorded(*args: str) -> dict[str, object]:
        result = run(*args)
        result.assert_outcomes(passed=4)
        lines = records.read_text().splitlines()
        records.unlink()
        return dict(json.loads(line) for line in lines)

    by_flag = recorded("--omofake-seed", "1234")
    pytester.makeini(INI + "omofake_seed = 1234\n")
    by_ini = recorded()

    assert by_flag == by_ini
    # Every test starts from the seed, so test order and selection do not change what one sees.
    assert by_flag["first"] == by_flag["second"] != by_flag["other"]


# Parallel runs


PORTS = """
import os

import pytest
import requests


@pytest.mark.parametrize("n", range(6))
def test_record_the_port(n, omofake_url, omofake_server):
    assert len(omofake_server.requests) == 0
    body = {"api_token": "t", "data": {"type_job_id": "30", "image_base64": "aGVsbG8="}}
    assert requests.post(f"{omofake_url}/createJob", json=body, timeout=10).json()["error"] is False
    with open(f"port-{os.environ['PYTEST_XDIST_WORKER']}-{n}", "w") as f:
        f.write(omofake_url)
"""


def readme_files() -> dict[str, str]:
    """The examples of the README's pytest section, by the file name each starts with."""
    section = README[README.index("<!-- section: pytest -->") : README.index("<!-- /section: pytest -->")]
    files = {}
    for language, code in re.findall(r"```(\w+)\n(.*?)```", section, re.S):
        if language == "text":
            continue
        first, _, rest = code.partition("\n")
        name = re.fullmatch(r"# (\S+\.(?:py|toml))", first)
        assert name is not None, f"a README example does not start with its file name: {first!r}"
        files[name.group(1)] = rest
    return files


def write_readme_project(pytester: pytest.Pytester) -> list[str]:
    files = readme_files()
    for name, code in files.items():
        (pytester.path / name).write_text(code, encoding="utf-8")
    # The README's pyproject.toml holds the settings; the ini file of `run` would shadow it.
    (pytester.path / "tox.ini").unlink()
    return sorted(name for name in files if name.startswith("test_"))


def test_readme_examples(pytester: pytest.Pytester, run: Run) -> None:
    tests = write_readme_project(pytester)
    assert tests == ["test_async.py", "test_journal.py", "test_marker.py", "test_sync.py"]

    result = run()

    result.assert_outcomes(passed=9)
    # The README's pyproject.toml turns every option on, so the examples are strict-clean and
    # contract-clean too.
    result.stdout.fnmatch_lines(["omofake: seed=1234, strict=True, contract=True"])


def test_readme_examples_under_xdist_each_worker_its_own_server(pytester: pytest.Pytester, run: Run) -> None:
    write_readme_project(pytester)
    pytester.makepyfile(test_ports=PORTS)

    # --dist each: every worker runs every test, so both surely run some (with the default
    # load scheduling one worker may take them all, and what is checked here would be luck).
    result = run("-n", "2", "--dist", "each")

    result.assert_outcomes(passed=2 * 15)
    urls: dict[str, set[str]] = {}
    for path in pytester.path.glob("port-*"):
        urls.setdefault(path.name.split("-")[1], set()).add(path.read_text())
    # Both workers ran tests; each used one server all along, on a port of its own.
    assert sorted(urls) == ["gw0", "gw1"]
    assert all(len(list(pytester.path.glob(f"port-{worker}-*"))) == 6 for worker in urls)
    assert all(len(seen) == 1 for seen in urls.values())
    assert urls["gw0"] != urls["gw1"]


# The examples project, run as a downstream project would run it


def test_examples_project(pytester: pytest.Pytester) -> None:
    project = pytester.path / "captcha_app"
    shutil.copytree(ROOT / "examples" / "captcha_app", project)

    # Plugin autoloading on: installing omofake is all the project did.
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", project)

    result.assert_outcomes(passed=10)
    result.stdout.fnmatch_lines(["omofake: seed=None, strict=False, contract=True"])


# What the fixtures import: nothing before a test asks for them, and no jsonschema for valid requests

LAZY = """
import sys

import requests

HEAVY = ("aiohttp", "omofake.http.server", "omofake.core.jobs", "jsonschema", "referencing")


def post(url, endpoint, body):
    return requests.post(f"{url}/{endpoint}", json=body, timeout=10).json()


def test_a_run_that_uses_no_fixture_loads_no_server():
    assert [name for name in HEAVY if name in sys.modules] == []


def test_valid_requests_need_no_jsonschema(omofake_url, omofake_server):
    created = post(omofake_url, "createJob", {"api_token": "t", "data": {"type_job_id": "30", "image_base64": "aGVsbG8="}})
    assert post(omofake_url, "getJobResult", {"api_token": "t", "job_id": created["job_id"]})["status"] == "success"
    assert post(omofake_url, "getBalance", {"api_token": "t"})["error"] is False
    assert [list(exchange.violations) for exchange in omofake_server.requests] == [[], [], []]
    assert "aiohttp" in sys.modules
    assert "jsonschema" not in sys.modules and "referencing" not in sys.modules


def test_an_invalid_request_is_still_explained_by_jsonschema(omofake_url, omofake_server):
    body = {"api_token": "t", "data": {"type_job_id": 30.5, "image_base64": "aGVsbG8="}}
    assert post(omofake_url, "createJob", body)["message"] == "Field data.type_job_id must be text, not the number 30.5."
    assert [v.keyword for v in omofake_server.requests[0].violations] == ["type"]
    assert "jsonschema" in sys.modules
"""


def test_fixtures_load_the_server_on_first_use_and_jsonschema_only_for_invalid_requests(
    pytester: pytest.Pytester, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    # omofake's own suite turns answer self-checking on, which validates every answer with
    # jsonschema; users do not.
    monkeypatch.delenv(SELF_CHECK_ENV, raising=False)
    pytester.makepyfile(test_lazy=LAZY)

    result = run("test_lazy.py")

    result.assert_outcomes(passed=3)
    # The message the inner run got is the one jsonschema's errors give in this process too.
    body = {"api_token": "t", "data": {"type_job_id": 30.5, "image_base64": "aGVsbG8="}}
    assert [v.message for v in validate_request("createJob", body)] == [
        "Field data.type_job_id must be text, not the number 30.5."
    ]


# Without pytest-asyncio


ANYIO = """
import pytest
import requests

from omofake import OmoClient


def test_sync_still_works(omofake_url):
    body = {"api_token": "t", "data": {"type_job_id": "30", "image_base64": "aGVsbG8="}}
    assert requests.post(f"{omofake_url}/createJob", json=body, timeout=10).json()["error"] is False


@pytest.mark.anyio
async def test_client_as_a_plain_async_fixture(omofake_client):
    assert isinstance(omofake_client, OmoClient)
    assert await omofake_client.solve(30, images=b"png")


@pytest.fixture
def anyio_backend():
    return "asyncio"
"""

# Hides pytest_asyncio from the inner run, as if it were not installed.
NO_PYTEST_ASYNCIO = """
import sys
sys.modules["pytest_asyncio"] = None
import pytest
sys.exit(pytest.main(sys.argv[1:]))
"""


def test_without_pytest_asyncio_the_client_is_a_plain_async_fixture(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile(test_anyio=ANYIO)
    runner = pytester.makepyfile(run_without_pytest_asyncio=NO_PYTEST_ASYNCIO)

    result = pytester.run(
        sys.executable, runner, "-p", "omofake", "-p", "anyio", "-p", "no:cacheprovider", "test_anyio.py"
    )

    result.assert_outcomes(passed=2)


# In-process: option parsing and the violation list


@pytest.mark.parametrize(
    ("args", "ini", "expected"),
    [
        ((), "", Settings()),
        (("--omofake-seed", "7", "--omofake-strict", "--omofake-contract"), "", Settings(7, True, True)),
        ((), "omofake_seed = 7\nomofake_strict = true\nomofake_contract = yes\n", Settings(7, True, True)),
        (("--omofake-seed", "8"), "omofake_seed = 7\n", Settings(8)),
        (
            ("-o", "omofake_seed=", "-o", "omofake_contract=false"),
            "omofake_seed = 7\nomofake_contract = 1\n",
            Settings(),
        ),
    ],
)
def test_settings(pytester: pytest.Pytester, args: tuple[str, ...], ini: str, expected: Settings) -> None:
    pytester.makeini(INI + ini)
    config = pytester.parseconfigure(*args)

    assert config.stash[_SETTINGS] == expected


def test_a_seed_that_is_not_a_number(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI + "omofake_seed = twelve\n")
    with pytest.raises(pytest.UsageError, match="omofake_seed must be a whole number, not 'twelve'"):
        pytester.parseconfigure()


def test_marker_is_registered(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.omofake(**knobs): configure the fake OMOcaptcha server*"])


def test_describe_violations_lines_up_each_violation() -> None:
    create = Exchange("createJob", "POST", "/api/createJob", {}, {}, 200, now_utc())
    poll = Exchange("getJobResult", "POST", "/api/getJobResult", {}, {}, 200, now_utc())
    found = [
        (create, Violation("createJob", "request", "$.data.type_job_id", "text", "23", "type", "")),
        (create, Violation("createJob", "request", "$.data.input", "present", "missing", "required", "")),
        (poll, Violation("getJobResult", "request", "$.job_id", "a whole number", '"1"', "type", "")),
    ]

    assert describe_violations(found).splitlines()[:4] == [
        "omofake contract: the code under test sent 2 requests that break the documented "
        "OMOcaptcha API (3 violations):",
        "  createJob     $.data.type_job_id  expected: text, sent: 23",
        "  createJob     $.data.input        expected: present, sent: nothing",
        '  getJobResult  $.job_id            expected: a whole number, sent: "1"',
    ]


# The benchmark still runs (its figures are for people to read, never a test's business).


def test_fixture_overhead_benchmark_runs(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "fixture_overhead.py"),
            *("--tests", "3", "--rounds", "1", "--warmup", "0", "--plugins", "own"),
            *("--faker-rounds", "1", "--json"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr
    summary = json.loads(done.stdout)
    assert summary["tests"] == 3 and summary["target"] == 0.95 and list(summary["modes"]) == ["own"]
    own = summary["modes"]["own"]
    assert len(own["omofake"]["runs"]) == 1 and own["ratio"] > 0
    assert own["met"] is (own["ratio"] <= 0.95) and summary["met"] is own["met"]
    assert done.returncode == (0 if summary["met"] else 1)
    for name in ("omofake", "httpserver"):
        assert own[name]["per_test_setup_median"] > 0 and own[name]["per_test_call_median"] > 0
        run = own[name]["runs"][0]
        assert own[name]["without_first_use_median"] == run["wall"] - run["first_use"]
    assert own["without_first_use_ratio"] == (
        own["omofake"]["without_first_use_median"] / own["httpserver"]["without_first_use_median"]
    )
    assert summary["faker_plugin"]["rounds"] == 1
