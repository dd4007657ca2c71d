"""Async client for the OMOcaptcha job API (``createJob`` / ``getJobResult``, ``getBalance``, ``getService``).

It speaks to the real service and to omofake alike; only ``base_url`` differs::

    async with OmoClient("my-token", base_url="http://127.0.0.1:8080/api") as client:
        x = await client.solve(26, images=(mask_png, background_png))
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from types import TracebackType
from typing import Any, Literal, TypeAlias

import aiohttp

from omofake.core.catalogue import CATALOGUE
from omofake.errors import JobFailed, OmoError, ProtocolError, SolveTimeout

__all__ = ["JobResult", "OmoClient", "encode_image", "encode_images"]

ImageSource: TypeAlias = bytes | str | os.PathLike[str]
"""Raw image bytes, a path to an image file, or an already base64-encoded string."""

Images: TypeAlias = ImageSource | Sequence[ImageSource]
"""One image, or several (types 23 and 26 take two) to be joined with ``|``."""

DEFAULT_BASE_URL = "https://omocaptcha.com/api"
#: Where the v2 API lives (``OmoClient(..., dialect="v2")``).
V2_BASE_URL = "https://api.omocaptcha.com/v2"

_STATUSES = frozenset({"running", "success", "fail"})
_SNIPPET_CHARS = 200


def encode_image(image: ImageSource) -> str:
    """Return ``image`` as the base64 text the API expects.

    ``bytes`` are encoded; a path (``os.PathLike``, or a ``str`` naming an
    existing file) is read and encoded; any other ``str`` is taken to be
    base64 already and returned unchanged.
    """
    if isinstance(image, bytes):
        data = image
    elif isinstance(image, str) and not os.path.isfile(image):
        return image
    else:
        with open(image, "rb") as f:
            data = f.read()
    return base64.b64encode(data).decode("ascii")


def encode_images(*images: ImageSource) -> str:
    """Encode each image with :func:`encode_image` and join them with ``|``.

    Types 23 (inner|outer) and 26 (mask|background) take two images this way.
    """
    if not images:
        raise ValueError("encode_images() needs at least one image")
    return "|".join(encode_image(image) for image in images)


@dataclass(frozen=True)
class JobResult:
    """One ``getJobResult`` answer.

    ``result`` is ``None`` unless the job succeeded: type 26 answers ``""``
    where the other types answer ``null``, and callers should not have to
    know which type they are looking at.
    """

    job_id: int
    status: str
    result: str | None
    # A dict is unhashable; leave it out of the hash so JobResult stays hashable.
    raw: dict[str, Any] = field(hash=False)

    @property
    def done(self) -> bool:
        """True once the job has finished, whether it succeeded or failed."""
        return self.status != "running"

    @property
    def succeeded(self) -> bool:
        """True if the job finished with a result."""
        return self.status == "success"


@dataclass(frozen=True)
class TaskResult:
    """One v2 ``getTaskResult`` answer: ``status`` is ``processing``, ``ready`` or ``fail``;
    ``solution`` the class's solution object once ready, else ``None``."""

    task_id: str
    status: str
    solution: dict[str, Any] | None
    raw: dict[str, Any] = field(hash=False)

    @property
    def done(self) -> bool:
        return self.status != "processing"

    @property
    def succeeded(self) -> bool:
        return self.status == "ready"


class OmoClient:
    """Client for ``createJob`` / ``getJobResult`` (v1), or with ``dialect="v2"`` for
    ``createTask`` / ``getTaskResult`` (v2: :meth:`create_task`, :meth:`get_task_result`; then
    :meth:`solve` returns the ``solution`` object and :meth:`get_balance` reads v2's number).

    If ``session`` is not given, the client creates one on first use and owns
    it: :meth:`close` (or leaving ``async with``) closes it. A session passed
    in belongs to the caller and is never closed here.

    ``poll_interval`` and ``timeout`` (seconds) are the defaults for
    :meth:`solve`. The vendor asks clients to wait 2 s between polls.
    """

    def __init__(
        self,
        api_token: str,
        base_url: str | None = None,
        *,
        session: aiohttp.ClientSession | None = None,
        poll_interval: float = 2.0,
        timeout: float = 120.0,
        dialect: Literal["v1", "v2"] = "v1",
    ) -> None:
        _check_timing(poll_interval, timeout)
        if dialect not in ("v1", "v2"):
            raise ValueError(f"dialect must be 'v1' or 'v2', not {dialect!r}")
        self.dialect = dialect
        self.api_token = api_token
        default = DEFAULT_BASE_URL if dialect == "v1" else V2_BASE_URL
        self.base_url = (default if base_url is None else base_url).rstrip("/")
        self.poll_interval = poll_interval
        self.timeout = timeout
        self._session = session
        self._owns_session = session is None

    # Not typing.Self: it is 3.11+ (we support 3.10), and ruff flags a
    # typing_extensions import or not depending on the target it infers.
    async def __aenter__(self) -> OmoClient:  # noqa: PYI034
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the session if this client created it; otherwise do nothing."""
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def create_job(
        self,
        type_job_id: int | str,
        image_base64: str | None = None,
        input: str | None = None,
        *,
        images: Images | None = None,
        **extra: Any,
    ) -> int:
        """Submit a captcha and return its job id.

        Give the image either as ``image_base64`` (ready base64 text, two
        joined with ``|`` for types 23 and 26) or as ``images`` (bytes, a
        path, or a tuple/list of them; files are read synchronously, which
        is fine for captcha-sized images), not both; neither for the token
        types, which take no image. ``input`` is the text
        prompt types 13 and 14 need; it is sent only when given. ``extra``
        is merged into ``data`` for the type's other fields (``website_url``,
        ``width_view``, ...).
        """
        # Token types (1, 2, 3, 11, 47, 48) take no image: given neither, none is sent.
        job_type = CATALOGUE.get(str(type_job_id))
        has_image = image_base64 is not None or images is not None or job_type is None or job_type.images > 0
        data: dict[str, Any] = {
            # Sent as text because that is the documented form, even though
            # clients in the wild also send a number.
            "type_job_id": str(type_job_id),
            **({"image_base64": _image_field(image_base64, images)} if has_image else {}),
            **extra,
        }
        if input is not None:
            data["input"] = input
        answer = await self._post("createJob", {"api_token": self.api_token, "data": data})
        job_id = answer.body.get("job_id")
        # bool is an int subclass; a "true" job id is not a job id.
        if not isinstance(job_id, int) or isinstance(job_id, bool):
            raise answer.protocol_error("createJob answer has no numeric job_id")
        return job_id

    async def get_job_result(self, job_id: int) -> JobResult:
        """Ask once for the state of ``job_id``; never waits or retries."""
        answer = await self._post("getJobResult", {"api_token": self.api_token, "job_id": job_id})
        status = answer.body.get("status")
        result = answer.body.get("result")
        if status not in _STATUSES:
            raise answer.protocol_error(f"unknown job status {status!r}")
        if result is not None and not isinstance(result, str):
            raise answer.protocol_error("job result is neither a string nor null")
        if status == "success" and result is None:
            raise answer.protocol_error("job succeeded without a result")
        if status != "success":
            result = None
        return JobResult(job_id=job_id, status=status, result=result, raw=answer.body)

    async def get_balance(self) -> Decimal:
        """The account's balance (``getBalance``), exactly, as the API's five-decimal text says
        (in v2, the ``balance`` number as it is written)."""
        if self.dialect == "v2":
            body = await self._post_v2("getBalance", {})
            number = body.get("balance")
            if isinstance(number, bool) or not isinstance(number, (int, float)):
                raise ProtocolError("getBalance answer has no balance number", 200, json.dumps(body)[:200])
            return Decimal(str(number))
        answer = await self._post("getBalance", {"api_token": self.api_token})
        balance = answer.body.get("balance")
        try:
            if not isinstance(balance, str):
                raise InvalidOperation
            amount = Decimal(balance)
        except InvalidOperation:
            raise answer.protocol_error("getBalance answer has no balance text") from None
        if not amount.is_finite():
            raise answer.protocol_error("getBalance answer has no balance text")
        return amount

    async def get_services(self) -> list[dict[str, Any]]:
        """The service list (``getService``): one dict per service, as the API sends it
        (``id``, ``name``, ``price`` as text, ``avg_success``, ``avg_time``, ...)."""
        answer = await self._post("getService", {"api_token": self.api_token})
        services = answer.body.get("service")
        if not isinstance(services, list) or not all(isinstance(s, dict) for s in services):
            raise answer.protocol_error("getService answer has no service list")
        return services

    async def solve(
        self,
        type_job_id: int | str,
        image_base64: str | None = None,
        input: str | None = None,
        *,
        images: Images | None = None,
        poll_interval: float | None = None,
        timeout: float | None = None,
        **extra: Any,
    ) -> str:
        """Create a job and poll until it is solved; return the result text.

        Polls once straight after creation, then every ``poll_interval``
        seconds. Raises :class:`JobFailed` if the service gives up and
        :class:`SolveTimeout` if the job is still running ``timeout`` seconds
        after the call began. The timeout bounds the waiting between polls;
        each HTTP request is bounded by the session's own timeout.
        """
        if self.dialect == "v2":
            # A v2 solve returns a solution object, not a result text: another method, typed so.
            raise TypeError(
                "solve() is v1's (it returns the result text); a v2 client calls "
                "solve_task(type, **fields), which returns the solution"
            )
        interval = self.poll_interval if poll_interval is None else poll_interval
        limit = self.timeout if timeout is None else timeout
        _check_timing(interval, limit)
        # Monotonic, so a wall-clock jump (NTP, DST) neither ends nor extends the wait.
        deadline = time.monotonic() + limit
        job_id = await self.create_job(type_job_id, image_base64, input, images=images, **extra)
        while True:
            job = await self.get_job_result(job_id)
            if job.status == "success":
                assert job.result is not None  # get_job_result guarantees it
                return job.result
            if job.status == "fail":
                raise JobFailed(job_id, job.raw)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SolveTimeout(job_id, limit)
            # Sleeping only up to the deadline lets the last poll land on it
            # instead of overshooting by up to a whole interval.
            await asyncio.sleep(min(interval, remaining))

    # v2

    async def create_task(self, type: str, **fields: Any) -> str:
        """v2 ``createTask``: the task of class ``type`` with its fields by their v2 names
        (``imageBase64``, ``imageBase64s``, ``widthView``, ...); returns the task id."""
        body = await self._post_v2("createTask", {"task": {"type": type, **fields}})
        task_id = body.get("taskId")
        if not isinstance(task_id, str) or not task_id:
            raise ProtocolError("createTask answer has no taskId", 200, json.dumps(body)[:_SNIPPET_CHARS])
        return task_id

    async def get_task_result(self, task_id: str) -> TaskResult:
        """v2 ``getTaskResult``, once; a failed solve is a result with status ``fail``."""
        body = await self._post_v2("getTaskResult", {"taskId": task_id}, failed_ok=True)
        status = body.get("status")
        solution = body.get("solution")
        if status not in ("processing", "ready", "fail"):
            raise ProtocolError(f"unknown task status {status!r}", 200, json.dumps(body)[:_SNIPPET_CHARS])
        if status == "ready" and not isinstance(solution, dict):
            raise ProtocolError(
                "ready task without a solution object", 200, json.dumps(body)[:_SNIPPET_CHARS]
            )
        return TaskResult(task_id, status, solution if status == "ready" else None, body)

    async def solve_task(
        self, type: str, *, poll_interval: float | None = None, timeout: float | None = None, **fields: Any
    ) -> dict[str, Any]:
        """v2: create a task and poll until it is ready; return its ``solution``. Raises
        :class:`JobFailed` on ``fail`` and :class:`SolveTimeout` as :meth:`solve` does."""
        interval = self.poll_interval if poll_interval is None else poll_interval
        limit = self.timeout if timeout is None else timeout
        _check_timing(interval, limit)
        deadline = time.monotonic() + limit
        task_id = await self.create_task(type, **fields)
        while True:
            result = await self.get_task_result(task_id)
            if result.solution is not None:
                return result.solution
            if result.status == "fail":
                raise JobFailed(task_id, result.raw)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SolveTimeout(task_id, limit)
            await asyncio.sleep(min(interval, remaining))

    async def _post_v2(
        self, method: str, payload: dict[str, Any], *, failed_ok: bool = False
    ) -> dict[str, Any]:
        url = f"{self.base_url}/{method}"
        async with self._get_session().post(url, json={"clientKey": self.api_token, **payload}) as response:
            status, raw = response.status, await response.read()
        snippet = raw[:_SNIPPET_CHARS].decode("utf-8", errors="replace")
        try:
            body = json.loads(raw)
        except ValueError:
            raise ProtocolError("answer is not JSON", status, snippet) from None
        if not isinstance(body, dict) or body.get("errorId") not in (0, 1):
            raise ProtocolError("answer has no errorId 0 or 1", status, snippet)
        if body["errorId"] == 1 and not (failed_ok and body.get("status") == "fail"):
            description, code = body.get("errorDescription"), body.get("errorCode")
            if not isinstance(description, str) or not isinstance(code, str):
                raise ProtocolError("error answer has no errorCode and errorDescription", status, snippet)
            raise OmoError(description, status, code)
        if not 200 <= status < 300:
            raise ProtocolError("HTTP error with errorId 0", status, snippet)
        return body

    def _get_session(self) -> aiohttp.ClientSession:
        # Created lazily: aiohttp wants a running event loop, which __init__
        # may not have.
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def _post(self, endpoint: str, payload: dict[str, Any]) -> _Answer:
        url = f"{self.base_url}/{endpoint}"
        async with self._get_session().post(url, json=payload) as response:
            # Read bytes, not .json(): proxies answer with HTML and the wrong
            # content type, and that must become a ProtocolError.
            return _Answer.parse(response.status, await response.read())


@dataclass(frozen=True)
class _Answer:
    """An answer that passed the common checks, kept with what errors need."""

    status: int
    body: dict[str, Any]
    snippet: str

    @classmethod
    def parse(cls, status: int, raw: bytes) -> _Answer:
        snippet = raw[:_SNIPPET_CHARS].decode("utf-8", errors="replace")
        try:
            body = json.loads(raw)
        except ValueError:  # JSONDecodeError and UnicodeDecodeError alike
            raise ProtocolError("answer is not JSON", status, snippet) from None
        if not isinstance(body, dict):
            raise ProtocolError("answer is not a JSON object", status, snippet)
        error = body.get("error")
        if error is True:
            message = body.get("message")
            if not isinstance(message, str):
                raise ProtocolError("error answer has no message", status, snippet)
            raise OmoError(message, status)
        if error is not False:
            raise ProtocolError('answer has no boolean "error"', status, snippet)
        if not 200 <= status < 300:
            raise ProtocolError('HTTP error without "error": true', status, snippet)
        return cls(status, body, snippet)

    def protocol_error(self, reason: str) -> ProtocolError:
        return ProtocolError(reason, self.status, self.snippet)


def _image_field(image_base64: str | None, images: Images | None) -> str:
    if image_base64 is not None and images is not None:
        raise TypeError("give one of image_base64= and images=, not both")
    if image_base64 is not None:
        return image_base64
    # bytes and str are Sequences too, so test for a single image first.
    if isinstance(images, (bytes, str, os.PathLike)):
        return encode_image(images)
    assert images is not None
    return encode_images(*images)


def _check_timing(poll_interval: float, timeout: float) -> None:
    # A zero interval would hammer the server; a negative timeout is a bug.
    if poll_interval <= 0:
        raise ValueError(f"poll_interval must be > 0, got {poll_interval!r}")
    if timeout < 0:
        raise ValueError(f"timeout must be >= 0, got {timeout!r}")
