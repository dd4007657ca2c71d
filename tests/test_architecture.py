"""The package's layers, kept apart; a dialect is an adapter over the one core.

The direction of imports: http -> dialects -> core; contract is used by every layer; core
imports no dialect, no HTTP and no CLI. Parsed with ``ast``, so a lazy import inside a function
counts as much as one at the top.
"""

from __future__ import annotations

import ast
import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import requests
from aiohttp import web

from omofake import FakeServer
from omofake.contract import registry
from omofake.core import behaviour
from omofake.core.journal import Journal
from omofake.core.state import FakeState
from omofake.dialects.base import Answer, Dialect, Route
from omofake.dialects.v1 import messages
from omofake.dialects.v1.service import FakeService
from omofake.http.app import create_app

from .helpers import TOKEN, create_body

PACKAGE = Path(__file__).resolve().parent.parent / "omofake"
TOP_LEVEL = ("omofake.cli", "omofake.client", "omofake.fixture_client", "omofake.pytest_plugin")
#: What each layer must not import (a module name, or a prefix ending in a dot).
FORBIDDEN = {
    "core": ("omofake.dialects", "omofake.http", *TOP_LEVEL),
    "dialects": ("omofake.http", *TOP_LEVEL),
    "contract": ("omofake.http", *TOP_LEVEL),
    "http": TOP_LEVEL,
}


def imports_of(path: Path) -> set[str]:
    """Every omofake module a file imports, wherever in the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "omofake" or name.startswith("omofake.")}


def test_the_layers_are_folders() -> None:
    for layer in FORBIDDEN:
        assert (PACKAGE / layer / "__init__.py").is_file(), layer
    assert (PACKAGE / "dialects" / "v1" / "__init__.py").is_file()
    assert (PACKAGE / "dialects" / "__init__.py").read_text("utf-8") == (
        '"""The API dialects the fake speaks: each an adapter over the one job core."""\n'
    )


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_only_downwards(layer: str) -> None:
    wrong = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for name in imports_of(path):
            if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN[layer]):
                wrong.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert not wrong, "\n".join(wrong)


def test_the_import_check_sees_a_wrong_import(tmp_path: Path) -> None:
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("def f():\n    from omofake.http.app import create_app\n", "utf-8")
    assert "omofake.http.app" in imports_of(sneaky)


def test_the_v1_adapter_is_a_dialect_and_lists_its_routes() -> None:
    service: Dialect = FakeService()
    assert service.name == "v1"
    assert {(r.method, r.path) for r in service.routes} == {
        ("POST", "/api/createJob"),
        ("POST", "/api/getJobResult"),
        ("POST", "/api/getBalance"),
        ("POST", "/api/getService"),
        ("GET", "/api/getService"),
    }
    # Every endpoint a route names has its schemas, under the names users know.
    for route in service.routes:
        assert registry.load_schema(f"{route.endpoint}.request")["$id"] == (
            f"urn:omofake:schema:{route.endpoint}.request"
        )


class Ping:
    """A dialect of one route, to show the HTTP layer serves whatever the dialects list."""

    name = "ping"
    routes = (Route("/ping/echo", "POST", "echo"),)
    routes_summary = "POST /ping/echo"
    messages = messages

    def __init__(self, state: FakeState) -> None:
        self.state = state

    def parse(self, raw: bytes, endpoint: Any) -> tuple[Any, Any]:
        return json.loads(raw), None

    def answer(self, endpoint: Any, body: Any) -> Answer:
        return Answer({"echo": body, "generation": self.state.generation})

    def refuse(self, endpoint: Any, message: str, **extra: Any) -> Answer:
        return self.error(message, **extra)

    def error(self, message: str, *, status: int = 200, **extra: Any) -> Answer:
        return Answer({"failed": message}, status=status, **extra)

    def render(self, body: dict[str, Any]) -> dict[str, Any]:
        return {**body, "dialect": self.name}


def test_a_new_dialect_is_served_beside_v1_on_one_state() -> None:
    state = FakeState()
    v1, ping = FakeService(state=state), Ping(state)
    journal = Journal()

    async def scenario() -> tuple[Any, ...]:
        runner = web.AppRunner(create_app([v1, ping], journal))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http:
                async with http.post("/ping/echo", json={"x": 1}) as r:
                    echoed = (r.status, await r.json())
                async with http.post("/api/createJob", json=create_body("23")) as r:
                    created = await r.json()
                async with http.get("/ping/nowhere") as r:
                    unrouted = (r.status, await r.json())
        finally:
            await runner.cleanup()
        return echoed, created, unrouted

    echoed, created, unrouted = asyncio.run(scenario())
    assert echoed == (200, {"echo": {"x": 1}, "generation": state.generation, "dialect": "ping"})
    assert created["error"] is False and state.store.get(created["job_id"]) is not None
    # What reaches no route gets the error shape of the dialect whose paths it is among.
    assert unrouted[0] == 404 and unrouted[1]["dialect"] == "ping"
    assert "POST /ping/echo" in journal[-1].violations[0].expected
    assert [e.endpoint for e in journal] == ["echo", "createJob", None]


def test_a_name_a_dialect_registers_scopes_the_same_knobs(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(behaviour, "_JOB_TYPE_NAMES", {})
    with pytest.raises(ValueError, match="job_type must be one of"):
        server.configure(job_type="RotateTask", outcome="fail")
    behaviour.register_job_type("RotateTask", "23")
    assert behaviour.job_type_key("RotateTask") == behaviour.job_type_key(23) == "23"
    server.configure(job_type="RotateTask", outcome="fail", solve_after=0)
    created = requests.post(f"{server.api_url}/createJob", json=create_body("23"), timeout=10).json()
    result = requests.post(
        f"{server.api_url}/getJobResult", json={"api_token": TOKEN, "job_id": created["job_id"]}, timeout=10
    ).json()
    assert result["status"] == "fail"
    # Another type is not scoped by it.
    other = requests.post(f"{server.api_url}/createJob", json=create_body("1"), timeout=10).json()
    solved = requests.post(
        f"{server.api_url}/getJobResult", json={"api_token": TOKEN, "job_id": other["job_id"]}, timeout=10
    ).json()
    assert solved["status"] == "success"


def test_a_name_of_its_own_is_a_key_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(behaviour, "_JOB_TYPE_NAMES", {})
    behaviour.register_job_type("OnlyInV2Task")
    assert behaviour.job_type_key("OnlyInV2Task") == "OnlyInV2Task"


def test_the_registry_finds_a_new_dialects_schemas_without_an_edit(tmp_path: Path) -> None:
    for folder, name in (("v1", "createJob.request"), ("v9", "doThing.request")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / f"{name}.json").write_text("{}", "utf-8")
    (tmp_path / "README.txt").write_text("not a dialect", "utf-8")
    assert list(registry._discover(tmp_path)) == ["createJob.request", "v9/doThing.request"]
