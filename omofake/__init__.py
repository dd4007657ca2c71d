"""omofake: a fake OMOcaptcha API for tests."""

# Before the imports: submodules (the CLI, the OpenAPI document) read it while the package loads.
__version__ = "0.1.0"

from omofake.behaviour import Behaviour, Knobs
from omofake.catalogue import CATALOGUE, JobType
from omofake.clock import ManualClock
from omofake.contract import ContractError, Violation
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
    "JobType",
    "Journal",
    "Knobs",
    "ManualClock",
    "Violation",
    "__version__",
]
