"""omofake: a fake OMOcaptcha API for tests."""

# Before the imports: submodules (the CLI, the OpenAPI document) read it while the package loads.
__version__ = "0.1.0"

from omofake.behaviour import Behaviour, Knobs
from omofake.catalogue import CATALOGUE, JobType
from omofake.client import JobResult, OmoClient
from omofake.clock import ManualClock
from omofake.contract import ContractError, Violation
from omofake.errors import JobFailed, OmoError, ProtocolError, SolveTimeout
from omofake.jobs import Job
from omofake.journal import Exchange, Journal
from omofake.server import FakeServer

__all__ = [
    "CATALOGUE",
    "Behaviour",
    "ContractError",
    "Exchange",
    "FakeServer",
    "Job",
    "JobFailed",
    "JobResult",
    "JobType",
    "Journal",
    "Knobs",
    "ManualClock",
    "OmoClient",
    "OmoError",
    "ProtocolError",
    "SolveTimeout",
    "Violation",
    "__version__",
]
