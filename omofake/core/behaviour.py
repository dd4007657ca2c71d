"""How the fake behaves: the configuration knobs, their layers and the queues of scripts.

A knob can be set globally, for one job type, for one token (the v1 ``api_token`` / v2
``clientKey`` a request sends), for a token and a type, or for the next N jobs (``times=N``).
When a job is created its behaviour is resolved once, nearest layer first: the next scripted
entry that matches its type and token, then the token+type settings, the token's, the type's,
the global ones, then the defaults.

Transport faults (``fault``, ``create_fault``, ``result_fault`` and their ``fault_rate``,
``retry_after``, ``hang_seconds``) use the same layers but are resolved for each request, not
once per job: a fault set after a job was created still hits its polls. Their ``times=N``
scripts count the requests that get the fault. The core only decides which fault a request
gets (:class:`Fault`); :mod:`omofake.http.faults` acts it out on the wire.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Literal, TypedDict, Union, get_args

from omofake.core.catalogue import CATALOGUE

if TYPE_CHECKING:
    from omofake.core.jobs import Job

#: Seconds, or a ``(min, max)`` range drawn from uniformly for each request.
Latency = Union[float, tuple[float, float]]
#: A fixed result, or a function of the job that makes one.
ResultSpec = Union[str, Callable[["Job"], str]]


FaultName = Literal["reset", "empty", "truncated", "bad_gateway", "unavailable", "rate_limited", "hang"]
#: The transport faults, in the order the README lists them. All but "hang" keep the request
#: from the service: no job, no charge, no poll; "hang" sends the real answer, late.
FAULTS: tuple[FaultName, ...] = get_args(FaultName)
#: Which requests a fault knob hits: "create" is createJob/createTask and every request that
#: names no job (as ``create_latency``), "result" is getJobResult/getTaskResult.
Side = Literal["create", "result"]


class Knobs(TypedDict, total=False):
    """The keywords of :meth:`omofake.FakeServer.configure`, the plugin marker and the CLI flags."""

    job_type: int | str | None
    token: str | None
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
    fault: FaultName | None
    create_fault: FaultName | None
    result_fault: FaultName | None
    fault_rate: float | None
    retry_after: int | None
    hang_seconds: float | None


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


@dataclass(frozen=True, slots=True)
class Fault:
    """The transport fault one request gets: its name and the numbers the wire needs."""

    name: FaultName
    retry_after: int = 1
    hang_seconds: float = 10.0


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """The resolved fault knobs of a scope (the defaults: no fault)."""

    create_fault: FaultName | None = None
    result_fault: FaultName | None = None
    fault_rate: float = 1.0
    retry_after: int = 1
    hang_seconds: float = 10.0

    def fault(self, side: Side) -> Fault | None:
        name = self.create_fault if side == "create" else self.result_fault
        return None if name is None else Fault(name, self.retry_after, self.hang_seconds)


JOB_KNOBS = frozenset(f.name for f in fields(Behaviour))
FAULT_KNOBS = frozenset(f.name for f in fields(FaultPlan))
#: Knobs of the whole server; the money and timing ones are read by the service.
ACCOUNT_KNOBS = frozenset({"balance", "prices", "balance_error", "timing", "speed"})
SERVER_KNOBS = frozenset({"tokens", "seed", "strict"}) | ACCOUNT_KNOBS
SCOPE_KNOBS = frozenset({"job_type", "times", "token"})
# Shorthands that set a pair of knobs, or another knob in other words.
_ALIASES = {
    "latency": ("create_latency", "result_latency"),
    "error": ("create_error", "result_error"),
    "fault": ("create_fault", "result_fault"),
}
ALL_KNOBS = JOB_KNOBS | FAULT_KNOBS | SERVER_KNOBS | SCOPE_KNOBS | set(_ALIASES) | {"outcome"}


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


def _check_fault(name: str, value: Any) -> str:
    if value not in FAULTS:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, FAULTS))}, not {value!r}")
    return value  # type: ignore[no-any-return]


def _check_seconds(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a whole number of seconds, 0 or more, not {value!r}")
    return value


def check_token(value: Any) -> str:
    """A ``token=`` scope: the api token (v1 ``api_token``, v2 ``clientKey``) as text."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"token must be an api token (non-empty text), such as 'ci-test-17', not {value!r}")
    return value


_CHECKS: Mapping[str, Callable[[str, Any], Any]] = {
    "running_polls": _check_polls,
    "solve_after": _check_number,
    "fail_rate": lambda name, value: _check_number(name, value, high=1),
    "result": _check_result,
    "create_latency": _check_latency,
    "result_latency": _check_latency,
    "create_error": _check_text,
    "result_error": _check_text,
    "create_fault": _check_fault,
    "result_fault": _check_fault,
    "fault_rate": lambda name, value: _check_number(name, value, high=1),
    "retry_after": _check_seconds,
    "hang_seconds": _check_number,
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
    out.update({k: v for k, v in knobs.items() if k in JOB_KNOBS or k in FAULT_KNOBS})
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
    token: str | None
    remaining: int

    def matches(self, type_job_id: str | None, token: str | None) -> bool:
        return self.job_type in (None, type_job_id) and self.token in (None, token)

    def use(self, queue: deque[_Script]) -> None:
        self.remaining -= 1
        if self.remaining == 0:
            queue.remove(self)


#: A scope's resolved behaviour and faults, shared by every job and request that get them.
_Resolved = tuple[Behaviour, FaultPlan]
#: Where a knob was set: the type and the token it is scoped to (None: any).
_Scope = tuple[Union[str, None], Union[str, None]]


_LATENCY_KNOBS = ("create_latency", "result_latency")


@dataclass
class BehaviourTable:
    """The layers of configuration. Safe to change from a test thread while the server runs.

    ``layers`` holds the settings by scope, ``(job_type, token)``: ``(None, None)`` the global
    ones, ``("23", None)`` a type's, ``(None, "t")`` a token's, ``("23", "t")`` both.
    """

    layers: dict[_Scope, dict[str, Any]] = field(default_factory=dict)
    scripts: deque[_Script] = field(default_factory=deque)
    #: ``times=N`` scripts of fault knobs: they count faulted requests, not jobs.
    fault_scripts: deque[_Script] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # Resolved behaviours by scope, shared by every job that gets the same one, so a million
    # jobs do not hold a million copies. A token is part of the key only when some layer names
    # it: a server asked by thousands of tokens keeps one entry per type, not per token.
    _resolved: dict[_Scope, _Resolved] = field(default_factory=dict, repr=False)
    _scoped_tokens: frozenset[str] = field(default=frozenset(), repr=False)
    #: Whether any layer or script sets a fault: read without the lock, so that a server
    #: configured with none pays nothing per request for the feature.
    has_faults: bool = field(default=False, repr=False)
    #: Whether any layer or script sets a latency (read likewise, by omofake.http.connections).
    has_latency: bool = field(default=False, repr=False)

    def set(
        self,
        knobs: Mapping[str, Any],
        *,
        job_type: int | str | None = None,
        times: int | None = None,
        token: str | None = None,
    ) -> None:
        checked = job_knobs(knobs)
        key = None if job_type is None else job_type_key(job_type)
        token = None if token is None else check_token(token)
        with self._lock:
            if times is not None:
                if isinstance(times, bool) or not isinstance(times, int) or times < 1:
                    raise ValueError(f"times must be a whole number, 1 or more, not {times!r}")
                kept = {k: v for k, v in checked.items() if v is not None}
                faults, jobs = sorted(kept.keys() & FAULT_KNOBS), sorted(kept.keys() & JOB_KNOBS)
                if faults and jobs:
                    raise ValueError(
                        f"times= counts jobs for {', '.join(jobs)} but faulted requests for "
                        f"{', '.join(faults)}: configure them in separate calls"
                    )
                if faults and not kept.keys() & {"create_fault", "result_fault"}:
                    raise ValueError(
                        f"times= with {', '.join(faults)} counts faulted requests: name the fault too "
                        "(fault, create_fault or result_fault)"
                    )
                (self.fault_scripts if faults else self.scripts).append(_Script(kept, key, token, times))
                self._update_flags()
                return
            self._resolved.clear()
            layer = self.layers.setdefault((key, token), {})
            layer.update(checked)
            for name in [k for k, v in layer.items() if v is None]:
                del layer[name]
            if not layer:
                del self.layers[(key, token)]
            self._update_flags()

    def _update_flags(self) -> None:
        # Called with the lock held, after any change of layers or scripts.
        self._scoped_tokens = frozenset(token for _, token in self.layers if token is not None)
        self.has_faults = bool(self.fault_scripts) or any(
            knobs.keys() & FAULT_KNOBS for knobs in self.layers.values()
        )
        every = [*self.layers.values(), *(script.knobs for script in self.scripts)]
        self.has_latency = any(knobs.get(name) for knobs in every for name in _LATENCY_KNOBS)

    def clear(self, token: str | None = None) -> None:
        """Forget every setting and script; with a token, only those scoped to it."""
        with self._lock:
            if token is None:
                self.layers.clear()
                self.scripts.clear()
                self.fault_scripts.clear()
            else:
                for scope in [s for s in self.layers if s[1] == token]:
                    del self.layers[scope]
                self.scripts = deque(s for s in self.scripts if s.token != token)
                self.fault_scripts = deque(s for s in self.fault_scripts if s.token != token)
            self._resolved.clear()
            self._update_flags()

    def for_new_job(self, type_job_id: str, token: str | None = None) -> Behaviour:
        """The behaviour of a job about to be created; consumes its scripted entry, if any."""
        with self._lock:
            script = next((s for s in self.scripts if s.matches(type_job_id, token)), None)
            if script is None:
                return self._layered(type_job_id, token)[0]
            knobs = {**self._merged(type_job_id, token), **script.knobs}
            script.use(self.scripts)
        return _behaviour(knobs)

    def for_unknown_job(self, token: str | None = None) -> Behaviour:
        """For requests that name no known job: the global layer, and the token's."""
        with self._lock:
            return self._layered(None, token)[0]

    def fault_for(
        self, side: Side, type_job_id: str | None, token: str | None, chance: Callable[[float], bool]
    ) -> Fault | None:
        """The fault a request gets, if any; consumes a scripted one it gets. ``chance(rate)``
        draws whether a request with that ``fault_rate`` gets it (from the seeded source)."""
        with self._lock:
            name = f"{side}_fault"
            for script in self.fault_scripts:
                # A script counts the requests of the side it names a fault for, and only those.
                if name not in script.knobs or not script.matches(type_job_id, token):
                    continue
                plan = _fault_plan({**self._merged(type_job_id, token), **script.knobs})
                fault = plan.fault(side)
                assert fault is not None
                # The nearest script decides; one that draws no fault is not used up.
                if not chance(plan.fault_rate):
                    return None
                script.use(self.fault_scripts)
                self._update_flags()
                return fault
            plan = self._layered(type_job_id, token)[1]
            fault = plan.fault(side)
            return fault if fault is not None and chance(plan.fault_rate) else None

    def _merged(self, type_job_id: str | None, token: str | None) -> dict[str, Any]:
        # Called with the lock held: the layers of a scope, farthest first.
        layers = self.layers
        knobs = dict(layers.get((None, None), {}))
        if type_job_id is not None:
            knobs.update(layers.get((type_job_id, None), {}))
        if token is not None:
            knobs.update(layers.get((None, token), {}))
            if type_job_id is not None:
                knobs.update(layers.get((type_job_id, token), {}))
        return knobs

    def _layered(self, type_job_id: str | None, token: str | None) -> _Resolved:
        # Called with the lock held.
        scope = (type_job_id, token if token in self._scoped_tokens else None)
        resolved = self._resolved.get(scope)
        if resolved is None:
            knobs = self._merged(*scope)
            resolved = (_behaviour(knobs), _fault_plan(knobs))
            self._resolved[scope] = resolved
        return resolved


def _behaviour(knobs: Mapping[str, Any]) -> Behaviour:
    own = {k: v for k, v in knobs.items() if k in JOB_KNOBS}
    return replace(_DEFAULT, **own) if own else _DEFAULT


def _fault_plan(knobs: Mapping[str, Any]) -> FaultPlan:
    own = {k: v for k, v in knobs.items() if k in FAULT_KNOBS}
    return replace(_NO_FAULT, **own) if own else _NO_FAULT


_DEFAULT = Behaviour()
_NO_FAULT = FaultPlan()
