"""The sync solver against the fake: results, waiting, failures, and what it sent."""

from __future__ import annotations

import base64

import pytest
from solver import CaptchaError, rotation, solve

from omofake import FakeServer

TOKEN = "my-api-token"
IMAGE = b"\x89PNG\r\n\x1a\n a captcha"
FAST = {"token": TOKEN, "poll_interval": 0}  # the fake answers at once: no need to wait 2 s


def test_solves_an_image_to_text_captcha(omofake_url: str, omofake_server: FakeServer) -> None:
    text = solve(30, IMAGE, base_url=omofake_url, **FAST)

    assert text
    sent = omofake_server.requests.last("createJob").request
    assert sent["data"] == {"type_job_id": "30", "image_base64": base64.b64encode(IMAGE).decode()}


@pytest.mark.omofake(running_polls=2)
def test_polls_until_the_job_is_done(omofake_url: str, omofake_server: FakeServer) -> None:
    solve(30, IMAGE, base_url=omofake_url, **FAST)

    [created] = omofake_server.requests.create_jobs
    assert omofake_server.requests.polls(created.job_id) == 3  # running, running, success


@pytest.mark.omofake(job_type=23, result="90")
def test_rotation_sends_two_images_and_reads_the_angle(omofake_url: str) -> None:
    assert rotation(b"inner", b"outer", base_url=omofake_url, **FAST) == 90


@pytest.mark.omofake(outcome="fail")
def test_a_failed_job_raises(omofake_url: str) -> None:
    with pytest.raises(CaptchaError, match="failed"):
        solve(30, IMAGE, base_url=omofake_url, **FAST)


@pytest.mark.omofake(create_error="Balance is not enough.")
def test_an_api_error_raises_with_the_message(omofake_url: str) -> None:
    with pytest.raises(CaptchaError, match=r"Balance is not enough\."):
        solve(30, IMAGE, base_url=omofake_url, **FAST)


@pytest.mark.omofake(tokens=["the-right-token"])
def test_a_wrong_token_is_refused(omofake_url: str) -> None:
    with pytest.raises(CaptchaError, match=r"Invalid api token\."):
        solve(30, IMAGE, base_url=omofake_url, **FAST)


def test_the_grid_types_send_their_prompt(omofake_url: str, omofake_server: FakeServer) -> None:
    solve(13, IMAGE, input="Chọn tất cả hình ảnh có: tàu thuyền", base_url=omofake_url, **FAST)

    assert omofake_server.requests.last("createJob").request["data"]["input"].endswith("tàu thuyền")
