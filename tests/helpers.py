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

from omofake.catalogue import CATALOGUE

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4).decode()
TOKEN = "test-token-123456"
INPUTS = {"13": "Chọn tất cả hình ảnh có: tàu thuyền", "14": "panda"}
RESULT_FORMATS = {
    "13": r"[1-9]\d*(\|[1-9]\d*)*",
    "14": r"[1-9]\d*(\|[1-9]\d*)*",
    "23": r"\d{1,3}",
    "26": r"\d+",
    "30": r".+",
}


def job_data(type_job_id: str) -> dict[str, Any]:
    """A valid ``data`` object for a job type, with the right number of images."""
    data: dict[str, Any] = {
        "type_job_id": type_job_id,
        "image_base64": "|".join([PNG] * CATALOGUE[type_job_id].images),
    }
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
