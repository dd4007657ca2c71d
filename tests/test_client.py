"""Tests for omofake.client against a tiny scripted stand-in for the API.

The stand-in (``FakeApi``) is deliberately dumb: each test scripts the answers
it wants, in the shapes the vendor docs show, and then inspects the requests
the client sent. That keeps these tests independent of the real fake server.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer

from omofake.client import JobResult, OmoClient, encode_image, encode_images
from omofake.errors import JobFailed, OmoError, ProtocolError, SolveTimeout

TOKEN = "test-token"
JOB_ID = 123456

CREATED = {"error": False, "job_id": JOB_ID, "message": "Create job success."}
RUNNING = {"error": False, "status": "running", "result": None}
FAIL = {"error": False, "status": "fail", "result": None}
# Type 26 (Shopee) answers "" where the other types answer null, and adds error_code.
RUNNING_26 = {"error": False, "status": "running", "result": ""}
FAIL_26 = {"error": False, "status": "fail", "error_code": "", "result": ""}
INVALID_TOKEN = {"error": True, "message": "Invalid api token."}
BAD_GATEWAY_HTML = "<html><body><h1>502 Bad Gateway</h1></body></html>"


def success(result: str) -> dict[str, Any]:
    return {"error": False, "status": "success", "result": result}


@dataclass
class Reply:
    """One scripted answer: a JSON value, or a str sent verbatim as HTML."""

    body: Any
    status: int = 200


@dataclass
class Request:
    endpoint: str
    at: float  # time.monotonic() on arrival
    content_type: str
    body: Any


@dataclass
class FakeApi:
    """Answers createJob/getJobResult from scripts and records every request.

    ``results`` is consumed in order and its last entry repeats, so a script
    of ``[RUNNING]`` means "running forever".
    """

    created: Reply = field(default_factory=lambda: Reply(CREATED))
    results: list[Reply] = field(default_factory=lambda: [Reply(success("1|4|7"))])
    requests: list[Request] = field(default_factory=list)
    base_url: str = ""

    def script(self, *bodies: Any) -> None:
        self.results = [Reply(body) for body in bodies]

    def polls(self) -> list[Request]:
        return [r for r in self.requests if r.endpoint == "getJobResult"]

    def created_data(self) -> dict[str, Any]:
        [create] = [r for r in self.requests if r.endpoint == "createJob"]
        data: dict[str, Any] = create.body["data"]
        return data

    async def _record(self, request: web.Request) -> None:
        self.requests.append(
            Request(
                endpoint=request.match_info["endpoint"],
                at=time.monotonic(),
                content_type=request.content_type,
                body=await request.json(),
            )
        )

    async def handle(self, request: web.Request) -> web.Response:
        await self._record(request)
        if request.match_info["endpoint"] == "createJob":
            reply = self.created
        else:
            reply = self.results.pop(0) if len(self.results) > 1 else self.results[0]
        if isinstance(reply.body, str):
            return web.Response(text=reply.body, status=reply.status, content_type="text/html")
        return web.json_response(reply.body, status=reply.status)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/{endpoint:createJob|getJobResult}", self.handle)
        return app


@pytest_asyncio.fixture
async def api() -> AsyncIterator[FakeApi]:
    fake = FakeApi()
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    fake.base_url = str(server.make_url("/api"))
    try:
        yield fake
    finally:
        await server.close()


@pytest_asyncio.fixture
async def client(api: FakeApi) -> AsyncIterator[OmoClient]:
    async with OmoClient(TOKEN, api.base_url, poll_interval=0.01, timeout=5) as c:
        yield c


# --- solve -----------------------------------------------------------------


@pytest.mark.asyncio
async def test_solve_instant_success_polls_once_without_sleeping(api: FakeApi) -> None:
    # A 30 s interval would make any initial sleep obvious.
    async with OmoClient(TOKEN, api.base_url, poll_interval=30) as client:
        result = await asyncio.wait_for(
            client.solve(13, "aW1n", input="Chọn tất cả hình ảnh có: tàu thuyền"), 5
        )
    assert result == "1|4|7"
    assert [r.endpoint for r in api.requests] == ["createJob", "getJobResult"]
    create, poll = api.requests
    assert create.content_type == poll.content_type == "application/json"
    assert create.body == {
        "api_token": TOKEN,
        "data": {
            "type_job_id": "13",
            "image_base64": "aW1n",
            "input": "Chọn tất cả hình ảnh có: tàu thuyền",
        },
    }
    assert poll.body == {"api_token": TOKEN, "job_id": JOB_ID}
    assert type(poll.body["job_id"]) is int


@pytest.mark.asyncio
async def test_solve_polls_until_success_sleeping_between_polls(api: FakeApi, client: OmoClient) -> None:
    api.script(RUNNING, RUNNING, RUNNING, success("50"))
    assert await client.solve(23, "aW5uZXI=|b3V0ZXI=", poll_interval=0.05) == "50"
    polls = api.polls()
    assert len(polls) == 4
    gaps = [b.at - a.at for a, b in itertools.pairwise(polls)]
    # Lower bound only, with slack for clock granularity; upper bounds flake on CI.
    assert all(gap >= 0.04 for gap in gaps), gaps


@pytest.mark.asyncio
async def test_solve_fail_raises_job_failed(api: FakeApi, client: OmoClient) -> None:
    api.script(RUNNING, FAIL)
    with pytest.raises(JobFailed) as excinfo:
        await client.solve(30, "aW1n")
    assert excinfo.value.job_id == JOB_ID
    assert excinfo.value.raw == FAIL
    assert isinstance(excinfo.value, OmoError)


@pytest.mark.asyncio
async def test_solve_timeout_raises_solve_timeout(api: FakeApi, client: OmoClient) -> None:
    api.script(RUNNING)
    started = time.monotonic()
    with pytest.raises(SolveTimeout) as excinfo:
        await client.solve(30, "aW1n", poll_interval=0.02, timeout=0.1)
    elapsed = time.monotonic() - started
    assert isinstance(excinfo.value, TimeoutError)
    assert excinfo.value.job_id == JOB_ID
    assert excinfo.value.timeout == 0.1
    assert 0.1 <= elapsed < 5
    assert len(api.polls()) >= 3


@pytest.mark.asyncio
async def test_solve_zero_timeout_still_polls_once(api: FakeApi, client: OmoClient) -> None:
    api.script(RUNNING)
    with pytest.raises(SolveTimeout):
        await client.solve(30, "aW1n", timeout=0)
    assert len(api.polls()) == 1


@pytest.mark.asyncio
async def test_solve_rejects_non_positive_interval(client: OmoClient) -> None:
    with pytest.raises(ValueError):
        await client.solve(30, "aW1n", poll_interval=0)


# --- type 26 quirks ----------------------------------------------------------


@pytest.mark.asyncio
async def test_type_26_running_and_fail_results_normalised_to_none(api: FakeApi, client: OmoClient) -> None:
    api.script(RUNNING_26, FAIL_26)
    running = await client.get_job_result(JOB_ID)
    failed = await client.get_job_result(JOB_ID)
    assert running == JobResult(JOB_ID, "running", None, RUNNING_26)
    assert (running.done, running.succeeded) == (False, False)
    assert failed.result is None
    assert failed.raw == FAIL_26
    assert (failed.done, failed.succeeded) == (True, False)


@pytest.mark.asyncio
async def test_type_26_solve(api: FakeApi, client: OmoClient) -> None:
    api.script(RUNNING_26, success("123"))
    assert await client.solve(26, images=(b"mask", b"background")) == "123"
    assert api.created_data() == {
        "type_job_id": "26",
        "image_base64": "bWFzaw==|YmFja2dyb3VuZA==",
    }


@pytest.mark.asyncio
async def test_type_26_fail_raises_job_failed_with_raw(api: FakeApi, client: OmoClient) -> None:
    api.script(FAIL_26)
    with pytest.raises(JobFailed) as excinfo:
        await client.solve(26, "bWFzaw==|YmFja2dyb3VuZA==")
    assert excinfo.value.raw["error_code"] == ""


@pytest.mark.asyncio
async def test_job_result_success(api: FakeApi, client: OmoClient) -> None:
    api.script(success("abcxyz"))
    job = await client.get_job_result(JOB_ID)
    assert (job.job_id, job.status, job.result) == (JOB_ID, "success", "abcxyz")
    assert job.done and job.succeeded
    hash(job)  # frozen and hashable despite holding a dict


# --- errors ------------------------------------------------------------------


@pytest.mark.asyncio
async def test_api_error_on_create_raises_omo_error(api: FakeApi, client: OmoClient) -> None:
    api.created = Reply(INVALID_TOKEN)
    with pytest.raises(OmoError) as excinfo:
        await client.create_job(13, "aW1n", input="panda")
    assert type(excinfo.value) is OmoError
    assert excinfo.value.message == "Invalid api token."
    assert excinfo.value.status == 200
    assert str(excinfo.value) == "Invalid api token."


@pytest.mark.asyncio
async def test_api_error_on_poll_raises_omo_error(api: FakeApi, client: OmoClient) -> None:
    api.script({"error": True, "message": "Job not found."})
    with pytest.raises(OmoError, match=r"Job not found\."):
        await client.solve(30, "aW1n")


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [404, 405, 413])
async def test_transport_error_with_json_body_keeps_status(
    api: FakeApi, client: OmoClient, status: int
) -> None:
    api.created = Reply({"error": True, "message": "Request rejected."}, status)
    with pytest.raises(OmoError) as excinfo:
        await client.create_job(30, "aW1n")
    assert type(excinfo.value) is OmoError
    assert (excinfo.value.message, excinfo.value.status) == (
        "Request rejected.",
        status,
    )


@pytest.mark.asyncio
async def test_html_502_raises_protocol_error(api: FakeApi, client: OmoClient) -> None:
    api.results = [Reply(BAD_GATEWAY_HTML, 502)]
    with pytest.raises(ProtocolError) as excinfo:
        await client.solve(30, "aW1n")
    assert excinfo.value.status == 502
    assert excinfo.value.snippet.startswith("<html>")
    assert "502" in str(excinfo.value)


@pytest.mark.asyncio
async def test_long_body_snippet_is_short(api: FakeApi, client: OmoClient) -> None:
    api.created = Reply("<html>" + "x" * 10_000 + "</html>", 500)
    with pytest.raises(ProtocolError) as excinfo:
        await client.create_job(30, "aW1n")
    assert len(excinfo.value.snippet) <= 200


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "body",
    [
        [1, 2],
        "not json at all",
        {"job_id": JOB_ID},  # no "error"
        {"error": "false", "job_id": JOB_ID},  # "error" not a boolean
        {"error": False, "message": "Create job success."},  # no job_id
        {"error": False, "job_id": "123456"},  # job_id not a number
        {"error": False, "job_id": True},
        {"error": True},  # no message
    ],
)
async def test_create_answer_not_matching_docs_raises_protocol_error(
    api: FakeApi, client: OmoClient, body: Any
) -> None:
    api.created = Reply(body)
    with pytest.raises(ProtocolError) as excinfo:
        await client.create_job(30, "aW1n")
    assert excinfo.value.status == 200


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "body",
    [
        {"error": False, "status": "done", "result": "x"},
        {"error": False, "result": "x"},
        {"error": False, "status": "success", "result": None},
        {"error": False, "status": "success", "result": ["1", "4"]},
    ],
)
async def test_result_answer_not_matching_docs_raises_protocol_error(
    api: FakeApi, client: OmoClient, body: Any
) -> None:
    api.script(body)
    with pytest.raises(ProtocolError):
        await client.get_job_result(JOB_ID)


@pytest.mark.asyncio
async def test_http_error_without_error_flag_is_protocol_error(api: FakeApi, client: OmoClient) -> None:
    api.created = Reply(CREATED, 500)
    with pytest.raises(ProtocolError) as excinfo:
        await client.create_job(30, "aW1n")
    assert excinfo.value.status == 500


# --- request shape -------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("suffix", ["", "/"])
async def test_base_url_with_or_without_trailing_slash(api: FakeApi, suffix: str) -> None:
    async with OmoClient(TOKEN, api.base_url + suffix) as client:
        assert await client.create_job("30", "aW1n") == JOB_ID


@pytest.mark.asyncio
async def test_create_job_sends_documented_form(api: FakeApi, client: OmoClient) -> None:
    await client.create_job(30, "aW1n", priority=1)
    # No "input" key unless given; extra fields land in data; id sent as text.
    assert api.created_data() == {
        "type_job_id": "30",
        "image_base64": "aW1n",
        "priority": 1,
    }


@pytest.mark.asyncio
async def test_create_job_images_single_and_pair(api: FakeApi, client: OmoClient, tmp_path: Path) -> None:
    outer = tmp_path / "outer.png"
    outer.write_bytes(b"outer")
    await client.create_job(23, images=[b"inner", outer])
    await client.create_job(30, images=b"text")
    creates = [r.body["data"]["image_base64"] for r in api.requests]
    assert creates == ["aW5uZXI=|b3V0ZXI=", "dGV4dA=="]


@pytest.mark.asyncio
@pytest.mark.parametrize("kwargs", [{}, {"image_base64": "aW1n", "images": b"img"}], ids=["none", "both"])
async def test_exactly_one_image_argument(api: FakeApi, client: OmoClient, kwargs: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        await client.create_job(30, **kwargs)
    with pytest.raises(TypeError):
        await client.solve(30, **kwargs)
    assert api.requests == []


@pytest.mark.asyncio
async def test_token_types_send_no_image(api: FakeApi, client: OmoClient) -> None:
    await client.create_job(2)
    await client.create_job("1", website_url="https://example.com", website_key="6Lc_key")
    assert [r.body["data"] for r in api.requests] == [
        {"type_job_id": "2"},
        {"type_job_id": "1", "website_url": "https://example.com", "website_key": "6Lc_key"},
    ]


# --- session ownership ---------------------------------------------------------
# These peek at client._session: ownership is about that private object.


@pytest.mark.asyncio
async def test_owned_session_created_lazily_and_closed(api: FakeApi) -> None:
    async with OmoClient(TOKEN, api.base_url) as client:
        assert client._session is None
        await client.create_job(30, "aW1n")
        session = client._session
        assert session is not None and not session.closed
    assert session.closed


@pytest.mark.asyncio
async def test_close_closes_owned_session(api: FakeApi) -> None:
    client = OmoClient(TOKEN, api.base_url)
    await client.create_job(30, "aW1n")
    session = client._session
    assert session is not None
    await client.close()
    assert session.closed
    await client.close()  # idempotent


@pytest.mark.asyncio
async def test_passed_in_session_is_never_closed(api: FakeApi) -> None:
    async with aiohttp.ClientSession() as session:
        async with OmoClient(TOKEN, api.base_url, session=session) as client:
            await client.create_job(30, "aW1n")
            assert client._session is session
        assert not session.closed
        await client.close()
        assert not session.closed
        # Still usable by the caller after the client is done with it.
        client = OmoClient(TOKEN, api.base_url, session=session)
        assert await client.create_job(30, "aW1n") == JOB_ID


# --- encode helpers ------------------------------------------------------------


def test_encode_image_bytes() -> None:
    assert encode_image(b"\x89PNG\r\n") == base64.b64encode(b"\x89PNG\r\n").decode()


def test_encode_image_path_and_str_path(tmp_path: Path) -> None:
    image = tmp_path / "captcha.png"
    image.write_bytes(b"\x89PNG data")
    expected = base64.b64encode(b"\x89PNG data").decode()
    assert encode_image(image) == expected
    assert encode_image(str(image)) == expected


def test_encode_image_base64_str_passes_through() -> None:
    assert encode_image("iVBORw0KGgo=") == "iVBORw0KGgo="


def test_encode_images_joins_with_pipe(tmp_path: Path) -> None:
    background = tmp_path / "background.jpg"
    background.write_bytes(b"background")
    assert encode_images(b"mask", background) == "bWFzaw==|YmFja2dyb3VuZA=="
    assert encode_images("aW5uZXI=", "b3V0ZXI=") == "aW5uZXI=|b3V0ZXI="


def test_encode_images_needs_an_image() -> None:
    with pytest.raises(ValueError):
        encode_images()
