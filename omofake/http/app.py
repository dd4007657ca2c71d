"""The HTTP face of the fake: an aiohttp application over the dialects (:mod:`omofake.dialects`).

It knows no path of its own but :data:`OPENAPI_PATH`: each dialect lists its routes.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import json.encoder
import logging
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from aiohttp import web

from omofake.contract.openapi import openapi_document
from omofake.contract.validation import Violation, reject_json_constant
from omofake.core.behaviour import Fault
from omofake.core.journal import Exchange, Journal, now_utc
from omofake.core.state import REQUEST_GENERATION, FakeState
from omofake.dialects.base import Answer, Dialect
from omofake.http import jsonbody
from omofake.http.bodies import BodyProblem, read_body
from omofake.http.faults import TRUNCATED_MESSAGE, WIRE_FAULTS, fault_response

log = logging.getLogger("omofake")

#: The largest request body, in bytes as decompressed; larger ones get 413.
DEFAULT_MAX_BODY = 20 * 1024 * 1024
#: Seconds a keep-alive connection may stay idle between requests before the server closes it.
DEFAULT_IDLE_TIMEOUT = 75.0
#: Seconds a connection has to send a complete request head (request line and headers).
DEFAULT_HEADER_TIMEOUT = 10.0
#: Bodies larger than this (bytes) are parsed and checked on a worker thread, not on the event
#: loop: a 20 MB image takes tens of milliseconds, which would hold up every other client.
HEAVY_BODY = 256 * 1024
#: The dialects served; the first answers what reaches none of them (an unknown path).
DIALECTS_KEY = web.AppKey("omofake.dialects", tuple[Dialect, ...])
JOURNAL_KEY = web.AppKey("omofake.core.journal", Journal)
MAX_BODY_KEY = web.AppKey("omofake.max_body", int)
HEADER_TIMEOUT_KEY = web.AppKey("omofake.header_timeout", float)
#: Whether the app's connections answer the common request directly (omofake.http.direct).
DIRECT_KEY = web.AppKey("omofake.direct", bool)
#: When the request arrived, on the loop's clock (set by omofake.http.connections.FakeConnection
#: as the request's bytes are read; without it, when its handling began).
ARRIVAL_KEY = web.RequestKey("omofake.arrival", float)
#: The state's and the journal's generations when the request began, when it began before its
#: handler (a body awaited to be answered directly, then routed): what its handler is stamped with.
BEGAN_KEY: web.RequestKey[tuple[int, int]] = web.RequestKey("omofake.began", tuple)
#: Where the running server serves its OpenAPI document (built from the schema files).
OPENAPI_PATH = "/openapi.json"
#: The control API's paths (omofake.http.control.CONTROL_PREFIX without its slash).
CONTROL_ROOT = "/_omofake"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(
    dialects: Dialect | Sequence[Dialect],
    journal: Journal,
    *,
    max_body: int | None = None,
    idle_timeout: float | None = None,
    header_timeout: float | None = None,
    control: Handler | None = None,
    direct: bool = True,
) -> web.Application:
    """The application answering every route of the dialects; bodies above ``max_body`` get a 413.

    ``control`` answers every path under :data:`CONTROL_ROOT` (the control API, which answers
    its paths itself: the journal and the API's error pages never see them).

    ``None`` for a limit is its default (:data:`DEFAULT_MAX_BODY` and the timeouts next to it).
    The header timeout and ``direct`` (the common request answered without aiohttp's web layer,
    :mod:`omofake.http.direct`; False routes every request) take effect when the app runs in
    :class:`omofake.http.connections.FakeAppRunner`.
    """
    max_body = _limit("max_body", DEFAULT_MAX_BODY if max_body is None else max_body, int)
    idle = _limit("idle_timeout", DEFAULT_IDLE_TIMEOUT if idle_timeout is None else idle_timeout, float)
    head = _limit(
        "header_timeout", DEFAULT_HEADER_TIMEOUT if header_timeout is None else header_timeout, float
    )
    app = web.Application(
        client_max_size=max_body,
        # No middleware: each costs aiohttp two wrappers per request (its own and
        # _fix_request_current_app's). The endpoints, the control API and the unknown paths are
        # routes, each wrapped once by _guarded.
        # Bodies are inflated by omofake.http.bodies, under the limit; aiohttp's idle timeout.
        handler_args={"auto_decompress": False, "keepalive_timeout": idle},
    )
    served = (dialects,) if not isinstance(dialects, Sequence) else tuple(dialects)
    if not served:
        raise ValueError("create_app needs at least one dialect")
    app[DIALECTS_KEY] = served
    app[JOURNAL_KEY] = journal
    app[MAX_BODY_KEY] = max_body
    app[HEADER_TIMEOUT_KEY] = head
    app[DIRECT_KEY] = bool(direct)
    first = served[0]
    # Every method on each path, so that a wrong one gets the API's 405 from the path's handler.
    paths: dict[str, dict[str, tuple[Dialect, str]]] = {}
    for dialect in served:
        for route in dialect.routes:
            paths.setdefault(route.path, {})[route.method] = (dialect, route.endpoint)
    for path, methods in paths.items():
        handler = _path_handler(path, methods, journal, max_body)
        app.router.add_route("*", path, _guarded(handler, journal, first))
    # Every method, so that a POST gets "use GET" rather than the catch-all's "no such path".
    app.router.add_route("*", OPENAPI_PATH, _guarded(_openapi_json, journal, first))
    if control is not None:
        # Ahead of the catch-all below (the router tries the longest matching prefix first),
        # and outside _guarded: a control call never reaches the journal or the API's errors.
        app.router.add_route("*", CONTROL_ROOT, control)
        app.router.add_route("*", CONTROL_ROOT + "/{tail:[\\s\\S]*}", control)
    app.router.add_route("*", "/{tail:[\\s\\S]*}", _guarded(_not_found, journal, first))
    return app


async def _openapi_json(request: web.Request) -> web.StreamResponse:
    """The OpenAPI document, naming this server, as the client reached it, as its server.

    Not journaled: fetching the document is no exchange of the API, and a recording made
    with ``--record`` must hold only those (a tool such as schemathesis fetches it first).
    """
    if request.method not in ("GET", "HEAD"):
        catalogue = _dialect_for(request).messages
        message = catalogue.METHOD_NOT_ALLOWED.format(method=request.method, path=request.path, allowed="GET")
        return _unrouted(request, message, 405, f"GET {OPENAPI_PATH}", {"Allow": "GET, HEAD"})
    return web.json_response(openapi_document(f"{request.scheme}://{request.host}"))


def _limit(name: str, value: float, kind: type[float]) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} must be a positive number, not {value!r} (0 does not mean unlimited)")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, not {value!r}")
    if kind is int and not float(value).is_integer():
        raise ValueError(f"{name} must be a whole number of bytes, not {value!r}")
    return kind(value)


def _path_handler(
    path: str, methods: Mapping[str, tuple[Dialect, str]], journal: Journal, max_body: int
) -> Handler:
    allowed = ", ".join(sorted(methods))
    get = methods.get("GET")
    post = methods.get("POST")

    async def handle(request: web.Request) -> web.StreamResponse:
        method = request.method
        if method == "POST" and post is not None:
            service, endpoint = post
        elif method == "GET" and get is not None:
            service, endpoint = get
            # The query as the body: the first value of each parameter.
            query = {key: request.query[key] for key in request.query}
            return await _answer_after_delay(
                request, service, endpoint, query, service.answer(endpoint, query), journal
            )
        else:
            message = _dialect_for(request).messages.METHOD_NOT_ALLOWED.format(
                method=method, path=request.path, allowed=allowed
            )
            return _unrouted(request, message, 405, allowed, {"Allow": allowed})
        try:
            raw = await read_body(request, max_body)
        except BodyProblem as problem:
            # A body the fake cannot read breaks the contract; one over the fake's own limit does not.
            violations = () if problem.status == 413 else (_unreadable(endpoint, problem),)
            answer = service.error(problem.message, status=problem.status, violations=violations)
            response = _send(request, service, endpoint, None, answer)
            response.force_close()  # whatever is left of such a body is not worth a keep-alive
            return response
        if len(raw) > HEAVY_BODY:
            loop = asyncio.get_running_loop()
            # In the request's context, so the service sees the generation the request began in.
            in_context = contextvars.copy_context().run
            body, answer = await loop.run_in_executor(None, in_context, decide, service, endpoint, raw)
        else:
            body, answer = decide(service, endpoint, raw)
        return await _answer_after_delay(request, service, endpoint, body, answer, journal)

    handle.__name__ = "/".join(sorted({endpoint for _, endpoint in methods.values()})) or path
    return handle


async def _not_found(request: web.Request) -> web.StreamResponse:
    dialect = _dialect_for(request)
    message = dialect.messages.NOT_FOUND.format(method=request.method, path=request.path)
    # The paths of the dialect whose paths it is among (/api/... or /v2/...).
    return _unrouted(request, message, 404, dialect.routes_summary)


async def _answer_after_delay(
    request: web.Request, service: Dialect, endpoint: str, body: Any, answer: Answer, journal: Journal
) -> web.Response:
    fault = answer.fault
    if fault is not None and fault.name in WIRE_FAULTS:
        if answer.delay > 0:
            await _wait_from_arrival(request, answer.delay)
        return _send_fault(request, service, endpoint, body, answer, fault, journal)
    sent = service.render(answer.body)
    # Made before the wait, so that little is left to do when it ends (200 answers due at once).
    response = web.Response(body=dumps(sent).encode(), status=answer.status, content_type="application/json")
    if answer.delay > 0:
        await _wait_from_arrival(request, answer.delay)
    _journal(request, service, endpoint, body, answer, sent, journal)
    return response


async def _wait_from_arrival(request: web.Request, delay: float) -> None:
    # The latency counts from the request's arrival (stamped as its bytes were read, see
    # omofake.http.connections), not from when its turn to be processed came: with many
    # requests at once, processing them in turn must not add to each one's latency.
    arrived = request.get(ARRIVAL_KEY)
    wait = delay if arrived is None else arrived + delay - asyncio.get_running_loop().time()
    if wait > 0:
        await _sleep(wait)


def _unreadable(endpoint: str, problem: BodyProblem) -> Violation:
    expected = "a JSON body, uncompressed or in gzip or deflate"
    return Violation(endpoint, "request", "$", expected, problem.found, "body", problem.message)


def _parse(service: Dialect, raw: bytes, endpoint: str) -> tuple[Any, Violation | None]:
    if len(raw) > HEAVY_BODY:
        try:  # a slice at a time, so that the loop's thread gets the GIL meanwhile
            return jsonbody.loads(raw, reject_json_constant), None
        except (ValueError, RecursionError):
            pass  # the dialect says what is wrong, in the usual words
    return service.parse(raw, endpoint)


def decide(service: Dialect, endpoint: str, raw: bytes) -> tuple[Any, Answer]:
    """The parsed body and the dialect's answer to it (thread-safe: the core locks its state)."""
    body, not_json = _parse(service, raw, endpoint)
    if not_json is not None:
        return body, service.refuse(endpoint, not_json.message, violations=(not_json,))
    return body, service.answer(endpoint, body)


def _send(
    request: web.Request,
    service: Dialect,
    endpoint: str | None,
    body: Any,
    answer: Answer,
    headers: dict[str, str] | None = None,
) -> web.Response:
    journal = request.app[JOURNAL_KEY]
    fault = answer.fault
    if fault is not None and fault.name in WIRE_FAULTS:
        return _send_fault(request, service, endpoint, body, answer, fault, journal)
    sent = service.render(answer.body)
    _journal(request, service, endpoint, body, answer, sent, journal)
    return web.Response(
        body=dumps(sent).encode(), status=answer.status, content_type="application/json", headers=headers
    )


def _send_fault(
    request: web.Request,
    service: Dialect,
    endpoint: str | None,
    body: Any,
    answer: Answer,
    fault: Fault,
    journal: Journal,
) -> web.Response:
    """Act out a transport fault, journaled as such: the status sent (0 for none) and no answer."""
    cut = dumps(service.render(service.error(TRUNCATED_MESSAGE).body)).encode()
    response = fault_response(request, fault, cut)
    _journal(request, service, endpoint, body, answer, {}, journal, status=WIRE_FAULTS[fault.name].status)
    return response


def _journal(
    request: web.Request,
    service: Dialect,
    endpoint: str | None,
    body: Any,
    answer: Answer,
    sent: dict[str, Any],
    journal: Journal,
    *,
    status: int | None = None,
) -> None:
    """Journal an exchange (``status``: what a fault sent instead of the answer's)."""
    record(
        journal,
        service,
        endpoint,
        request.method,
        request.path,
        body,
        answer,
        sent,
        # Journaled only if the journal was not cleared since the request arrived (a test's reset).
        generation=request.get(_JOURNAL_GENERATION),
        size=request.content_length,
        status=status,
    )


def record(
    journal: Journal,
    service: Dialect,
    endpoint: str | None,
    method: str,
    path: str,
    body: Any,
    answer: Answer,
    sent: dict[str, Any],
    *,
    generation: int | None,
    size: int | None,
    status: int | None = None,
) -> None:
    """Journal one exchange of the API, unless the journal was cleared since ``generation``."""
    fault = answer.fault
    journal.add(
        Exchange(
            endpoint,
            method,
            path,
            body,
            sent,
            answer.status if status is None else status,
            now_utc(),
            answer.violations,
            answer.job_id,
            answer.type_job_id,
            _token(service, body),
            None if fault is None else fault.name,
        ),
        generation=generation,
        size=size,
    )


def _token(service: Dialect, body: Any) -> Any:
    # A dialect without tokens (one a test made) may have no token_field.
    field: str | None = getattr(service, "token_field", None)
    return body.get(field) if field is not None and isinstance(body, dict) else None


# A name of its own, so that tests can see the waits the latency asks for.
_sleep = asyncio.sleep


def _compiled_dumps() -> Callable[[Any], str]:
    # json.dumps without keywords, made once: JSONEncoder.encode builds its C encoder per call.
    # No circular check: an answer is a tree the fake built (a cycle would still fail, later).
    encoder = json.JSONEncoder()
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # an interpreter without the C accelerator
        return encoder.encode
    # markers, default, encoder, indent, separators, sort_keys, skipkeys, allow_nan: dumps' defaults.
    encode = make(
        None, encoder.default, json.encoder.encode_basestring_ascii, None, ": ", ", ", False, False, True
    )
    return lambda value: "".join(encode(value, 0))


#: json.dumps without keywords, minus its argument checks: the answers are small dicts of JSON types.
dumps: Callable[[Any], str] = _compiled_dumps()
_JOURNAL_GENERATION = web.RequestKey("omofake.journal_generation", int)


def generations(state: FakeState, journal: Journal) -> tuple[int, int]:
    """The state's and the journal's generations now: what a request that begins now is stamped
    with (routed, or answered directly by omofake.http.direct)."""
    return state.generation, journal.generation


def _guarded(handler: Handler, journal: Journal, first: Dialect) -> Handler:
    """``handler`` stamped with the state its request arrived in, its failures answered in the
    API's own error shape.

    The stamps: after a reset() (the next test) a request may touch neither the jobs nor the
    journal, however long its latency or its body takes. A wrapper per route rather than a
    middleware: aiohttp wraps each middleware (and, with any, one of its own) per request.
    """
    state = first.state

    async def guarded(request: web.Request) -> web.StreamResponse:
        began = request.get(BEGAN_KEY)
        if began is None:
            began = generations(state, journal)
        request[_JOURNAL_GENERATION] = began[1]
        token = REQUEST_GENERATION.set(began[0])
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return _unrouted(request, exc.reason + ".", exc.status, "a request the API answers")
        except ConnectionError:
            # The client went away mid-request: not an error, and there is nobody left to answer.
            log.debug("client left before %s %s was complete", request.method, request.path)
            return web.Response(status=400)
        except Exception as exc:  # the last line of defence: a bug must not cost the client its answer
            log.exception("omofake failed on %s %s", request.method, request.path)
            return web.json_response(internal_error(_dialect_for(request), exc), status=500)
        finally:
            REQUEST_GENERATION.reset(token)

    guarded.__name__ = getattr(handler, "__name__", "guarded")
    return guarded


def internal_error(dialect: Dialect, exc: Exception) -> dict[str, Any]:
    """The 500 answer to a request the fake failed on, in the shape of the API the client speaks.

    Not journaled: the journal may be what failed.
    """
    detail = f"{type(exc).__name__}: {exc}"
    return dialect.render(
        dialect.error(dialect.messages.INTERNAL_ERROR.format(detail=detail), status=500).body
    )


def _unrouted(
    request: web.Request, message: str, status: int, expected: str, headers: dict[str, str] | None = None
) -> web.Response:
    violation = Violation(
        request.path, "request", "$", expected, f"{request.method} {request.path}", "endpoint", message
    )
    dialect = _dialect_for(request)
    answer = dialect.error(message, status=status, violations=(violation,))
    return _send(request, dialect, None, None, answer, headers)


def _dialect_for(request: web.Request) -> Dialect:
    return dialect_for_path(request.app, request.path)


def dialect_for_path(app: web.Application, path: str) -> Dialect:
    """The dialect whose paths ``path`` is among (``/api/...``), else the first."""
    dialects = app[DIALECTS_KEY]
    for dialect in dialects:
        if any(path.startswith(route.path.rpartition("/")[0] + "/") for route in dialect.routes):
            return dialect
    return dialects[0]
