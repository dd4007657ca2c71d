"""The v2 task catalogue (omofake/dialects/v2/tasks.py), the v2 error catalogue and the v2 schemas
(schemas/v2/) agree with each other and with every example the v2 pages print.

The schemas are loaded straight from ``schemas/v2/`` with jsonschema + referencing, so these tests
do not depend on how the package's registry finds them.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from omofake.core.draws import Draws
from omofake.dialects.v2.errors import ERRORS, error_answer
from omofake.dialects.v2.tasks import (
    DECISIONS,
    IMAGE_PATTERN,
    JSON_TYPES,
    PROCESSING_ANSWER,
    TASK_CLASSES,
    TaskClass,
    fail_answer,
)

from . import helpers

ROOT = Path(__file__).resolve().parent.parent
V2 = ROOT / "schemas" / "v2"
NAMES = (
    "createTask.request",
    "createTask.response",
    "getTaskResult.request",
    "getTaskResult.response",
    "getBalance.request",
    "getBalance.response",
    "getServicePrice.response",
)
# A real 1x1 PNG: the pages' placeholders ("BASE64_BODY_HERE") are not base64.
PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
).decode("ascii")


def valid_task(tc: TaskClass) -> dict[str, Any]:
    """A task with every required field of ``tc``, from the page's examples (a real PNG for images)."""
    return helpers.valid_task(tc, PNG)


TASK_ID = "49f9f60a-c809-4af0-93c0-0409b72e67e0"


def _load() -> dict[str, dict[str, Any]]:
    return {name: json.loads((V2 / f"{name}.json").read_text("utf-8")) for name in NAMES}


SCHEMAS = _load()
REGISTRY: Registry[Any] = Registry().with_resources(
    (doc["$id"], Resource.from_contents(doc)) for doc in SCHEMAS.values()
)


@cache
def validator(name: str, pointer: str = "") -> Draft202012Validator:
    schema: dict[str, Any] = (
        SCHEMAS[name] if not pointer else {"$ref": f"urn:omofake:schema:v2:{name}#{pointer}"}
    )
    return Draft202012Validator(schema, registry=REGISTRY)


def errors(name: str, instance: Any, pointer: str = "") -> list[str]:
    return [e.message for e in validator(name, pointer).iter_errors(instance)]


def source(seed: int) -> Draws:
    """A seeded source of draws of its own, as the job store makes them."""
    return Draws(seed)


def request(task: Mapping[str, Any]) -> dict[str, Any]:
    return {"clientKey": "API_KEY", "task": dict(task)}


# The files themselves.


def test_every_schema_is_a_valid_draft_2020_12_schema_with_its_urn() -> None:
    assert sorted(p.stem for p in V2.glob("*.json")) == sorted(NAMES)
    for name, doc in SCHEMAS.items():
        assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert doc["$id"] == f"urn:omofake:schema:v2:{name}"
        assert doc["description"]
        Draft202012Validator.check_schema(doc)


def test_image_pattern_is_the_v1_schemas_one_so_the_linear_check_knows_it() -> None:
    [v1] = [p for p in ROOT.glob("schemas/**/createJob.request.json") if "v2" not in p.parts]
    v1_patterns = set(re.findall(r'"pattern": "((?:[^"\\]|\\.)*)"', v1.read_text("utf-8")))
    assert json.dumps(IMAGE_PATTERN)[1:-1] in v1_patterns


# The catalogue and createTask.request agree.


def test_the_catalogue_holds_every_class_the_pages_send() -> None:
    assert len(TASK_CLASSES) == 23
    assert "TencentSlider" not in TASK_CLASSES
    task_type = SCHEMAS["createTask.request"]["properties"]["task"]["properties"]["type"]
    assert task_type["enum"] == list(TASK_CLASSES)
    assert set(SCHEMAS["createTask.request"]["$defs"]) == set(TASK_CLASSES)
    for name, tc in TASK_CLASSES.items():
        assert tc.name == name
        assert tc.pages and all(p.startswith("v2/tai-lieu-api/") and p.endswith(".md") for p in tc.pages)
        assert tc.make_solution and tc.example_solutions


def test_each_class_definition_matches_the_catalogue_fields() -> None:
    defs = SCHEMAS["createTask.request"]["$defs"]
    for name, tc in TASK_CLASSES.items():
        rule = defs[name]
        assert rule["properties"]["type"] == {"const": name}
        assert tc.pages[0].removeprefix("v2/tai-lieu-api/") in rule["description"]
        strict = [f.name for f in tc.fields if f.required and not f.unless]
        assert rule["required"] == ["type", *strict], name
        relaxed = [f for f in tc.fields if f.unless]
        if relaxed:
            assert rule["else"] == {"required": [f.name for f in relaxed]}
            assert rule["if"]["properties"] == {relaxed[0].unless: {"const": True}}
        else:
            assert "if" not in rule and "else" not in rule
        assert set(rule["properties"]) == {"type", *(f.name for f in tc.fields)}
        for f in tc.fields:
            prop = rule["properties"][f.name]
            assert prop["type"] == JSON_TYPES[f.kind], (name, f.name)
            image = prop.get("items", {}) if f.kind == "Array of String" else prop
            assert (image.get("pattern") == IMAGE_PATTERN) is f.image, (name, f.name)
            if len(f.lengths) == 1:
                assert prop["minItems"] == prop["maxItems"] == f.lengths[0]
            elif f.lengths:
                assert prop["anyOf"] == [{"minItems": n, "maxItems": n} for n in f.lengths]
            assert prop.get("enum", []) == list(f.choices)


def test_a_task_with_every_required_field_is_accepted_and_dropping_any_one_is_refused() -> None:
    for tc in TASK_CLASSES.values():
        task = valid_task(tc)
        assert errors("createTask.request", request(task)) == [], tc.name
        for missing in tc.required[1:]:
            partial = {k: v for k, v in task.items() if k != missing}
            found = errors("createTask.request", request(partial))
            assert any(f"'{missing}' is a required property" in e for e in found), (tc.name, missing)


def test_wrong_types_are_refused() -> None:
    wrong = {"String": 5, "Number": "340", "Bool": "true", "Array of String": PNG}
    for tc in TASK_CLASSES.values():
        for f in tc.fields:
            task = {**valid_task(tc), f.name: wrong[f.kind]}
            assert errors("createTask.request", request(task)), (tc.name, f.name)


def test_bad_base64_and_wrong_array_lengths_are_refused() -> None:
    for tc in TASK_CLASSES.values():
        for f in tc.fields:
            if not f.image:
                continue
            bad: Any = ["BASE64_BODY_HERE"] * (f.lengths[0] if f.lengths else 1)
            if f.kind == "String":
                bad = "BASE64_BODY_HERE"
            task = {**valid_task(tc), f.name: bad}
            assert errors("createTask.request", request(task)), (tc.name, f.name)
            for text in (f"data:image/png;base64,{PNG}", PNG[:-1], PNG + "\n" + PNG):
                one: Any = text if f.kind == "String" else [text] * (f.lengths[0] if f.lengths else 1)
                assert errors("createTask.request", request({**valid_task(tc), f.name: one})), (
                    tc.name,
                    f.name,
                )
            for n in range(11):
                if f.lengths and n not in f.lengths:
                    task = {**valid_task(tc), f.name: [PNG] * n}
                    assert errors("createTask.request", request(task)), (tc.name, f.name, n)


def test_envelope_problems_are_refused() -> None:
    good = request(valid_task(TASK_CLASSES["ImageToTextTask"]))
    for body in (
        {"task": good["task"]},
        {"clientKey": "API_KEY"},
        {"clientKey": 5, "task": good["task"]},
        {"clientKey": "", "task": good["task"]},
        {"clientKey": "API_KEY", "task": "ImageToTextTask"},
        {"clientKey": "API_KEY", "task": {"imageBase64": PNG}},
        request({**good["task"], "type": "TencentSlider"}),
        request({**good["task"], "type": "imagetotexttask"}),
        [good],
    ):
        assert errors("createTask.request", body), body


def test_view_sizes_must_be_positive_and_typecaptcha_a_named_variant() -> None:
    task = valid_task(TASK_CLASSES["TiktokSliderWebTask"])
    for width in (0, -340):
        assert errors("createTask.request", request({**task, "widthView": width}))
    assert errors("createTask.request", request({**task, "widthView": 340.5})) == []
    shopee = valid_task(TASK_CLASSES["ShopeeSliderWebTask"])
    assert errors("createTask.request", request({**shopee, "typeCaptcha": "rotate"})) == []
    assert errors("createTask.request", request({**shopee, "typeCaptcha": "slide"}))


def test_hcaptcha_needs_anchors_and_question_unless_it_is_a_screenshot() -> None:
    """V2-9: the page marks anchors and question required, yet its screenshot example omits both."""
    screenshot = {"type": "HcaptchaImageTask", "queries": [PNG], "isScreenshot": True}
    assert errors("createTask.request", request(screenshot)) == []
    assert errors("createTask.request", request({**screenshot, "isScreenshot": False}))
    assert errors("createTask.request", request({k: v for k, v in screenshot.items() if k != "isScreenshot"}))
    grid = {"type": "HcaptchaImageTask", "anchors": [], "queries": [PNG] * 9, "question": "Pick the cups"}
    assert errors("createTask.request", request(grid)) == []
    assert errors("createTask.request", request({**grid, "queries": [PNG] * 4}))


def test_fields_the_pages_do_not_list_are_ignored() -> None:
    task = {**valid_task(TASK_CLASSES["RecaptchaV2TokenTask"]), "userAgent": "Mozilla/5.0"}
    assert errors("createTask.request", request(task)) == []


# Every example the pages print. Placeholder images are replaced by a real one; V2-4's invalid
# JSON is repaired as the schema descriptions say (trailing commas dropped, the '//' comment
# removed, '...' read as more of the same items).

PAGE_REQUESTS: list[tuple[str, dict[str, Any]]] = [
    ("imagetotexttask.md", {"type": "ImageToTextTask", "imageBase64": PNG, "module": "module_1"}),
    (
        "recaptcha/recaptchav2tokentask.md",
        {
            "type": "RecaptchaV2TokenTask",
            "websiteURL": "https://lessons.zennolab.com/captchas/recaptcha/v2_simple.php?level=high",
            "websiteKey": "6Lcg7CMUAAAAANphynKgn9YAgA4tQ2KI_iqRyTwd",
        },
    ),
    (
        "recaptcha/recaptchav3tokentask.md",
        {
            "type": "RecaptchaV3TokenTask",
            "websiteURL": "https://lessons.zennolab.com/captchas/recaptcha/v3.php?level=beta",
            "websiteKey": "6Le0xVgUAAAAAIt20XEB4rVhYOODgTl00d8juDob",
            "isEnterprise": True,
            "pageAction": "myverify",
        },
    ),
    (
        "recaptcha/recaptchav2imagetask.md",
        {"type": "RecaptchaV2ImageTask", "imageBase64": PNG, "question": "traffic lights"},
    ),
    (
        "hcaptcha/hcaptchaimagetask.md",
        {
            "type": "HcaptchaImageTask",
            "anchors": [PNG, PNG],
            "queries": [PNG] * 9,
            "question": "Pick all the cooking utensils and equipment",
        },
    ),
    ("hcaptcha/hcaptchaimagetask.md", {"type": "HcaptchaImageTask", "queries": [PNG], "isScreenshot": True}),
    (
        "funcaptcha/funcaptchaimagetask.md",
        {
            "type": "FuncaptchaImageTask",
            "imageBase64": PNG,
            "other": "Use the arrows to pick the image where all the darts add up to the number in the left image",
        },
    ),
    (
        "tiktok/tiktok3dselectobjectwebtask.md",
        {"type": "Tiktok3DSelectObjectWebTask", "imageBase64": PNG, "widthView": 340, "heightView": 212},
    ),
    (
        "tiktok/tiktokselectobjectwebtask.md",
        {
            "type": "TiktokSelectObjectWebTask",
            "imageBase64": PNG,
            "widthView": 340,
            "heightView": 212,
            "question": "Which of these objects...?",
        },
    ),
    (
        "tiktok/tiktok3dselectobjectphonetask.md",
        {"type": "Tiktok3DSelectObjectPhoneTask", "imageBase64": PNG},
    ),
    ("tiktok/tiktokrotatewebtask.md", {"type": "TiktokRotateWebTask", "imageBase64s": [PNG, PNG]}),
    ("tiktok/tiktoksliderwebtask.md", {"type": "TiktokSliderWebTask", "imageBase64": PNG, "widthView": 340}),
    ("tiktok/tiktoksliderphonetask.md", {"type": "TiktokSliderPhoneTask", "imageBase64": PNG}),
    ("shopee/shopeesliderwebtask.md", {"type": "ShopeeSliderWebTask", "imageBase64s": [PNG, PNG]}),
    (
        "shopee/shopeesliderwebtask.md",
        {"type": "ShopeeSliderWebTask", "typeCaptcha": "rotate", "imageBase64s": [PNG, PNG]},
    ),
    ("zalo/zalosliderphonetask.md", {"type": "ZaloSliderPhoneTask", "imageBase64": PNG}),
    (
        "zalo/zaloselectobjecttask.md",
        {
            "type": "ZaloSelectObjectTask",
            "imageBase64": PNG,
            "other": "Chọn tất cả ảnh có: biến báo giao thông",
        },
    ),
    (
        "amzn-captcha/amznselectobjecttask.md",
        {"type": "AmznSelectObjectTask", "imageBase64": PNG, "other": "the bags"},
    ),
    ("geetest/geetestsliderwebtask.md", {"type": "GeetestSliderWebTask", "imageBase64": PNG}),
    (
        "geetest/geetesticonwebtask.md",
        {"type": "GeetestIconWebTask", "imageBase64": PNG, "anchorImageBase64s": [PNG, PNG, PNG]},
    ),
    (
        "tencent/geetesticonwebtask.md",
        {"type": "GeetestIconWebTask", "imageBase64": PNG, "anchorImageBase64s": [PNG, PNG, PNG]},
    ),
    ("geetest/geetestgobangwebtask.md", {"type": "GeetestGobangWebTask", "imageBase64": PNG}),
    ("geetest/geetesticoncrushwebtask.md", {"type": "GeetestIconCrushWebTask", "imageBase64": PNG}),
    (
        "geetest/geetestselectobjecttask.md",
        {"type": "GeetestSelectObjectTask", "imageBase64": PNG, "question": "Select...", "anchor": PNG},
    ),
    (
        "tencent/tencentselectobjecttask.md",
        {
            "type": "TencentSelectObjectTask",
            "imageBase64": PNG,
            "anchor": PNG,
            "question": "QUESTION_CAPTCHA",
        },
    ),
    (
        "tencent/tencentslider.md",
        {
            "type": "SliderAllWebTask",
            "domain": "global.captcha.gtimg.com",
            "imageBase64": PNG,
            "puzzle": PNG,
            "widthView": 340,
            "heightView": 243,
        },
    ),
    (
        "slider-all/sliderallwebtask.md",
        {"type": "SliderAllWebTask", "imageBase64": PNG, "widthView": 300, "heightView": 150},
    ),
]

_CODES = {"errorCode": "", "errorDescription": ""}
PAGE_ANSWERS: list[tuple[str, str, dict[str, Any]]] = [
    ("imagetotexttask.md", "ImageToTextTask", {"errorId": 0, "status": "ready", "solution": {"text": "ABC"}}),
    *(
        (
            page,
            name,
            {
                "errorId": 0,
                "status": "ready",
                "solution": {
                    "gRecaptchaResponse": "3AHJ_VuvYIBNBW5yyv0zRYJ75VkOKvhKj9_xGBJKnQimF72rfoq3Iy-DyGHMwLAo6a3"
                },
            },
        )
        for page, name in (
            ("recaptcha/recaptchav2tokentask.md", "RecaptchaV2TokenTask"),
            ("recaptcha/recaptchav3tokentask.md", "RecaptchaV3TokenTask"),
        )
    ),
    (
        "recaptcha/recaptchav2imagetask.md",
        "RecaptchaV2ImageTask",
        {"errorId": 0, "status": "ready", "solution": {"objects": [1, 5, 8], "type": "multi"}},
    ),
    *(
        (
            "hcaptcha/hcaptchaimagetask.md",
            "HcaptchaImageTask",
            {"errorId": 0, **_CODES, "status": "ready", "solution": s},
        )
        for s in (
            {"objects": [1, 3, 8]},
            {"type": "click", "coords": [[398, 347]]},
            {
                "type": "drag",
                "box": [{"start": [446, 200], "end": [100, 224]}, {"start": [455, 300], "end": [139, 190]}],
            },
        )
    ),
    (
        "funcaptcha/funcaptchaimagetask.md",
        "FuncaptchaImageTask",
        {"errorId": 0, "status": "ready", "solution": {"index": 1}},
    ),
    *(
        (
            page,
            name,
            {
                "errorId": 0,
                "status": "ready",
                "solution": {"pointA": {"x": 50, "y": 30}, "pointB": {"x": 100, "y": 70}},
            },
        )
        for page, name in (
            ("tiktok/tiktok3dselectobjectwebtask.md", "Tiktok3DSelectObjectWebTask"),
            ("tiktok/tiktokselectobjectwebtask.md", "TiktokSelectObjectWebTask"),
            ("tiktok/tiktok3dselectobjectphonetask.md", "Tiktok3DSelectObjectPhoneTask"),
        )
    ),
    (
        "tiktok/tiktokrotatewebtask.md",
        "TiktokRotateWebTask",
        {"errorId": 0, "status": "ready", "solution": {"rotate": 0.76}},
    ),
    *(
        (page, name, {"errorId": 0, "status": "ready", "solution": {"end": {"x": 150}}})
        for page, name in (
            ("tiktok/tiktoksliderwebtask.md", "TiktokSliderWebTask"),
            ("shopee/shopeesliderwebtask.md", "ShopeeSliderWebTask"),
            ("geetest/geetestsliderwebtask.md", "GeetestSliderWebTask"),
        )
    ),
    (
        "tiktok/tiktoksliderphonetask.md",
        "TiktokSliderPhoneTask",
        {
            "errorId": 0,
            "status": "ready",
            "solution": {
                "start": {"x": 50, "y": 30},
                "end": {"x": 100, "y": 70},
                "end2": {"x": 100, "y": 70},
            },
        },
    ),
    (
        "shopee/shopeesliderwebtask.md",
        "ShopeeSliderWebTask",
        {"errorId": 0, "status": "ready", "solution": {"point": {"x": 153, "y": 78}}},
    ),
    (
        "zalo/zalosliderphonetask.md",
        "ZaloSliderPhoneTask",
        {
            "errorId": 0,
            "status": "ready",
            "solution": {"start": {"x": 100, "y": 250}, "end": {"x": 300, "y": 250}},
        },
    ),
    *(
        (page, name, {"errorId": 0, "status": "ready", "solution": {"objects": [0, 1, 2, 3]}})
        for page, name in (
            ("zalo/zaloselectobjecttask.md", "ZaloSelectObjectTask"),
            ("amzn-captcha/amznselectobjecttask.md", "AmznSelectObjectTask"),
        )
    ),
    *(
        (
            page,
            "GeetestIconWebTask",
            {
                "errorId": 0,
                **_CODES,
                "status": "ready",
                "solution": {"points": [{"x": 40, "y": 96}, {"x": 32, "y": 29}, {"x": 127, "y": 40}]},
            },
        )
        for page in ("geetest/geetesticonwebtask.md", "tencent/geetesticonwebtask.md")
    ),
    (
        "geetest/geetestgobangwebtask.md",
        "GeetestGobangWebTask",
        {"errorId": 0, **_CODES, "status": "ready", "solution": {"swap_positions": [2, 21]}},
    ),
    (
        "geetest/geetesticoncrushwebtask.md",
        "GeetestIconCrushWebTask",
        {"errorId": 0, **_CODES, "status": "ready", "solution": {"swap_positions": [4, 7]}},
    ),
    (
        "geetest/geetestselectobjecttask.md",
        "GeetestSelectObjectTask",
        {"errorId": 0, **_CODES, "status": "ready", "solution": {"objects": [0, 1, 6]}},
    ),
    (
        "tencent/tencentselectobjecttask.md",
        "TencentSelectObjectTask",
        {"errorId": 0, **_CODES, "status": "ready", "solution": {"objects": [4, 5]}},
    ),
    (
        "tencent/tencentslider.md",
        "SliderAllWebTask",
        {"errorId": 0, "status": "ready", "solution": {"rects": [{"x": 183, "y": 109, "w": 56, "h": 70}]}},
    ),
    (
        "slider-all/sliderallwebtask.md",
        "SliderAllWebTask",
        {
            "errorId": 0,
            **_CODES,
            "status": "ready",
            "solution": {"rects": [{"x": 237, "y": 70, "w": 53, "h": 47}]},
        },
    ),
]


@pytest.mark.parametrize(("page", "task"), PAGE_REQUESTS, ids=[f"{p}:{t['type']}" for p, t in PAGE_REQUESTS])
def test_every_page_request_example_is_valid(page: str, task: dict[str, Any]) -> None:
    assert any(page in p for p in TASK_CLASSES[task["type"]].pages)
    assert errors("createTask.request", request(task)) == []


def test_the_page_examples_cover_every_class() -> None:
    assert {t["type"] for _, t in PAGE_REQUESTS} == set(TASK_CLASSES)
    assert {name for _, name, _ in PAGE_ANSWERS} == set(TASK_CLASSES)


@pytest.mark.parametrize(
    ("page", "name", "answer"), PAGE_ANSWERS, ids=[f"{p}:{n}" for p, n, _ in PAGE_ANSWERS]
)
def test_every_page_ready_example_is_valid_for_its_class(
    page: str, name: str, answer: dict[str, Any]
) -> None:
    assert errors("getTaskResult.response", answer, f"/$defs/byClass/{name}") == []
    assert errors("getTaskResult.response", answer) == []
    assert answer["solution"] in [dict(s) for s in TASK_CLASSES[name].example_solutions]


def test_ready_answers_carry_the_codes_exactly_as_the_pages_print_them() -> None:
    """V2-5: +codes classes must send errorCode/errorDescription, the others must not."""
    for page, name, answer in PAGE_ANSWERS:
        tc = TASK_CLASSES[name]
        assert tc.ready_answer(answer["solution"]) == answer or (page == "tencent/tencentslider.md"), page
        flipped = copy.deepcopy(answer)
        if "errorCode" in flipped:
            del flipped["errorCode"], flipped["errorDescription"]
        else:
            flipped = {"errorId": 0, **_CODES, "status": "ready", "solution": answer["solution"]}
        refused = bool(errors("getTaskResult.response", flipped, f"/$defs/byClass/{name}"))
        assert refused is not tc.ready_codes_optional, page


def test_documented_envelopes_are_valid_and_match_the_catalogue() -> None:
    created = {"errorId": 0, "taskId": TASK_ID}
    documented_failure = {"errorId": 1, "errorCode": "", "errorDescription": ""}
    assert errors("createTask.response", created) == []
    assert errors("createTask.response", documented_failure) == []
    assert errors("createTask.response", {"errorId": 0, "taskId": 123456})  # X-3: v1's numeric id
    assert errors("getTaskResult.request", {"clientKey": "API_KEY", "taskId": TASK_ID}) == []
    assert errors("getTaskResult.request", {"clientKey": "API_KEY", "taskId": 123456})
    processing = {"status": "processing", "errorId": 0, "errorCode": "", "errorDescription": ""}
    fail = {
        "errorId": 1,
        "errorCode": "ERROR_JOB_STATUS",
        "errorDescription": "Job failed",
        "status": "fail",
        "solution": {},
    }
    assert dict(PROCESSING_ANSWER) == processing
    assert fail_answer() == fail
    for answer in (processing, fail, documented_failure):
        assert errors("getTaskResult.response", answer) == []
    assert errors("getTaskResult.response", {**fail, "solution": {"text": "ABC"}})
    assert errors("getBalance.request", {"clientKey": "API_KEY"}) == []
    balance = {"errorId": 0, "balance": 345.678, "quantity": 10000, "voucher_balance": 123.211}
    assert errors("getBalance.response", balance) == []
    assert errors("getBalance.response", documented_failure) == []
    assert errors("getBalance.response", {**balance, "balance": "0.00000"})  # X-1: v1's text balance


def test_service_price_listing_examples_and_catalogue_entries_are_valid() -> None:
    page_service = {
        "name": "reCAPTCHA v2",
        "price": "0.00055",
        "avg_success": "98%",
        "avg_time": "60s",
        "image": "recaptcha.svg",
        "type": "RecaptchaV2TokenTask",
    }
    listing = {"error": False, "typeJob": [page_service], "message": "Get service success."}
    package = {
        "error": False,
        "package": [{"name": "Combo Funcaptcha", "price": "0.15"}],
        "message": "Get service success.",
    }
    for answer in (listing, package, {"error": True, "message": "type must be service or package"}):
        assert errors("getServicePrice.response", answer) == [], answer
    assert TASK_CLASSES["RecaptchaV2TokenTask"].service_entry() == page_service
    assert [tc.name for tc in TASK_CLASSES.values() if tc.documented_price] == ["RecaptchaV2TokenTask"]
    everything = {**listing, "typeJob": [tc.service_entry() for tc in TASK_CLASSES.values()]}
    assert errors("getServicePrice.response", everything) == []


def test_v1_mapping_follows_the_readme_section_5() -> None:
    mapped = {name: tc.v1_type_job_id for name, tc in TASK_CLASSES.items() if tc.v1_type_job_id}
    assert mapped == {
        "ImageToTextTask": "30",
        "RecaptchaV2TokenTask": "1",
        "RecaptchaV3TokenTask": "3",
        "FuncaptchaImageTask": "45",
        "Tiktok3DSelectObjectWebTask": "22",
        "Tiktok3DSelectObjectPhoneTask": "25",
        "TiktokRotateWebTask": "23",
        "TiktokSliderWebTask": "21",
        "TiktokSliderPhoneTask": "24",
        "ShopeeSliderWebTask": "26",
        "ZaloSelectObjectTask": "13",
    }


# Generated solutions.


def tasks_for(tc: TaskClass) -> Iterator[dict[str, Any]]:
    """Tasks that steer the maker into each of its shapes and sizes."""
    base = valid_task(tc)
    yield base
    if tc.field("widthView"):
        yield {**base, "widthView": 1, "heightView": 1}
        yield {**base, "widthView": 37, "heightView": 9}
        yield {**base, "widthView": 1920.7, "heightView": 1080}
        yield {**base, "widthView": "bad", "heightView": -5}
    if tc.name == "HcaptchaImageTask":
        yield {**base, "queries": [PNG]}
        yield {**base, "queries": [PNG], "question": "Drag the piece onto the matching shape"}
        yield {"type": tc.name, "queries": [PNG], "isScreenshot": True}
    if tc.name == "ShopeeSliderWebTask":
        yield {**base, "typeCaptcha": "rotate"}


def _inside(solution: Any, width: float, height: float) -> Iterator[tuple[int, int]]:
    if isinstance(solution, dict):
        if set(solution) >= {"x", "y"}:
            yield solution["x"], solution["y"]
        for value in solution.values():
            yield from _inside(value, width, height)
    elif isinstance(solution, list):
        for value in solution:
            yield from _inside(value, width, height)


@pytest.mark.parametrize("name", list(TASK_CLASSES))
def test_generated_solutions_validate_for_many_seeds(name: str) -> None:
    tc = TASK_CLASSES[name]
    seen: set[str] = set()
    for seed in range(60):
        for task in tasks_for(tc):
            solution = tc.make_solution(source(seed), task)
            seen.add(json.dumps(solution, sort_keys=True))
            answer = tc.ready_answer(solution)
            assert errors("getTaskResult.response", answer, f"/$defs/byClass/{name}") == [], (task, answer)
            assert errors("getTaskResult.response", answer) == []
            width, height = task.get("widthView"), task.get("heightView")
            if (
                isinstance(width, (int, float))
                and isinstance(height, (int, float))
                and width > 0
                and height > 0
            ):
                for x, y in _inside(solution, width, height):
                    assert 0 <= x < width and 0 <= y < height, (task, solution)
                for rect in solution.get("rects", []):
                    assert rect["x"] + rect["w"] <= width and rect["y"] + rect["h"] <= height, (task, rect)
            if (
                isinstance(width, (int, float))
                and width > 0
                and "end" in solution
                and "start" not in solution
            ):
                assert 0 <= solution["end"]["x"] < width
    assert len(seen) > 3, name  # the solutions vary with the seed


def test_a_seed_repeats_the_solution_and_shapes_follow_the_task() -> None:
    for tc in TASK_CLASSES.values():
        first = tc.make_solution(source(7), valid_task(tc))
        assert tc.make_solution(source(7), valid_task(tc)) == first
    fake = source(8)
    hcaptcha = TASK_CLASSES["HcaptchaImageTask"]
    grid = {"type": "HcaptchaImageTask", "anchors": [], "queries": [PNG] * 9, "question": "Pick the cups"}
    assert set(hcaptcha.make_solution(fake, grid)) == {"objects"}
    assert hcaptcha.make_solution(fake, {**grid, "queries": [PNG]})["type"] == "click"
    assert (
        hcaptcha.make_solution(fake, {**grid, "queries": [PNG], "question": "Drag the ball"})["type"]
        == "drag"
    )
    shopee = TASK_CLASSES["ShopeeSliderWebTask"]
    assert set(shopee.make_solution(fake, {"type": shopee.name})) == {"end"}
    assert set(shopee.make_solution(fake, {"type": shopee.name, "typeCaptcha": "rotate"})) == {"point"}
    icons = TASK_CLASSES["GeetestIconWebTask"]
    assert len(icons.make_solution(fake, valid_task(icons))["points"]) == 3
    for _ in range(50):
        assert 0 <= TASK_CLASSES["TiktokRotateWebTask"].make_solution(fake, {})["rotate"] <= 1
        assert TASK_CLASSES["FuncaptchaImageTask"].make_solution(fake, {})["index"] >= 1
        token = TASK_CLASSES["RecaptchaV2TokenTask"].make_solution(fake, {})["gRecaptchaResponse"]
        assert re.fullmatch(r"03A[A-Za-z0-9_-]{400,}", token)


def test_every_decision_is_recorded_in_words() -> None:
    assert DECISIONS and all(len(d) > 40 for d in DECISIONS)
    for name in ("HcaptchaImageTask", "ShopeeSliderWebTask", "SliderAllWebTask", "TencentSelectObjectTask"):
        assert TASK_CLASSES[name].decisions, name
    sliders = SCHEMAS["createTask.request"]["$defs"]["SliderAllWebTask"]["description"]
    assert "V2-2" in sliders and "TencentSlider" in sliders


# The error catalogue.


def test_error_codes_are_unique_and_each_has_a_message() -> None:
    assert all(code == e.code for code, e in ERRORS.items())
    assert len({e.template for e in ERRORS.values()}) == len(ERRORS)
    for e in ERRORS.values():
        assert re.fullmatch(r"ERROR_[A-Z0-9_]+", e.code)
        assert e.template and e.when
    assert [e.code for e in ERRORS.values() if e.documented] == ["ERROR_JOB_STATUS"]
    assert ERRORS["ERROR_JOB_STATUS"].template == "Job failed"
    for code in (
        "ERROR_KEY_DOES_NOT_EXIST",
        "ERROR_ZERO_BALANCE",
        "ERROR_NO_SUCH_CAPCHA_ID",
        "ERROR_TASK_ABSENT",
        "ERROR_TASK_NOT_SUPPORTED",
        "ERROR_FIELD_MISSING",
        "ERROR_WRONG_FIELD_TYPE",
        "ERROR_IMAGE_NOT_BASE64",
        "ERROR_MALFORMED_REQUEST",
        "ERROR_NO_SUCH_METHOD",
        "ERROR_METHOD_NOT_ALLOWED",
    ):
        assert code in ERRORS


def test_every_error_answer_is_a_valid_v2_error_that_names_what_is_wrong() -> None:
    for e in ERRORS.values():
        values = {name: f"<{name}>" for name in e.placeholders}
        answer = error_answer(e.code, **values)
        assert list(answer) == ["errorId", "errorCode", "errorDescription"]
        assert answer["errorId"] == 1 and answer["errorCode"] == e.code
        for value in values.values():
            assert value in answer["errorDescription"]
        for name in ("createTask.response", "getTaskResult.response", "getBalance.response"):
            assert errors(name, answer) == [], (name, answer)
    missing = error_answer("ERROR_FIELD_MISSING", field="task.widthView", task_type="TiktokSliderWebTask")
    assert missing["errorDescription"] == "task.widthView is required by TiktokSliderWebTask"
    with pytest.raises(KeyError):
        error_answer("ERROR_NOPE")
