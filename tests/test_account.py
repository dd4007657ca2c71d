"""getBalance, getService, the money they account for, the success key and the timing profile,
all through real HTTP on loopback (and the CLI, the journal, the recorder and the plugin)."""

from __future__ import annotations

import json
import re
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from omofake import FakeServer, ManualClock, OmoClient
from omofake.contract import validate_file, validate_response
from omofake.core.catalogue import CATALOGUE
from omofake.core.pricing import SERVICES

from .helpers import OMOFAKE, TOKEN, create_body, serve


def post(server: FakeServer, endpoint: str, body: Any) -> dict[str, Any]:
    answer = requests.post(f"{server.api_url}/{endpoint}", json=body, timeout=10)
    assert answer.status_code == 200
    result: dict[str, Any] = answer.json()
    return result


def balance(server: FakeServer, token: str = TOKEN) -> str:
    answer = post(server, "getBalance", {"api_token": token})
    assert answer["error"] is False, answer
    text: str = answer["balance"]
    return text


def create(server: FakeServer, type_id: str = "30", token: str = TOKEN) -> dict[str, Any]:
    return post(server, "createJob", create_body(type_id) | {"api_token": token})


# getBalance


def test_get_balance_answers_the_documented_shape(server: FakeServer) -> None:
    assert post(server, "getBalance", {"api_token": TOKEN}) == {
        "error": False,
        "balance": "1000.00000",
        "message": "Get balance success.",
        "success": True,
    }
    [exchange] = server.requests.for_endpoint("getBalance")
    assert (exchange.method, exchange.path, exchange.violations) == ("POST", "/api/getBalance", ())


def test_get_balance_refuses_a_token_not_accepted(server: FakeServer) -> None:
    server.configure(tokens=["good"])
    assert post(server, "getBalance", {"api_token": "bad"}) == {
        "error": True,
        "message": "Invalid api token.",
        "success": False,
    }
    assert post(server, "getBalance", {})["message"] == "Missing field api_token."
    assert post(server, "getBalance", {"api_token": ""})["message"] == "Field api_token must not be empty."
    assert balance(server, "good") == "1000.00000"


def test_the_balance_runs_out_exactly_when_the_prices_say() -> None:
    with FakeServer(balance="0.00300", prices={"30": "0.00100"}) as server:
        assert balance(server) == "0.00300"
        created = [create(server) for _ in range(3)]
        assert all(answer["error"] is False and answer["success"] is True for answer in created)
        assert balance(server) == "0.00000"
        assert create(server) == {"error": True, "message": "Balance is not enough.", "success": False}
        assert len(server.jobs) == 3
        assert balance(server) == "0.00000"


def test_float_amounts_are_read_as_written_not_as_binary_fractions() -> None:
    # 0.1 + 0.2 != 0.3 in binary floating point: Decimal keeps the cents exact.
    with FakeServer(balance=0.3, prices={30: 0.1}) as server:
        assert [create(server)["error"] for _ in range(4)] == [False, False, False, True]
        assert balance(server) == "0.00000"


def test_each_type_costs_its_listed_price(server: FakeServer) -> None:
    for type_id in CATALOGUE:
        before = Decimal(balance(server))
        assert create(server, type_id)["error"] is False
        assert before - Decimal(balance(server)) == SERVICES[type_id].price


def test_balances_are_per_token_and_a_dict_names_some(server: FakeServer) -> None:
    server.configure(balance={"poor": "0.00010", "rich": 5})
    assert balance(server, "poor") == "0.00010"
    assert balance(server, "rich") == "5.00000"
    assert balance(server, "anyone") == "1000.00000"
    assert create(server, "30", "poor")["error"] is False  # type 30 costs 0.00010
    assert create(server, "30", "poor")["message"] == "Balance is not enough."
    assert balance(server, "rich") == "5.00000"  # one token's spending is not another's


def test_configure_sets_balances_now_and_reset_restores_them() -> None:
    with FakeServer(balance="1") as server:
        create(server)
        assert balance(server) == "0.99990"
        server.configure(balance="0")
        assert create(server)["message"] == "Balance is not enough."
        server.configure(balance_error="Số dư không đủ.")
        assert create(server)["message"] == "Số dư không đủ."
        server.reset()
        assert balance(server) == "1.00000"
        server.configure(prices={"30": "0.5"})
        assert [create(server)["error"] for _ in range(3)] == [False, False, True]
        server.configure(prices=None, balance=None)
        assert balance(server) == "1000.00000"


def test_a_forced_create_error_costs_nothing(server: FakeServer) -> None:
    server.configure(create_error="Service is under maintenance.", times=1)
    assert create(server)["message"] == "Service is under maintenance."
    assert balance(server) == "1000.00000"


@pytest.mark.parametrize(
    ("knobs", "message"),
    [
        ({"balance": "-1"}, "balance must be an amount of 0 or more"),
        ({"balance": "lots"}, "balance must be an amount such as '0.00055'"),
        ({"balance": "0.000001"}, "more than five decimals"),
        ({"balance": True}, "balance must be an amount"),
        ({"balance": {"": 1}}, "the keys must be api tokens"),
        ({"prices": {"99": "1"}}, "'99' is not a type_job_id"),
        ({"prices": "0.1"}, "prices must map type_job_id to an amount"),
        ({"balance_error": ""}, "balance_error must be a non-empty message"),
        ({"timing": "slow"}, "timing must be 'instant' or 'realistic'"),
        ({"speed": 0}, "speed must be a number above 0"),
    ],
)
def test_bad_money_and_timing_knobs_are_clear_errors(
    server: FakeServer, knobs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        server.configure(**knobs)
    assert balance(server) == "1000.00000"  # and the server keeps serving


def test_money_knobs_apply_to_the_whole_server_only(server: FakeServer) -> None:
    with pytest.raises(ValueError, match="apply to the whole server"):
        server.configure(job_type=30, balance="1")


# getService


def test_get_service_as_get_with_the_token_in_the_query(server: FakeServer) -> None:
    answer = requests.get(f"{server.api_url}/getService", params={"api_token": TOKEN}, timeout=10)
    assert answer.status_code == 200
    body = answer.json()
    assert (body["error"], body["message"], body["success"]) == (False, "Get service success.", True)
    listed = [str(s["id"]) for s in body["service"]]
    assert listed == [
        k for k, s in sorted(SERVICES.items(), key=lambda i: i[1].order) if s.listed and k in CATALOGUE
    ]
    assert validate_response("getService", body) == []
    [exchange] = server.requests.for_endpoint("getService")
    assert (exchange.method, exchange.request, exchange.violations) == ("GET", {"api_token": TOKEN}, ())


def test_get_service_as_post_lists_the_configured_prices(server: FakeServer) -> None:
    server.configure(prices={"30": "0.25"})
    body = post(server, "getService", {"api_token": TOKEN})
    [text] = [s for s in body["service"] if s["id"] == 30]
    assert text == {
        "id": 30,
        "name": "ImageToText (All type supported)",
        "description": "Tự đông phát hiện",
        "price": "0.25000",
        "require_field": None,
        "order": SERVICES["30"].order,
        "image": "image.svg",
        "avg_success": "99%",
        "avg_time": "2s",
        "is_active": 1,
        "created_at": None,
        "updated_at": None,
    }
    assert list(text) == list(SERVICES["1"].entry())  # the documented order of the fields


def test_get_service_checks_the_token_in_both_forms(server: FakeServer) -> None:
    server.configure(tokens=["good"])
    url = f"{server.api_url}/getService"
    assert (
        requests.get(url, params={"api_token": "bad"}, timeout=10).json()["message"] == "Invalid api token."
    )
    assert requests.get(url, timeout=10).json() == {
        "error": True,
        "message": "Missing field api_token.",
        "success": False,
    }
    assert requests.post(url, json={"api_token": "bad"}, timeout=10).json()["message"] == "Invalid api token."
    wrong = requests.put(url, timeout=10)
    assert (wrong.status_code, wrong.headers["Allow"]) == (405, "GET, POST")
    assert wrong.json()["message"] == "Method PUT is not allowed on /api/getService; use GET, POST."


def test_only_id_1_is_documented_and_every_id_has_a_row() -> None:
    ids = {1, 2, 3, 11, 13, 14, 21, 22, 23, 24, 25, 26, 30, 31, 33, 41, 43, 44, 45, 47, 48, 52, 55}
    assert {int(k) for k in SERVICES} == ids
    assert [s.id for s in SERVICES.values() if s.documented] == [1]
    assert SERVICES["1"].entry() == {
        "id": 1,
        "name": "reCaptcha v2",
        "description": "Google Inc",
        "price": "0.00055",
        "require_field": None,
        "order": 1,
        "image": "recaptcha.svg",
        "avg_success": "98%",
        "avg_time": "15s",
        "is_active": 1,
        "created_at": None,
        "updated_at": None,
    }
    assert {k for k, s in SERVICES.items() if not s.listed} == {"3", "47", "48", "52", "55"}
    assert len({s.order for s in SERVICES.values()}) == len(SERVICES)


# success: lenient adds it, strict does not


def every_answer(server: FakeServer) -> list[dict[str, Any]]:
    job = create(server)
    answers = [job, post(server, "getJobResult", {"api_token": TOKEN, "job_id": job["job_id"]})]
    answers += [
        post(server, "getBalance", {"api_token": TOKEN}),
        post(server, "getService", {"api_token": TOKEN}),
    ]
    answers.append(post(server, "getJobResult", {"api_token": TOKEN, "job_id": 1}))  # not found
    answers.append(requests.post(f"{server.api_url}/createTask", json={}, timeout=10).json())  # 404
    return answers


def test_lenient_answers_carry_success_the_opposite_of_error(server: FakeServer) -> None:
    answers = every_answer(server)
    assert [a["success"] for a in answers] == [True, True, True, True, False, False]
    assert all(a["success"] is (not a["error"]) for a in answers)
    # The journal holds the answers as sent.
    assert [e.response.get("success") for e in server.requests] == [a["success"] for a in answers]


def test_strict_answers_are_exactly_the_documented_shapes(server: FakeServer) -> None:
    server.configure(strict=True)
    answers = every_answer(server)
    assert not any("success" in a for a in answers)
    assert list(answers[0]) == ["error", "job_id", "message"]
    assert list(answers[2]) == ["error", "balance", "message"]


def test_response_schemas_allow_success_only_as_the_opposite_of_error() -> None:
    created = {"error": False, "job_id": 5, "message": "Create job success."}
    assert validate_response("createJob", created | {"success": True}) == []
    assert validate_response("createJob", created | {"success": False})
    assert validate_response("createJob", {"error": True, "message": "x", "success": False}) == []
    assert validate_response("createJob", {"error": True, "message": "x", "success": True})
    solved = {"error": False, "status": "success", "result": "50", "success": True}
    for type_id in CATALOGUE:
        answer = solved | {"result": CATALOGUE[type_id].example_result}
        assert validate_response("getJobResult", answer, type_id) == [], type_id
    assert validate_response("getJobResult", solved | {"success": False})
    assert validate_response("getJobResult", solved | {"success": "yes"})
    assert validate_response(
        "getBalance", {"error": False, "balance": "1.5", "message": "Get balance success."}
    )


def test_a_recording_of_the_real_service_with_success_validates(tmp_path: Path) -> None:
    lines = [
        {
            "endpoint": "getBalance",
            "request": {"api_token": "real***"},
            "response": {
                "success": True,
                "error": False,
                "balance": "12.34567",
                "message": "Get balance success.",
            },
        },
        {
            "endpoint": "createJob",
            "request": create_body("23"),
            "response": {"success": True, "error": False, "job_id": 777, "message": "Create job success."},
        },
        {
            "endpoint": "getJobResult",
            "request": {"api_token": "real***", "job_id": 777},
            "response": {"success": True, "error": False, "status": "success", "result": "112"},
        },
    ]
    file = tmp_path / "real.jsonl"
    file.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    assert validate_file(file) == []


def test_record_and_validate_cover_the_new_endpoints(tmp_path: Path) -> None:
    record = tmp_path / "exchanges.jsonl"
    with FakeServer(record=record, balance="0.0001") as server:
        balance(server)
        requests.get(f"{server.api_url}/getService", params={"api_token": TOKEN}, timeout=10)
        post(server, "getService", {"api_token": TOKEN})
        create(server)
        create(server)  # refused: the balance is spent
    lines = [json.loads(line) for line in record.read_text("utf-8").splitlines()]
    assert [line["endpoint"] for line in lines] == [
        "getBalance",
        "getService",
        "getService",
        "createJob",
        "createJob",
    ]
    assert lines[1]["request"] == {"api_token": "test***"}  # the query, its token masked
    done = subprocess.run([*OMOFAKE, "validate", str(record)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


# Realistic timing


def test_realistic_timing_takes_each_types_average_time_scaled_by_speed() -> None:
    clock = ManualClock()
    with FakeServer(clock=clock, timing="realistic", speed=100) as server:
        text, rotate = create(server, "30")["job_id"], create(server, "23")["job_id"]
        poll = {"api_token": TOKEN}
        assert server.jobs[text].behaviour.solve_after == SERVICES["30"].avg_seconds / 100
        assert post(server, "getJobResult", poll | {"job_id": text})["status"] == "running"
        clock.advance(0.02)  # type 30: avg_time 2s, at 100 times the speed
        assert post(server, "getJobResult", poll | {"job_id": text})["status"] == "success"
        assert post(server, "getJobResult", poll | {"job_id": rotate})["status"] == "running"
        clock.advance(0.01)  # type 23: 3s
        assert post(server, "getJobResult", poll | {"job_id": rotate})["status"] == "success"
        server.configure(solve_after=1)  # a setting of its own wins over the profile
        job = create(server, "30")["job_id"]
        clock.advance(0.5)
        assert post(server, "getJobResult", poll | {"job_id": job})["status"] == "running"
        server.configure(timing="instant")
        server.configure(solve_after=None)
        assert (
            post(server, "getJobResult", poll | {"job_id": create(server)["job_id"]})["status"] == "success"
        )


def test_the_default_timing_is_instant(server: FakeServer) -> None:
    job = create(server)["job_id"]
    assert post(server, "getJobResult", {"api_token": TOKEN, "job_id": job})["status"] == "success"


# The client, the CLI and the plugin


@pytest.mark.asyncio
async def test_client_get_balance_and_get_services() -> None:
    async with (
        FakeServer(balance="0.5") as server,
        OmoClient(TOKEN, server.api_url, poll_interval=0.01) as client,
    ):
        assert await client.get_balance() == Decimal("0.50000")
        await client.solve(30, images=b"png")
        assert await client.get_balance() == Decimal("0.49990")
        services = await client.get_services()
        assert {s["id"] for s in services} == {
            int(k) for k, s in SERVICES.items() if s.listed and k in CATALOGUE
        }


def test_serve_flags_for_balance_prices_and_timing() -> None:
    flags = ["--balance", "0.002", "--price", "30=0.001", "--balance-error", "Hết tiền.", "--quiet"]
    with serve(*flags, "--timing", "realistic", "--speed", "0.01") as (url, _):
        api = f"{url}/api"
        assert (
            requests.post(f"{api}/getBalance", json={"api_token": TOKEN}, timeout=10).json()["balance"]
            == "0.00200"
        )
        jobs = [requests.post(f"{api}/createJob", json=create_body(), timeout=10).json() for _ in range(3)]
        assert [j["error"] for j in jobs] == [False, False, True]
        assert jobs[2]["message"] == "Hết tiền."
        # Realistic at a hundredth of the speed: type 30's 2 s become 200 s.
        poll = {"api_token": TOKEN, "job_id": jobs[0]["job_id"]}
        assert requests.post(f"{api}/getJobResult", json=poll, timeout=10).json()["status"] == "running"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--balance", "lots"], "--balance: the amount must be an amount"),
        (["--price", "30"], "expected TYPE=AMOUNT"),
        (["--price", "99=1"], "'99' is not a type_job_id"),
        (["--speed", "0"], "expected a number above 0"),
        (["--timing", "slow"], "invalid choice: 'slow'"),
    ],
)
def test_bad_money_flags_exit_2(flags: list[str], message: str) -> None:
    done = subprocess.run([*OMOFAKE, "serve", *flags], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_the_marker_sets_the_balance_and_the_next_test_starts_full(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        import requests

        def create(url):
            body = {"api_token": "t", "data": {"type_job_id": "30", "image_base64": "aGVsbG8="}}
            return requests.post(f"{url}/createJob", json=body, timeout=10).json()

        @pytest.mark.omofake(balance="0.00010", balance_error="Empty.")
        def test_spends_it_all(omofake_url):
            assert create(omofake_url)["error"] is False
            assert create(omofake_url) == {"error": True, "message": "Empty.", "success": False}

        def test_starts_full_again(omofake_url):
            answer = requests.post(f"{omofake_url}/getBalance", json={"api_token": "t"}, timeout=10).json()
            assert answer["balance"] == "1000.00000"
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:xdist")
    result.assert_outcomes(passed=2)


def test_readme_account_example_runs() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("<!-- section: account -->") : readme.index("<!-- /section: account -->")]
    [code] = re.findall(r"```python\n(.*?)```", section, re.S)
    exec(compile(code, "README.md (balance)", "exec"), {})
