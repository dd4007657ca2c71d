"""omofake: a fake OMOcaptcha API for tests.

The names below load on first use: pytest imports this package (for its plugin) in every run
of a project that has omofake installed, and most of those runs never start a fake server.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Where each public name lives.
_EXPORTS = {
    "Behaviour": "omofake.core.behaviour",
    "Knobs": "omofake.core.behaviour",
    "CATALOGUE": "omofake.core.catalogue",
    "JobType": "omofake.core.catalogue",
    "JobResult": "omofake.client",
    "OmoClient": "omofake.client",
    "ManualClock": "omofake.core.clock",
    "ContractError": "omofake.contract",
    "Violation": "omofake.contract",
    "JobFailed": "omofake.errors",
    "OmoError": "omofake.errors",
    "ProtocolError": "omofake.errors",
    "SolveTimeout": "omofake.errors",
    "Job": "omofake.core.jobs",
    "Exchange": "omofake.core.journal",
    "Journal": "omofake.core.journal",
    "Scenario": "omofake.core.scenario",
    "ScenarioError": "omofake.core.scenario",
    "load_scenario": "omofake.core.scenario",
    "FakeServer": "omofake.http.server",
    "FakeServerLike": "omofake.http.protocol",
    "JobLike": "omofake.http.protocol",
    "RemoteJob": "omofake.http.remote",
    "RemoteServer": "omofake.http.remote",
    "RemoteServerError": "omofake.http.remote",
}

__all__ = [
    "CATALOGUE",
    "Behaviour",
    "ContractError",
    "Exchange",
    "FakeServer",
    "FakeServerLike",
    "Job",
    "JobFailed",
    "JobLike",
    "JobResult",
    "JobType",
    "Journal",
    "Knobs",
    "ManualClock",
    "OmoClient",
    "OmoError",
    "ProtocolError",
    "RemoteJob",
    "RemoteServer",
    "RemoteServerError",
    "Scenario",
    "ScenarioError",
    "SolveTimeout",
    "Violation",
    "__version__",
    "load_scenario",
]

if TYPE_CHECKING:
    from omofake.client import JobResult, OmoClient
    from omofake.contract import ContractError, Violation
    from omofake.core.behaviour import Behaviour, Knobs
    from omofake.core.catalogue import CATALOGUE, JobType
    from omofake.core.clock import ManualClock
    from omofake.core.jobs import Job
    from omofake.core.journal import Exchange, Journal
    from omofake.core.scenario import Scenario, ScenarioError, load_scenario
    from omofake.errors import JobFailed, OmoError, ProtocolError, SolveTimeout
    from omofake.http.protocol import FakeServerLike, JobLike
    from omofake.http.remote import RemoteJob, RemoteServer, RemoteServerError
    from omofake.http.server import FakeServer


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'omofake' has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name]), name)
    globals()[name] = value  # once loaded, a plain attribute
    return value


def __dir__() -> list[str]:
    return __all__
