"""Bits the server tests share: sample images and bodies, and one way to POST with several libraries."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import requests

from omofake.core.catalogue import CATALOGUE
from omofake.dialects.v2.tasks import TaskClass

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4).decode()
TOKEN = "test-token-123456"
INPUTS = {"13": "Chọn tất cả hình ảnh có: tàu thuyền", "14": "panda"}
_TILES = r"[1-9]\d*(\|[1-9]\d*)*"
_POINTS = r"\d+\|\d+\|\d+\|\d+"
_TEXT = r"[a-z2-9]{4,6}"
_RECAPTCHA = r"03A[A-Za-z0-9_-]{440,560}"
_ARKOSE = r"[0-9a-f]{17}\.[1-9]\d{9}\|r=ap-southeast-1\|meta=3\|.*\|pk=[0-9A-F-]{36}\|.*"
_POINT = r'\{"x": \d+, "y": \d+\}'
#: What a generated result of each type looks like (the fake's shapes, stricter than the schemas).
RESULT_FORMATS = {
    "1": _RECAPTCHA,
    "2": _RECAPTCHA,
    "3": _RECAPTCHA,
    "11": r"P1_eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9\.eyJ[A-Za-z0-9_-]{800,}\.[A-Za-z0-9_-]{43}",
    "13": _TILES,
    "14": _TILES,
    "21": r"\d{1,3}",
    "22": _POINTS,
    "23": r"\d{1,3}",
    "24": _POINTS,
    "25": _POINTS,
    "26": r"\d+",
    "30": r".+",
    "31": _TEXT,
    "33": _TEXT,
    "41": r"[A-Z]{6}",
    "43": r"\d{1,3}",
    "44": r"\d{1,3}",
    "45": r"[1-6]",
    "47": _ARKOSE,
    "48": _ARKOSE,
    "52": r"\d{1,3}",
    "55": rf"\[{_POINT}(, {_POINT}){{1,4}}\]",
}


def valid_task(tc: TaskClass, image: str = PNG) -> dict[str, Any]:
    """A v2 task with every required field of ``tc``, from the page's examples, ``image`` for
    each image."""
    task: dict[str, Any] = {"type": tc.name}
    for f in tc.fields:
        if not f.required:
            continue
        if f.kind == "Array of String":
            task[f.name] = [image] * (f.lengths[0] if f.lengths else 2)
        else:
            task[f.name] = image if f.image else f.example
    return task


def job_data(type_job_id: str) -> dict[str, Any]:
    """A valid ``data`` object for a job type: its images (none for token types) and its other
    required fields with the page's example values."""
    job_type = CATALOGUE[type_job_id]
    data: dict[str, Any] = {"type_job_id": type_job_id}
    if job_type.images:
        data["image_base64"] = "|".join([PNG] * job_type.images)
    for spec in job_type.fields:
        data[spec.name] = spec.example
    if type_job_id in INPUTS:
        data["input"] = INPUTS[type_job_id]
    return data


def create_body(job_type: str = "30", **data: Any) -> dict[str, Any]:
    """A valid createJob body for ``job_type``; ``data`` overrides or adds fields."""
    return {"api_token": TOKEN, "data": {**job_data(job_type), **data}}


# A poster sends a body to a URL and returns (HTTP status, parsed JSON answer). ``body`` is a
# dict to send as JSON, or bytes/str to send as they are.
Poster = Callable[[str, Any], tuple[int, Any]]


def _raw(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    return body.encode() if isinstance(body, str) else json.dumps(body).encode()


def post_requests(url: str, body: Any) -> tuple[int, Any]:
    if isinstance(body, dict):
        answer = requests.post(url, json=body, timeout=10)
    else:
        answer = requests.post(url, data=_raw(body), headers={"Content-Type": "application/json"}, timeout=10)
    return answer.status_code, answer.json()


def post_httpx(url: str, body: Any) -> tuple[int, Any]:
    if isinstance(body, dict):
        answer = httpx.post(url, json=body, timeout=10)
    else:
        answer = httpx.post(url, content=_raw(body), headers={"Content-Type": "application/json"}, timeout=10)
    return answer.status_code, answer.json()


def post_urllib(url: str, body: Any) -> tuple[int, Any]:
    request = urllib.request.Request(
        url, data=_raw(body), method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


POSTERS: dict[str, Poster] = {"requests": post_requests, "httpx": post_httpx, "urllib": post_urllib}


OMOFAKE = [sys.executable, "-m", "omofake"]


@contextmanager
def serve(*flags: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``omofake serve --port 0`` in a subprocess: yields its URL (once it prints it) and the process.

    A test may stop it itself; otherwise it is stopped with SIGTERM and must exit 0.
    """
    process = subprocess.Popen(
        [*OMOFAKE, "serve", "--port", "0", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), process.stderr.read() if process.stderr else url
        yield url, process
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream:
                stream.close()


def record_routed_sleeps(monkeypatch: Any) -> list[float]:
    """The latency waits of routed requests from now on (omofake.http.app._sleep), still waited."""
    import asyncio

    from omofake.http import app as http_app

    waits: list[float] = []
    real_sleep = asyncio.sleep

    async def recording_sleep(seconds: float) -> None:
        waits.append(seconds)
        await real_sleep(seconds)

    monkeypatch.setattr(http_app, "_sleep", recording_sleep)
    return waits


def body_awaited(server: Any) -> bool:
    """Whether a connection of ``server`` holds a request whose head was read and whose body it
    waits for, to answer it directly (omofake.http.connections)."""
    runner = server._runner
    assert runner is not None and runner.server is not None
    return any(getattr(connection, "_began", None) is not None for connection in runner.server.connections)
