"""Suite-wide fixtures.

Every fake server started by these tests checks each answer it sends against the response
schemas (a non-conforming answer turns into a 500 the test sees), servers in subprocesses too,
since they inherit the environment.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from omofake import FakeServer
from omofake.http import connections, direct
from omofake.http.server import SELF_CHECK_ENV

from .helpers import POSTERS, Poster

os.environ[SELF_CHECK_ENV] = "1"

pytest_plugins = ["pytester"]


@pytest.fixture(scope="module")
def shared_server() -> Iterator[FakeServer]:
    """One server per test module; ``server`` hands it out fresh to each test."""
    with FakeServer() as server:
        yield server


@pytest.fixture
def server(shared_server: FakeServer) -> FakeServer:
    shared_server.reset()
    return shared_server


@pytest.fixture(params=sorted(POSTERS))
def post(request: pytest.FixtureRequest) -> Poster:
    """POST with each client library in turn: requests, httpx and urllib."""
    return POSTERS[request.param]


@pytest.fixture
def directs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths answered directly (omofake.http.direct) from now on, in order."""
    answered: list[str] = []
    real = direct.reply  # what omofake.http.connections calls, by the name it imported

    def recording(
        routes: Any, dialect: Any, endpoint: str, method: str, path: str, *rest: Any
    ) -> direct.Reply:
        answered.append(path)
        return real(routes, dialect, endpoint, method, path, *rest)

    monkeypatch.setattr(connections, "reply", recording)
    return answered
