"""The sync solver against the fake: results, waiting, failures, and what it sent."""

from __future__ import annotations

import base64
from collections.abc import Sequence

import pytest
from solver import CaptchaError, rotation, solve

from omofake import FakeServer

TOKEN = "my-api-token"
IMAGE = b"\x89PNG\r\n\x1a\n a captcha"


def solve_now(
    base_url: str, type_job_id: int = 30, images: bytes | Sequence[bytes] = IMAGE, input: str | None = None
) -> str:
    # The fake answers at once: no need to wait the 2 s the real service asks for.
    return solve(type_job_id, images, token=TOKEN, input=input, base_url=base_url, poll_interval=0)


def test_solves_an_image_to_text_captcha(omofake_url: str, omofake_server: FakeServer) -> None:
    text = solve_now(omofake_url)

    assert text
    sent = omofake_server.requests.last("createJob").request
    assert sent["data"] == {"type_job_id": "30", "image_base64": base64.b64encode(IMAGE).decode()}


@pytest.mark.omofake(running_polls=2)
def test_polls_until_the_job_is_done(omofake_url: str, omofake_server: FakeServer) -> None:
    solve_now(omofake_url)

    [created] = omofake_server.requests.create_jobs
    assert created.job_id is not None
    assert omofake_server.requests.polls(created.job_id) == 3  # running, running, success


@pytest.mark.omofake(job_type=23, result="90")
def test_rotation_sends_two_images_and_reads_the_angle(omofake_url: str) -> None:
    assert rotation(b"inner", b"outer", token=TOKEN, base_url=omofake_url, poll_interval=0) == 90


@pytest.mark.omofake(outcome="fail")
def test_a_failed_job_raises(omofake_url: str) -> None:
    with pytest.raises(CaptchaError, match="failed"):
        solve_now(omofake_url)


@pytest.mark.omofake(create_error="Balance is not enough.")
def test_an_api_error_raises_with_the_message(omofake_url: str) -> None:
    with pytest.raises(CaptchaError, match=r"Balance is not enough\."):
        solve_now(omofake_url)


@pytest.mark.omofake(tokens=["the-right-token"])
def test_a_wrong_token_is_refused(omofake_url: str) -> None:
    with pytest.raises(CaptchaError, match=r"Invalid api token\."):
        solve_now(omofake_url)


def test_the_grid_types_send_their_prompt(omofake_url: str, omofake_server: FakeServer) -> None:
    solve_now(omofake_url, 13, input="Chọn tất cả hình ảnh có: tàu thuyền")

    assert omofake_server.requests.last("createJob").request["data"]["input"].endswith("tàu thuyền")
