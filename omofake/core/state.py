"""The one job core's state, shared by every dialect: settings, knobs, jobs, balances.

Nothing here knows a dialect's field names or messages; :mod:`omofake.dialects` maps requests
onto it and renders what it decides.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable, Mapping, Sequence
from contextvars import ContextVar
from typing import Any

from omofake.core.accounts import Accounts
from omofake.core.behaviour import (
    ACCOUNT_KNOBS,
    SERVER_KNOBS,
    BehaviourTable,
    Fault,
    Side,
    UserCodeError,
    check_timing,
    check_token,
)
from omofake.core.clock import Clock
from omofake.core.jobs import JobStore

#: The generation of the state a request began in. The HTTP layer sets it for the
#: request's task when the request arrives, so that one still in flight at a reset() is
#: refused rather than let into the state of the test that follows. Unset: no check.
REQUEST_GENERATION: ContextVar[int | None] = ContextVar("omofake_request_generation", default=None)

#: Set (True) by the HTTP layer for a request it answers without acting out transport faults (see
#: omofake.http.direct): it gets none, as if it had arrived before a fault configured meanwhile.
NO_FAULTS: ContextVar[bool] = ContextVar("omofake_no_faults", default=False)

#: How many failures of user code the state keeps (a test sees the first ones; the rest repeat).
MAX_USER_ERRORS = 100


class FakeState:
    """The state every dialect shares: settings, knobs, jobs, balances, the errors of user code.

    A dialect (:mod:`omofake.dialects`) checks a request and renders the answer; what it
    decides with (which behaviour, whether to charge, which job) lives here, once for all.
    """

    def __init__(
        self,
        *,
        seed: int | None = None,
        strict: bool = False,
        tokens: Collection[str] | None = None,
        clock: Clock | None = None,
        max_jobs: int | None = None,
        scenario: Iterable[Mapping[str, Any]] | None = None,
        **knobs: Any,
    ) -> None:
        self._base = {"seed": seed, "strict": strict, "tokens": tokens, **knobs}
        #: Configure calls applied, in order, after the keyword settings: with them, the
        #: baseline that :meth:`reset` returns to (``times`` scripts armed again).
        self.scenario: tuple[dict[str, Any], ...] = check_scenario(scenario or (), "scenario")
        self.behaviours = BehaviourTable()
        self.store = JobStore(seed, clock, max_jobs=max_jobs)
        self.strict = strict
        self.tokens: frozenset[str] | None = None
        #: What user-supplied code (``result=`` functions) got wrong, oldest first.
        self.user_errors: list[UserCodeError] = []
        #: Held while a reset runs and while a request checks its generation and takes its
        #: scripted behaviour, so a request from before a reset cannot use up the next test's
        #: ``times=N`` scripts. Never held while user code runs.
        self.lock = threading.Lock()
        self.accounts = Accounts()
        #: The message for a refused charge; ``None``: the dialect's own.
        self.balance_error: str | None = None
        self.timing, self.speed = check_timing(None, None)
        self.reset()

    @property
    def generation(self) -> int:
        """Changes with every :meth:`reset`."""
        return self.store.generation

    # Settings

    def configure(self, **knobs: Any) -> None:
        """Change behaviour; see :class:`omofake.core.behaviour.Knobs` for the keywords."""
        job_type, times = knobs.pop("job_type", None), knobs.pop("times", None)
        token = knobs.pop("token", None)
        server = {k: knobs.pop(k) for k in list(knobs) if k in SERVER_KNOBS}
        if server and (job_type is not None or times is not None):
            raise ValueError(f"{', '.join(server)} apply to the whole server, not to a job_type or times")
        if server and token is not None:
            if others := [k for k in server if k != "balance"]:
                raise ValueError(
                    f"{', '.join(others)} apply to the whole server, not to a token "
                    "(of the server settings only balance takes token=)"
                )
            token = check_token(token)
        self.behaviours.set(knobs, job_type=job_type, times=times, token=token)
        if token is not None and "balance" in server:
            self.accounts.set_balance_of(token, server.pop("balance"))
        if "strict" in server:
            self.strict = bool(server["strict"])
        if "tokens" in server:
            self.tokens = _check_tokens(server["tokens"])
        if "seed" in server:
            self.store.reseed(server["seed"])
        self._configure_accounts(server)

    def _configure_accounts(self, server: Mapping[str, Any]) -> None:
        if "balance" in server:
            self.accounts.set_balance(server["balance"])
        if "prices" in server:
            self.accounts.set_prices(server["prices"])
        if "balance_error" in server:
            error = server["balance_error"]
            if error is not None and (not isinstance(error, str) or not error):
                raise ValueError(f"balance_error must be a non-empty message, not {error!r}")
            self.balance_error = error or None
        if "timing" in server or "speed" in server:
            self.timing, self.speed = check_timing(
                server.get("timing", self.timing), server.get("speed", self.speed)
            )

    def fault_for(self, side: Side, type_job_id: str | None, token: str | None) -> Fault | None:
        """The transport fault a request gets, if any (see :mod:`omofake.core.behaviour`)."""
        if not self.behaviours.has_faults or NO_FAULTS.get():
            return None
        generation = REQUEST_GENERATION.get()
        with self.lock:
            # A request from before a reset must not use up the next test's times=N faults.
            if generation is not None and generation != self.generation:
                return None
            return self.behaviours.fault_for(side, type_job_id, token, self.store.chance)

    def reset(self, token: str | None = None) -> None:
        """Forget jobs, configuration and user errors: back to the settings the service was
        made with. Requests that began before are stale from now on.

        With a token: forget only that token's scoped settings and scripts, its jobs, and its
        balance (spent money and a ``token=`` balance); nothing else changes, and requests of
        other tokens in flight are not stale. The scenario's calls scoped to that token are
        applied again: its part of the baseline."""
        if token is not None:
            token = check_token(token)
            with self.lock:
                self.behaviours.clear(token)
                self.store.forget_token(token)
                self.accounts.forget(token)
                for entry in self.scenario:
                    if entry.get("token") == token:
                        self.configure(**entry)
            return
        with self.lock:
            self.store.reset(self._base["seed"])
            self.behaviours.clear()
            self.user_errors = []
            self.strict, self.tokens = False, None
            self.accounts.reset()
            server = {k: self._base.get(k) for k in ("strict", "tokens", *sorted(ACCOUNT_KNOBS))}
            job = {k: v for k, v in self._base.items() if k not in SERVER_KNOBS}
            self.configure(**server)
            self.configure(**job)
            for index, entry in enumerate(self.scenario):
                try:
                    self.configure(**entry)
                except (TypeError, ValueError) as exc:  # on the first reset, the constructor's
                    raise type(exc)(f"scenario[{index}]: {exc}") from exc

    def configure_all(self, calls: Sequence[Mapping[str, Any]]) -> None:
        """Several :meth:`configure` calls, all or none: each is tried on a scratch state first,
        and the first that fails raises :class:`ConfigureError` (the index and the exception)
        with nothing changed here."""
        checked = check_scenario(calls, "configure")
        scratch = FakeState()
        for index, call in enumerate(checked):
            try:
                scratch.configure(**call)
            except (TypeError, ValueError) as exc:
                raise ConfigureError(index, exc) from exc
        for call in checked:
            self.configure(**call)

    def accepts(self, token: str) -> bool:
        return bool(token) if self.tokens is None else token in self.tokens

    def report(self, error: UserCodeError, generation: int | None) -> None:
        """Keep a failure of user code, unless the request is from before a reset."""
        with self.lock:
            if (generation is None or generation == self.generation) and len(
                self.user_errors
            ) < MAX_USER_ERRORS:
                self.user_errors.append(error)


class ConfigureError(Exception):
    """One call of :meth:`FakeState.configure_all` failed: ``index`` is its place in the list,
    ``error`` the TypeError or ValueError that :meth:`FakeState.configure` raised for it."""

    def __init__(self, index: int, error: TypeError | ValueError) -> None:
        super().__init__(f"[{index}]: {error}")
        self.index = index
        self.error = error


def check_scenario(calls: Iterable[Any], name: str) -> tuple[dict[str, Any], ...]:
    """Configure calls as dicts of settings; a TypeError naming ``name[index]`` for one that
    is not a mapping of names (the settings themselves are checked by applying them)."""
    if isinstance(calls, (str, bytes, Mapping)):
        raise TypeError(f"{name} must be a list of configure calls (dicts of settings), not {calls!r}")
    checked = []
    for index, call in enumerate(calls):
        if not isinstance(call, Mapping) or not all(isinstance(key, str) for key in call):
            raise TypeError(
                f"{name}[{index}] must be a dict of configure settings, such as "
                f"{{'outcome': 'fail', 'times': 1}}, not {call!r}"
            )
        checked.append(dict(call))
    return tuple(checked)


def _check_tokens(tokens: Any) -> frozenset[str] | None:
    if tokens is None:
        return None
    if isinstance(tokens, str) or not all(isinstance(t, str) and t for t in tokens):
        raise ValueError(
            f"tokens must be a collection of non-empty strings, such as ['test-token'], not {tokens!r}"
        )
    return frozenset(tokens)
