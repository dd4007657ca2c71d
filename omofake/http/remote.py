"""``RemoteServer``: an ``omofake serve`` running elsewhere, steered through its control API.

It reads and writes what a :class:`~omofake.FakeServer` test does (``configure``, ``reset``,
``requests``, ``jobs``) over HTTP, on the ``/_omofake/`` routes of the server's own port, so
test code does not care where the fake runs. Standard library only (``urllib``): a client of
a fake needs no HTTP dependency of its own.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from omofake.core.journal import Exchange, Exchanges, strict_json

if TYPE_CHECKING:
    from typing_extensions import Self, Unpack

    from omofake.core.behaviour import Knobs

#: Where the control API lives on the server's port.
CONTROL_PREFIX = "/_omofake"
#: The header that carries the control token of a server started with ``--control-token``.
TOKEN_HEADER = "X-Omofake-Control-Token"
#: Seconds each control call may take: ample for a server on loopback, short enough that a
#: server that stopped answering fails the test instead of hanging it.
DEFAULT_TIMEOUT = 10.0

#: The exception classes a 400 of ``/_omofake/configure`` names, raised here as they are in
#: process, so ``pytest.raises(ValueError)`` holds for both servers.
_EXCEPTIONS: Mapping[str, type[Exception]] = {"TypeError": TypeError, "ValueError": ValueError}


class RemoteServerError(RuntimeError):
    """The server at the URL is not reachable, not omofake, has no control API, refused the
    control token, or answered something a control call cannot use. ``status`` is the HTTP
    status when there was an answer."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class RemoteJob:
    """A job of a remote server as ``GET /_omofake/jobs`` describes it: the fields tests read
    of an in-process :class:`~omofake.Job`. ``created_at`` is the server clock's reading."""

    id: int
    type_job_id: str
    status: Literal["running", "success", "fail"]
    outcome: Literal["success", "fail"]
    polls: int = 0
    result: str | None = None
    planned_result: str = ""
    input: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    token: str | None = None
    created_at: float = 0.0

    @property
    def done(self) -> bool:
        return self.status != "running"

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> RemoteJob:
        return cls(
            id=int(body["id"]),
            type_job_id=str(body["type_job_id"]),
            status=body["status"],
            outcome=body["outcome"],
            polls=int(body.get("polls", 0)),
            result=body.get("result"),
            planned_result=body.get("planned_result") or "",
            input=body.get("input"),
            data=dict(body.get("data") or {}),
            token=body.get("token"),
            created_at=float(body.get("created_at") or 0.0),
        )


class RemoteServer:
    """An ``omofake serve`` at ``url``, steered as a :class:`~omofake.FakeServer` is.

    ``RemoteServer("http://127.0.0.1:8765")`` (the server's base URL; its ``/api`` URL works
    too). ``control_token`` is the server's ``--control-token``, sent with every control call.
    Nothing is asked of the server until the first call; :meth:`wait_ready` waits for it to
    answer. ``with RemoteServer(url) as server:`` only checks that it answers: the server is not
    ours to stop, and leaving the block changes nothing on it.

    Values cross as JSON: a tuple arrives as a list, a set of tokens as a list, a ``Decimal`` as
    text, an infinite float as ``1e400`` (which reads back as infinity). A function (a callable
    ``result=``) cannot cross at all, and is refused here with a :class:`TypeError`.

    Proxy settings are ignored: the fake is reached directly, as ``omofake wait`` does.
    """

    def __init__(
        self, url: str, *, control_token: str | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        parts = urllib.parse.urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                f"RemoteServer needs the server's http:// URL, such as http://127.0.0.1:8765, not {url!r}"
            )
        path = parts.path.rstrip("/")
        # The API and v2 URLs are what people copy from logs: accept them for the server's.
        for suffix in ("/api", "/v2"):
            if path.endswith(suffix):
                path = path[: -len(suffix)]
        self._url = urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))
        self.control_token = control_token
        self.timeout = timeout
        # No proxy: a proxy would answer for a fake that is not up, and cannot reach loopback.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self._checked = False

    # Where it is

    @property
    def url(self) -> str:
        """The base URL, ``http://127.0.0.1:PORT``; the endpoints are under ``url + "/api/"``."""
        return self._url

    @property
    def api_url(self) -> str:
        """The API base URL, ``http://127.0.0.1:PORT/api``, for clients that take one."""
        return f"{self._url}/api"

    @property
    def v2_url(self) -> str:
        """The v2 API base URL, ``http://127.0.0.1:PORT/v2``."""
        return f"{self._url}/v2"

    # Is it there

    def health(self) -> dict[str, Any]:
        """``GET /_omofake/health``: status, version, dialects, job and request counts, clock, strict."""
        answer = self._call("GET", "/health", check=False)
        if not isinstance(answer, dict) or answer.get("status") != "ok" or "dialects" not in answer:
            raise RemoteServerError(
                f"{self._url} is not an omofake server: GET {CONTROL_PREFIX}/health answered {_short(answer)}"
            )
        self._checked = True
        return answer

    def wait_ready(self, timeout: float = 10.0) -> dict[str, Any]:
        """Wait until the server answers its health check (a server still starting up); its
        health. :class:`RemoteServerError` if it does not within ``timeout`` seconds, or if what
        answers is not an omofake server with its control API on (waiting would not help)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.health()
            except _Unreachable as exc:
                if time.monotonic() >= deadline:
                    raise RemoteServerError(
                        f"no omofake server answered at {self._url} within {timeout:g} s "
                        f"(last try: {exc.reason})"
                    ) from None
            time.sleep(min(0.05, max(deadline - time.monotonic(), 0)))

    # What it knows

    @property
    def requests(self) -> Exchanges:
        """Every request the server journaled, as :class:`~omofake.Exchange` s: a snapshot taken
        as you read it, with the same questions (``create_jobs``, ``last()``, ``polls()``,
        ``violations``) as ``FakeServer.requests``. The control calls are never in it."""
        return self.get_requests()

    def get_requests(
        self, *, endpoint: str | None = None, job: int | None = None, token: str | None = None
    ) -> Exchanges:
        """The journal filtered on the server: by endpoint (``"createJob"``), job id, or the
        token the request sent (``api_token`` / ``clientKey``)."""
        query = {"endpoint": endpoint, "job": job, "token": token}
        answer = self._call("GET", "/requests", query=query)
        return Exchanges(Exchange.from_dict(item) for item in _field(answer, "requests", list))

    @property
    def jobs(self) -> Mapping[int, RemoteJob]:
        """Every job by id: a snapshot taken as you read it (read it again for later jobs)."""
        return self.get_jobs()

    def get_jobs(self, *, token: str | None = None, status: str | None = None) -> Mapping[int, RemoteJob]:
        """The jobs, filtered on the server by the token that created them or their status."""
        answer = self._call("GET", "/jobs", query={"token": token, "status": status})
        jobs = (RemoteJob.from_dict(item) for item in _field(answer, "jobs", list))
        return _Jobs({job.id: job for job in jobs})

    def job(self, job_id: int) -> RemoteJob:
        """One job (``GET /_omofake/jobs/{id}``); :class:`KeyError` if the server has none."""
        try:
            answer = self._call("GET", f"/jobs/{int(job_id)}")
        except RemoteServerError as exc:
            if exc.status == 404:
                raise KeyError(job_id) from None
            raise
        return RemoteJob.from_dict(answer)

    @property
    def errors(self) -> list[Any]:
        """Always empty. In process, this lists the failures of functions the test gave the fake
        (``result=`` callables); a function cannot cross HTTP, so a remote server never runs
        test code, and has nothing of the test's to report."""
        return []

    # Steering

    def configure(self, **knobs: Unpack[Knobs]) -> None:
        """Change behaviour from now on: the keywords of :meth:`FakeServer.configure`, scopes
        (``job_type``, ``token``, ``times``) included. A bad keyword or value raises the same
        :class:`TypeError` or :class:`ValueError`, with the same message, as in process."""
        if callable(knobs.get("result")):
            raise TypeError(
                "result= cannot be a function on a RemoteServer: functions cannot cross HTTP; "
                "give the result as text, or use an in-process FakeServer"
            )
        self._call("POST", "/configure", body=_jsonable(knobs))

    def reset(self, token: str | None = None) -> None:
        """Forget jobs, requests and configuration: back to the server's baseline (its flags and
        its ``--config`` file). With a ``token``, forget only what is that token's: its scoped
        settings, its jobs and its requests."""
        self._call("POST", "/reset", body={} if token is None else {"token": token})

    def force_job(
        self, job_id: int, status: Literal["success", "fail", "running"], result: str | None = None
    ) -> RemoteJob:
        """Set a job's status (and result) now, whatever its settings planned; the job as it is then."""
        body: dict[str, Any] = {"status": status}
        if result is not None:
            body["result"] = result
        try:
            answer = self._call("POST", f"/jobs/{int(job_id)}", body=body)
        except RemoteServerError as exc:
            if exc.status == 404:
                raise KeyError(job_id) from None
            raise
        return RemoteJob.from_dict(answer)

    def advance_clock(self, seconds: float) -> float:
        """Move the server's manual clock (``omofake serve --manual-clock``) forward; its new
        reading. :class:`RuntimeError` when the server runs on the real clock."""
        try:
            answer = self._call("POST", "/clock", body={"advance": seconds})
        except RemoteServerError as exc:
            if exc.status == 409:
                raise RuntimeError(
                    f"the clock of {self._url} is not manual: start it with omofake serve --manual-clock"
                ) from None
            raise
        return float(_field(answer, "now", (int, float)))

    def clock(self) -> dict[str, Any]:
        """``GET /_omofake/clock``: ``{"now": seconds, "manual": bool}``."""
        answer = self._call("GET", "/clock")
        return answer if isinstance(answer, dict) else {}

    # A context manager that changes nothing

    def __enter__(self) -> Self:
        self.health()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    def __repr__(self) -> str:
        return f"<RemoteServer {self._url}>"

    # The calls

    def _call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: Mapping[str, Any] | None = None,
        check: bool = True,
    ) -> Any:
        if check and not self._checked:
            self.health()  # the first call says clearly what is wrong with the server
        url = f"{self._url}{CONTROL_PREFIX}{path}"
        if query:
            pairs = {k: str(v) for k, v in query.items() if v is not None}
            if pairs:
                url += "?" + urllib.parse.urlencode(pairs)
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = _dumps(body)
            headers["Content-Type"] = "application/json"
        if self.control_token is not None:
            headers[TOKEN_HEADER] = self.control_token
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        where = f"{method} {CONTROL_PREFIX}{path}"
        try:
            with self._opener.open(request, timeout=self.timeout) as answer:
                status, raw = answer.status, answer.read()
        except urllib.error.HTTPError as error:
            with error:
                status, raw = error.code, error.read()
        except urllib.error.URLError as exc:
            reason = exc.reason
            text = (reason.strerror or str(reason)) if isinstance(reason, OSError) else str(reason)
            raise _Unreachable(self._url, text) from None
        except (OSError, http.client.HTTPException) as exc:
            raise _Unreachable(
                self._url, getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            ) from None
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            raise RemoteServerError(
                f"{self._url} is not an omofake server: {where} answered HTTP {status} "
                f"that is not JSON: {_short(raw)}",
                status=status,
            ) from None
        if status < 400:
            return parsed
        raise self._failure(status, parsed, where)

    def _failure(self, status: int, body: Any, where: str) -> Exception:
        message = body.get("message") if isinstance(body, dict) else None
        exception = body.get("exception") if isinstance(body, dict) else None
        if (
            status == 400
            and isinstance(exception, str)
            and exception in _EXCEPTIONS
            and isinstance(message, str)
        ):
            return _EXCEPTIONS[exception](message)
        if status == 401:
            why = "no control token was given" if self.control_token is None else "the control token is wrong"
            return RemoteServerError(
                f"{self._url} refused the control call {where}: {why} (RemoteServer(url, control_token=...), "
                f"--omofake-control-token; the server's --control-token)",
                status=status,
            )
        if status == 404 and where.endswith("/health"):
            return RemoteServerError(
                f"{self._url} has no omofake control API ({where} answered 404): it is not omofake, "
                "or it was started with --no-control",
                status=status,
            )
        detail = message if isinstance(message, str) else _short(body)
        return RemoteServerError(f"{where} on {self._url} answered HTTP {status}: {detail}", status=status)


class _Unreachable(RemoteServerError):
    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"no omofake server answers at {url}: {reason}")
        self.reason = reason


class _Jobs(Mapping[int, RemoteJob]):
    """A snapshot of the jobs by id, read-only like ``FakeServer.jobs``."""

    def __init__(self, jobs: dict[int, RemoteJob]) -> None:
        self._jobs = jobs

    def __getitem__(self, job_id: int) -> RemoteJob:
        return self._jobs[job_id]

    def __iter__(self) -> Iterator[int]:
        return iter(self._jobs)

    def __len__(self) -> int:
        return len(self._jobs)

    def __repr__(self) -> str:
        return f"<{len(self)} remote job(s)>"


def _field(answer: Any, name: str, kind: type | tuple[type, ...]) -> Any:
    if not isinstance(answer, dict) or not isinstance(answer.get(name), kind):
        raise RemoteServerError(f"a control call answered {_short(answer)}, with no {name!r} in it")
    return answer[name]


def _jsonable(value: Any) -> Any:
    """What JSON can carry of a configure value: the server reads it back as Python would."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return [_jsonable(v) for v in items]
    if isinstance(value, Decimal):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(
        f"{value!r} cannot be sent to a RemoteServer: configure values cross HTTP as JSON "
        "(text, numbers, true/false, null, lists, objects)"
    )


def _dumps(body: Any) -> bytes:
    # Strict JSON: an infinite float as 1e400, which the server reads back as infinity (where
    # Infinity is not JSON at all); a NaN has no such spelling, and is refused here.
    try:
        return strict_json(body, refuse_nan=True)
    except ValueError:
        raise ValueError("NaN cannot be sent to a RemoteServer: JSON has no NaN") from None


def _short(value: Any) -> str:
    if isinstance(value, bytes):
        text = value.decode("utf-8", "replace")
    else:
        text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 200 else text[:200] + "..."
