"""``FakeServer``: the fake API on a real loopback port, in a thread or on the running loop."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from aiohttp import web, web_app

from omofake.contract.registry import ENDPOINTS
from omofake.contract.validation import ContractError, validate_response
from omofake.core.behaviour import UserCodeError
from omofake.core.clock import Clock
from omofake.core.jobs import Job
from omofake.core.journal import Exchange, Exchanges, Journal, Recorder
from omofake.core.scenario import Scenario, load_scenario
from omofake.dialects.v1.service import FakeService
from omofake.dialects.v2.checks import ENDPOINTS as V2_ENDPOINTS
from omofake.dialects.v2.checks import response_violations
from omofake.dialects.v2.service import V2Service
from omofake.http.app import create_app
from omofake.http.connections import FakeAppRunner
from omofake.http.control import ControlAPI

if TYPE_CHECKING:
    from typing_extensions import Self, Unpack

    from omofake.core.behaviour import Knobs

#: Set (to anything but "0") to have every server check each answer it sends against the
#: response schemas and answer 500 instead of a non-conforming body. omofake's own test suite
#: runs with it on.
SELF_CHECK_ENV = "OMOFAKE_SELF_CHECK"


class FakeServer:
    """A fake OMOcaptcha API server bound to a loopback port.

    ``with FakeServer() as server:`` runs it in a background thread (for sync code);
    ``async with FakeServer() as server:`` runs it on the current event loop. Keyword arguments
    beyond the server's own are behaviour settings, as for :meth:`configure`, and are what
    :meth:`reset` returns to.

    ``max_jobs`` bounds the job store (the job that finished longest ago goes first), and
    ``journal_size`` / ``journal_bytes`` bound the journal (the oldest exchange goes first); all
    three are unbounded by default, as a test wants to see everything. A stopped server can be
    started again, with its jobs and journal; once stopped and dropped, nothing of it stays
    in memory.

    ``scenario`` (a list of dicts of configure settings, a scenario file's path, or a
    :class:`~omofake.core.scenario.Scenario`) is applied after the keyword settings, and is part
    of what :meth:`reset` returns to. ``control`` serves the control API under ``/_omofake/``
    (:mod:`omofake.http.control`), which then needs the header ``X-Omofake-Control-Token`` on
    every call if ``control_token`` is given. ``direct=False`` routes every request through
    aiohttp's web layer rather than answering the common one directly (:mod:`omofake.http.direct`):
    the same answers, slower; for telling the two apart when something looks wrong.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        seed: int | None = None,
        strict: bool = False,
        tokens: Collection[str] | None = None,
        clock: Clock | None = None,
        max_body: int | None = None,
        idle_timeout: float | None = None,
        header_timeout: float | None = None,
        record: str | os.PathLike[str] | None = None,
        journal_size: int | None = None,
        journal_bytes: int | None = None,
        max_jobs: int | None = None,
        self_check: bool | None = None,
        control: bool = True,
        control_token: str | None = None,
        direct: bool = True,
        scenario: Scenario | str | os.PathLike[str] | Iterable[Mapping[str, Any]] | None = None,
        **knobs: Any,
    ) -> None:
        self.host = host
        self.port = port
        if isinstance(scenario, (str, os.PathLike)):
            scenario = load_scenario(scenario)
        if isinstance(scenario, Scenario):
            scenario = scenario.configure
        self.service = FakeService(
            seed=seed,
            strict=strict,
            tokens=tokens,
            clock=clock,
            max_jobs=max_jobs,
            scenario=scenario,
            **knobs,
        )
        #: The v2 dialect, on the same state: v1 and v2 jobs live side by side.
        self.v2 = V2Service(state=self.service.state)
        self.journal = Journal(maxlen=journal_size, maxbytes=journal_bytes)
        self._record = Path(record) if record is not None else None
        self._recorder: Recorder | None = None
        if self_check is None:
            self_check = os.environ.get(SELF_CHECK_ENV, "0") not in ("", "0")
        if self_check:
            self.journal.listeners.append(_check_answer)
        # Limits are checked here, by making an application once: max_body must be a positive
        # number of bytes (no "0 = unlimited"). Each start makes its own (see _open).
        self._limits: dict[str, Any] = {
            "max_body": max_body,
            "idle_timeout": idle_timeout,
            "header_timeout": header_timeout,
        }
        self._direct = direct
        create_app([self.service, self.v2], self.journal, **self._limits)
        #: The control API under ``/_omofake/`` (None: ``control=False``).
        self.control = ControlAPI(self, control_token) if control else None
        if not control and control_token is not None:
            raise ValueError("control_token goes with the control API: not with control=False")
        #: The aiohttp application while the server runs (a new one at each start).
        self.app: web.Application | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # Where it is

    @property
    def url(self) -> str:
        """The base URL, ``http://127.0.0.1:PORT``; the endpoints are under ``url + "/api/"``."""
        if self._runner is None:
            raise RuntimeError("the FakeServer is not running: use `with FakeServer() as server:` or start()")
        host = f"[{self.host}]" if ":" in self.host and not self.host.startswith("[") else self.host  # IPv6
        return f"http://{host}:{self.port}"

    @property
    def api_url(self) -> str:
        """The API base URL, ``http://127.0.0.1:PORT/api``, for clients that take one."""
        return f"{self.url}/api"

    @property
    def v2_url(self) -> str:
        """The v2 API base URL, ``http://127.0.0.1:PORT/v2`` (``OmoClient(..., dialect="v2")``)."""
        return f"{self.url}/v2"

    @property
    def running(self) -> bool:
        return self._runner is not None

    # What it knows

    @property
    def jobs(self) -> Mapping[int, Job]:
        """Every job by id: a snapshot taken as you read it (read it again for later jobs)."""
        return self.service.store.snapshot()

    @property
    def requests(self) -> Exchanges:
        """Every request with its parsed body, the answer sent and any contract violations: a
        snapshot of the journal taken as you read it (read it again for later requests)."""
        return self.journal.snapshot()

    @property
    def errors(self) -> list[UserCodeError]:
        """What code the test gave the server (``result=`` functions) got wrong since the last
        :meth:`reset`. The request it happened in was answered with the same message, as a
        500 in the API's error shape; the pytest plugin fails the test with them."""
        return list(self.service.user_errors)

    def configure(self, **knobs: Unpack[Knobs]) -> None:
        """Change behaviour from now on.

        ``running_polls``, ``solve_after``, ``outcome`` / ``fail_rate``, ``result``, ``latency``
        (``create_latency``, ``result_latency``), ``error`` (``create_error``, ``result_error``)
        and the transport faults ``fault`` (``create_fault``, ``result_fault``) with
        ``fault_rate``, ``retry_after`` and ``hang_seconds`` may be scoped with ``job_type=23``,
        ``token="..."`` (the requests sending that token) and ``times=N`` (the next N jobs; for
        faults, the next N faulted requests). ``tokens``, ``seed``, ``strict``, ``balance``,
        ``prices``, ``balance_error``, ``timing`` and ``speed`` apply to the whole server
        (``balance`` also takes ``token=``: that token's balance). ``None`` undoes a setting.
        """
        self.service.configure(**knobs)

    def reset(self, token: str | None = None) -> None:
        """Forget jobs, requests, errors and configuration: back to how the server was made.

        A request still in flight (a latency the client gave up on) then reaches nothing: not
        the journal, its listeners, a job or a counter.

        With ``token``: forget only what belongs to that token (v1 ``api_token``, v2
        ``clientKey``): the settings and scripts scoped to it, the jobs it created, its balance
        and its requests in the journal. Other tokens, the global settings and requests in
        flight are left alone."""
        if token is not None:
            self.service.state.reset(token)
            self.journal.forget_token(token)
            return
        self.journal.clear()
        self.service.reset()

    # Life in a background thread

    def start(self) -> Self:
        """Start in a background thread with its own event loop; returns when it accepts connections."""
        if self.running:
            raise RuntimeError("the FakeServer is already running")
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._open())
            except BaseException as exc:  # handed to the starting thread, which raises it
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self._close())
                _finish_tasks(loop)
                loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=serve, name=f"omofake-server-{id(self):x}", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = self._loop = None
            raise failure[0]
        return self

    def stop(self) -> None:
        """Stop the server (thread or async), closing open connections; safe to call twice."""
        if self._thread is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._thread = self._loop = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # Life on the running event loop

    async def start_async(self) -> Self:
        """Start on the current event loop; returns when it accepts connections."""
        if self.running:
            raise RuntimeError("the FakeServer is already running")
        await self._open()
        return self

    async def stop_async(self) -> None:
        """Stop a server started with :meth:`start_async`; safe to call twice."""
        await self._close()

    async def __aenter__(self) -> Self:
        return await self.start_async()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop_async()

    async def _open(self) -> None:
        # A new application at each start: an aiohttp application belongs to the loop it first
        # ran on, and a thread-mode restart runs a new loop.
        control = None if self.control is None else self.control.handler
        app = create_app(
            [self.service, self.v2], self.journal, control=control, direct=self._direct, **self._limits
        )
        # A short shutdown grace: a test's teardown should not wait on a slow (latency) request.
        runner = FakeAppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            _forget_apps()
            raise
        self.port = runner.addresses[0][1]
        if self._record is not None:
            self._recorder = Recorder(self._record)
            self.journal.listeners.append(self._recorder)
        self.app, self._runner = app, runner

    async def _close(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
            self.app = None
            _forget_apps()
        if self._recorder is not None:
            recorder, self._recorder = self._recorder, None
            if recorder in self.journal.listeners:
                self.journal.listeners.remove(recorder)
            recorder.close()

    def __repr__(self) -> str:
        where = self.url if self.running else "stopped"
        return f"<FakeServer {where}, {len(self.service.store)} job(s), {len(self.journal)} request(s)>"


def _finish_tasks(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel and wait for what is left on a server thread's loop (handlers still in their
    latency), as asyncio.run does, so that closing it destroys no pending task."""
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.run_until_complete(loop.shutdown_default_executor())


def _forget_apps() -> None:
    # aiohttp caches each route's middleware chain with the applications it belongs to
    # (an lru_cache of 1,024 entries), which kept every stopped server's application, jobs
    # and journal reachable. Clearing it only costs running servers a rebuild of the chain.
    cache = getattr(web_app, "_cached_build_middleware", None)
    if cache is not None and hasattr(cache, "cache_clear"):
        cache.cache_clear()


def _check_answer(exchange: Exchange) -> None:
    if exchange.fault not in (None, "hang"):
        return  # a transport fault the test asked for sends no answer of the API to check
    body = exchange.response
    if exchange.endpoint in V2_ENDPOINTS:
        violations = response_violations(exchange.endpoint, body, exchange.type_job_id)
    elif exchange.endpoint is None and exchange.path.startswith("/v2/"):
        violations = response_violations("v2/createTask", body)
    elif exchange.endpoint in ENDPOINTS:
        endpoint = exchange.endpoint
        violations = validate_response(
            endpoint, body, exchange.type_job_id if endpoint == "getJobResult" else None
        )
    else:  # a transport error: the API's error shape, whatever the path
        violations = validate_response("createJob", body)
    if violations:
        raise ContractError(violations)
