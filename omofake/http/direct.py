"""Direct answers: the common request of the API answered in the turn its last byte is read.

aiohttp's web layer costs a request more than a bare app's own work: a waiter, a task, a request
object, the router, a response object and its headers, a writer. The common request needs none
of it. :class:`omofake.http.connections.FakeConnection` hands this module a request that is

- a ``POST`` to an endpoint's exact path (no query string), in HTTP/1.1 keep-alive, complete
  (or whose ``Content-Length`` body the connection waits for, when it comes after its head),
- with no ``Content-Encoding`` and no ``Expect`` header, a body of at most
  :data:`omofake.http.app.HEAVY_BODY` bytes and within the server's limit,
- the only request waiting on an idle connection (no pipelining), on a server with no transport
  fault configured,

and writes the bytes this module makes: the answer aiohttp would have sent (the same status
line, headers and JSON), decided and journaled by the same functions as the routed requests
(:func:`omofake.http.app.decide`, :func:`omofake.http.app.record`). Anything else goes through
aiohttp and the routes of :mod:`omofake.http.app`, as every request did before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from http import HTTPStatus

from aiohttp.helpers import rfc822_formatted_time
from aiohttp.http import SERVER_SOFTWARE, HttpVersion11
from aiohttp.http_parser import RawRequestMessage

from omofake.core.journal import Journal
from omofake.core.state import NO_FAULTS, REQUEST_GENERATION
from omofake.dialects.base import Dialect
from omofake.http.app import decide, dumps, generations, internal_error, record

log = logging.getLogger("omofake")

_REASONS = {status.value: status.phrase for status in HTTPStatus}
# The routed handlers send answers as web.Response(body=..., content_type=...) and the
# answer to their own failure as web.json_response(...), which adds a charset.
_ANSWERED = "application/json"
_FAILED = "application/json; charset=utf-8"


@dataclass(frozen=True, slots=True)
class DirectRoutes:
    """What direct answers need of the app: its POST endpoints, its journal and its body limit."""

    #: The exact path of each POST endpoint: its dialect and endpoint.
    routes: Mapping[str, tuple[Dialect, str]]
    journal: Journal
    #: The largest body answered directly (the app's limit, or HEAVY_BODY below it).
    largest: int

    def target(self, message: RawRequestMessage, size: int) -> tuple[Dialect, str] | None:
        """The endpoint that answers ``message`` directly, or None when aiohttp must route it."""
        if (
            message.method != "POST"
            or message.version != HttpVersion11
            or message.should_close
            or message.upgrade
        ):
            return None
        headers = message.headers
        if "Expect" in headers:
            return None
        encoding = headers.get("Content-Encoding")
        if encoding is not None and encoding.strip().lower() not in ("", "identity"):
            return None
        return self.endpoint(message.path, size)

    def endpoint(self, path: str, size: int) -> tuple[Dialect, str] | None:
        """The endpoint that answers a keep-alive HTTP/1.1 ``POST`` to ``path`` with a plain body
        of ``size`` bytes directly, or None."""
        if size > self.largest:
            return None
        target = self.routes.get(path)
        if target is None or target[0].state.behaviours.has_faults:  # faults act on aiohttp's responses
            return None
        return target


@dataclass(slots=True)
class Reply:
    """A decided answer: its JSON, when it is due (``delay`` after arrival) and how to journal it."""

    status: int
    body: bytes
    delay: float
    dialect: Dialect
    #: As aiohttp names it: what a web.Response of bytes says, or (a failure's) json_response's.
    content_type: str
    #: Journals the exchange (:func:`omofake.http.app.record`); None for an answer never journaled.
    journal: Callable[[], object] | None

    def send(self) -> bytes:
        """Journal the exchange (as the routed handlers do, before answering) and give the bytes
        to write: head and body."""
        status, body, content_type = self.status, self.body, self.content_type
        if self.journal is not None:
            try:
                self.journal()
            except Exception as exc:  # the routed path answers a failing journal with a 500, too
                log.exception("omofake failed to journal an exchange")
                status, body, content_type = 500, dumps(internal_error(self.dialect, exc)).encode(), _FAILED
        return _head(status, content_type, len(body)) + body


def _head(status: int, content_type: str, length: int) -> bytes:
    # Answers repeat their heads within a second (the Date's): made once, kept until it ticks.
    date = rfc822_formatted_time()
    if date != _heads.date:
        _heads.date, _heads.made = date, {}
    key = (status, content_type, length)
    head = _heads.made.get(key)
    if head is None:
        head = _heads.made[key] = (
            f"HTTP/1.1 {status} {_REASONS.get(status, '')}\r\n"
            f"Content-Type: {content_type}\r\n"
            f"Content-Length: {length}\r\n"
            f"Date: {date}\r\n"
            f"Server: {SERVER_SOFTWARE}\r\n\r\n"
        ).encode("latin-1")
    return head


@dataclass(slots=True)
class _Heads:
    date: str = ""
    made: dict[tuple[int, str, int], bytes] = field(default_factory=dict)


_heads = _Heads()


def reply(
    routes: DirectRoutes,
    dialect: Dialect,
    endpoint: str,
    method: str,
    path: str,
    size: int | None,
    raw: bytes,
    began: tuple[int, int] | None = None,
) -> Reply:
    """Decide the answer to one request now (its job is made now, as a routed one's is).

    ``began``: the state's and the journal's generations when the request began (its head came
    before its body), as :func:`omofake.http.app.generations` gave them; by default, now's. A
    request that began before a reset is refused and journaled nowhere, as a routed one is.
    """
    journal = routes.journal
    state_generation, generation = generations(dialect.state, journal) if began is None else began
    faults = NO_FAULTS.set(True)
    stamp = REQUEST_GENERATION.set(state_generation)
    try:
        body, answer = decide(dialect, endpoint, raw)
        sent = dialect.render(answer.body)
        encoded = dumps(sent).encode()
    except Exception as exc:  # the last line of defence, as omofake.http.app._guarded's
        log.exception("omofake failed on %s %s", method, path)
        return Reply(500, dumps(internal_error(dialect, exc)).encode(), 0.0, dialect, _FAILED, None)
    finally:
        REQUEST_GENERATION.reset(stamp)
        NO_FAULTS.reset(faults)
    journal_it = partial(
        record,
        journal,
        dialect,
        endpoint,
        method,
        path,
        body,
        answer,
        sent,
        generation=generation,
        size=size,
    )
    return Reply(answer.status, encoded, answer.delay, dialect, _ANSWERED, journal_it)


def content_length(message: RawRequestMessage) -> int | None:
    """What aiohttp's ``request.content_length`` says: the header's value, None without one."""
    value = message.headers.get("Content-Length")
    return int(value) if value is not None else None


__all__ = ["DirectRoutes", "Reply", "content_length", "reply"]
