"""The async code against the fake: aiohttp directly, and omofake's own client."""

from __future__ import annotations

import pytest
from solver import CaptchaError, read_text, solve_async

from omofake import FakeServer, OmoClient

TOKEN = "my-api-token"
IMAGE = b"\x89PNG\r\n\x1a\n a captcha"


@pytest.mark.asyncio
@pytest.mark.omofake(running_polls=1)
async def test_solve_async(omofake_url: str, omofake_server: FakeServer) -> None:
    text = await solve_async(30, IMAGE, token=TOKEN, base_url=omofake_url, poll_interval=0)

    assert text
    assert len(omofake_server.requests.job_results) == 2


@pytest.mark.asyncio
@pytest.mark.omofake(job_type=26, outcome="fail")
async def test_solve_async_failure(omofake_url: str) -> None:
    with pytest.raises(CaptchaError, match="failed"):
        await solve_async(26, (b"mask", b"background"), token=TOKEN, base_url=omofake_url, poll_interval=0)


@pytest.mark.asyncio
@pytest.mark.omofake(result="XK7P")
async def test_read_text_lowercases(omofake_client: OmoClient) -> None:
    assert await read_text(omofake_client, IMAGE) == "xk7p"
