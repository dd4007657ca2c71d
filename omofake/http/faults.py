"""Transport faults on the wire: what a client sees when the network, or the CDN in front of
the API, fails it.

The core decides which request gets which fault (:class:`omofake.core.behaviour.Fault`, from the
``fault`` knobs); this module only acts it out. Every fault but "hang" is sent instead of the
API's answer, and the server goes on serving: the worst any of them does is close the one
connection it came on. The 502, 503 and 429 pages are HTML, as the proxy or CDN in front of an
API (nginx, Cloudflare) sends them, not JSON in the API's shape: a client that parses every
answer as JSON without looking at the status learns it here.
"""

from __future__ import annotations

import contextlib
import socket
import struct
from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web

from omofake.core.behaviour import Fault

#: The message of the answer a "truncated" fault cuts in half (in the dialect's error shape).
TRUNCATED_MESSAGE = "omofake cut this answer short (fault 'truncated')."


def _page(status: str, server: str) -> bytes:
    # The page nginx writes for its own errors; Cloudflare's 502 is the same with its name.
    return (
        f"<html>\r\n<head><title>{status}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status}</h1></center>\r\n<hr><center>{server}</center>\r\n"
        "</body>\r\n</html>\r\n"
    ).encode()


@dataclass(frozen=True)
class WireFault:
    """How one fault looks on the wire."""

    #: The HTTP status sent; 0 when nothing is (the connection is reset).
    status: int
    content_type: str | None = None
    #: The body sent; None for "truncated", which cuts the request's own answer.
    body: bytes | None = b""
    #: Whether the connection is closed after it (no keep-alive).
    close: bool = False
    #: Whether it carries a ``Retry-After`` header (the fault's ``retry_after`` seconds).
    retry_after: bool = False


#: Every fault the knobs name but "hang" (the real answer, late: no wire fault of its own).
WIRE_FAULTS: Mapping[str, WireFault] = {
    "reset": WireFault(0, close=True),
    "empty": WireFault(200, "application/json", b"", close=True),
    "truncated": WireFault(200, "application/json", None, close=True),
    "bad_gateway": WireFault(502, "text/html", _page("502 Bad Gateway", "cloudflare")),
    "unavailable": WireFault(
        503, "text/html", _page("503 Service Temporarily Unavailable", "nginx"), retry_after=True
    ),
    "rate_limited": WireFault(429, "text/html", _page("429 Too Many Requests", "nginx"), retry_after=True),
}


def truncate(answer: bytes) -> bytes:
    """A JSON answer cut mid-way: never whole, never empty (the client gets a decode error)."""
    return answer[: max(1, len(answer) // 2)]


def fault_response(request: web.Request, fault: Fault, answer: bytes) -> web.Response:
    """The response that acts out ``fault``; ``answer`` is the JSON a "truncated" one cuts.

    A "reset" aborts the connection at once, with SO_LINGER 0 so that the client gets a TCP
    reset rather than an orderly close; the response returned then goes nowhere.
    """
    wire = WIRE_FAULTS[fault.name]
    if fault.name == "reset":
        _reset(request)
        return web.Response(status=200)
    headers = {"Retry-After": str(fault.retry_after)} if wire.retry_after else None
    body = truncate(answer) if wire.body is None else wire.body
    response = web.Response(body=body, status=wire.status, headers=headers, content_type=wire.content_type)
    if wire.close:
        response.force_close()
    return response


def _reset(request: web.Request) -> None:
    transport = request.transport
    if transport is None:  # the client is gone already: nothing left to reset
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # Where it cannot be set, an orderly close instead: the client still gets no answer.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
