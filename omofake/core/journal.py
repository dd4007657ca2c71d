"""The journal of every request the fake answered, for assertions and for recording to a file."""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import sys
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import MISSING, asdict, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, overload

from omofake.contract.validation import Violation
from omofake.core.behaviour import check_bound

#: The most of a text token that logs and records show: enough to tell two tokens apart.
TOKEN_PREFIX = 4
_JSON_TYPES = {dict: "object", list: "list", str: "text", bool: "boolean", type(None): "null"}


def mask_token(token: Any) -> str:
    """A token as logs show it: never more than :data:`TOKEN_PREFIX` characters of it.

    Text longer than 8 characters keeps its first 4 (``"test***"``), shorter text is ``"***"``;
    any other JSON value is a placeholder naming its type (``"<list>***"``, ``"<number>***"``).
    """
    if isinstance(token, str):
        if not token:
            return "<empty>"
        return token[:TOKEN_PREFIX] + "***" if len(token) > 8 else "***"
    return f"<{json_type(token)}>***"


def mask_token_for_record(token: Any) -> Any:
    """A token as the record file keeps it: masked, but of the same JSON type, so that
    ``omofake validate`` still reports a token that is not text (``["***"]`` for a list)."""
    if isinstance(token, str):
        return mask_token(token) if token else token
    if isinstance(token, list):
        return ["***"] if token else []
    if isinstance(token, dict):
        return {"***": "***"} if token else {}
    if isinstance(token, (int, float)) and not isinstance(token, bool):
        return 0
    return token  # true, false, null: nothing to hide


def hide_token(text: str, token: Any) -> str:
    """``text`` (an answer's message, say) with ``token`` written out in it masked: a message
    such as "Field api_token must be text, not the number 987654321012345." echoes it."""
    if isinstance(token, bool) or not isinstance(token, (str, int, float)) or token == "":
        return text
    for spelled in {str(token), json.dumps(token)}:
        if len(spelled) > 3:  # "***" or a shorter number: nothing worth hiding, nothing to break
            text = text.replace(spelled, mask_token(token))
    return text


def json_type(value: Any) -> str:
    """The JSON type of a parsed value: ``object``, ``list``, ``text``, ``number``, ``boolean``, ``null``."""
    return _JSON_TYPES.get(type(value), "number")


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
    #: The token as sent (v1 ``api_token``, v2 ``clientKey``): any JSON value, None if absent.
    token: Any = None
    #: The transport fault the request got (``"reset"``, ``"hang"``, ...), or None. A faulted
    #: exchange's ``status`` is what was sent (0: nothing, the connection was reset) and its
    #: ``response`` the JSON sent, or ``{}`` when what was sent is not a JSON object.
    fault: str | None = None

    def to_record(self) -> dict[str, Any]:
        """The toolkit's exchange format (one JSON Lines object), with the token masked."""
        request, response = self.request, self.response
        if isinstance(request, dict) and "api_token" in request:
            token = request["api_token"]
            request = {**request, "api_token": mask_token_for_record(token)}
            if isinstance(response.get("message"), str):
                response = {**response, "message": hide_token(response["message"], token)}
        record: dict[str, Any] = {
            "endpoint": self.endpoint if self.endpoint is not None else self.path,
            "request": request,
            "response": response,
            "status": self.status,
            "time": self.time.isoformat(timespec="milliseconds"),
        }
        if self.type_job_id is not None:
            record["type_job_id"] = self.type_job_id
        if self.fault is not None:
            # `omofake validate` holds a faulted answer (the fake's doing) against no one.
            record["fault"] = self.fault
            if not self.status:  # a reset: no status was sent
                del record["status"]
        return record

    def to_dict(self) -> dict[str, Any]:
        """Every field, as JSON can carry it, nothing masked: ``time`` in ISO 8601 (to the
        microsecond), each violation as a dict of its fields. :meth:`from_dict` reads it back
        into an equal exchange (what a test talking to a server in another process reads)."""
        out: dict[str, Any] = {}
        for spec in fields(self):
            value = getattr(self, spec.name)
            if spec.name == "time":
                value = value.isoformat()
            elif spec.name == "violations":
                value = [asdict(violation) for violation in value]
            out[spec.name] = value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Exchange:
        """The exchange :meth:`to_dict` made. Keys it does not know are ignored (a newer server
        may send more); a field without a default must be there (KeyError otherwise)."""
        values: dict[str, Any] = {}
        for spec in fields(cls):
            if spec.name not in data:
                if spec.default is MISSING and spec.default_factory is MISSING:
                    raise KeyError(f"an exchange needs {spec.name!r}; found only {', '.join(data)}")
                continue
            value = data[spec.name]
            if spec.name == "time":
                value = datetime.fromisoformat(value)
            elif spec.name == "violations":
                value = tuple(Violation(**violation) for violation in value)
            values[spec.name] = value
        return cls(**values)


Listener = Callable[[Exchange], None]


class Recorder:
    """Appends each exchange to a JSON Lines file, the toolkit's exchange format.

    Every line is strict JSON (see :func:`record_line`), written whole with one call, so a run
    killed mid-write leaves at most its last line cut short. Recording never breaks answering:
    the first write that fails (a full disk, a file size limit) is reported once on standard
    error and recording stops; the server goes on serving. :attr:`error` then says why.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        #: Why recording stopped (an ``OSError``), or None while it goes on.
        self.error: OSError | None = None
        self._lock = threading.Lock()
        # Unbuffered: each line reaches the file in one write, so a killed run keeps every
        # finished exchange, and nothing is left to flush (and fail) at close.
        self._file: IO[bytes] | None = self.path.open("ab", buffering=0)
        try:
            self._start_on_a_new_line()
        except OSError as exc:
            self._stop(exc)

    def _start_on_a_new_line(self) -> None:
        # A run killed mid-write left a line without its newline: end it, so that the next
        # exchange is a line of its own and `omofake validate` reports only the cut one.
        assert self._file is not None
        fd = self._file.fileno()
        if not os.path.isfile(self.path) or os.fstat(fd).st_size == 0:
            return
        with open(self.path, "rb") as existing:
            existing.seek(-1, os.SEEK_END)
            if existing.read(1) != b"\n":
                self._write(b"\n")

    def __call__(self, exchange: Exchange) -> None:
        if self._file is None:
            return
        record = exchange.to_record()
        try:
            line = record_line(record)
        except RecursionError:
            # Nested deeper than json can write back (the server still read it): no body, said why.
            line = record_line({**record, "request": None, "unrecorded": "request nested too deeply"})
        with self._lock:
            if self._file is None:
                return
            try:
                self._write(line)
            except OSError as exc:
                self._stop(exc)

    def _write(self, data: bytes) -> None:
        assert self._file is not None
        start = self._end()
        view = memoryview(data)
        try:
            while view:
                written = self._file.write(view)
                if not written:  # a file that takes nothing would have us spin for ever
                    raise OSError(errno.EIO, "the file took no bytes")
                view = view[written:]
        except OSError:
            if start is not None and len(view) < len(data):
                # Part of the line went out: take it back, so the file holds whole lines only.
                with contextlib.suppress(OSError):
                    os.ftruncate(self._file.fileno(), start)
            raise

    def _end(self) -> int | None:
        assert self._file is not None
        try:
            return os.lseek(self._file.fileno(), 0, os.SEEK_END)
        except OSError:
            return None

    def _stop(self, error: OSError) -> None:
        self.error = error
        self.close()
        reason = error.strerror or str(error)
        print(f"omofake: recording to {self.path} stopped: {reason}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._file is not None:
            file, self._file = self._file, None
            with contextlib.suppress(OSError):
                file.close()


#: Where a number too large for a double (``1e400``, which Python reads as infinity) is put
#: while encoding; replaced by the literal below in the line written.
_OUT_OF_RANGE = f"omofake-out-of-range-{uuid.uuid4().hex}"


def record_line(record: dict[str, Any]) -> bytes:
    """One exchange as a line of strict JSON (UTF-8, newline-terminated): see :func:`strict_json`."""
    return strict_json(record) + b"\n"


def strict_json(value: Any, *, refuse_nan: bool = False) -> bytes:
    """A JSON value as strict JSON text, UTF-8.

    JSON numbers beyond a double's range (``1e400``) parse as infinity, which strict JSON cannot
    spell: they are written as ``1e400`` / ``-1e400``, numbers that are still out of range, so
    reading the text back gives the same value. A NaN (no JSON text parses as one) is written
    as ``null``, or is a ValueError with ``refuse_nan``. Text that UTF-8 cannot carry (a lone
    surrogate, which JSON can spell) is written escaped.
    """
    for ascii_only in (False, True):
        try:
            text = json.dumps(value, ensure_ascii=ascii_only, allow_nan=False)
        except ValueError:
            text = json.dumps(_finite(value, refuse_nan), ensure_ascii=ascii_only, allow_nan=False)
            text = text.replace(f'"{_OUT_OF_RANGE}+"', "1e400").replace(f'"{_OUT_OF_RANGE}-"', "-1e400")
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:
            continue  # escaped, it is all ASCII
    raise AssertionError("unreachable: ASCII always encodes")


def _finite(value: Any, refuse_nan: bool) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        if math.isnan(value):
            if refuse_nan:
                raise ValueError("NaN has no JSON spelling")
            return None
        return f"{_OUT_OF_RANGE}{'+' if value > 0 else '-'}"
    if isinstance(value, dict):
        return {key: _finite(item, refuse_nan) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item, refuse_nan) for item in value]
    return value


class _Questions(Sequence[Exchange]):
    """The questions tests ask of a run of exchanges, shared by the journal and its snapshots."""

    def for_endpoint(self, endpoint: str) -> list[Exchange]:
        """The exchanges with one endpoint: ``"createJob"``, ``"v2/createTask"``, ... A name without
        its dialect (``"createTask"``, ``"getBalance"``) also matches it in every other dialect."""
        return [
            e
            for e in self
            if e.endpoint == endpoint or ("/" not in endpoint and (e.endpoint or "").endswith("/" + endpoint))
        ]

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

    def for_token(self, token: Any) -> Exchanges:
        """The exchanges whose request sent ``token`` (v1 ``api_token``, v2 ``clientKey``)."""
        return Exchanges(e for e in self if e.token == token)

    @property
    def faults(self) -> list[Exchange]:
        """The exchanges that got a transport fault (``configure(fault=...)``)."""
        return [e for e in self if e.fault is not None]

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

    def forget_token(self, token: Any) -> None:
        """Forget the exchanges whose request sent ``token`` (``total`` goes on counting)."""
        with self._adding, self._lock:
            self._items = deque((e, cost) for e, cost in self._items if e.token != token)
            self._bytes = sum(cost for _, cost in self._items)

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
