"""Calling the control API (``/_omofake/...``) with several client libraries, as other
processes would: each caller sends a method, an optional JSON body and headers, and returns
(status, parsed JSON answer, headers)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import requests

Reply = tuple[int, Any, Mapping[str, str]]
Caller = Callable[..., Reply]
_NO_BODY: Any = object()


def _raw(body: Any) -> bytes | None:
    if body is _NO_BODY:
        return None
    return body if isinstance(body, bytes) else json.dumps(body).encode()


def call_requests(
    method: str, url: str, body: Any = _NO_BODY, headers: Mapping[str, str] | None = None
) -> Reply:
    answer = requests.request(method, url, data=_raw(body), headers=dict(headers or {}), timeout=10)
    return answer.status_code, answer.json(), answer.headers


def call_httpx(
    method: str, url: str, body: Any = _NO_BODY, headers: Mapping[str, str] | None = None
) -> Reply:
    answer = httpx.request(method, url, content=_raw(body), headers=dict(headers or {}), timeout=10)
    return answer.status_code, answer.json(), answer.headers


def call_urllib(
    method: str, url: str, body: Any = _NO_BODY, headers: Mapping[str, str] | None = None
) -> Reply:
    request = urllib.request.Request(url, data=_raw(body), method=method, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read()), dict(answer.headers)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read()), dict(error.headers)


CALLERS: dict[str, Caller] = {"requests": call_requests, "httpx": call_httpx, "urllib": call_urllib}


def control(base_url: str, method: str, name: str, body: Any = _NO_BODY, **headers: str) -> Reply:
    """One control call with requests: ``control(url, "POST", "configure", {...})``."""
    wire = {key.replace("_", "-"): value for key, value in headers.items()}
    return call_requests(method, f"{base_url}/_omofake/{name}", body, wire)
