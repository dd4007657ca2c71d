"""How the fake behaves: the configuration knobs, their layers and the queue of scripted jobs.

A knob can be set globally, for one job type, or for the next N jobs (``times=N``). When a job
is created its behaviour is resolved once, nearest layer first: the next scripted entry that
matches its type, then its type's settings, then the global ones, then the defaults.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Literal, TypedDict, Union

from omofake.core.catalogue import CATALOGUE

if TYPE_CHECKING:
    from omofake.core.jobs import Job

#: Seconds, or a ``(min, max)`` range drawn from uniformly for each request.
Latency = Union[float, tuple[float, float]]
#: A fixed result, or a function of the job that makes one.
ResultSpec = Union[str, Callable[["Job"], str]]


class Knobs(TypedDict, total=False):
    """The keywords of :meth:`omofake.FakeServer.configure`, the plugin marker and the CLI flags."""

    job_type: int | str | None
    times: int | None
    running_polls: int | None
    solve_after: float | None
    outcome: Literal["success", "fail"] | None
    fail_rate: float | None
    result: ResultSpec | None
    latency: Latency | None
    create_latency: Latency | None
    result_latency: Latency | None
    error: str | None
    create_error: str | None
    result_error: str | None
    tokens: Collection[str] | None
    seed: int | None
    strict: bool | None
    balance: Any
    prices: Mapping[str | int, Any] | None
    balance_error: str | None
    timing: Literal["instant", "realistic"] | None
    speed: float | None


class UserCodeError(Exception):
    """Code the test supplied (a ``result=`` function) failed or returned something unusable.

    The server answers the request with this message (an API-shaped 500 that names the
    function) and keeps it in :attr:`omofake.FakeServer.errors`, which the pytest plugin
    turns into a test failure.
    """

    def __init__(self, message: str, *, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.cause = cause


@dataclass(frozen=True, slots=True)
class Behaviour:
    """The resolved behaviour of one job (or of a request whose job is unknown)."""

    running_polls: int = 0
    solve_after: float = 0.0
    fail_rate: float = 0.0
    result: ResultSpec | None = None
    create_latency: Latency = 0.0
    result_latency: Latency = 0.0
    create_error: str | None = None
    result_error: str | None = None


JOB_KNOBS = frozenset(f.name for f in fields(Behaviour))
#: Knobs of the whole server; the money and timing ones are read by the service.
ACCOUNT_KNOBS = frozenset({"balance", "prices", "balance_error", "timing", "speed"})
SERVER_KNOBS = frozenset({"tokens", "seed", "strict"}) | ACCOUNT_KNOBS
SCOPE_KNOBS = frozenset({"job_type", "times"})
# Shorthands that set a pair of knobs, or another knob in other words.
_ALIASES = {"latency": ("create_latency", "result_latency"), "error": ("create_error", "result_error")}
ALL_KNOBS = JOB_KNOBS | SERVER_KNOBS | SCOPE_KNOBS | set(_ALIASES) | {"outcome"}


def _check_latency(name: str, value: Any) -> Latency:
    if isinstance(value, (list, tuple)) and len(value) == 2:
        low, high = (_check_number(name, v) for v in value)
        if low > high:
            raise ValueError(f"{name}: the range ({low}, {high}) has its minimum above its maximum")
        return (low, high)
    return _check_number(name, value)


def _check_number(name: str, value: Any, *, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= high:
        bound = "between 0 and 1" if high == 1 else "a number of seconds, 0 or more"
        raise ValueError(f"{name} must be {bound}, not {value!r}")
    return float(value)


def _check_polls(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a whole number, 0 or more, not {value!r}")
    return value


def check_bound(name: str, value: Any) -> int | None:
    """A memory bound: a whole number, 1 or more, or None for no bound."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"{name} must be a whole number, 1 or more, or None (no bound), not {value!r}")
    return value


def _check_text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(
            f"{name} must be a non-empty message, such as 'Balance is not enough.', not {value!r}"
        )
    return value


def _check_result(name: str, value: Any) -> ResultSpec:
    if not (isinstance(value, str) or callable(value)):
        raise ValueError(f"{name} must be text or a function of the job, not {value!r}")
    return value  # type: ignore[no-any-return]


_CHECKS: Mapping[str, Callable[[str, Any], Any]] = {
    "running_polls": _check_polls,
    "solve_after": _check_number,
    "fail_rate": lambda name, value: _check_number(name, value, high=1),
    "result": _check_result,
    "create_latency": _check_latency,
    "result_latency": _check_latency,
    "create_error": _check_text,
    "result_error": _check_text,
}


def check_timing(timing: Any, speed: Any) -> tuple[str, float]:
    """The timing profile: ``"instant"`` (the default) or ``"realistic"``, each job type taking its
    listed average time divided by ``speed``."""
    timing = "instant" if timing is None else timing
    if timing not in ("instant", "realistic"):
        raise ValueError(f"timing must be 'instant' or 'realistic', not {timing!r}")
    speed = 1.0 if speed is None else speed
    if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not 0 < speed < math.inf:
        raise ValueError(f"speed must be a number above 0, such as 100 (100 times faster), not {speed!r}")
    return timing, float(speed)


def job_knobs(knobs: Mapping[str, Any]) -> dict[str, Any]:
    """Expand aliases and check values; ``None`` is kept, meaning "back to the layer below"."""
    if unknown := sorted(set(knobs) - ALL_KNOBS):
        raise TypeError(
            f"unknown omofake setting(s) {', '.join(unknown)}; known: {', '.join(sorted(ALL_KNOBS))}"
        )
    out: dict[str, Any] = {}
    if "outcome" in knobs and knobs["outcome"] is not None:
        if knobs.get("fail_rate") is not None:
            raise ValueError("give outcome or fail_rate, not both: outcome='fail' is fail_rate=1")
        if knobs["outcome"] not in ("success", "fail"):
            raise ValueError(f"outcome must be 'success' or 'fail', not {knobs['outcome']!r}")
        out["fail_rate"] = 1.0 if knobs["outcome"] == "fail" else 0.0
    elif "outcome" in knobs:
        out["fail_rate"] = None
    for alias, targets in _ALIASES.items():
        if alias in knobs:
            out.update(dict.fromkeys(targets, knobs[alias]))
    out.update({k: v for k, v in knobs.items() if k in JOB_KNOBS})
    return {k: v if v is None else _CHECKS[k](k, v) for k, v in out.items()}


#: Other names of job types, registered by dialects: name -> the core's key for the captcha.
#: The key is the v1 type id where the captcha has one ("23"), so that ``job_type=23`` and
#: another dialect's name for the same captcha (a v2 task class) scope the same knobs.
_JOB_TYPE_NAMES: dict[str, str] = {}


def register_job_type(name: str, key: str | None = None) -> None:
    """Let ``job_type=name`` scope knobs: as the captcha ``key`` (a v1 id), or as its own key."""
    _JOB_TYPE_NAMES[name] = name if key is None else key


def job_type_key(job_type: int | str) -> str:
    """The core's key for a job type named by any dialect (``23``, ``"23"``, a registered name)."""
    key = str(job_type)
    if isinstance(job_type, bool) or (key not in CATALOGUE and key not in _JOB_TYPE_NAMES):
        known = ", ".join([*CATALOGUE, *(n for n in _JOB_TYPE_NAMES if n not in CATALOGUE)])
        raise ValueError(f"job_type must be one of {known}, not {job_type!r}")
    return _JOB_TYPE_NAMES.get(key, key)


@dataclass
class _Script:
    knobs: dict[str, Any]
    job_type: str | None
    remaining: int


@dataclass
class BehaviourTable:
    """The layers of configuration. Safe to change from a test thread while the server runs."""

    global_knobs: dict[str, Any] = field(default_factory=dict)
    per_type: dict[str, dict[str, Any]] = field(default_factory=dict)
    scripts: deque[_Script] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # Resolved behaviours by job type (None: requests naming no job), shared by every job
    # that gets the same one, so a million jobs do not hold a million copies.
    _resolved: dict[str | None, Behaviour] = field(default_factory=dict, repr=False)

    def set(
        self, knobs: Mapping[str, Any], *, job_type: int | str | None = None, times: int | None = None
    ) -> None:
        checked = job_knobs(knobs)
        key = None if job_type is None else job_type_key(job_type)
        with self._lock:
            if times is not None:
                if isinstance(times, bool) or not isinstance(times, int) or times < 1:
                    raise ValueError(f"times must be a whole number, 1 or more, not {times!r}")
                self.scripts.append(_Script({k: v for k, v in checked.items() if v is not None}, key, times))
                return
            self._resolved.clear()
            layer = self.global_knobs if key is None else self.per_type.setdefault(key, {})
            layer.update(checked)
            for name in [k for k, v in layer.items() if v is None]:
                del layer[name]

    def clear(self) -> None:
        with self._lock:
            self.global_knobs.clear()
            self.per_type.clear()
            self.scripts.clear()
            self._resolved.clear()

    def for_new_job(self, type_job_id: str) -> Behaviour:
        """The behaviour of a job about to be created; consumes its scripted entry, if any."""
        with self._lock:
            script = next((s for s in self.scripts if s.job_type in (None, type_job_id)), None)
            if script is None:
                return self._layered(type_job_id)
            knobs = {**self.global_knobs, **self.per_type.get(type_job_id, {}), **script.knobs}
            script.remaining -= 1
            if script.remaining == 0:
                self.scripts.remove(script)
        return replace(_DEFAULT, **knobs) if knobs else _DEFAULT

    def for_unknown_job(self) -> Behaviour:
        """For requests that name no known job: the global layer only."""
        with self._lock:
            return self._layered(None)

    def _layered(self, type_job_id: str | None) -> Behaviour:
        # Called with the lock held.
        behaviour = self._resolved.get(type_job_id)
        if behaviour is None:
            per_type = {} if type_job_id is None else self.per_type.get(type_job_id, {})
            knobs = {**self.global_knobs, **per_type}
            behaviour = replace(_DEFAULT, **knobs) if knobs else _DEFAULT
            self._resolved[type_job_id] = behaviour
        return behaviour


_DEFAULT = Behaviour()
