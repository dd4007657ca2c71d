"""Solve captchas through the OMOcaptcha API: the code under test of this example project.

``solve`` is synchronous (requests); ``solve_async`` does the same with aiohttp; ``read_text``
builds on omofake's own async client, which works against the real service too.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Sequence
from typing import Any

import aiohttp
import requests

from omofake import OmoClient

API_URL = "https://omocaptcha.com/api"


class CaptchaError(Exception):
    """The API refused the job, the job failed, or it took too long."""


def _job(type_job_id: int, images: bytes | Sequence[bytes], input: str | None) -> dict[str, Any]:
    parts = [images] if isinstance(images, bytes) else list(images)
    data = {
        "type_job_id": str(type_job_id),  # documented as text
        "image_base64": "|".join(base64.b64encode(part).decode("ascii") for part in parts),
    }
    if input is not None:
        data["input"] = input
    return data


def _check(answer: dict[str, Any]) -> dict[str, Any]:
    if answer.get("error"):
        raise CaptchaError(answer.get("message", "unknown error"))
    return answer


def solve(
    type_job_id: int,
    images: bytes | Sequence[bytes],
    *,
    token: str,
    input: str | None = None,
    base_url: str = API_URL,
    poll_interval: float = 2.0,
    timeout: float = 120.0,
) -> str:
    """Create a job, poll it until it is done, and return its result."""
    with requests.Session() as http:
        created = _check(
            http.post(
                f"{base_url}/createJob",
                json={"api_token": token, "data": _job(type_job_id, images, input)},
                timeout=30,
            ).json()
        )
        poll = {"api_token": token, "job_id": created["job_id"]}
        deadline = time.monotonic() + timeout
        while True:
            answer = _check(http.post(f"{base_url}/getJobResult", json=poll, timeout=30).json())
            if answer["status"] == "success":
                return str(answer["result"])
            if answer["status"] == "fail":
                raise CaptchaError(f"job {created['job_id']} failed")
            if time.monotonic() > deadline:
                raise CaptchaError(f"job {created['job_id']} not solved in {timeout} s")
            time.sleep(poll_interval)


async def solve_async(
    type_job_id: int,
    images: bytes | Sequence[bytes],
    *,
    token: str,
    input: str | None = None,
    base_url: str = API_URL,
    poll_interval: float = 2.0,
    timeout: float = 120.0,
) -> str:
    """The same as :func:`solve`, on aiohttp."""
    async with aiohttp.ClientSession() as http:

        async def post(endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
            async with http.post(f"{base_url}/{endpoint}", json=body) as response:
                return _check(await response.json())

        created = await post("createJob", {"api_token": token, "data": _job(type_job_id, images, input)})
        poll = {"api_token": token, "job_id": created["job_id"]}
        deadline = time.monotonic() + timeout
        while True:
            answer = await post("getJobResult", poll)
            if answer["status"] == "success":
                return str(answer["result"])
            if answer["status"] == "fail":
                raise CaptchaError(f"job {created['job_id']} failed")
            if time.monotonic() > deadline:
                raise CaptchaError(f"job {created['job_id']} not solved in {timeout} s")
            await asyncio.sleep(poll_interval)


def rotation(inner: bytes, outer: bytes, **options: Any) -> int:
    """The angle, in degrees, that solves a TikTok rotate captcha (type 23)."""
    return int(solve(23, (inner, outer), **options))


async def read_text(client: OmoClient, image: bytes) -> str:
    """The text of an image-to-text captcha (type 30), as the login form wants it: lower case."""
    return (await client.solve(30, images=image)).lower()
