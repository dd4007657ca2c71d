"""A seed repeats every draw the fake makes, release to release.

``tests/data/seeded_draws.json`` holds, for a few seeds, the job ids, statuses, results and
solutions of a fixed sequence of requests: every v1 job type and every v2 task class (in each of
its shapes), with a fail rate of 0 then 0.5, a transport fault drawn at a rate of 0.5, and a
reseed. It was written with the code of 6b761d3 (Faker's BaseProvider as the random source):
a change to how the fake draws that alters any of it changes what seeded users get.

Regenerate it only on purpose: ``python -m tests.test_seeded_draws --write``.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from omofake.core.catalogue import CATALOGUE
from omofake.core.state import FakeState
from omofake.dialects.base import Answer
from omofake.dialects.v1.service import FakeService
from omofake.dialects.v2.service import V2Service
from omofake.dialects.v2.tasks import TASK_CLASSES

from .helpers import PNG, job_data, valid_task

FIXTURE = Path(__file__).parent / "data" / "seeded_draws.json"
SEEDS = (0, 1, 2, 12345)
TOKEN = "seeded-draws"
#: Texts longer than this (tokens) are recorded as their length and digest.
LONG = 80
#: Views sent with some v1 types, so that results that depend on them are covered too.
V1_VIEWS: dict[str, dict[str, Any]] = {
    "21": {"width_view": 300},
    "22": {"width_view": 552, "height_view": 344},
    "24": {"width_view": 412},
    "25": {"width_view": 720, "height_view": 1600},
    "52": {"width_view": 260},
}


def v1_bodies() -> list[dict[str, Any]]:
    bodies = [{"api_token": TOKEN, "data": job_data(t)} for t in CATALOGUE]
    bodies += [{"api_token": TOKEN, "data": {**job_data(t), **view}} for t, view in V1_VIEWS.items()]
    return bodies


def v2_tasks() -> list[dict[str, Any]]:
    tasks: list[dict[str, Any]] = []
    for tc in TASK_CLASSES.values():
        base = valid_task(tc)
        tasks.append(base)
        if tc.field("widthView"):
            tasks.append({**base, "widthView": 37, "heightView": 9})
        if tc.name == "HcaptchaImageTask":
            tasks.append({**base, "queries": [PNG] * 9})
            tasks.append({**base, "queries": [PNG], "question": "Drag the piece onto the matching shape"})
        if tc.name == "ShopeeSliderWebTask":
            tasks.append({**base, "typeCaptcha": "rotate"})
    return tasks


def _v1_job(service: FakeService, body: dict[str, Any]) -> dict[str, Any]:
    created = service.create_job(body)
    record = _created(body["data"]["type_job_id"], created)
    if created.fault is None and created.body.get("error") is False:
        job_id = created.body["job_id"]
        for _ in range(10):
            answer = service.get_job_result({"api_token": TOKEN, "job_id": job_id}).body
            if answer.get("status") != "running":
                break
        record["answer"] = _short(answer)
    return record


def _v2_task(service: V2Service, task: dict[str, Any]) -> dict[str, Any]:
    created = service.create_task({"clientKey": TOKEN, "task": task})
    # The task id is a UUID (not seeded): the job behind it is what the seed fixes.
    record = _created(task["type"], created)
    if created.fault is None and created.body.get("errorId") == 0:
        for _ in range(10):
            answer = service.get_task_result({"clientKey": TOKEN, "taskId": created.body["taskId"]}).body
            if answer.get("status") != "processing":
                break
        record["answer"] = _short(answer)
    return record


def _created(kind: str, answer: Answer) -> dict[str, Any]:
    if answer.fault is not None:
        return {"type": kind, "fault": answer.fault.name}
    return {"type": kind, "job_id": answer.job_id}


def _short(value: Any) -> Any:
    """``value`` with its long texts (tokens) as their length and digest, to keep the file small."""
    if isinstance(value, str) and len(value) > LONG:
        return f"{len(value)} chars, sha256 {hashlib.sha256(value.encode()).hexdigest()[:24]}"
    if isinstance(value, dict):
        return {k: _short(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_short(v) for v in value]
    return value


def draws(seed: int) -> dict[str, Any]:
    """What the fixed sequence of requests gets with ``seed``."""
    state = FakeState(seed=seed)
    v1, v2 = FakeService(state=state), V2Service(state=state)
    out: dict[str, Any] = {}
    for rate in (0.0, 0.5):
        state.configure(fail_rate=rate)
        out[f"v1 fail_rate={rate}"] = [_v1_job(v1, body) for body in v1_bodies()]
        out[f"v2 fail_rate={rate}"] = [_v2_task(v2, task) for task in v2_tasks()]
    state.configure(fail_rate=0.0, create_fault="unavailable", fault_rate=0.5)
    out["v1 fault_rate=0.5"] = [_v1_job(v1, {"api_token": TOKEN, "data": job_data("30")}) for _ in range(8)]
    state.configure(create_fault=None, fault_rate=None, seed=seed + 1)
    out[f"after configure(seed={seed + 1})"] = [_v1_job(v1, body) for body in v1_bodies()[:6]]
    state.reset()
    out["after reset()"] = [_v1_job(v1, body) for body in v1_bodies()[:6]]
    return out


@pytest.fixture(scope="module")
def recorded() -> dict[str, Any]:
    result: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return result


@pytest.mark.parametrize("seed", SEEDS)
def test_a_seed_draws_what_it_always_drew(seed: int, recorded: dict[str, Any]) -> None:
    expected = recorded[str(seed)]
    got = draws(seed)
    assert list(got) == list(expected)
    for part, records in expected.items():
        assert len(got[part]) == len(records), part
        for index, (mine, theirs) in enumerate(zip(got[part], records, strict=True)):
            assert mine == theirs, f"seed {seed}, {part}, request {index} ({theirs['type']})"


def test_the_recording_covers_every_type_and_class_and_both_outcomes(recorded: dict[str, Any]) -> None:
    for seed in SEEDS:
        parts = recorded[str(seed)]
        v1 = {r["type"] for r in parts["v1 fail_rate=0.0"]}
        v2 = {r["type"] for r in parts["v2 fail_rate=0.0"]}
        assert v1 == set(CATALOGUE) and v2 == set(TASK_CLASSES)
        statuses = {r["answer"]["status"] for r in parts["v1 fail_rate=0.5"]}
        assert statuses == {"success", "fail"}
        assert {r["answer"]["status"] for r in parts["v2 fail_rate=0.5"]} == {"ready", "fail"}
        faults = [r.get("fault") for r in parts["v1 fault_rate=0.5"]]
        assert set(faults) == {"unavailable", None}


def _write() -> None:
    FIXTURE.parent.mkdir(exist_ok=True)
    # One request per line, so that a diff shows which draws changed.
    lines = ["{"]
    for i, seed in enumerate(SEEDS):
        parts = draws(seed)
        lines.append(f' "{seed}": {{')
        for j, (part, records) in enumerate(parts.items()):
            lines.append(f"  {json.dumps(part)}: [")
            lines += [f"   {json.dumps(r, ensure_ascii=False)}," for r in records]
            lines[-1] = lines[-1].rstrip(",")
            lines.append("  ]" + ("," if j < len(parts) - 1 else ""))
        lines.append(" }" + ("," if i < len(SEEDS) - 1 else ""))
    lines.append("}")
    FIXTURE.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {FIXTURE} ({FIXTURE.stat().st_size} bytes)")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit(f"usage: python -m tests.test_seeded_draws --write ({__doc__})")
    _write()
