"""Configurable behaviour: the life of a job, outcomes, results, latency, forced errors, seeds."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
import requests

from omofake import FakeServer, ManualClock

from .helpers import TOKEN, create_body


def create(server: FakeServer, job_type: str = "30") -> dict[str, Any]:
    answer: dict[str, Any] = requests.post(
        f"{server.api_url}/createJob", json=create_body(job_type), timeout=5
    ).json()
    return answer


def poll(server: FakeServer, job_id: int) -> dict[str, Any]:
    answer: dict[str, Any] = requests.post(
        f"{server.api_url}/getJobResult", json={"api_token": TOKEN, "job_id": job_id}, timeout=5
    ).json()
    return answer


def statuses(server: FakeServer, job_id: int, polls: int) -> list[str]:
    return [poll(server, job_id)["status"] for _ in range(polls)]


def test_default_job_is_solved_at_the_first_poll(server: FakeServer) -> None:
    assert statuses(server, create(server)["job_id"], 2) == ["success", "success"]


def test_running_polls(server: FakeServer) -> None:
    server.configure(running_polls=2)
    job_id = create(server)["job_id"]
    assert statuses(server, job_id, 4) == ["running", "running", "success", "success"]
    assert server.jobs[job_id].polls == 4 and server.requests.polls(job_id) == 4


def test_solve_after_with_a_manual_clock() -> None:
    clock = ManualClock()
    with FakeServer(clock=clock, solve_after=5) as server:
        job_id = create(server)["job_id"]
        assert statuses(server, job_id, 2) == ["running", "running"]
        clock.advance(4.9)
        assert poll(server, job_id)["status"] == "running"
        clock.advance(0.1)
        assert poll(server, job_id)["status"] == "success"


def test_running_polls_and_solve_after_must_both_be_met() -> None:
    clock = ManualClock()
    with FakeServer(clock=clock, solve_after=1, running_polls=1) as server:
        job_id = create(server)["job_id"]
        clock.advance(2)
        assert statuses(server, job_id, 2) == ["running", "success"]


def test_outcome_fail_and_fixed_result(server: FakeServer) -> None:
    server.configure(outcome="fail")
    failed = create(server)["job_id"]
    server.configure(outcome="success", result="hello")
    solved = create(server)["job_id"]
    assert poll(server, failed) == {"error": False, "status": "fail", "result": None, "success": True}
    assert poll(server, solved) == {"error": False, "status": "success", "result": "hello", "success": True}


def test_result_from_a_function_of_the_job(server: FakeServer) -> None:
    server.configure(result=lambda job: f"{job.id % 360}")
    job_id = create(server, "23")["job_id"]
    assert poll(server, job_id)["result"] == str(job_id % 360)


def test_fail_rate_is_a_probability(server: FakeServer) -> None:
    server.configure(seed=7, fail_rate=0.5)
    outcomes = [poll(server, create(server)["job_id"])["status"] for _ in range(200)]
    assert 60 < outcomes.count("fail") < 140  # 0.5 of 200, far outside chance for seed 7 either way
    assert set(outcomes) == {"success", "fail"}


def test_settings_per_job_type(server: FakeServer) -> None:
    server.configure(running_polls=1)
    server.configure(job_type=26, outcome="fail", running_polls=0)
    server.configure(job_type="13", result="1|2")
    assert statuses(server, create(server, "30")["job_id"], 2) == ["running", "success"]
    assert poll(server, create(server, "26")["job_id"])["status"] == "fail"
    job_13 = create(server, "13")["job_id"]
    assert statuses(server, job_13, 2) == ["running", "success"]
    assert poll(server, job_13)["result"] == "1|2"


def test_next_n_jobs_are_scripted_in_order(server: FakeServer) -> None:
    server.configure(outcome="fail", times=2)
    server.configure(result="7", times=1)
    results = [poll(server, create(server)["job_id"]) for _ in range(4)]
    assert [r["status"] for r in results] == ["fail", "fail", "success", "success"]
    assert results[2]["result"] == "7" and results[3]["result"] != "7"


def test_scripts_scoped_to_a_job_type_wait_for_it(server: FakeServer) -> None:
    server.configure(job_type=23, outcome="fail", times=1)
    assert poll(server, create(server, "30")["job_id"])["status"] == "success"
    assert poll(server, create(server, "23")["job_id"])["status"] == "fail"
    assert poll(server, create(server, "23")["job_id"])["status"] == "success"


def test_none_undoes_a_setting(server: FakeServer) -> None:
    server.configure(outcome="fail", result="x")
    server.configure(outcome=None)
    assert poll(server, create(server)["job_id"]) == {
        "error": False,
        "status": "success",
        "result": "x",
        "success": True,
    }


def test_forced_create_error(server: FakeServer) -> None:
    server.configure(create_error="Balance is not enough.")
    assert create(server) == {"error": True, "message": "Balance is not enough.", "success": False}
    assert len(server.jobs) == 0


def test_forced_result_error_does_not_move_the_job_on(server: FakeServer) -> None:
    server.configure(running_polls=1, result_error="Server is busy.", times=1)
    job_id = create(server)["job_id"]
    assert poll(server, job_id) == {"error": True, "message": "Server is busy.", "success": False}
    assert server.jobs[job_id].polls == 0
    server.configure(result_error=None)
    # The scripted job keeps the behaviour it was made with.
    assert poll(server, job_id) == {"error": True, "message": "Server is busy.", "success": False}


def test_error_sets_both_endpoints_once(server: FakeServer) -> None:
    server.configure(error="Service is under maintenance.", times=1, job_type=30)
    assert create(server) == {"error": True, "message": "Service is under maintenance.", "success": False}
    job_id = create(server)["job_id"]
    assert poll(server, job_id)["status"] == "success"


def test_forced_error_comes_after_validation(server: FakeServer) -> None:
    server.configure(create_error="Balance is not enough.")
    answer = requests.post(f"{server.api_url}/createJob", json={"api_token": TOKEN}, timeout=5).json()
    assert answer["message"] == "Missing field data."


def test_tokens(server: FakeServer) -> None:
    server.configure(tokens=["a-token", "another"])
    assert requests.post(f"{server.api_url}/createJob", json=create_body(), timeout=5).json() == {
        "error": True,
        "message": "Invalid api token.",
        "success": False,
    }
    assert (
        requests.post(
            f"{server.api_url}/createJob", json=create_body() | {"api_token": "another"}, timeout=5
        ).json()["error"]
        is False
    )


def test_seed_makes_ids_and_results_repeat() -> None:
    def run() -> list[tuple[int, str]]:
        with FakeServer(seed=42) as server:
            jobs = [create(server, t)["job_id"] for t in ("13", "14", "23", "26", "30")]
            return [(job_id, poll(server, job_id)["result"]) for job_id in jobs]

    first, second = run(), run()
    assert first == second
    with FakeServer(seed=43) as other:
        assert create(other)["job_id"] != first[0][0] or poll(other, first[0][0])["result"] != first[0][1]


def test_reset_restores_the_constructor_settings() -> None:
    with FakeServer(seed=1, outcome="fail") as server:
        first = create(server)["job_id"]
        server.configure(outcome="success", seed=2)
        server.reset()
        assert create(server)["job_id"] == first
        assert poll(server, first)["status"] == "fail"


def test_reseeding_never_reuses_a_job_id(server: FakeServer) -> None:
    server.configure(seed=5)
    first = create(server)["job_id"]
    server.configure(seed=5)
    assert create(server)["job_id"] != first


@pytest.mark.parametrize(
    ("knobs", "error", "match"),
    [
        ({"outcome": "maybe"}, ValueError, "outcome must be 'success' or 'fail'"),
        ({"outcome": "fail", "fail_rate": 0.2}, ValueError, "outcome or fail_rate, not both"),
        ({"fail_rate": 1.5}, ValueError, "fail_rate must be between 0 and 1"),
        ({"running_polls": -1}, ValueError, "running_polls must be a whole number"),
        ({"running_polls": 1.5}, ValueError, "running_polls must be a whole number"),
        ({"latency": (2, 1)}, ValueError, "minimum above its maximum"),
        ({"latency": "slow"}, ValueError, "latency must be a number of seconds"),
        ({"create_error": ""}, ValueError, "create_error must be a non-empty message"),
        ({"result": 5}, ValueError, "result must be text or a function"),
        (
            {"job_type": 99, "outcome": "fail"},
            ValueError,
            "job_type must be one of 1, 2, 3, 11, 13, 14, 21, 22, 23,",
        ),
        ({"times": 0, "outcome": "fail"}, ValueError, "times must be a whole number, 1 or more"),
        ({"seed": 1, "job_type": 13}, ValueError, "apply to the whole server"),
        ({"tokens": "abc"}, ValueError, "tokens must be a collection of non-empty strings"),
        ({"running_pols": 1}, TypeError, "unknown omofake setting"),
    ],
)
def test_bad_settings_are_refused_clearly(
    server: FakeServer, knobs: dict[str, Any], error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        server.configure(**knobs)


def test_bad_constructor_settings_are_refused() -> None:
    with pytest.raises(TypeError, match="unknown omofake setting"):
        FakeServer(solve_afer=1)


@pytest.mark.asyncio
async def test_async_server_on_the_running_loop_with_aiohttp() -> None:
    async with FakeServer(running_polls=1) as server, aiohttp.ClientSession() as session:
        async with session.post(f"{server.api_url}/createJob", json=create_body("26")) as answer:
            job_id = (await answer.json())["job_id"]
        seen = []
        for _ in range(2):
            async with session.post(
                f"{server.api_url}/getJobResult", json={"api_token": TOKEN, "job_id": job_id}
            ) as answer:
                seen.append(await answer.json())
        assert [a["status"] for a in seen] == ["running", "success"]
        assert seen[0]["result"] == ""
    assert not server.running


@pytest.mark.asyncio
async def test_a_slow_request_does_not_hold_up_others() -> None:
    # Ordering, not timing: the fast request must be answered while the slow one still waits.
    async with FakeServer() as server, aiohttp.ClientSession() as session:
        server.configure(job_type=23, create_latency=30)

        async def create_job(job_type: str) -> dict[str, Any]:
            async with session.post(f"{server.api_url}/createJob", json=create_body(job_type)) as answer:
                result: dict[str, Any] = await answer.json()
                return result

        slow = asyncio.create_task(create_job("23"))
        await asyncio.sleep(0)
        fast = await asyncio.wait_for(create_job("30"), timeout=10)
        assert fast["error"] is False
        assert not slow.done()
        slow.cancel()


@pytest.mark.asyncio
async def test_latency_range_delays_the_answer() -> None:
    async with FakeServer(result_latency=(0.05, 0.06)) as server, aiohttp.ClientSession() as session:
        async with session.post(f"{server.api_url}/createJob", json=create_body()) as answer:
            job_id = (await answer.json())["job_id"]
        created = asyncio.get_running_loop().time()
        async with session.post(
            f"{server.api_url}/getJobResult", json={"api_token": TOKEN, "job_id": job_id}
        ) as answer:
            assert (await answer.json())["status"] == "success"
        # A lower bound only (less the loop's timer slack): no upper bound on a shared machine.
        assert asyncio.get_running_loop().time() - created >= 0.045


def test_thread_server_from_sync_code_while_configured_from_the_test_thread() -> None:
    with FakeServer() as server:
        for i in range(20):
            server.configure(result=str(i))
            assert poll(server, create(server)["job_id"])["result"] == str(i)


def test_constructor_settings_may_be_scoped_and_survive_reset() -> None:
    with FakeServer(job_type=26, outcome="fail") as server:
        for _ in range(2):
            assert poll(server, create(server, "26")["job_id"])["status"] == "fail"
            assert poll(server, create(server, "30")["job_id"])["status"] == "success"
            server.reset()
