"""The control API: steering a running fake over HTTP, on the API's own port, under ``/_omofake/``.

What a test in another process (or another language) needs of a server it did not start:
configure and reset it, read its journal and its jobs, force a job's status, move its clock.
JSON in and out; errors are ``{"error": true, "message": ..., "exception": ...}`` with 400 (bad
input), 401 (control token missing or wrong), 404 (unknown control path or job), 405 (wrong
method), 409 (the clock is not manual).

It is served as routes of its own (``/_omofake`` and everything under it), outside the API's
handling: control calls never reach the journal, the recorder, the request log or the API's
error pages, and are not in ``/openapi.json``. Without it (``FakeServer(control=False)``,
``serve --no-control``), a control path is an unknown path of the API like any other.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from omofake import __version__
from omofake.contract.validation import loads_json
from omofake.core.jobs import Job
from omofake.core.journal import Exchange, record_line, strict_json
from omofake.core.state import ConfigureError
from omofake.http.bodies import BodyProblem, read_body

if TYPE_CHECKING:
    from omofake.http.server import FakeServer

log = logging.getLogger("omofake.control")

#: Where the control API lives, on the API's port.
CONTROL_PREFIX = "/_omofake/"
#: The header carrying the control token, when the server was started with one.
TOKEN_HEADER = "X-Omofake-Control-Token"
#: The largest control body: settings, not images.
CONTROL_MAX_BODY = 1024 * 1024
JOB_STATUSES = ("running", "success", "fail")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ControlError(Exception):
    """A control call that cannot be done: answered with ``status`` and ``message``."""

    def __init__(
        self, status: int, message: str, *, exception: BaseException | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.exception = exception
        self.extra = extra


def job_dict(job: Job) -> dict[str, Any]:
    """A job as the control API shows it (``created_at`` on the server clock's scale)."""
    return {
        "id": job.id,
        "type_job_id": job.type_job_id,
        "status": job.status,
        "outcome": job.outcome,
        "polls": job.polls,
        "result": job.result,
        "planned_result": job.planned_result,
        "input": job.input,
        "data": dict(job.data),
        "token": job.token,
        "created_at": job.created_at,
    }


@dataclass(frozen=True)
class _Call:
    request: web.Request
    #: The job id of ``jobs/{id}``.
    job: str | None = None


Operation = Callable[["ControlAPI", _Call], Awaitable[Any]]


class ControlAPI:
    """The control API of one :class:`~omofake.http.server.FakeServer`; :meth:`handler`
    serves it in an application."""

    def __init__(self, server: FakeServer, token: str | None = None) -> None:
        if token is not None and (not isinstance(token, str) or not token):
            raise ValueError(f"control_token must be a non-empty text, not {token!r}")
        self.server = server
        self._token = None if token is None else token.encode("utf-8", "surrogateescape")

    @property
    def guarded(self) -> bool:
        """Whether every call needs the control token."""
        return self._token is not None

    async def handler(self, request: web.Request) -> web.StreamResponse:
        """The route handler of every path under ``/_omofake`` (see :func:`omofake.http.app.create_app`)."""
        response = await self.answer(request)
        log.info("control: %s %s %d", request.method, request.path, response.status)
        return response

    async def answer(self, request: web.Request) -> web.Response:
        try:
            self._check_token(request)
            operation, call = self._route(request)
            payload = await operation(self, call)
            if isinstance(payload, bytes):  # encoded already (off the loop)
                return web.Response(body=payload, content_type="application/json")
            return _json(payload)
        except ControlError as exc:
            return _error(exc)
        except ConnectionError:
            return web.Response(status=400)  # the client left; nobody to answer
        except Exception as exc:  # never a traceback to the client, and the server keeps serving
            log.exception("omofake's control API failed on %s %s", request.method, request.path)
            return _error(ControlError(500, f"omofake failed: {type(exc).__name__}: {exc}", exception=exc))

    def _check_token(self, request: web.Request) -> None:
        if self._token is None:
            return
        sent = request.headers.get(TOKEN_HEADER)
        if sent is None:
            raise ControlError(401, f"this server's control API needs the header {TOKEN_HEADER}")
        if not hmac.compare_digest(sent.encode("utf-8", "surrogateescape"), self._token):
            raise ControlError(401, f"wrong {TOKEN_HEADER}")

    def _route(self, request: web.Request) -> tuple[Operation, _Call]:
        name = request.path[len(CONTROL_PREFIX) :]
        call = _Call(request)
        if name.startswith("jobs/") and name.count("/") == 1 and name != "jobs/":
            name, call = "jobs/{id}", _Call(request, name[len("jobs/") :])
        methods = _ROUTES.get(name)
        if methods is None:
            known = ", ".join(CONTROL_PREFIX + route for route in _ROUTES)
            raise ControlError(404, f"no control call {request.path}; the control API has {known}")
        method = "GET" if request.method == "HEAD" else request.method
        if method not in methods:
            allowed = ", ".join(methods)
            raise ControlError(
                405,
                f"{request.method} is not allowed on {request.path}: use {allowed}",
                headers={"Allow": allowed},
            )
        return methods[method], call

    # The calls

    async def health(self, call: _Call) -> dict[str, Any]:
        state = self.server.service.state
        return {
            "status": "ok",
            "version": __version__,
            "dialects": [self.server.service.name, self.server.v2.name],
            "jobs": len(state.store),
            "requests": len(self.server.journal),
            "requests_total": self.server.journal.total,
            "clock": "manual" if _manual(state.store.clock) else "monotonic",
            "strict": state.strict,
            "control_token": self.guarded,
        }

    async def configure(self, call: _Call) -> dict[str, Any]:
        body = await _body(call.request)
        calls = body if isinstance(body, list) else [body]
        if not isinstance(body, (dict, list)):
            raise ControlError(
                400,
                'configure takes a JSON object of settings, such as {"outcome": "fail"}, '
                f"or a list of them, not {_shown(body)}",
            )
        try:
            self.server.service.state.configure_all(calls)
        except ConfigureError as exc:
            index = {"index": exc.index} if isinstance(body, list) else {}
            raise ControlError(400, str(exc.error), exception=exc.error, **index) from None
        except (TypeError, ValueError) as exc:
            raise ControlError(400, str(exc), exception=exc) from None
        return {"ok": True}

    async def reset(self, call: _Call) -> dict[str, Any]:
        body = await _body(call.request, empty={})
        if not isinstance(body, dict) or set(body) - {"token"}:
            raise ControlError(400, f'reset takes no body, or {{"token": "..."}}, not {_shown(body)}')
        token = body.get("token")
        if token is None:
            self.server.reset()
            return {"ok": True}
        if not isinstance(token, str) or not token:
            raise ControlError(400, f"reset's token must be a non-empty text, not {_shown(token)}")
        try:
            self.server.reset(token=token)
        except (TypeError, ValueError) as exc:
            raise ControlError(400, str(exc), exception=exc) from None
        return {"ok": True}

    async def requests(self, call: _Call) -> bytes:
        query = _query(call.request, ("endpoint", "job", "token"))
        journal = self.server.requests
        if "token" in query:
            journal = journal.for_token(query["token"])
        exchanges = journal.for_endpoint(query["endpoint"]) if "endpoint" in query else list(journal)
        if "job" in query:
            job_id = _job_id(query["job"], 400)
            exchanges = [e for e in exchanges if e.job_id == job_id]
        # A journal may hold 64 MB of images: encoded on a worker thread, not on the loop.
        return await asyncio.get_running_loop().run_in_executor(None, exchanges_json, exchanges)

    async def jobs(self, call: _Call) -> dict[str, Any]:
        query = _query(call.request, ("token", "status"))
        status = query.get("status")
        if status is not None and status not in JOB_STATUSES:
            raise ControlError(400, f"status must be one of {', '.join(JOB_STATUSES)}, not {status!r}")
        jobs = list(self.server.jobs.values())
        if status is not None:
            jobs = [job for job in jobs if job.status == status]
        if "token" in query:
            jobs = [job for job in jobs if job.token == query["token"]]
        return {"jobs": [job_dict(job) for job in jobs]}

    async def job(self, call: _Call) -> dict[str, Any]:
        assert call.job is not None
        job = self.server.service.store.get(_job_id(call.job, 404))
        if job is None:
            raise ControlError(404, f"Job {call.job} not found.")
        return job_dict(job)

    async def force_job(self, call: _Call) -> dict[str, Any]:
        assert call.job is not None
        job_id = _job_id(call.job, 404)
        body = await _body(call.request)
        if not isinstance(body, dict) or "status" not in body or set(body) - {"status", "result"}:
            raise ControlError(
                400,
                'a job is forced with {"status": "success"|"fail"|"running"} and, for success, '
                f'an optional "result", not {_shown(body)}',
            )
        try:
            job = self.server.service.store.force(job_id, body["status"], body.get("result"))
        except KeyError:
            raise ControlError(404, f"Job {call.job} not found.") from None
        except ValueError as exc:
            raise ControlError(400, str(exc), exception=exc) from None
        return job_dict(job)

    async def clock(self, call: _Call) -> dict[str, Any]:
        clock = self.server.service.store.clock
        return {"now": clock.now(), "manual": _manual(clock)}

    async def advance_clock(self, call: _Call) -> dict[str, Any]:
        body = await _body(call.request)
        if not isinstance(body, dict) or set(body) != {"advance"}:
            raise ControlError(400, f'the clock takes {{"advance": seconds}}, not {_shown(body)}')
        seconds = body["advance"]
        clock = self.server.service.store.clock
        if not _manual(clock):
            raise ControlError(
                409,
                "the server's clock is not manual: it cannot be moved (start it with "
                "omofake serve --manual-clock, or FakeServer(clock=omofake.ManualClock()))",
            )
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds):
            raise ControlError(400, f"advance takes a number of seconds, 0 or more, not {_shown(seconds)}")
        try:
            clock.advance(seconds)  # type: ignore[attr-defined]
        except ValueError as exc:
            raise ControlError(400, str(exc), exception=exc) from None
        return {"now": clock.now(), "manual": True}

    async def openapi(self, call: _Call) -> dict[str, Any]:
        request = call.request
        return control_openapi_document(f"{request.scheme}://{request.host}")


_ROUTES: dict[str, dict[str, Operation]] = {
    "health": {"GET": ControlAPI.health},
    "configure": {"POST": ControlAPI.configure},
    "reset": {"POST": ControlAPI.reset},
    "requests": {"GET": ControlAPI.requests},
    "jobs": {"GET": ControlAPI.jobs},
    "jobs/{id}": {"GET": ControlAPI.job, "POST": ControlAPI.force_job},
    "clock": {"GET": ControlAPI.clock, "POST": ControlAPI.advance_clock},
    "openapi.json": {"GET": ControlAPI.openapi},
}


def exchanges_json(exchanges: Sequence[Exchange]) -> bytes:
    """``{"requests": [...]}`` in strict JSON; an exchange whose request is nested too deeply to
    write back (the server could still read it) goes without it, saying so, as in a record."""
    items = []
    for exchange in exchanges:
        item = exchange.to_dict()
        try:
            items.append(strict_json(item))
        except RecursionError:
            unrecorded = {**item, "request": None, "unrecorded": "request nested too deeply"}
            items.append(strict_json(unrecorded))
    return b'{"requests": [' + b", ".join(items) + b"]}\n"


def _manual(clock: object) -> bool:
    """A clock that can be moved: a :class:`~omofake.core.clock.ManualClock`, or one like it."""
    return callable(getattr(clock, "advance", None))


_MISSING: Any = object()


async def _body(request: web.Request, *, empty: Any = _MISSING) -> Any:
    try:
        raw = await read_body(request, CONTROL_MAX_BODY)
    except BodyProblem as problem:
        raise ControlError(problem.status, problem.message) from None
    if not raw.strip():
        if empty is not _MISSING:
            return empty
        raise ControlError(400, f"{request.path} needs a JSON body")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ControlError(400, f"the body is not UTF-8 text (byte {exc.start})") from None
    try:
        return loads_json(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise ControlError(400, f"the body is not JSON: {exc.msg} ({where})") from None
    except (ValueError, RecursionError) as exc:
        raise ControlError(400, f"the body is not JSON: {exc}") from None


def _query(request: web.Request, known: tuple[str, ...]) -> dict[str, str]:
    if unknown := sorted(set(request.query) - set(known)):
        raise ControlError(
            400, f"unknown filter(s) {', '.join(unknown)} on {request.path}; known: {', '.join(known)}"
        )
    # An empty filter (``?token=``, what a client filling a URL template sends) filters nothing.
    return {key: request.query[key] for key in request.query if request.query[key]}


def _job_id(text: str, status: int) -> int:
    if not text.isascii() or not text.isdigit():
        raise ControlError(status, f"a job id is a whole number, not {text!r}")
    return int(text)


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= 80 else text[:80] + "..."


def _json(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    # Strict JSON whatever a journaled request held (1e400, a lone surrogate): see record_line.
    return web.Response(
        body=record_line(payload), status=status, content_type="application/json", headers=headers
    )


def _error(exc: ControlError) -> web.Response:
    body: dict[str, Any] = {"error": True, "message": exc.message}
    if exc.exception is not None and exc.status != 500:
        body["exception"] = type(exc.exception).__name__
    headers = exc.extra.pop("headers", None)
    body.update(exc.extra)
    return _json(body, exc.status, headers)


def control_openapi_document(server_url: str | None = None) -> dict[str, Any]:
    """A small OpenAPI 3.1 document of the control API (served at ``/_omofake/openapi.json``)."""
    ok = {
        "description": "done",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Ok"}}},
    }
    error = {
        "description": "the call could not be done",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    errors = {"400": error, "401": error}

    def body(schema: dict[str, Any]) -> dict[str, Any]:
        return {"required": True, "content": {"application/json": {"schema": schema}}}

    def answer(schema: dict[str, Any]) -> dict[str, Any]:
        return {"description": "the answer", "content": {"application/json": {"schema": schema}}}

    def query(*names: str) -> list[dict[str, Any]]:
        return [{"name": n, "in": "query", "required": False, "schema": {"type": "string"}} for n in names]

    job_path = [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "omofake control API",
            "version": __version__,
            "description": "Steer a running omofake server: not part of the OMOcaptcha API. Every "
            f"call needs the header {TOKEN_HEADER} when the server was started with a control token.",
        },
        "paths": {
            "/_omofake/health": {
                "get": {
                    "summary": "Is it up, and what does it hold",
                    "responses": {"200": answer({"type": "object"}), **errors},
                }
            },
            "/_omofake/configure": {
                "post": {
                    "summary": "FakeServer.configure: an object of settings, or a list of them (all or none)",
                    "requestBody": body(
                        {"oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}}]}
                    ),
                    "responses": {"200": ok, **errors},
                }
            },
            "/_omofake/reset": {
                "post": {
                    "summary": "FakeServer.reset: back to the baseline (with a token: only that token's)",
                    "requestBody": {
                        "required": False,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"token": {"type": "string"}},
                                    "additionalProperties": False,
                                }
                            }
                        },
                    },
                    "responses": {"200": ok, **errors},
                }
            },
            "/_omofake/requests": {
                "get": {
                    "summary": "The journal, oldest first, tokens unmasked",
                    "parameters": query("endpoint", "job", "token"),
                    "responses": {
                        "200": answer(
                            {
                                "type": "object",
                                "properties": {"requests": {"type": "array", "items": {"type": "object"}}},
                            }
                        ),
                        **errors,
                    },
                }
            },
            "/_omofake/jobs": {
                "get": {
                    "summary": "The jobs, oldest first",
                    "parameters": query("token", "status"),
                    "responses": {
                        "200": answer(
                            {
                                "type": "object",
                                "properties": {
                                    "jobs": {"type": "array", "items": {"$ref": "#/components/schemas/Job"}}
                                },
                            }
                        ),
                        **errors,
                    },
                }
            },
            "/_omofake/jobs/{id}": {
                "parameters": job_path,
                "get": {
                    "summary": "One job",
                    "responses": {
                        "200": answer({"$ref": "#/components/schemas/Job"}),
                        "404": error,
                        "401": error,
                    },
                },
                "post": {
                    "summary": "Force a job's status (and its result)",
                    "requestBody": body(
                        {
                            "type": "object",
                            "required": ["status"],
                            "properties": {
                                "status": {"enum": list(JOB_STATUSES)},
                                "result": {"type": "string", "minLength": 1},
                            },
                            "additionalProperties": False,
                        }
                    ),
                    "responses": {
                        "200": answer({"$ref": "#/components/schemas/Job"}),
                        "404": error,
                        **errors,
                    },
                },
            },
            "/_omofake/clock": {
                "get": {
                    "summary": "The server's clock",
                    "responses": {"200": answer({"$ref": "#/components/schemas/Clock"}), **errors},
                },
                "post": {
                    "summary": "Move a manual clock on",
                    "requestBody": body(
                        {
                            "type": "object",
                            "required": ["advance"],
                            "properties": {"advance": {"type": "number", "minimum": 0}},
                        }
                    ),
                    "responses": {
                        "200": answer({"$ref": "#/components/schemas/Clock"}),
                        "409": error,
                        **errors,
                    },
                },
            },
        },
        "components": {
            "schemas": {
                "Ok": {"type": "object", "properties": {"ok": {"const": True}}, "required": ["ok"]},
                "Error": {
                    "type": "object",
                    "required": ["error", "message"],
                    "properties": {
                        "error": {"const": True},
                        "message": {"type": "string"},
                        "exception": {"type": "string"},
                        "index": {"type": "integer"},
                    },
                },
                "Clock": {
                    "type": "object",
                    "required": ["now", "manual"],
                    "properties": {"now": {"type": "number"}, "manual": {"type": "boolean"}},
                },
                "Job": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "type_job_id": {"type": "string"},
                        "status": {"enum": list(JOB_STATUSES)},
                        "outcome": {"enum": ["success", "fail"]},
                        "polls": {"type": "integer"},
                        "result": {"type": ["string", "null"]},
                        "planned_result": {"type": "string"},
                        "input": {"type": ["string", "null"]},
                        "data": {"type": "object"},
                        "token": {"type": ["string", "null"]},
                        "created_at": {"type": "number"},
                    },
                },
            }
        },
    }
    if server_url is not None:
        document["servers"] = [{"url": server_url.rstrip("/"), "description": "omofake"}]
    return document
