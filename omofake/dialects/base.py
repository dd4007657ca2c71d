"""What a dialect is: an adapter between one API's wire format and the one job core.

The HTTP layer (:mod:`omofake.http`) knows no paths and no field names: it asks each dialect
for its routes, hands it the raw body, and sends back what it renders. Adding a dialect means
writing one class that satisfies :class:`Dialect`, and its schemas in ``schemas/<name>/``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, Protocol

from omofake.core.behaviour import Fault, Side

if TYPE_CHECKING:
    from omofake.contract.validation import Violation
    from omofake.core.state import FakeState


@dataclass(frozen=True)
class Answer:
    """What to send back, and what the journal should know about it."""

    body: dict[str, Any]
    status: int = 200
    delay: float = 0.0
    violations: tuple[Violation, ...] = ()
    job_id: int | None = None
    type_job_id: str | None = None
    #: The transport fault to act out on the wire instead of sending ``body`` (but for
    #: "hang", whose ``delay`` already holds the hang and whose body is the real answer).
    fault: Fault | None = None


def unless_faulted(
    state: FakeState,
    side: Side,
    type_job_id: str | None,
    token: str | None,
    proceed: Callable[[], Answer],
    /,
    **extra: Any,
) -> Answer:
    """``proceed()``'s answer, unless the request gets a transport fault: then an answer that
    carries the fault and nothing else happens (no job, no charge, no poll), but for "hang",
    which proceeds and only answers later. ``extra``: the journal's fields of a faulted one."""
    fault = state.fault_for(side, type_job_id, token)
    if fault is None:
        return proceed()
    if fault.name == "hang":
        answer = proceed()
        return replace(answer, delay=answer.delay + fault.hang_seconds, fault=fault)
    return Answer({}, fault=fault, **extra)


@dataclass(frozen=True)
class Route:
    """One path a dialect answers: the method, and the endpoint (the schema name's stem)."""

    path: str
    method: Literal["GET", "POST"]
    endpoint: str


class ErrorCatalogue(Protocol):
    """The messages the HTTP layer needs from a dialect's catalogue, for what reaches no endpoint.

    Read-only, so that a module of ``Final`` constants is one.
    """

    @property
    def NOT_FOUND(self) -> str:
        """Formatted with ``method`` and ``path``."""

    @property
    def METHOD_NOT_ALLOWED(self) -> str:
        """Formatted with ``method``, ``path`` and ``allowed``."""

    @property
    def INTERNAL_ERROR(self) -> str:
        """Formatted with ``detail``."""


class Dialect(Protocol):
    """One API the fake speaks, over a shared :class:`omofake.core.state.FakeState`."""

    @property
    def name(self) -> str:
        """E.g. ``"v1"``; also its folder of schemas (``schemas/v1/``)."""

    @property
    def routes(self) -> tuple[Route, ...]:
        """Every path it answers."""

    @property
    def routes_summary(self) -> str:
        """What the routes are, in a few words, for the violation of a request that hit none."""

    @property
    def messages(self) -> ErrorCatalogue:
        """Its error catalogue."""

    @property
    def state(self) -> FakeState:
        """The core it maps requests onto, shared with the other dialects of the server."""

    @property
    def token_field(self) -> str:
        """The body's field that holds the account token (``"api_token"``): what the journal
        keeps as :attr:`omofake.core.journal.Exchange.token`. The HTTP layer reads it with a
        default, so a dialect without tokens may leave it out."""

    def parse(self, raw: bytes, endpoint: Any) -> tuple[Any, Violation | None]:
        """The JSON body, or what is wrong with one that is not JSON."""

    def answer(self, endpoint: Any, body: Any) -> Answer:
        """Check a parsed request, map it onto the core, and say what to answer."""

    def refuse(self, endpoint: Any, message: str, **extra: Any) -> Answer:
        """An error answer to a request of an endpoint, after that endpoint's latency."""

    def error(self, message: str, *, status: int = 200, **extra: Any) -> Answer:
        """An error answer in the dialect's shape, at once (a body that could not be read)."""

    def render(self, body: dict[str, Any]) -> dict[str, Any]:
        """The body as sent: what the dialect adds to every answer."""
