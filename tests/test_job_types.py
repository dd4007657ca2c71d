"""Every documented job type over real HTTP, in the wire styles real clients use for it.

Each test posts with requests, httpx and urllib in turn (the ``post`` fixture); the suite's
self-check (conftest.py) also validates every answer the fake sends against the schemas.
"""

from __future__ import annotations

import base64
import json
import random
import re
import tracemalloc
from typing import Any

import pytest

from omofake import FakeServer
from omofake.contract import patterns, validate_request, validate_response
from omofake.contract.registry import load_schema
from omofake.core.catalogue import CATALOGUE

from .helpers import PNG, RESULT_FORMATS, TOKEN, Poster, create_body, job_data, post_requests

TYPES = list(CATALOGUE)
NEW_TYPES = [t for t in TYPES if t not in ("13", "14", "23", "26", "30")]
TOKEN_TYPES = [t for t in TYPES if CATALOGUE[t].images == 0]


def create(server: FakeServer, post: Poster, body: Any) -> dict[str, Any]:
    status, created = post(f"{server.api_url}/createJob", body)
    assert status == 200
    assert created["error"] is False, created
    assert isinstance(created["job_id"], int)
    return dict(created)


def poll(server: FakeServer, post: Poster, job_id: Any) -> dict[str, Any]:
    body = job_id if isinstance(job_id, (str, bytes)) else {"api_token": TOKEN, "job_id": job_id}
    status, answer = post(f"{server.api_url}/getJobResult", body)
    assert status == 200
    return dict(answer)


def solve(server: FakeServer, post: Poster, body: Any, type_id: str) -> str:
    """Create, then poll until done, checking each answer against the type's schema; the result."""
    job_id = create(server, post, body)["job_id"]
    for _ in range(5):
        answer = poll(server, post, job_id)
        assert validate_response("getJobResult", answer, type_id) == [], answer
        if answer["status"] != "running":
            assert answer["status"] == "success", answer
            result: str = answer["result"]
            assert re.fullmatch(RESULT_FORMATS[type_id], result), result
            return result
    raise AssertionError("the job never finished")


def numbers(result: str) -> list[int]:
    return [int(n) for n in result.split("|")]


@pytest.mark.parametrize("type_id", TYPES)
def test_every_type_runs_then_succeeds_in_its_own_shape(
    server: FakeServer, post: Poster, type_id: str
) -> None:
    server.configure(running_polls=1)
    job_id = create(server, post, create_body(type_id))["job_id"]
    running = poll(server, post, job_id)
    # Lenient answers also carry success, the opposite of error (what real servers send).
    assert running == {**CATALOGUE[type_id].running_answer(), "success": True}
    assert validate_response("getJobResult", running, type_id) == []
    solved = poll(server, post, job_id)
    assert (solved["error"], solved["status"]) == (False, "success")
    assert validate_response("getJobResult", solved, type_id) == []
    assert re.fullmatch(RESULT_FORMATS[type_id], solved["result"])
    assert server.jobs[job_id].data == {k: v for k, v in job_data(type_id).items() if k != "image_base64"}


@pytest.mark.parametrize("type_id", TYPES)
def test_every_type_fails_in_its_own_shape(server: FakeServer, post: Poster, type_id: str) -> None:
    server.configure(outcome="fail")
    job_id = create(server, post, create_body(type_id))["job_id"]
    failed = poll(server, post, job_id)
    assert failed == {**CATALOGUE[type_id].fail_answer(), "success": True}
    assert validate_response("getJobResult", failed, type_id) == []
    # V1-6: "" where the type's newest page shows it, null elsewhere.
    assert failed["result"] == ("" if type_id in ("11", "22", "25", "26") else None)


@pytest.mark.parametrize("type_id", TOKEN_TYPES)
def test_token_types_take_no_image(server: FakeServer, post: Poster, type_id: str) -> None:
    data = job_data(type_id)
    assert "image_base64" not in data
    token = solve(server, post, {"api_token": TOKEN, "data": data}, type_id)
    assert len(token) > 400
    assert server.jobs.get(server.requests.last("createJob").job_id or 0) is not None
    assert server.requests.last("createJob").violations == ()


def test_type_2_with_nothing_but_its_id(server: FakeServer, post: Poster) -> None:
    # A Facebook reCAPTCHA client sends the type and nothing else: no image, no URL, no key.
    token = solve(server, post, {"api_token": TOKEN, "data": {"type_job_id": "2"}}, "2")
    assert token.startswith("03A")


@pytest.mark.parametrize(("width", "height"), [(340, 212), (552, 344), (300.5, 187.25)])
def test_type_22_clicks_two_points_within_the_view(
    server: FakeServer, post: Poster, width: float, height: float
) -> None:
    for _ in range(10):
        body = create_body("22", width_view=width, height_view=height)
        x1, y1, x2, y2 = numbers(solve(server, post, body, "22"))
        assert 0 <= x1 < width and 0 <= x2 < width
        assert 0 <= y1 < height and 0 <= y2 < height
        assert (x1, y1) != (x2, y2)


def test_type_25_with_the_view_sent_clicks_within_it(server: FakeServer, post: Poster) -> None:
    # Clients send width_view/height_view with 25 too (not on its page): the points fit them.
    for _ in range(10):
        body = create_body("25", width_view=412, height_view=915)
        x1, y1, x2, y2 = numbers(solve(server, post, body, "25"))
        assert 0 <= x1 < 412 and 0 <= x2 < 412 and 0 <= y1 < 915 and 0 <= y2 < 915


def test_types_24_and_25_without_a_view_fit_a_phone_screenshot(server: FakeServer, post: Poster) -> None:
    for type_id in ("24", "25"):
        for _ in range(10):
            x1, y1, x2, y2 = numbers(solve(server, post, create_body(type_id), type_id))
            assert all(0 <= x < 1080 for x in (x1, x2))
            assert all(0 <= y < 2400 for y in (y1, y2))


def test_type_24_with_width_view_drags_right_within_it(server: FakeServer, post: Poster) -> None:
    for _ in range(10):
        x1, y1, x2, y2 = numbers(solve(server, post, create_body("24", width_view=340), "24"))
        assert 0 <= x1 <= x2 < 340
        assert y1 == y2  # a slider moves along one line


@pytest.mark.parametrize("type_id", ["21", "44", "52"])
def test_slider_offsets_stay_within_width_view(server: FakeServer, post: Poster, type_id: str) -> None:
    for width in (340, 120, 1):
        for _ in range(5):
            offset = int(solve(server, post, create_body(type_id, width_view=width), type_id))
            assert 0 <= offset < width


def test_type_55_answers_a_json_list_of_points_inside_a_string(server: FakeServer, post: Poster) -> None:
    points = json.loads(solve(server, post, create_body("55"), "55"))
    assert 2 <= len(points) <= 5
    assert all(set(p) == {"x", "y"} and 0 <= p["x"] < 1080 and 0 <= p["y"] < 2400 for p in points)


def test_type_45_answers_a_1_based_position(server: FakeServer, post: Poster) -> None:
    positions = {int(solve(server, post, create_body("45"), "45")) for _ in range(20)}
    assert positions <= set(range(1, 7)) and len(positions) > 1


def test_token_shapes(server: FakeServer, post: Poster) -> None:
    hcaptcha = solve(server, post, create_body("11"), "11")
    header, payload, _ = hcaptcha[3:].split(".")
    assert json.loads(_unb64url(header)) == {"typ": "JWT", "alg": "HS256"}
    assert {"exp", "passkey"} <= set(json.loads(_unb64url(payload)))
    hotmail = solve(server, post, create_body("47"), "47")
    twitter = solve(server, post, create_body("48"), "48")
    assert "|pk=B7D8911C-5CC8-A9A3-35B0-554ACEE604DA|" in hotmail
    assert "|pk=2CB16598-CB82-4CF7-B332-5990DB66F3AB|" in twitter


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.mark.parametrize("type_id", TYPES)
def test_type_job_id_as_a_number_works_leniently_and_is_refused_strictly(
    server: FakeServer, post: Poster, type_id: str
) -> None:
    body = create_body(type_id, type_job_id=int(type_id))
    solve(server, post, body, type_id)
    [violation] = server.requests.last("createJob").violations
    assert violation.path == "$.data.type_job_id"
    server.configure(strict=True)
    _, refused = post(f"{server.api_url}/createJob", body)
    assert refused == {
        "error": True,
        "message": f'Field data.type_job_id must be text such as "{type_id}", not the number {type_id}.',
    }


@pytest.mark.parametrize("type_id", ["21", "22", "44", "52"])
def test_width_view_as_text_works_leniently_and_is_refused_strictly(
    server: FakeServer, post: Poster, type_id: str
) -> None:
    body = create_body(type_id, width_view="200")
    offset = numbers(solve(server, post, body, type_id))[0]
    assert 0 <= offset < 200  # read as the number 200
    assert [v.path for v in server.requests.last("createJob").violations] == ["$.data.width_view"]
    server.configure(strict=True)
    _, refused = post(f"{server.api_url}/createJob", body)
    example = 340 if type_id in ("21", "22") else 320  # the pages' examples
    assert refused == {
        "error": True,
        "message": f"Field data.width_view must be a number such as {example} (the image's width in "
        'pixels as shown on the page), not the text "200".',
    }


def test_both_lenient_readings_at_once(server: FakeServer, post: Poster) -> None:
    body = create_body("22", type_job_id=22, width_view="340", height_view="212.5")
    x1, y1, x2, y2 = numbers(solve(server, post, body, "22"))
    assert max(x1, x2) < 340 and max(y1, y2) < 212
    assert len(server.requests.last("createJob").violations) == 3


BAD_DATA: list[tuple[str, dict[str, Any], str]] = [
    (
        "no site key",
        {"type_job_id": "1", "website_url": "https://example.com/login"},
        "Missing field data.website_key, required for type_job_id 1: the site key (data-sitekey) of the "
        'captcha, such as "6Lc_aCMTAAAAABx7u2N0D1XnVbI_v6ZdbM6rYf16".',
    ),
    (
        "no URL",
        {"type_job_id": "11", "website_key": "a5f74b19-9e45-40e0-b45d-47ff91b7a6c2"},
        "Missing field data.website_url, required for type_job_id 11: the URL of the page with the "
        'captcha, such as "https://accounts.hcaptcha.com/demo".',
    ),
    (
        "site key a number",
        {**job_data("1"), "website_key": 12345},
        'Field data.website_key must be text such as "6Lc_aCMTAAAAABx7u2N0D1XnVbI_v6ZdbM6rYf16" (the site '
        "key (data-sitekey) of the captcha), not the number 12345.",
    ),
    (
        "score with a decimal point",
        {**job_data("3"), "score": "0.9"},
        'Field data.score must be one of "0,3", "0,7", "0,9" (the minimum score, written with a decimal '
        'comma), not the text "0.9".',
    ),
    (
        "score a number",
        {**job_data("3"), "score": 0.9},
        'Field data.score must be text such as "0,9" (the minimum score, written with a decimal comma), '
        "not the number 0.9.",
    ),
    (
        "no width_view",
        {"type_job_id": "21", "image_base64": PNG},
        "Missing field data.width_view, required for type_job_id 21: the image's width in pixels as shown "
        "on the page, such as 340.",
    ),
    (
        "width_view not numeric text",
        {**job_data("22"), "width_view": "wide"},
        "Field data.width_view must be a number such as 340 (the image's width in pixels as shown on the "
        'page), not the text "wide".',
    ),
    (
        "width_view zero",
        {**job_data("22"), "height_view": 0},
        "Field data.height_view is invalid: expected a number of at least 1, found 0.",
    ),
    (
        "no question for 45",
        {"type_job_id": "45", "image_base64": PNG},
        "Missing field data.text, required for type_job_id 45: the captcha's question, such as "
        '"Use the arrows to pick the image where all the darts add up to the number in the left image".',
    ),
    (
        "one image for 52",
        {**job_data("52"), "image_base64": PNG},
        'Field data.image_base64 must hold 2 images joined by "|" (small|big) for type_job_id 52, not 1 image.',
    ),
    (
        "a data URI for 52",
        {**job_data("52"), "image_base64": f"data:image/png;base64,{PNG}|{PNG}"},
        "Field data.image_base64 is not valid base64 (image 1 of 2).",
    ),
    (
        "a bad second data URI for 44",
        {**job_data("44"), "image_base64": f"data:image/jpg;base64,{PNG} | data:image/png;base64,@@"},
        "Field data.image_base64 is not valid base64 (image 2 of 2).",
    ),
    (
        "no image for 24",
        {"type_job_id": "24"},
        "Missing field data.image_base64, required for type_job_id 24.",
    ),
]


@pytest.mark.parametrize(("data", "message"), [c[1:] for c in BAD_DATA], ids=[c[0] for c in BAD_DATA])
def test_bad_data_gets_a_clear_error(
    server: FakeServer, post: Poster, data: dict[str, Any], message: str
) -> None:
    for strict in (False, True):
        server.configure(strict=strict)
        status, answer = post(f"{server.api_url}/createJob", {"api_token": TOKEN, "data": data})
        # Strict mode sends the documented shape; lenient mode adds success, as real servers do.
        expected = {"error": True, "message": message} | ({} if strict else {"success": False})
        assert (status, answer) == (200, expected)
    assert len(server.jobs) == 0


def test_type_44_takes_data_uris_with_spaces_around_the_bar_in_both_modes(
    server: FakeServer, post: Poster
) -> None:
    # What the nimo.tv page tells clients to send: the two src attributes, " | " between them.
    image = f"data:image/jpg;base64,{PNG} | data:image/png;base64,{PNG}"
    for strict in (False, True):
        server.configure(strict=strict)
        offset = int(solve(server, post, create_body("44", image_base64=image), "44"))
        assert 0 <= offset < 320
        assert server.requests.last("createJob").violations == ()


@pytest.mark.parametrize("type_id", ["22", "47"])
def test_a_hand_built_body_with_the_job_id_unquoted(server: FakeServer, post: Poster, type_id: str) -> None:
    # A template string as PHP or shell clients write it: numbers pasted in bare, job id too.
    template = '{"api_token": "TOKEN", "data": {"type_job_id": "TYPE"FIELDS}}'
    fields = ', "image_base64": "PNG", "width_view": 340, "height_view": 212' if type_id == "22" else ""
    body = template.replace("FIELDS", fields).replace("TOKEN", TOKEN).replace("TYPE", type_id)
    body = body.replace("PNG", PNG)
    job_id = create(server, post, body)["job_id"]
    answer = poll(
        server,
        post,
        '{"api_token": "TOKEN", "job_id": JOB}'.replace("TOKEN", TOKEN).replace("JOB", str(job_id)),
    )
    assert answer["status"] == "success"
    assert validate_response("getJobResult", answer, type_id) == []
    assert re.fullmatch(RESULT_FORMATS[type_id], answer["result"])


VIEWS = {"22": {"width_view": 552, "height_view": 344}, "24": {"width_view": 412}}


def test_a_seed_repeats_the_new_types_results() -> None:
    def results(seed: int) -> list[str]:
        with FakeServer(seed=seed) as server:
            return [solve(server, post_requests, create_body(t, **VIEWS.get(t, {})), t) for t in NEW_TYPES]

    first = results(7)
    assert results(7) == first
    assert results(8) != first


DATA_URI_CORPUS = [
    "QQ==",
    " QQ==",
    "QQ== ",
    "  QQ==  ",
    "data:image/png;base64,QQ==",
    " data:image/jpg;base64,QUJD ",
    "data:image/svg+xml;base64,QUI=",
    "data:image/png;base64, QQ==",
    "data:image/png;base64,",
    "data:image/;base64,QQ==",
    "data:image/png;base64,data:image/png;base64,QQ==",
    "data:text/plain;base64,QQ==",
    "QQ== \n",
    "QQ==\n ",
    "   ",
    "",
    "QQ== | QUI=",
    "data:image/jpg;base64,QQ== | data:image/png;base64,QUI=",
    "data:image/jpg;base64,QQ==|data:image/png;base64,QUI=\n",
    "QQ==\n| QUI=",
    "QQ== |",
    "| QQ==",
    f"data:image/jpg;base64,{PNG} | data:image/png;base64,{PNG}",
]


def _data_uri_fuzz(count: int) -> list[str]:
    rng = random.Random(44)
    pieces = ["QUJD", "QQ==", "QUI=", " ", "|", "\n", "data:image/png;base64,", "data:", "=", "a", ";"]
    return ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 8))) for _ in range(count)]


@pytest.mark.parametrize("images", range(1, patterns.MAX_IMAGES + 1))
def test_the_data_uri_image_check_answers_as_the_schema_pattern_does(images: int) -> None:
    pattern = patterns.data_uri_images_pattern(images)
    check = patterns.known_pattern(pattern)
    assert check is not None
    joined = [" | ".join(["data:image/png;base64,QQ=="] * n) for n in range(1, 6)]
    corpus = [*DATA_URI_CORPUS, *joined, *_data_uri_fuzz(20_000)]
    disagreements = [t for t in corpus if check(t) != (re.search(pattern, t) is not None)]
    assert not disagreements, disagreements[:10]
    assert {check(t) for t in corpus} == {True, False}


def test_type_44_uses_the_recognised_pattern() -> None:
    # So a big type-44 image is scanned in linear time, not by re's backtracking.
    rule = load_schema("createJob.request")["$defs"]["type44"]["properties"]["image_base64"]
    assert rule["pattern"] == patterns.data_uri_images_pattern(2)


def test_a_big_type_44_image_is_checked_in_linear_memory_and_refused_clearly(server: FakeServer) -> None:
    big = "QUJD" * (1 << 20)  # 4 MiB: re's backtracking would take ~30 bytes a character to say no
    image = f"data:image/jpg;base64,{big} | data:image/png;base64,{big}!"
    body = create_body("44", image_base64=image)
    tracemalloc.start()
    try:
        [violation] = validate_request("createJob", body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < len(image) // 2, f"checking a {len(image)}-character image took {peak} bytes"
    assert violation.message == "Field data.image_base64 is not valid base64 (image 2 of 2)."
    status, answer = post_requests(f"{server.api_url}/createJob", body)
    assert (status, answer) == (200, {"error": True, "message": violation.message, "success": False})
