"""The journal of every request the fake answered, for assertions and for recording to a file."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, overload

from omofake.behaviour import check_bound
from omofake.contract import Violation


def mask_token(token: Any) -> Any:
    """Keep enough of a token to tell two apart in a log, never enough to reuse it."""
    if not isinstance(token, str) or not token:
        return token
    return token[:4] + "***" if len(token) > 8 else "***"


@dataclass(frozen=True)
class Exchange:
    """One request and the answer it got."""

    #: ``"createJob"``, ``"getJobResult"``, or ``None`` for a path the API does not have.
    endpoint: str | None
    method: str
    path: str
    #: The parsed JSON body, or ``None`` when it was not JSON.
    request: Any
    response: dict[str, Any]
    status: int
    time: datetime
    #: How the request broke the documented contract (even where the fake let it pass).
    violations: tuple[Violation, ...] = ()
    #: The job the request created or asked about, when there is one.
    job_id: int | None = None
    #: Its job type, when known: what the getJobResult answer is checked against.
    type_job_id: str | None = None

    def to_record(self) -> dict[str, Any]:
        """The toolkit's exchange format (one JSON Lines object), with the token masked."""
        request = self.request
        if isinstance(request, dict) and "api_token" in request:
            request = {**request, "api_token": mask_token(request["api_token"])}
        record: dict[str, Any] = {
            "endpoint": self.endpoint if self.endpoint is not None else self.path,
            "request": request,
            "response": self.response,
            "status": self.status,
            "time": self.time.isoformat(timespec="milliseconds"),
        }
        if self.type_job_id is not None:
            record["type_job_id"] = self.type_job_id
        return record


Listener = Callable[[Exchange], None]


class Recorder:
    """Appends each exchange to a JSON Lines file, the toolkit's exchange format."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        # Line-buffered so a killed run still leaves every finished exchange on disk.
        self._file: IO[str] | None = self.path.open("a", encoding="utf-8", buffering=1)

    def __call__(self, exchange: Exchange) -> None:
        if self._file is not None:
            self._file.write(json.dumps(exchange.to_record(), ensure_ascii=False) + "\n")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class _Questions(Sequence[Exchange]):
    """The questions tests ask of a run of exchanges, shared by the journal and its snapshots."""

    def for_endpoint(self, endpoint: str) -> list[Exchange]:
        """The exchanges with one endpoint, ``"createJob"`` or ``"getJobResult"``."""
        return [e for e in self if e.endpoint == endpoint]

    @property
    def create_jobs(self) -> list[Exchange]:
        return self.for_endpoint("createJob")

    @property
    def job_results(self) -> list[Exchange]:
        return self.for_endpoint("getJobResult")

    def last(self, endpoint: str | None = None) -> Exchange:
        """The latest exchange (with that endpoint); AssertionError when there is none."""
        matching = list(self) if endpoint is None else self.for_endpoint(endpoint)
        if not matching:
            raise AssertionError(f"omofake received no {endpoint or ''} request".replace("  ", " "))
        return matching[-1]

    def polls(self, job_id: int) -> int:
        """How many getJobResult requests asked about ``job_id``."""
        return sum(1 for e in self.job_results if e.job_id == job_id)

    @property
    def violations(self) -> list[tuple[Exchange, Violation]]:
        """Every contract violation of every request, with the exchange it came in."""
        return [(e, v) for e in self for v in e.violations]


class Exchanges(_Questions):
    """A snapshot of the journal: fixed, whatever the server does next (``server.requests``)."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[Exchange] = ()) -> None:
        self._items = tuple(items)

    @overload
    def __getitem__(self, index: int) -> Exchange: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Exchange]: ...
    def __getitem__(self, index: int | slice) -> Exchange | Sequence[Exchange]:
        return self._items[index] if isinstance(index, int) else list(self._items[index])

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Exchange]:
        return iter(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Exchanges):
            return self._items == other._items
        return isinstance(other, (list, tuple)) and list(self._items) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<{len(self)} exchange(s)>"


def exchange_size(exchange: Exchange, raw_length: int | None = None) -> int:
    """A cheap estimate of the memory an exchange holds: its request body, as it came, dominates.

    The raw body length when the HTTP layer knows it, or the length of the text fields of
    ``data`` (the images, what makes a request big) if larger.
    """
    request = exchange.request
    data = request.get("data") if isinstance(request, dict) else None
    texts = sum(len(v) for v in data.values() if isinstance(v, str)) if isinstance(data, dict) else 0
    # A compressed body is shorter on the wire than in memory: the larger of the two counts.
    return _EXCHANGE_OVERHEAD + max(raw_length or 0, texts)


# What an exchange costs beyond its body: the objects, the answer, the violations.
_EXCHANGE_OVERHEAD = 1024


class Journal(_Questions):
    """Every exchange in order, with helpers for the questions tests ask.

    ``maxlen`` (a count) and ``maxbytes`` (an estimate of the bodies held, see
    :func:`exchange_size`) bound the memory of a long-running server: the oldest exchanges go
    first. ``total`` counts every exchange ever added and is never bounded. Listeners (a
    :class:`Recorder`, the CLI's request log) see each exchange as it is added, before its
    answer is sent.

    ``generation`` changes with each :meth:`clear`: an exchange added with the generation it
    began in is dropped (journaled nowhere, shown to no listener, counted nowhere) when the
    journal was cleared meanwhile, so a request a test abandoned cannot reach the next test.
    """

    def __init__(
        self,
        maxlen: int | None = None,
        listeners: list[Listener] | None = None,
        *,
        maxbytes: int | None = None,
    ) -> None:
        self.maxlen = check_bound("maxlen", maxlen)
        self.maxbytes = check_bound("maxbytes", maxbytes)
        self.listeners: list[Listener] = [] if listeners is None else listeners
        self.generation = 0
        self.total = 0
        self._items: deque[tuple[Exchange, int]] = deque()
        self._bytes = 0
        # Readers take only _lock, held briefly; adding holds _adding while the listeners run
        # too, so that clear() waits for them and no listener sees an exchange from before it.
        self._lock = threading.Lock()
        self._adding = threading.RLock()

    def add(self, exchange: Exchange, *, generation: int | None = None, size: int | None = None) -> bool:
        """Journal an exchange; False (and nothing done) if ``generation`` is no longer current.

        ``size`` is the raw body length when the caller knows it (see :func:`exchange_size`).
        """
        cost = exchange_size(exchange, size)
        with self._adding:
            with self._lock:
                if generation is not None and generation != self.generation:
                    return False
                self.total += 1
                self._items.append((exchange, cost))
                self._bytes += cost
                while self._items and (
                    (self.maxlen is not None and len(self._items) > self.maxlen)
                    or (self.maxbytes is not None and self._bytes > self.maxbytes and len(self._items) > 1)
                ):
                    self._bytes -= self._items.popleft()[1]
            for listener in list(self.listeners):
                listener(exchange)
        return True

    def clear(self) -> None:
        """Forget every exchange and start a new generation (``total`` goes on counting)."""
        with self._adding, self._lock:
            self._items.clear()
            self._bytes = 0
            self.generation += 1

    def snapshot(self) -> Exchanges:
        """The exchanges as they stand now, fixed: a consistent view for tests to read."""
        with self._lock:
            return Exchanges(exchange for exchange, _ in self._items)

    @property
    def size(self) -> int:
        """The estimated bytes of the exchanges held (what ``maxbytes`` bounds)."""
        return self._bytes

    @overload
    def __getitem__(self, index: int) -> Exchange: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Exchange]: ...
    def __getitem__(self, index: int | slice) -> Exchange | Sequence[Exchange]:
        return self.snapshot()[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Exchange]:
        return iter(self.snapshot())

    def __repr__(self) -> str:
        return f"<Journal of {len(self)} exchange(s)>"


def now_utc() -> datetime:
    return datetime.now(timezone.utc)
