"""The v2 API through real HTTP: every task class solved, v1 beside it, knobs, balances, errors.

The client code here is written from the v2 pages (``omocaptcha-public-docs/v2/``): POST
``/v2/createTask`` with ``clientKey`` and ``task``, poll ``/v2/getTaskResult`` with ``taskId``,
read ``status`` ``processing`` / ``ready`` / ``fail``.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
import requests

from omofake import FakeServer
from omofake.client import OmoClient
from omofake.dialects.v2.checks import response_violations
from omofake.dialects.v2.errors import ERRORS
from omofake.dialects.v2.tasks import TASK_CLASSES, TaskClass
from omofake.errors import JobFailed, OmoError

from .helpers import OMOFAKE, PNG, TOKEN, create_body, serve

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CLASSES = sorted(TASK_CLASSES)


def task_of(cls: TaskClass) -> dict[str, Any]:
    """A valid task of the class, with every required field as its page types it."""
    task: dict[str, Any] = {"type": cls.name}
    for f in cls.fields:
        if not f.required:
            continue
        count = f.lengths[0] if f.lengths else 1
        if f.image:
            task[f.name] = [PNG] * count if f.kind == "Array of String" else PNG
        elif f.choices:
            task[f.name] = f.choices[0]
        elif f.kind == "Number":
            task[f.name] = 340
        elif f.kind == "Bool":
            task[f.name] = False
        elif f.kind == "Array of String":
            task[f.name] = ["example"] * count
        else:
            task[f.name] = str(f.example)
    return task


def post(url: str, method: str, body: Any, *, library: str = "requests") -> tuple[int, dict[str, Any]]:
    if library == "httpx":
        r = httpx.post(f"{url}/v2/{method}", json=body, timeout=30)
        return r.status_code, r.json()
    answer = requests.post(f"{url}/v2/{method}", json=body, timeout=30)
    return answer.status_code, answer.json()


def solve(url: str, task: dict[str, Any], *, key: str = TOKEN, library: str = "requests") -> dict[str, Any]:
    """createTask, then getTaskResult until it is no longer processing: the last answer."""
    status, created = post(url, "createTask", {"clientKey": key, "task": task}, library=library)
    assert status == 200 and created["errorId"] == 0, created
    assert UUID.fullmatch(created["taskId"])
    for _ in range(50):
        status, answer = post(
            url, "getTaskResult", {"clientKey": key, "taskId": created["taskId"]}, library=library
        )
        assert status == 200
        if answer.get("status") != "processing":
            return answer
    raise AssertionError("still processing after 50 polls")


def assert_v2_valid(endpoint: str, body: Any, task_type: str | None = None) -> None:
    assert response_violations(endpoint, body, task_type) == [], body


@pytest.mark.parametrize("library", ["requests", "httpx"])
def test_every_class_is_solved_against_the_fixture(server: FakeServer, library: str) -> None:
    server.configure(running_polls=1)
    for name in CLASSES:
        answer = solve(server.url, task_of(TASK_CLASSES[name]), library=library)
        assert answer["status"] == "ready" and answer["errorId"] == 0, (name, answer)
        assert answer["solution"], name
        assert_v2_valid("v2/getTaskResult", answer, name)
    created = server.requests.for_endpoint("createTask")
    assert [e.request["task"]["type"] for e in created] == CLASSES
    assert all(e.endpoint == "v2/createTask" for e in created)


def test_every_class_is_solved_against_omofake_serve() -> None:
    with serve("--quiet", "--running-polls", "1") as (url, _):
        for name in CLASSES:
            answer = solve(url, task_of(TASK_CLASSES[name]))
            assert answer["status"] == "ready", (name, answer)
            assert_v2_valid("v2/getTaskResult", answer, name)
        status, balance = post(url, "getBalance", {"clientKey": TOKEN})
        assert status == 200 and balance["errorId"] == 0 and balance["balance"] < 1000
        price = requests.get(f"{url}/api/getServicePrice", params={"type": "service"}, timeout=10).json()
        assert sorted(s["type"] for s in price["typeJob"]) == CLASSES
        assert_v2_valid("v2/getServicePrice", price)


def test_every_class_is_solved_async_with_aiohttp_and_the_v2_client(server: FakeServer) -> None:
    server.configure(running_polls=2)

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        raw: list[dict[str, Any]] = []
        async with aiohttp.ClientSession() as http:
            for name in CLASSES:
                body = {"clientKey": TOKEN, "task": task_of(TASK_CLASSES[name])}
                async with http.post(f"{server.v2_url}/createTask", json=body) as r:
                    task_id = (await r.json())["taskId"]
                while True:
                    async with http.post(
                        f"{server.v2_url}/getTaskResult", json={"clientKey": TOKEN, "taskId": task_id}
                    ) as r:
                        answer = await r.json()
                    if answer["status"] != "processing":
                        raw.append(answer)
                        break
        async with OmoClient(TOKEN, server.v2_url, dialect="v2", poll_interval=0.01, timeout=10) as client:
            solutions = []
            for name in CLASSES:
                task = task_of(TASK_CLASSES[name])
                solutions.append(await client.solve_task(task.pop("type"), **task))
        return raw, solutions

    raw, solutions = asyncio.run(scenario())
    assert [a["status"] for a in raw] == ["ready"] * len(CLASSES)
    assert all(isinstance(s, dict) and s for s in solutions)
    for name, solution in zip(CLASSES, solutions, strict=True):
        assert_v2_valid("v2/getTaskResult", TASK_CLASSES[name].ready_answer(solution), name)


def test_the_v2_client_speaks_every_endpoint(server: FakeServer) -> None:
    server.configure(balance="1.5")

    async def scenario() -> tuple[Any, ...]:
        async with OmoClient(TOKEN, server.v2_url, dialect="v2", poll_interval=0.01) as client:
            task_id = await client.create_task("TiktokRotateWebTask", imageBase64s=[PNG, PNG])
            first = await client.get_task_result(task_id)
            balance = await client.get_balance()
            with pytest.raises(OmoError) as bad:
                await client.create_task("NoSuchTask")
            server.configure(outcome="fail")
            with pytest.raises(JobFailed):
                await client.solve_task("ImageToTextTask", imageBase64=PNG)
            with pytest.raises(TypeError, match="solve_task"):
                await client.solve("ImageToTextTask", imageBase64=PNG)
        return task_id, first, balance, bad.value

    task_id, first, balance, bad = asyncio.run(scenario())
    assert UUID.fullmatch(task_id) and first.task_id == task_id and first.succeeded
    assert first.solution is not None and 0 <= first.solution["rotate"] <= 1
    assert str(balance) == str(1.5 - float(TASK_CLASSES["TiktokRotateWebTask"].price))
    assert bad.code == "ERROR_TASK_NOT_SUPPORTED" and "NoSuchTask" in bad.message
    with pytest.raises(ValueError, match="dialect"):
        OmoClient(TOKEN, dialect="v3")  # type: ignore[arg-type]


def test_v1_and_v2_jobs_live_side_by_side(server: FakeServer) -> None:
    server.configure(running_polls=1)
    v1 = requests.post(f"{server.api_url}/createJob", json=create_body("23"), timeout=10).json()
    _, v2 = post(
        server.url, "createTask", {"clientKey": TOKEN, "task": task_of(TASK_CLASSES["TiktokRotateWebTask"])}
    )
    assert v1["error"] is False and v2["errorId"] == 0
    assert len(server.jobs) == 2
    jobs = {job.type_job_id for job in server.jobs.values()}
    assert jobs == {"23"}  # the v2 task is a job of the core, under its class's v1 id
    poll = {"api_token": TOKEN, "job_id": v1["job_id"]}
    assert (
        requests.post(f"{server.api_url}/getJobResult", json=poll, timeout=10).json()["status"] == "running"
    )
    _, result = post(server.url, "getTaskResult", {"clientKey": TOKEN, "taskId": v2["taskId"]})
    assert result["status"] == "processing"
    assert (
        requests.post(f"{server.api_url}/getJobResult", json=poll, timeout=10).json()["status"] == "success"
    )
    _, result = post(server.url, "getTaskResult", {"clientKey": TOKEN, "taskId": v2["taskId"]})
    assert result["status"] == "ready"
    # The v1 job id is no v2 task id, and the other way round.
    _, unknown = post(server.url, "getTaskResult", {"clientKey": TOKEN, "taskId": str(v1["job_id"])})
    assert unknown["errorCode"] == "ERROR_WRONG_FIELD_VALUE"
    assert (
        unknown["errorDescription"]
        == f"taskId must be a UUID as createTask returned it, found '{v1['job_id']}'"
    )


@pytest.mark.parametrize("job_type", ["TiktokRotateWebTask", 23, "23"])
def test_a_knob_scoped_to_a_class_or_its_v1_id_hits_both_dialects(server: FakeServer, job_type: Any) -> None:
    server.configure(job_type=job_type, outcome="fail")
    v2 = solve(server.url, task_of(TASK_CLASSES["TiktokRotateWebTask"]))
    assert v2 == {
        "errorId": 1,
        "errorCode": "ERROR_JOB_STATUS",
        "errorDescription": "Job failed",
        "status": "fail",
        "solution": {},
    }
    created = requests.post(f"{server.api_url}/createJob", json=create_body("23"), timeout=10).json()
    poll = {"api_token": TOKEN, "job_id": created["job_id"]}
    assert requests.post(f"{server.api_url}/getJobResult", json=poll, timeout=10).json()["status"] == "fail"
    # Another class is not scoped by it.
    assert solve(server.url, task_of(TASK_CLASSES["ImageToTextTask"]))["status"] == "ready"


def test_a_class_without_a_v1_id_is_scoped_by_its_name(server: FakeServer) -> None:
    assert TASK_CLASSES["SliderAllWebTask"].v1_type_job_id is None
    server.configure(job_type="SliderAllWebTask", running_polls=2, times=1)
    task = task_of(TASK_CLASSES["SliderAllWebTask"])
    _, created = post(server.url, "createTask", {"clientKey": TOKEN, "task": task})
    body = {"clientKey": TOKEN, "taskId": created["taskId"]}
    assert [post(server.url, "getTaskResult", body)[1]["status"] for _ in range(3)] == [
        "processing",
        "processing",
        "ready",
    ]
    # times=1: the next one is ready at once.
    assert solve(server.url, task)["status"] == "ready"


def test_forced_errors_are_v2_errors(server: FakeServer) -> None:
    task = task_of(TASK_CLASSES["ImageToTextTask"])
    server.configure(create_error="Service overloaded", times=1)
    _, forced = post(server.url, "createTask", {"clientKey": TOKEN, "task": task})
    assert forced == {
        "errorId": 1,
        "errorCode": "ERROR_FORCED_BY_TEST",
        "errorDescription": "Service overloaded",
    }
    server.configure(create_error="ERROR_NO_SLOT_AVAILABLE", times=1)
    _, coded = post(server.url, "createTask", {"clientKey": TOKEN, "task": task})
    assert coded["errorCode"] == "ERROR_NO_SLOT_AVAILABLE" and coded["errorDescription"]
    server.configure(result_error="try later")
    _, created = post(server.url, "createTask", {"clientKey": TOKEN, "task": task})
    _, result = post(server.url, "getTaskResult", {"clientKey": TOKEN, "taskId": created["taskId"]})
    assert result["errorCode"] == "ERROR_FORCED_BY_TEST" and result["errorDescription"] == "try later"
    for exchange in server.requests:
        assert_v2_valid(exchange.endpoint or "", exchange.response)


def test_the_balance_is_shared_per_key_by_both_dialects(server: FakeServer) -> None:
    server.configure(balance={"poor": "0", "rich": "5"})
    _, v2 = post(server.url, "getBalance", {"clientKey": "rich"})
    assert v2 == {"errorId": 0, "balance": 5.0, "quantity": 0, "voucher_balance": 0}
    task = task_of(TASK_CLASSES["ImageToTextTask"])
    assert post(server.url, "createTask", {"clientKey": "rich", "task": task})[1]["errorId"] == 0
    v1 = requests.post(f"{server.api_url}/getBalance", json={"api_token": "rich"}, timeout=10).json()
    price = TASK_CLASSES["ImageToTextTask"].price
    assert v1["balance"] == f"{5 - float(price):.5f}"
    assert post(server.url, "getBalance", {"clientKey": "rich"})[1]["balance"] == float(v1["balance"])
    # A v1 job spends from the same account.
    requests.post(f"{server.api_url}/createJob", json=create_body("23") | {"api_token": "rich"}, timeout=10)
    after = requests.post(f"{server.api_url}/getBalance", json={"api_token": "rich"}, timeout=10).json()
    assert post(server.url, "getBalance", {"clientKey": "rich"})[1]["balance"] == float(after["balance"])
    # The empty account.
    _, empty = post(server.url, "createTask", {"clientKey": "poor", "task": task})
    assert empty["errorCode"] == "ERROR_ZERO_BALANCE" and "ImageToTextTask" in empty["errorDescription"]


BAD = [
    ({"clientKey": TOKEN}, "ERROR_TASK_ABSENT", "task"),
    ({"clientKey": TOKEN, "task": "ImageToTextTask"}, "ERROR_TASK_ABSENT", "task"),
    ({"clientKey": TOKEN, "task": {"type": "TencentSlider"}}, "ERROR_TASK_NOT_SUPPORTED", "TencentSlider"),
    ({"clientKey": TOKEN, "task": {}}, "ERROR_TASK_NOT_SUPPORTED", "task.type"),
    ({"clientKey": TOKEN, "task": {"type": "ImageToTextTask"}}, "ERROR_FIELD_MISSING", "task.imageBase64"),
    (
        {"clientKey": TOKEN, "task": {"type": "TiktokSliderWebTask", "imageBase64": PNG, "widthView": True}},
        "ERROR_WRONG_FIELD_TYPE",
        "task.widthView",
    ),
    (
        {"clientKey": TOKEN, "task": {"type": "ImageToTextTask", "imageBase64": "not base64!"}},
        "ERROR_IMAGE_NOT_BASE64",
        "task.imageBase64",
    ),
    (
        {"clientKey": TOKEN, "task": {"type": "TiktokRotateWebTask", "imageBase64s": [PNG, ""]}},
        "ERROR_ZERO_CAPTCHA_FILESIZE",
        "task.imageBase64s[1]",
    ),
    (
        {"clientKey": TOKEN, "task": {"type": "TiktokRotateWebTask", "imageBase64s": [PNG]}},
        "ERROR_WRONG_FIELD_VALUE",
        "task.imageBase64s",
    ),
    ({"task": {"type": "ImageToTextTask", "imageBase64": PNG}}, "ERROR_KEY_DOES_NOT_EXIST", "clientKey"),
    ({"clientKey": 7, "task": {"type": "ImageToTextTask"}}, "ERROR_KEY_DOES_NOT_EXIST", "clientKey"),
    ([1, 2], "ERROR_MALFORMED_REQUEST", "JSON object"),
]


@pytest.mark.parametrize(("body", "code", "named"), BAD, ids=[case[1] + str(i) for i, case in enumerate(BAD)])
def test_a_bad_create_task_gets_its_code_and_a_description_naming_the_field(
    server: FakeServer, body: Any, code: str, named: str
) -> None:
    status, answer = post(server.url, "createTask", body)
    assert status == 200
    assert answer["errorId"] == 1 and answer["errorCode"] == code, answer
    assert named in answer["errorDescription"]
    assert_v2_valid("v2/createTask", answer)
    assert not server.jobs
    assert server.requests[-1].violations  # the journal says what broke the contract


def test_bad_get_task_result_and_keys(server: FakeServer) -> None:
    unknown = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
    _, answer = post(server.url, "getTaskResult", {"clientKey": TOKEN, "taskId": unknown})
    assert answer["errorCode"] == "ERROR_NO_SUCH_CAPCHA_ID" and unknown in answer["errorDescription"]
    _, missing = post(server.url, "getTaskResult", {"clientKey": TOKEN})
    assert missing["errorCode"] == "ERROR_FIELD_MISSING" and "taskId" in missing["errorDescription"]
    server.configure(tokens=["good-key"])
    task = task_of(TASK_CLASSES["ImageToTextTask"])
    for method, body in (
        ("createTask", {"clientKey": "bad-key", "task": task}),
        ("getTaskResult", {"clientKey": "bad-key", "taskId": unknown}),
        ("getBalance", {"clientKey": "bad-key"}),
    ):
        _, refused = post(server.url, method, body)
        assert refused["errorCode"] == "ERROR_KEY_DOES_NOT_EXIST", method
        assert "clientKey" in refused["errorDescription"]
    assert post(server.url, "createTask", {"clientKey": "good-key", "task": task})[1]["errorId"] == 0


def test_transport_errors_under_v2_answer_in_the_v2_shape(server: FakeServer) -> None:
    not_json = requests.post(f"{server.v2_url}/createTask", data=b"{not json", timeout=10)
    assert not_json.status_code == 200 and not_json.json()["errorCode"] == "ERROR_MALFORMED_REQUEST"
    assert "not JSON" in not_json.json()["errorDescription"]
    wrong_method = requests.get(f"{server.v2_url}/createTask", timeout=10)
    assert wrong_method.status_code == 405
    assert wrong_method.json()["errorCode"] == "ERROR_METHOD_NOT_ALLOWED"
    assert "POST" in wrong_method.json()["errorDescription"]
    nowhere = requests.post(f"{server.v2_url}/createJob", json={}, timeout=10)
    assert nowhere.status_code == 404 and nowhere.json()["errorCode"] == "ERROR_NO_SUCH_METHOD"
    for answer in (not_json, wrong_method, nowhere):
        assert_v2_valid("v2/createTask", answer.json())
    # v1 paths keep v1's shape.
    assert requests.post(f"{server.api_url}/nowhere", json={}, timeout=10).json()["error"] is True


def test_a_too_big_v2_body_gets_413_in_the_v2_shape() -> None:
    with FakeServer(max_body=1024) as server:
        task = {"type": "ImageToTextTask", "imageBase64": "A" * 4096}
        answer = requests.post(
            f"{server.v2_url}/createTask", json={"clientKey": TOKEN, "task": task}, timeout=10
        )
    assert answer.status_code == 413
    assert answer.json()["errorCode"] == "ERROR_TOO_BIG_CAPTCHA_FILESIZE"


def test_the_price_list_sits_under_api_with_the_v1_envelope(server: FakeServer) -> None:
    services = requests.get(f"{server.url}/api/getServicePrice?type=service", timeout=10).json()
    assert services["error"] is False and services["message"] == "Get service success."
    assert {s["type"] for s in services["typeJob"]} == set(TASK_CLASSES)
    packages = requests.get(f"{server.url}/api/getServicePrice?type=package", timeout=10).json()
    assert packages["package"] == [{"name": "Combo Funcaptcha", "price": "0.15"}]
    bad = requests.get(f"{server.url}/api/getServicePrice?type=nope", timeout=10).json()
    assert bad == {"error": True, "message": "type must be service or package, not 'nope'."}
    for body in (services, packages, bad):
        assert_v2_valid("v2/getServicePrice", body)


def test_numeric_text_is_read_outside_strict_mode_and_refused_in_it(server: FakeServer) -> None:
    task = {"type": "TiktokSliderWebTask", "imageBase64": PNG, "widthView": "340"}
    _, lenient = post(server.url, "createTask", {"clientKey": TOKEN, "task": task})
    assert lenient["errorId"] == 0
    assert server.requests[-1].violations[0].path == "$.task.widthView"
    server.configure(strict=True)
    _, strict = post(server.url, "createTask", {"clientKey": TOKEN, "task": task})
    assert strict["errorCode"] == "ERROR_WRONG_FIELD_TYPE" and "task.widthView" in strict["errorDescription"]


def test_the_v2_error_table_of_the_readme_is_the_catalogue() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text("utf-8")
    rows = re.findall(
        r"^\| `(ERROR_[A-Z0-9_]+)` \| (.+?) \| `(.*?)` \| (documented|decided) \|$", readme, re.M
    )
    assert [code for code, *_ in rows] == list(ERRORS)
    for code, when, template, source in rows:
        error = ERRORS[code]
        assert when == error.when.replace("|", "\\|")
        assert template == error.template
        assert source == ("documented" if error.documented else "decided")


def test_the_readme_task_table_lists_every_class() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text("utf-8")
    rows = re.findall(
        r"^\| `([A-Za-z0-9]+Task)` \| (.*?) \| (.*?) \| (.*?) \| (.*?) \| (.*?) \|$", readme, re.M
    )
    assert [row[0] for row in rows] == list(TASK_CLASSES)
    for name, required, optional, images, _solution, v1 in rows:
        cls = TASK_CLASSES[name]
        assert required == (", ".join(f"`{f}`" for f in cls.required[1:]) or "-")
        assert optional == (", ".join(f"`{f}`" for f in cls.optional) or "-")
        assert images == (", ".join(f"`{f.name}`" for f in cls.fields if f.image) or "-")
        assert v1 == (cls.v1_type_job_id or "-")


def test_record_and_validate_round_trip_of_v2_traffic(tmp_path: Path) -> None:
    record = tmp_path / "v2.jsonl"
    with serve("--quiet", "--record", str(record)) as (url, _):
        solve(url, task_of(TASK_CLASSES["TiktokRotateWebTask"]))
        post(url, "getBalance", {"clientKey": TOKEN})
        post(url, "createTask", {"clientKey": TOKEN, "task": {"type": "ImageToTextTask", "imageBase64": 5}})
    lines = [json.loads(line) for line in record.read_text("utf-8").splitlines()]
    assert {line["endpoint"] for line in lines} == {"v2/createTask", "v2/getTaskResult", "v2/getBalance"}
    checked = subprocess.run(
        [*OMOFAKE, "validate", str(record)], capture_output=True, text=True, timeout=60, check=False
    )
    # The bad request is a violation of the v2 schema, reported with its path.
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "v2/createTask request $.task.imageBase64" in checked.stdout
    # A recorded answer that breaks the v2 schema is found too.
    good = [line for line in lines if line["endpoint"] != "v2/createTask" or line["response"]["errorId"] == 0]
    tampered = tmp_path / "tampered.jsonl"
    for line in good:
        if line["endpoint"] == "v2/getBalance":
            line["response"]["balance"] = "345.678"
    tampered.write_text("".join(json.dumps(line) + "\n" for line in good), "utf-8")
    checked = subprocess.run(
        [*OMOFAKE, "validate", str(tampered)], capture_output=True, text=True, timeout=60, check=False
    )
    assert checked.returncode == 1 and "v2/getBalance response $.balance" in checked.stdout
    clean = tmp_path / "clean.jsonl"
    clean.write_text(
        "".join(json.dumps(line) + "\n" for line in good if line["endpoint"] != "v2/getBalance"), "utf-8"
    )
    ok = subprocess.run(
        [*OMOFAKE, "validate", str(clean)], capture_output=True, text=True, timeout=60, check=False
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr


def test_the_plugin_fixtures_serve_v2_and_keep_the_v1_client(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        textwrap.dedent(
            f"""
            import requests

            def test_v2(omofake_server):
                body = {{"clientKey": "k", "task": {{"type": "ImageToTextTask", "imageBase64": "{PNG}"}}}}
                created = requests.post(omofake_server.v2_url + "/createTask", json=body, timeout=10).json()
                poll = {{"clientKey": "k", "taskId": created["taskId"]}}
                answer = requests.post(omofake_server.v2_url + "/getTaskResult", json=poll, timeout=10).json()
                assert answer["status"] == "ready" and answer["solution"]["text"]
                assert len(omofake_server.requests.for_endpoint("createTask")) == 1
            """
        )
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:xdist")
    result.assert_outcomes(passed=1)


def test_the_plugin_client_stays_v1() -> None:
    from omofake.pytest_plugin import _make_client

    assert _make_client("http://127.0.0.1:1/api", TOKEN).dialect == "v1"


def test_task_ids_are_bounded_with_the_job_store_and_forgotten_at_reset() -> None:
    with FakeServer(max_jobs=3) as server:
        task = task_of(TASK_CLASSES["ImageToTextTask"])
        ids = [
            post(server.url, "createTask", {"clientKey": TOKEN, "task": task})[1]["taskId"] for _ in range(80)
        ]
        _, evicted = post(server.url, "getTaskResult", {"clientKey": TOKEN, "taskId": ids[0]})
        assert evicted["errorCode"] == "ERROR_NO_SUCH_CAPCHA_ID"
        _, kept = post(server.url, "getTaskResult", {"clientKey": TOKEN, "taskId": ids[-1]})
        assert kept["status"] == "ready"
        assert len(server.v2._tasks) <= 2 * 3 + 64 + 1
        server.reset()
        _, forgotten = post(server.url, "getTaskResult", {"clientKey": TOKEN, "taskId": ids[-1]})
        assert forgotten["errorCode"] == "ERROR_NO_SUCH_CAPCHA_ID"


def test_a_bug_in_the_fake_is_a_500_in_the_shape_of_the_api_the_client_speaks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from omofake.dialects.v1.service import FakeService
    from omofake.dialects.v2.service import V2Service

    def broken(self: object, body: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(FakeService, "get_balance", broken)
    monkeypatch.setattr(V2Service, "get_balance", broken)
    with FakeServer() as server:
        v1 = requests.post(f"{server.api_url}/getBalance", json={"api_token": TOKEN}, timeout=10)
        v2 = requests.post(f"{server.v2_url}/getBalance", json={"clientKey": TOKEN}, timeout=10)
        server.configure(strict=True)
        strict = requests.post(f"{server.api_url}/getBalance", json={"api_token": TOKEN}, timeout=10)
    detail = "RuntimeError: a bug"
    assert v1.status_code == 500
    assert v1.json() == {
        "error": True,
        "message": f"Internal error in omofake: {detail}. Please report it.",
        "success": False,  # lenient mode: every answer carries it
    }
    assert "success" not in strict.json()
    assert v2.status_code == 500
    assert v2.json()["errorId"] == 1
    assert v2.json()["errorCode"] == "ERROR_FAKE_INTERNAL"
    assert detail in v2.json()["errorDescription"]
