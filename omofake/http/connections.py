"""The fake's connections: aiohttp's, plus JSON for aiohttp's own errors and a header timeout.

aiohttp answers what it refuses before any application code runs (a request line over 8190
bytes, too many headers, bad chunking, a malformed method) with plain text, and bounds nothing
but idle keep-alive time. :class:`FakeAppRunner` runs an application with a connection handler
that answers those in the API's error shape and closes a connection that has not sent a
complete request head within the app's header timeout, and, while it runs, logs running out of
file descriptors once a minute rather than on every accept.

The connection also answers the common request itself, from ``data_received``, without
aiohttp's web layer (:mod:`omofake.http.direct`, which says which requests). While every byte a
connection sent is of the strict shape of :mod:`omofake.http.wire`, the connection reads the
requests itself and aiohttp's parser sees none of them; from the first byte that is not, aiohttp
parses the connection, and the connection takes a request it may answer directly from aiohttp's
queue before ``start()``, aiohttp's loop over requests, is woken for it.

aiohttp offers no hook for any of this: :class:`FakeConnection` subclasses its
``RequestHandler`` and reads and sets a few of its attributes (``_request_count``,
``_messages``, ``_current_request``, ``_waiter``, the keep-alive ones, ``_parser``).
``tests/test_hostile.py`` and ``tests/test_direct.py`` exercise each behaviour over real
sockets, so an aiohttp release that changes them fails there rather than in a user's suite; one
without what direct answers need routes every request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import time
from collections import deque
from collections.abc import Callable
from functools import partial
from itertools import repeat
from typing import Any, NamedTuple

from aiohttp import web
from aiohttp.http_parser import HttpRequestParser, RawRequestMessage
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestHandler, RequestPayloadError
from aiohttp.web_request import BaseRequest

from omofake.dialects.base import Dialect
from omofake.dialects.v1 import messages
from omofake.http.app import (
    ARRIVAL_KEY,
    BEGAN_KEY,
    DIALECTS_KEY,
    DIRECT_KEY,
    HEADER_TIMEOUT_KEY,
    HEAVY_BODY,
    JOURNAL_KEY,
    MAX_BODY_KEY,
    dialect_for_path,
    generations,
)
from omofake.http.direct import DirectRoutes, Reply, content_length, reply
from omofake.http.wire import MORE, Head, read_head

log = logging.getLogger("omofake")

# What direct answers rely on in aiohttp's RequestHandler (3.14's): without it, aiohttp routes
# every request.
_DIRECT_SUPPORTED = hasattr(HttpRequestParser, "message_consumed") and all(
    name in getattr(RequestHandler, "__slots__", ())
    for name in (
        "_waiter",
        "_messages",
        "_keepalive",
        "_keepalive_handle",
        "_next_keepalive_close_time",
        "_keepalive_timeout",
        "_read_bufsize",
    )
)

# Bytes held during a direct answer are kept in pieces of at least this many, and apart after a
# head's end up to this many pieces (see _receive).
_HELD_PIECE = 1024
_HELD_APART = 64

#: What asyncio says when accept() fails for want of file descriptors (EMFILE, ENFILE, ...).
ACCEPT_EXHAUSTED = "socket.accept() out of system resource"
#: Seconds between two log lines about it.
EXHAUSTED_LOG_INTERVAL = 60.0
# An error detail from aiohttp quotes what the client sent: keep the answer short.
_DETAIL_LIMIT = 200
_QUOTED_BYTES = re.compile(r": (?:bytearray\()?b['\"]")


class FakeAppRunner(web.AppRunner):
    """``web.AppRunner`` with omofake's connection handler (see the module docstring)."""

    def __init__(self, app: web.Application, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._filter: _AcceptErrorFilter | None = None

    async def setup(self) -> None:
        self._filter = _AcceptErrorFilter.install(asyncio.get_running_loop())
        await super().setup()

    async def cleanup(self) -> None:
        try:
            await super().cleanup()
        finally:
            if self._filter is not None:
                self._filter.uninstall()
                self._filter = None

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        # aiohttp takes no parameter for the connection handler's class: the server it built is
        # given a subclass whose one difference is the protocol factory, __call__.
        server.__class__ = _Server
        server.header_timeout = self.app[HEADER_TIMEOUT_KEY]  # type: ignore[attr-defined]
        server.app = self.app  # type: ignore[attr-defined]
        server.direct = direct_routes(self.app)  # type: ignore[attr-defined]
        server.turns = Turns(asyncio.get_running_loop())  # type: ignore[attr-defined]
        return server


def direct_routes(app: web.Application) -> DirectRoutes | None:
    """What the app's connections answer directly (:mod:`omofake.http.direct`), or None when
    this aiohttp lacks what they rely on, or the app was made with ``direct=False``."""
    if not _DIRECT_SUPPORTED or not app.get(DIRECT_KEY, True):
        return None
    dialects: tuple[Dialect, ...] = app[DIALECTS_KEY]
    routes = {
        route.path: (dialect, route.endpoint)
        for dialect in dialects  # a later dialect's route wins, as in create_app's table
        for route in dialect.routes
        if route.method == "POST"
    }
    return DirectRoutes(routes, app[JOURNAL_KEY], min(app[MAX_BODY_KEY], HEAVY_BODY))


class Turns:
    """Work done one item per turn of the event loop, in order (see FakeConnection._answer_directly)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._queue: deque[Callable[[], None]] = deque()

    def add(self, work: Callable[[], None]) -> None:
        self._queue.append(work)
        if len(self._queue) == 1:
            self._loop.call_soon(self._next)

    def _next(self) -> None:
        work = self._queue[0]
        try:
            work()
        finally:
            self._queue.popleft()
            if self._queue:
                # Not a loop over the queue: the loop polls its sockets before the next item.
                self._loop.call_soon(self._next)


class _Direct(NamedTuple):
    """A request read, to be answered directly (by the connection's DirectRoutes)."""

    #: The dialect and endpoint that answer it.
    target: tuple[Dialect, str]
    method: str
    path: str
    #: Its Content-Length, if it has one.
    size: int | None
    raw: bytes
    #: When it arrived (its head), on the loop's clock.
    arrived: float
    #: The generations it began in, when its head came before its body (see FakeConnection).
    began: tuple[int, int] | None


class _Server(web.Server):
    header_timeout: float
    app: web.Application
    direct: DirectRoutes | None
    turns: Turns

    def __call__(self) -> RequestHandler:
        return FakeConnection(
            self,
            loop=self._loop,
            header_timeout=self.header_timeout,
            app=self.app,
            direct=self.direct,
            turns=self.turns,
            **self._kwargs,
        )


class FakeConnection(RequestHandler):
    """One client connection."""

    def __init__(
        self,
        manager: web.Server,
        *,
        header_timeout: float,
        app: web.Application,
        direct: DirectRoutes | None = None,
        turns: Turns | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(manager, **kwargs)
        self._header_timeout = header_timeout
        self._app = app
        self._direct = direct
        self._turns = turns
        # A direct answer is under way (to be decided on a later turn, or waiting out its
        # latency): what is read meanwhile is held, with when it came, and reading pauses once
        # a read buffer's worth is held.
        self._direct_busy = False
        self._paused_directly = False
        self._held: list[tuple[bytes, float]] = []
        self._held_bytes = 0
        # While the one request queued waits for the rest of its body, to be answered directly:
        # the generations it began in (omofake.http.app.generations); None otherwise.
        self._began: tuple[int, int] | None = None
        # The generations of the request start() takes next, when it began before that: its body
        # was awaited to be answered directly, and it was routed once the body came.
        self._began_routed: tuple[int, int] | None = None
        # Until a byte is not of the strict shape (omofake.http.wire), omofake reads the
        # connection itself and aiohttp's parser sees nothing: the bytes of the request being
        # read; None once aiohttp reads the connection, from then on.
        self._wire: bytearray | None = bytearray() if direct is not None else None
        # The head of the request being read that way, once complete, and when it came.
        self._wire_head: Head | None = None
        self._wire_arrived = 0.0
        # Made by shutdown() when it waits for the direct answer under way, as aiohttp waits
        # for a routed request's handler.
        self._direct_sent: asyncio.Future[None] | None = None
        self._head_timer: asyncio.TimerHandle | None = None
        # When the head being awaited is due (loop time), or None when none is awaited. The
        # timer is left armed when a head completes and only re-armed when it fires early: a
        # timer made and cancelled per request cost more than the rest of this class.
        self._head_deadline: float | None = None
        # Requests whose handling is over; equal to the requests parsed when awaiting a head.
        self._handled = 0
        # When each request queued in self._messages arrived (loop time), in the same order:
        # a latency counts from there, not from when the request's turn to be handled came.
        self._arrivals: deque[float] = deque()
        # When bytes were last read from the socket.
        self._last_read = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._start_head_timer()

    async def shutdown(self, timeout: float | None = 15.0) -> None:
        if self._direct_busy:
            # As aiohttp does for a routed request: no request after this one is taken in.
            self._force_close = True
            self._direct_sent = self._loop.create_future()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._direct_sent), timeout)
        await super().shutdown(timeout)

    def connection_lost(self, exc: BaseException | None) -> None:
        self._head_deadline = None
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if data:
            self._last_read = self._loop.time()
            self._receive(data, self._last_read)
        else:
            # aiohttp parses what it held back (it queues at most 32 requests per connection)
            # once its queue drains: those bytes came with the last read or before it.
            self._receive(data, self._last_read)

    def _receive(self, data: bytes, now: float) -> None:
        if self._direct_busy:
            # Answered in order, after the direct answer under way, but read (and stamped) now,
            # as aiohttp reads what is pipelined: a latency counts from the arrival.
            held = self._held
            last = held[-1][0] if held else b""
            if held and len(last) < _HELD_PIECE and (b"\r\n\r\n" not in last or len(held) >= _HELD_APART):
                # A trickle (a byte a send) is kept in pieces, stamped with the last byte's
                # arrival: later than the first's, so never answered early. Not past the end of
                # a head, but for a client that pipelines dozens: aiohttp drops the requests it
                # completes in a read in which it meets a bad one, so a head it would have read
                # on its own stays a read of its own.
                held[-1] = (last + data, now)
            else:
                held.append((data, now))
            self._held_bytes += len(data)
            if self._held_bytes > self._read_bufsize:  # enough of it: the rest can wait in the socket
                self._pause()
            return
        if self._wire is not None:
            self._read_directly(data, now)
            return
        # The first bytes of a head after an answer start the clock; the time before them is
        # keep-alive idleness, which aiohttp's keepalive_timeout (the idle timeout) bounds.
        if data and self._head_deadline is None and self._request_count == self._handled:
            self._start_head_timer()
        parsed = self._request_count
        queued = len(self._messages)
        # An idle start() (aiohttp's loop over requests) is woken only if the request that
        # completes now is not answered directly: not for a head whose body is still to come.
        waiter = None
        if self._direct is not None and (not queued or self._began is not None):
            waiter = self._waiter
        if waiter is not None:
            self._waiter = None
        try:
            super().data_received(data)
        finally:
            if waiter is not None:
                self._waiter = waiter
        if len(self._messages) > queued:
            self._arrivals.extend(repeat(now, len(self._messages) - queued))
        if self._request_count != parsed:  # a complete head (or a refused one)
            self._stop_head_timer()
            self._end_a_broken_body()
        if waiter is not None and self._messages and not waiter.done():
            if len(self._messages) == 1 and (self._answer_directly(now) or self._awaits_its_body()):
                return
            # Routed after all: it began when its body was first awaited, and is stamped so.
            self._began_routed, self._began = self._began, None
            waiter.set_result(None)

    def _queued_request(self) -> tuple[DirectRoutes, RawRequestMessage, StreamReader] | None:
        """The one request queued, and what answers requests directly, unless it is a refusal
        of aiohttp's, its body failed, or this connection answers nothing directly."""
        message, payload = self._messages[0]
        if self._direct is None or type(message) is not RawRequestMessage or payload.exception() is not None:
            return None
        return self._direct, message, payload

    def _awaits_its_body(self) -> bool:
        """Whether the one request queued would be answered directly once the rest of its body
        comes (Content-Length, within the limit), leaving start() asleep meanwhile."""
        queued = self._queued_request()
        if queued is None:
            return False
        direct, message, payload = queued
        if message.chunked or payload.is_eof():
            return False
        length = message.headers.get("Content-Length")
        target = None if length is None or not length.isdigit() else direct.target(message, int(length))
        if target is None:
            return False
        self._await_body(target[0])
        return True

    def _await_body(self, dialect: Dialect) -> None:
        """Mark the request whose body is still coming as begun, once: a reset before its body
        ends makes it stale, as a routed one; and the body is no idle time, which aiohttp's
        keep-alive timer must not cut (start() sleeps on its waiter, which to that timer means
        idle, and the wire reader leaves start() asleep too)."""
        if self._began is None:
            assert self._direct is not None  # only a request to be answered directly awaits its body
            self._began = generations(dialect.state, self._direct.journal)
            self._next_keepalive_close_time = math.inf

    def _answer_directly(self, now: float) -> bool:
        """Answer the one request queued, if it is one :mod:`omofake.http.direct` answers."""
        queued = self._queued_request()
        if queued is None:
            return False
        direct, message, payload = queued
        if not payload.is_eof() or self._force_close or self._close:
            return False
        target = direct.target(message, payload.total_bytes)
        if target is None:
            return False
        # Taken before its body is read: reading it may resume aiohttp's reading, which calls
        # data_received(b"") back, and that must find this request gone and the connection busy.
        self._messages.popleft()
        self._direct_busy = True
        began, self._began = self._began, None
        arrived = self._arrivals.popleft() if self._arrivals else now
        # What start() does for a request it takes from the queue.
        if self._parser is not None:
            self._parser.message_consumed()
        raw = payload.read_nowait(-1)
        self._answer(
            _Direct(target, message.method, message.path, content_length(message), raw, arrived, began)
        )
        return True

    def _read_directly(self, data: bytes, now: float) -> None:
        """Read a request of the strict shape (:mod:`omofake.http.wire`) without aiohttp's
        parser, and answer it directly; once the bytes read are not of that shape, hand them,
        and every byte after them, to aiohttp."""
        if self._force_close or self._close:
            return  # as aiohttp: a closing connection reads nothing more
        wire = self._wire
        assert wire is not None and self._direct is not None
        held = len(wire)
        read: bytes | bytearray = data
        if held:
            wire += data
            read = wire
        elif not data:
            return
        head = self._wire_head or read_head(read)
        if head is MORE:
            if not held:
                wire += data
                # The first bytes of a head start the clock, as in _receive.
                if self._head_deadline is None and self._request_count == self._handled:
                    self._start_head_timer()
            return
        target = None if head is None else self._direct.endpoint(head.path, head.length)
        if head is None or target is None or len(read) > head.end + head.length:
            # Not of the shape, not answered directly, or pipelined: aiohttp's. What was held
            # goes first, as a read of its own: aiohttp hands over a request whose head it has
            # read before it parses what follows, and it drops the requests it completes in the
            # read in which it meets a bad one (the held head of one, then its body and a bad
            # request in a later read, get two answers from it, not one).
            whole_head = self._wire_head is not None
            self._wire, self._wire_head = None, None
            if held:
                self._receive(bytes(read[:held]), self._wire_arrived if whole_head else now)
            self._receive(data, now)
            return
        if self._wire_head is None:
            self._stop_head_timer()
            self._wire_head, self._wire_arrived = head, now
        if len(read) < head.end + head.length:  # the body is still coming
            if not held:
                wire += data
            self._await_body(target[0])
            return
        raw = bytes(read[head.end :])
        wire.clear()
        began, self._began = self._began, None
        self._wire_head = None
        self._request_count += 1  # as aiohttp counts the requests it parses
        self._answer(_Direct(target, "POST", head.path, head.length, raw, self._wire_arrived, began))

    def _answer(self, request: _Direct) -> None:
        self._direct_busy = True
        if self._manager is not None:
            self._manager.requests_count += 1
        self._next_keepalive_close_time = request.arrived + self._keepalive_timeout
        if self._turns is not None and request.target[0].state.behaviours.has_latency:
            # Decided on a later turn of the loop, one request a turn: when many arrive at once,
            # those read meanwhile are stamped as they come, not after every decision before them.
            self._turns.add(partial(self._decide_directly, request))
        else:
            self._decide_directly(request)

    def _decide_directly(self, request: _Direct) -> None:
        dialect, endpoint = request.target
        assert self._direct is not None  # a request answered directly was read with it
        answer = reply(
            self._direct,
            dialect,
            endpoint,
            request.method,
            request.path,
            request.size,
            request.raw,
            request.began,
        )
        due = request.arrived + answer.delay
        if answer.delay > 0 and due > self._loop.time():
            self._next_keepalive_close_time = due + self._keepalive_timeout
            self._loop.call_at(due, self._send_directly, answer)
        else:
            self._send_directly(answer)

    def _pause(self) -> None:
        if not self._paused_directly and self.transport is not None:
            self.transport.pause_reading()
            self._paused_directly = True

    def _send_directly(self, answer: Reply) -> None:
        data = answer.send()
        self._handled += 1
        self._direct_busy = False
        if self._direct_sent is not None and not self._direct_sent.done():
            self._direct_sent.set_result(None)
        transport = self.transport
        if transport is None:  # the client left (or was closed): journaled all the same
            return
        transport.write(data)
        # What start() does after an answer on a keep-alive connection; a timer left waiting
        # for the end of time by a body to come is brought back.
        self._keepalive = True
        close_time = self._next_keepalive_close_time = self._loop.time() + self._keepalive_timeout
        handle = self._keepalive_handle
        if handle is None or (isinstance(handle, asyncio.TimerHandle) and handle.when() > close_time):
            if handle is not None:
                handle.cancel()
            self._keepalive_handle = self._loop.call_at(close_time, self._process_keepalive)
        if self._paused_directly:
            self._paused_directly = False
            transport.resume_reading()
        held, self._held, self._held_bytes = self._held, [], 0
        for data_held, when in held:
            self._receive(data_held, when)

    def _end_a_broken_body(self) -> None:
        """When aiohttp refuses what follows a body (bad chunking), end that body with the error.

        aiohttp queues its refusal to be answered after the request whose body it was reading,
        and leaves that body unfinished: the request would wait for the rest until the client
        gave up. Its reader now gets the error and answers it (see omofake.http.bodies).
        """
        if not self._messages or isinstance(self._messages[-1][0], RawRequestMessage):
            return
        refusal = self._messages[-1][0]
        if len(self._messages) > 1:
            payload = self._messages[-2][1]
        elif self._current_request is not None:
            payload = self._current_request.content
        else:
            return
        if not payload.is_eof():
            detail = getattr(refusal, "message", None) or "the body could not be parsed"
            payload.set_exception(RequestPayloadError(str(detail)))

    async def _handle_request(
        self, request: BaseRequest, *args: Any, **kwargs: Any
    ) -> tuple[web.StreamResponse, bool]:
        # start() hands the queued messages over in order, one _handle_request each.
        request[ARRIVAL_KEY] = self._arrivals.popleft() if self._arrivals else self._loop.time()
        if self._began_routed is not None:  # the first of them began before now
            request[BEGAN_KEY], self._began_routed = self._began_routed, None
        try:
            return await super()._handle_request(request, *args, **kwargs)
        finally:
            self._handled += 1

    def _start_head_timer(self) -> None:
        self._head_deadline = self._loop.time() + self._header_timeout
        if self._head_timer is None:
            self._head_timer = self._loop.call_at(self._head_deadline, self._head_timed_out)

    def _stop_head_timer(self) -> None:
        self._head_deadline = None  # an armed timer finds nothing due when it fires

    def _head_timed_out(self) -> None:
        self._head_timer = None
        deadline = self._head_deadline
        if deadline is None:
            return
        if self._loop.time() < deadline:  # a later head's deadline: wait for it
            self._head_timer = self._loop.call_at(deadline, self._head_timed_out)
            return
        self._head_deadline = None
        if self._request_count == self._handled and self.transport is not None:
            log.debug("closing a connection that sent no complete request head in %ss", self._header_timeout)
            self.force_close()

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """aiohttp's own error answers, in the API's error shape and with its status."""
        if isinstance(exc, ConnectionError) or status < 500:
            # A client's broken request (or its leaving) is the client's business, not a fault.
            log.debug("refused a request with %s: %s", status, message or exc)
        else:
            self.log_exception("Error handling request", exc_info=exc)
        if request.writer.output_size > 0:
            raise ConnectionError("the answer had begun; the connection is closed instead")
        if status < 500:
            # aiohttp's first line says what is wrong; the lines after it quote the bytes sent.
            detail = str(message or exc or "it could not be parsed").strip().split("\n")[0]
            detail = _QUOTED_BYTES.split(detail)[0].rstrip(":. ")
            if len(detail) > _DETAIL_LIMIT:
                detail = detail[: _DETAIL_LIMIT - 3] + "..."
            text = messages.BAD_HTTP.format(detail=detail)
        else:
            text = messages.INTERNAL_ERROR.format(detail=f"{type(exc).__name__}: {exc}" if exc else status)
        # In the shape (and, for v1, the lenient success key) of the API the path belongs to.
        dialect = dialect_for_path(self._app, request.path)
        response = web.json_response(dialect.render(dialect.error(text, status=status).body), status=status)
        response.force_close()
        return response


class _AcceptErrorFilter:
    """A loop exception handler that logs running out of file descriptors at most once a minute.

    asyncio retries accept() every second and reports each failure with a traceback; other
    reports go on to the handler that was there before.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._previous = loop.get_exception_handler()
        self._last: float | None = None
        self._missed = 0

    @classmethod
    def install(cls, loop: asyncio.AbstractEventLoop) -> _AcceptErrorFilter:
        handler = cls(loop)
        loop.set_exception_handler(handler)
        return handler

    def uninstall(self) -> None:
        if self._loop.get_exception_handler() is self:
            self._loop.set_exception_handler(self._previous)

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") != ACCEPT_EXHAUSTED:
            if self._previous is not None:
                self._previous(loop, context)
            else:
                loop.default_exception_handler(context)
            return
        now = time.monotonic()
        if self._last is not None and now - self._last < EXHAUSTED_LOG_INTERVAL:
            self._missed += 1
            return
        again = f" ({self._missed} more times since the last report)" if self._missed else ""
        self._last, self._missed = now, 0
        log.warning(
            "omofake cannot accept connections: %s%s. New clients wait until open connections "
            "close (idle ones are closed by the idle and header timeouts); raise `ulimit -n` if "
            "this lasts.",
            context.get("exception") or "out of file descriptors",
            again,
        )
