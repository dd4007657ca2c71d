"""The wire styles of real, public OMOcaptcha clients, unchanged but for the host.

Written from the wire behaviour those clients show, not from their code: a balance check before
solving, ``type_job_id`` sent as a JSON number, ``r.json()["success"]`` read after createJob and
after getJobResult, getService as a GET with the token in the query and as a POST, a poll body
built as a string with the job id pasted in bare, and a loop that runs until the money does.
Each runs through requests, httpx and aiohttp, against ``omofake serve`` in a subprocess and
against ``FakeServer``; both check every answer they send against the shipped schemas (the
suite's self-check, inherited by the subprocess).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import aiohttp
import httpx
import pytest
import requests

from omofake import FakeServer

from .helpers import PNG, TOKEN, serve

POLLS = 20  # the fake answers at once; a client that needs more polls than this is stuck


@pytest.fixture(scope="module", params=["serve", "FakeServer"])
def api(request: pytest.FixtureRequest) -> Iterator[str]:
    """The API base URL (``.../api``) of ``omofake serve`` or of a ``FakeServer``, as a client takes it."""
    if request.param == "serve":
        with serve("--quiet", "--running-polls", "1") as (url, _):
            yield f"{url}/api"
    else:
        with FakeServer(running_polls=1) as server:
            yield server.api_url


def test_requests_checks_the_balance_first_then_solves(api: str) -> None:
    balance = requests.post(f"{api}/getBalance", json={"api_token": TOKEN}, timeout=10).json()
    if balance["error"] or float(balance["balance"]) <= 0:  # as such clients do: float, then compare
        pytest.fail(f"no balance: {balance}")
    # type_job_id as a JSON number, the way most of them send it.
    r = requests.post(
        f"{api}/createJob",
        json={"api_token": TOKEN, "data": {"type_job_id": 30, "image_base64": PNG}},
        timeout=10,
    )
    assert r.json()["success"] is True
    job_id = r.json()["job_id"]
    for _ in range(POLLS):
        r = requests.post(f"{api}/getJobResult", json={"api_token": TOKEN, "job_id": job_id}, timeout=10)
        assert r.json()["success"] is True
        if r.json()["status"] != "running":
            break
    assert r.json()["status"] == "success" and r.json()["result"]
    after = requests.post(f"{api}/getBalance", json={"api_token": TOKEN}, timeout=10).json()["balance"]
    assert float(after) < float(balance["balance"])


def test_httpx_reads_success_after_create_and_after_result(api: str) -> None:
    with httpx.Client(base_url=api, timeout=10) as http:
        r = http.post(
            "/createJob",
            json={"api_token": TOKEN, "data": {"type_job_id": 23, "image_base64": f"{PNG}|{PNG}"}},
        )
        if not r.json()["success"]:
            pytest.fail(r.json()["message"])
        poll = {"api_token": TOKEN, "job_id": r.json()["job_id"]}
        statuses = []
        for _ in range(POLLS):
            r = http.post("/getJobResult", json=poll)
            assert r.json()["success"]
            statuses.append(r.json()["status"])
            if statuses[-1] == "success":
                break
        assert statuses == ["running", "success"]
        assert 0 <= int(r.json()["result"]) < 360
        # An API error says success false, so "if not success" clients see it too.
        r = http.post("/getJobResult", json={"api_token": TOKEN, "job_id": 1})
        assert (r.json()["success"], r.json()["error"]) == (False, True)


def test_aiohttp_asks_for_services_by_post_then_solves_a_listed_type(api: str) -> None:
    async def client() -> tuple[list[dict[str, Any]], str]:
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{api}/getService", json={"api_token": TOKEN}) as r:
                services = (await r.json())["service"]
            [shopee] = [s for s in services if s["id"] == 26]
            data = {"type_job_id": shopee["id"], "image_base64": f"{PNG}|{PNG}"}  # the id as given
            async with http.post(f"{api}/createJob", json={"api_token": TOKEN, "data": data}) as r:
                created = await r.json()
            assert created["success"] is True
            for _ in range(POLLS):
                async with http.post(
                    f"{api}/getJobResult", json={"api_token": TOKEN, "job_id": created["job_id"]}
                ) as r:
                    answer = await r.json()
                if answer["status"] != "running":
                    break
                await asyncio.sleep(0)
            return services, answer["result"]

    services, result = asyncio.run(client())
    assert all(isinstance(s["price"], str) and s["avg_time"].endswith("s") for s in services)
    assert result.isdigit()


@pytest.mark.parametrize("library", ["requests", "httpx"])
def test_get_service_as_a_get_with_the_token_in_the_query(api: str, library: str) -> None:
    if library == "requests":
        answer = requests.get(f"{api}/getService", params={"api_token": TOKEN}, timeout=10).json()
    else:
        answer = httpx.get(f"{api}/getService", params={"api_token": TOKEN}, timeout=10).json()
    assert (answer["error"], answer["success"], answer["message"]) == (False, True, "Get service success.")
    assert {s["id"] for s in answer["service"]} >= {13, 23, 26, 30}


def test_a_hand_built_body_with_the_job_id_unquoted(api: str) -> None:
    created = requests.post(
        f"{api}/createJob",
        data='{"api_token": "TOKEN", "data": {"type_job_id": 30, "image_base64": "IMAGE"}}'.replace(
            "TOKEN", TOKEN
        ).replace("IMAGE", PNG),
        timeout=10,
    ).json()
    for _ in range(POLLS):
        answer = requests.post(
            f"{api}/getJobResult",
            data='{"api_token": "TOKEN", "job_id": JOB}'.replace("TOKEN", TOKEN).replace(
                "JOB", str(created["job_id"])
            ),
            timeout=10,
        ).json()
        if answer["status"] != "running":
            break
    assert answer["success"] is True and answer["status"] == "success"


@pytest.mark.parametrize("where", ["serve", "FakeServer"])
def test_a_solving_loop_stops_when_the_balance_runs_out(where: str) -> None:
    def solve_until_refused(api: str) -> tuple[int, dict[str, Any]]:
        with requests.Session() as http:
            for solved in range(100):
                body = {"api_token": TOKEN, "data": {"type_job_id": 30, "image_base64": PNG}}
                r = http.post(f"{api}/createJob", json=body, timeout=10)
                if not r.json()["success"]:
                    return solved, r.json()
        raise AssertionError("the balance never ran out")

    if where == "serve":
        with serve("--quiet", "--balance", "0.00050", "--price", "30=0.0001") as (url, _):
            solved, refusal = solve_until_refused(f"{url}/api")
            left = requests.post(f"{url}/api/getBalance", json={"api_token": TOKEN}, timeout=10).json()
    else:
        with FakeServer(balance="0.00050", prices={"30": "0.0001"}) as server:
            solved, refusal = solve_until_refused(server.api_url)
            left = requests.post(f"{server.api_url}/getBalance", json={"api_token": TOKEN}, timeout=10).json()
    assert solved == 5
    assert refusal == {"error": True, "message": "Balance is not enough.", "success": False}
    assert left["balance"] == "0.00000"


def _solve_with_requests(api: str, data: dict[str, Any]) -> str:
    created = requests.post(f"{api}/createJob", json={"api_token": TOKEN, "data": data}, timeout=10).json()
    assert created["success"] is True, created
    for _ in range(POLLS):
        answer = requests.post(
            f"{api}/getJobResult", json={"api_token": TOKEN, "job_id": created["job_id"]}, timeout=10
        ).json()
        if answer["status"] != "running":
            break
    assert answer["status"] == "success", answer
    result: str = answer["result"]
    return result


@pytest.mark.parametrize("type_job_id", [22, 25])
def test_select_two_objects_with_the_view_size_as_numbers_answers_four_coordinates(
    api: str, type_job_id: int
) -> None:
    # TikTok "select 2 objects" clients send the displayed size as JSON numbers, the id as a number.
    data = {"type_job_id": type_job_id, "image_base64": PNG, "width_view": 340, "height_view": 212}
    x1, y1, x2, y2 = (int(n) for n in _solve_with_requests(api, data).split("|"))
    assert 0 <= x1 < 340 and 0 <= x2 < 340 and 0 <= y1 < 212 and 0 <= y2 < 212


@pytest.mark.parametrize("type_job_id", ["21", "24"])
def test_tiktok_sliders_with_the_view_width(api: str, type_job_id: str) -> None:
    data = {"type_job_id": type_job_id, "image_base64": PNG, "width_view": 340}
    numbers = [int(n) for n in _solve_with_requests(api, data).split("|")]
    # 21 answers the X offset to drag to; 24 a drag from one point to another, "x1|y1|x2|y2".
    assert len(numbers) == (1 if type_job_id == "21" else 4)
    assert all(0 <= x < 340 for x in numbers[::2])


def test_recaptcha_facebook_takes_no_image_and_answers_a_token(api: str) -> None:
    token = _solve_with_requests(api, {"type_job_id": "2"})
    assert token.startswith("03A") and len(token) > 100
