"""``FakeServer``: the fake API on a real loopback port, in a thread or on the running loop."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Collection
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from aiohttp import web

from omofake.app import create_app
from omofake.clock import Clock
from omofake.connections import FakeAppRunner
from omofake.contract import ContractError, validate_response
from omofake.jobs import JobStore
from omofake.journal import Exchange, Journal, Recorder
from omofake.registry import ENDPOINTS
from omofake.service import FakeService

if TYPE_CHECKING:
    from typing_extensions import Self, Unpack

    from omofake.behaviour import Knobs

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
        self_check: bool | None = None,
        **knobs: Any,
    ) -> None:
        self.host = host
        self.port = port
        self.service = FakeService(seed=seed, strict=strict, tokens=tokens, clock=clock, **knobs)
        self.journal = Journal(maxlen=journal_size)
        self._recorder = Recorder(Path(record)) if record is not None else None
        if self._recorder is not None:
            self.journal.listeners.append(self._recorder)
        if self_check is None:
            self_check = os.environ.get(SELF_CHECK_ENV, "0") not in ("", "0")
        if self_check:
            self.journal.listeners.append(_check_answer)
        # Limits are checked there: max_body must be a positive number of bytes (no "0 = unlimited").
        self.app = create_app(
            self.service,
            self.journal,
            max_body=max_body,
            idle_timeout=idle_timeout,
            header_timeout=header_timeout,
        )
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
    def running(self) -> bool:
        return self._runner is not None

    # What it knows

    @property
    def jobs(self) -> JobStore:
        """Every job by id."""
        return self.service.store

    @property
    def requests(self) -> Journal:
        """Every request with its parsed body, the answer sent and any contract violations."""
        return self.journal

    def configure(self, **knobs: Unpack[Knobs]) -> None:
        """Change behaviour from now on.

        ``running_polls``, ``solve_after``, ``outcome`` / ``fail_rate``, ``result``, ``latency``
        (``create_latency``, ``result_latency``), ``error`` (``create_error``, ``result_error``)
        may be scoped with ``job_type=23`` and/or ``times=N`` (the next N jobs); ``tokens``,
        ``seed``, ``strict``, ``balance``, ``prices``, ``balance_error``, ``timing`` and ``speed``
        apply to the whole server. ``None`` undoes a setting.
        """
        self.service.configure(**knobs)

    def reset(self) -> None:
        """Forget jobs, requests and configuration: back to how the server was made."""
        self.service.reset()
        self.journal.clear()

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
        if self._recorder is not None:
            self._recorder.close()

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
        await self._close()
        if self._recorder is not None:
            self._recorder.close()

    async def __aenter__(self) -> Self:
        return await self.start_async()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop_async()

    async def _open(self) -> None:
        # A short shutdown grace: a test's teardown should not wait on a slow (latency) request.
        runner = FakeAppRunner(self.app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self.port = runner.addresses[0][1]
        self._runner = runner

    async def _close(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    def __repr__(self) -> str:
        where = self.url if self.running else "stopped"
        return f"<FakeServer {where}, {len(self.jobs)} job(s), {len(self.journal)} request(s)>"


def _check_answer(exchange: Exchange) -> None:
    body = exchange.response
    if exchange.endpoint in ENDPOINTS:
        endpoint = exchange.endpoint
        violations = validate_response(
            endpoint, body, exchange.type_job_id if endpoint == "getJobResult" else None
        )
    else:  # a transport error: the API's error shape, whatever the path
        violations = validate_response("createJob", body)
    if violations:
        raise ContractError(violations)
