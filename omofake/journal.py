"""The journal of every request the fake answered, for assertions and for recording to a file."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, overload

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


@dataclass
class Journal(Sequence[Exchange]):
    """Every exchange in order, with helpers for the questions tests ask.

    ``maxlen`` bounds the memory of a long-running server. Listeners (a :class:`Recorder`, the
    CLI's request log) see each exchange as it is added, before its answer is sent.
    """

    maxlen: int | None = None
    listeners: list[Listener] = field(default_factory=list)
    _items: deque[Exchange] = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self._items = deque(maxlen=self.maxlen)

    def add(self, exchange: Exchange) -> None:
        with self._lock:
            self._items.append(exchange)
        for listener in self.listeners:
            listener(exchange)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    @overload
    def __getitem__(self, index: int) -> Exchange: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Exchange]: ...
    def __getitem__(self, index: int | slice) -> Exchange | Sequence[Exchange]:
        with self._lock:
            return self._items[index] if isinstance(index, int) else list(self._items)[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Exchange]:
        with self._lock:
            return iter(list(self._items))

    def __repr__(self) -> str:
        return f"<Journal of {len(self)} exchange(s)>"

    # Questions tests ask.

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


def now_utc() -> datetime:
    return datetime.now(timezone.utc)
