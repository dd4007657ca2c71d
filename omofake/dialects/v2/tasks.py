"""Every v2 task class (``task.type``) the public v2 pages document, as data.

One :class:`TaskClass` per class name used in a createTask example under
``omocaptcha-public-docs/v2/tai-lieu-api/`` (23 of them; the "TencentSlider" page sends
``SliderAllWebTask`` and is folded into it, see :data:`DECISIONS`). Each entry names its page(s),
the ``task`` fields with the page's own type words, which fields are images, whether the ready
answer carries ``errorCode``/``errorDescription`` ("+codes", V2-5), the v1 ``type_job_id`` naming
the same captcha (README §5) and a realistic ``solution`` maker. ``schemas/v2/`` states the same
rules for validators; ``tests/test_v2_catalogue.py`` proves the two agree. Quirk ids (V2-1 ...,
X-1 ...) are the ones of ``omocaptcha-public-docs/README.md`` §6.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, Protocol

from omofake.core.catalogue import pixel_between

if TYPE_CHECKING:
    from faker.providers import BaseProvider

    from omofake.core.draws import Draws

#: The type words the pages use in their field tables (V2-15: the colour differs, not the word).
FieldKind = Literal["String", "Number", "Bool", "Array of String"]

#: The JSON Schema type of each page type word.
JSON_TYPES: Mapping[FieldKind, str] = MappingProxyType(
    {"String": "string", "Number": "number", "Bool": "boolean", "Array of String": "array"}
)

#: One base64 image, exactly as the v1 schema files spell it (``omofake/patterns.py``'s
#: ``images_pattern(1)``), so that the server's linear image check recognises the v2 patterns too.
IMAGE_PATTERN = "^(?=[A-Za-z0-9+/]{2})(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"

# Real sizes are hundreds of pixels; a bigger number is a client's bug, not a view.
_MAX_VIEW = 100_000
_BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

_PAGES = "v2/tai-lieu-api/"


class SolutionMaker(Protocol):
    """Makes a ``solution`` object from the job store's seeded :class:`~omofake.core.draws.Draws`
    and the ``task`` object the client sent (the view size, the number of images, the variant)."""

    def __call__(self, draws: Draws, task: Mapping[str, Any], /) -> dict[str, Any]: ...


@dataclass(frozen=True)
class TaskField:
    """One ``task`` field of a class, besides ``type``."""

    name: str
    #: The page's type word.
    kind: FieldKind
    required: bool
    #: What the field holds, in the words error messages use.
    meaning: str
    #: The page's example value (placeholders such as ``"BASE64_BODY_HERE"`` as printed).
    example: Any
    #: The field holds base64 image(s): the string itself, or each item of the array.
    image: bool = False
    #: For arrays: the numbers of items allowed (empty: any number, none included).
    lengths: tuple[int, ...] = ()
    #: The only values allowed, if the page names them.
    choices: tuple[str, ...] = ()
    #: A required field stops being required when this Bool field of the task is true (V2-9).
    unless: str = ""


@dataclass(frozen=True)
class TaskClass:
    """One v2 task class, as its page documents it (and as omofake decides where it is silent)."""

    name: str
    #: The service name the ``getServicePrice?type=service`` listing shows.
    title: str
    #: Page files under ``omocaptcha-public-docs/``, the main one first.
    pages: tuple[str, ...]
    fields: tuple[TaskField, ...]
    #: The ready answer carries ``"errorCode": ""`` and ``"errorDescription": ""`` (V2-5).
    codes_in_ready: bool
    #: The v1 ``type_job_id`` of the same captcha (README §5), ``None`` where there is none.
    v1_type_job_id: str | None
    make_solution: SolutionMaker
    #: The page's ready ``solution`` examples, repaired where V2-4 makes them invalid JSON.
    example_solutions: tuple[Mapping[str, Any], ...]
    #: The service listing's figures: price of one solve, success rate, average time.
    price: str
    avg_success: str
    avg_seconds: int
    image: str
    #: Where the page is silent or contradicts itself, what omofake does (and why).
    decisions: tuple[str, ...] = ()
    #: The listing figures come from a page (only RecaptchaV2TokenTask), not omofake's decision.
    documented_price: bool = False
    #: Another page of the class prints the ready answer without the codes (V2-5): the fake sends
    #: them as :attr:`codes_in_ready` says, and the schema accepts the answer either way.
    ready_codes_optional: bool = False

    @property
    def required(self) -> tuple[str, ...]:
        """The ``task`` fields a createTask request must carry, ``type`` first."""
        return ("type", *(f.name for f in self.fields if f.required))

    @property
    def optional(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if not f.required)

    @property
    def avg_time(self) -> str:
        return f"{self.avg_seconds}s"

    def field(self, name: str) -> TaskField | None:
        return next((f for f in self.fields if f.name == name), None)

    def ready_answer(self, solution: Mapping[str, Any]) -> dict[str, Any]:
        """The getTaskResult answer of a solved task, in the page's key order."""
        codes = {"errorCode": "", "errorDescription": ""} if self.codes_in_ready else {}
        return {"errorId": 0, **codes, "status": "ready", "solution": dict(solution)}

    def service_entry(self) -> dict[str, Any]:
        """The class as ``getServicePrice?type=service`` lists it, in the page's key order."""
        return {
            "name": self.title,
            "price": self.price,
            "avg_success": self.avg_success,
            "avg_time": self.avg_time,
            "image": self.image,
            "type": self.name,
        }


#: The processing answer, identical on every page that has the tab (README §3.2).
PROCESSING_ANSWER: Mapping[str, Any] = MappingProxyType(
    {"status": "processing", "errorId": 0, "errorCode": "", "errorDescription": ""}
)


def fail_answer() -> dict[str, Any]:
    """The answer of a failed solve, identical on every page that has the tab (V2-6): ``errorId``
    is 1 and ``solution`` an empty object. The older ``{"errorId": 1, "errorCode": "", ...}``
    without ``status`` (V2-12) is not used."""
    return {
        "errorId": 1,
        "errorCode": "ERROR_JOB_STATUS",
        "errorDescription": "Job failed",
        "status": "fail",
        "solution": {},
    }


# Solution makers. Each draws from ``draws`` only, so a seed repeats the solutions; all use
# Faker's base provider, ``draws.faker``, as they always did (omofake/core/draws.py).


def _view(task: Mapping[str, Any], default: tuple[int, int]) -> tuple[int, int]:
    """The displayed size the client sent (``widthView``, ``heightView``), else ``default``; a value
    that is not a sensible number of pixels counts as not sent."""

    def read(name: str, fallback: int) -> int:
        value = task.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and 1 <= value <= _MAX_VIEW:
            return int(value)
        return fallback

    return read("widthView", default[0]), read("heightView", default[1])


def _between(fake: BaseProvider, size: int, low: float, high: float) -> int:
    """v1's rule for a pixel in [low, high] of ``size`` (:func:`omofake.core.catalogue.pixel_between`),
    drawn from the provider's own ``random.Random``: the values Faker's ``random_int`` drew."""
    return pixel_between(fake.generator.random, size, low, high)


def _point(
    fake: BaseProvider, view: tuple[int, int], low: float = 0.05, high: float = 0.95
) -> dict[str, int]:
    return {"x": _between(fake, view[0], low, high), "y": _between(fake, view[1], low, high)}


def _count(task: Mapping[str, Any], name: str, default: int) -> int:
    value = task.get(name)
    return len(value) if isinstance(value, list) and value else default


def text(draws: Draws, task: Mapping[str, Any], /) -> dict[str, Any]:
    """Text read off a distorted image (``{"text": "ABC"}``); captcha alphabets drop look-alikes."""
    fake = draws.faker
    return {"text": fake.lexify("?" * fake.random_int(4, 6), letters="abcdefghjkmnpqrstuvwxyz23456789")}


def recaptcha_token(draws: Draws, task: Mapping[str, Any], /) -> dict[str, Any]:
    """A reCAPTCHA response as Google issues them: ``03A`` and 400-odd base64url characters (the
    page's ``"3AHJ_Vuv..."`` is one cut short)."""
    fake = draws.faker
    body = "".join(fake.random_choices(_BASE64URL, length=fake.random_int(440, 560)))
    return {"gRecaptchaResponse": "03A" + body}


def recaptcha_tiles(draws: Draws, task: Mapping[str, Any], /) -> dict[str, Any]:
    """Tiles to click on the 3x3 grid, 0-based in reading order, ascending, and ``"type": "multi"``."""
    fake = draws.faker
    count = fake.random_int(2, 4)
    return {"objects": sorted(fake.random_sample(range(9), length=count)), "type": "multi"}


def hcaptcha_answer(draws: Draws, task: Mapping[str, Any], /) -> dict[str, Any]:
    """The three documented shapes: a grid of 9 ``queries`` gets ``objects`` (0-based); one canvas
    image gets ``drag`` boxes when the question asks to drag, else ``click`` coordinates."""
    fake = draws.faker
    if _count(task, "queries", 1) == 9:
        return {"objects": sorted(fake.random_sample(range(9), length=fake.random_int(2, 4)))}
    canvas = (500, 500)
    question = task.get("question")
    if isinstance(question, str) and "drag" in question.lower():
        boxes = []
        for _ in range(fake.random_int(1, 2)):
            start, end = _point(fake, canvas, 0.55, 0.95), _point(fake, canvas, 0.05, 0.5)
            boxes.append({"start": [start["x"], start["y"]], "end": [end["x"], end["y"]]})
        return {"type": "drag", "box": boxes}
    coords = [[p["x"], p["y"]] for p in (_point(fake, canvas) for _ in range(fake.random_int(1, 3)))]
    return {"type": "click", "coords": coords}


def gallery_index(draws: Draws, task: Mapping[str, Any], /) -> dict[str, Any]:
    """A 1-based position in the FunCaptcha gallery (click the right arrow ``index - 1`` times)."""
    fake = draws.faker
    return {"index": fake.random_int(1, 6)}


def two_points(default_view: tuple[int, int]) -> SolutionMaker:
    """Two distinct points to click, ``pointA`` and ``pointB``, within the view sent."""

    def make(draws: Draws, task: Mapping[str, Any], /) -> dict[str, Any]:
        fake = draws.faker
        view = _view(task, default_view)
        first = _point(fake, view)
        second = first
        for _ in range(8):  # a 1-pixel view has one point only
            second = _point(fake, view)
            if second != first:
                break
        return {"pointA": first, "pointB": second}

    return make


def rotate_ratio(draws: Draws, task: Mapping[str, Any], /) -> dict[str, Any]:
    """The rotation as a ratio 0..1 with two decimals (the page's ``0.76``): drag
    (slider length - button length) x (1 - rotate) pixels."""
    fake = draws.faker
    return {"rotate": fake.random_int(1, 99) / 100}


def end_x(default_width: int) -> SolutionMaker:
    """The X to drag the piece to, ``{"end": {"x": 150}}``, within the ``widthView`` sent."""

    def make(draws: Draws, task: Mapping[str, Any], /) -> dict[str, Any]:
        fake = draws.faker
        width, _ = _view(task, (default_width, 1))
        return {"end": {"x": _between(fake, width, 0.15, 0.85)}}

    return make


def phone_drag(default_view: tuple[int, int], end2: bool) -> SolutionMaker:
    """A horizontal drag on a phone screenshot, from the knob on the left to the right at the same
    height; TikTok's page adds ``end2``, which its example makes equal to ``end``."""

    def make(draws: Draws, task: Mapping[str, Any], /) -> dict[str, Any]:
        fake = draws.faker
        view = _view(task, default_view)
        y = _between(fake, view[1], 0.55, 0.7)
        x1 = _between(fake, view[0], 0.08, 0.2)
        x2 = max(x1, _between(fake, view[0], 0.3, 0.9))
        answer: dict[str, Any] = {"start": {"x": x1, "y": y}, "end": {"x": x2, "y": y}}
        if end2:
            answer["end2"] = {"x": x2, "y": y}
        return answer

    return make


_SHOPEE = (280, 170)


def shopee_slider(draws: Draws, task: Mapping[str, Any], /) -> dict[str, Any]:
    """Variant 2a (no ``typeCaptcha``): the X to drag to; 2b (``typeCaptcha: "rotate"``): the point
    where the piece goes, ``{"point": {"x": 153, "y": 78}}``."""
    if task.get("typeCaptcha") == "rotate":
        return {"point": _point(draws.faker, _SHOPEE, 0.2, 0.8)}
    return end_x(_SHOPEE[0])(draws, task)


def object_indices(cells: int) -> SolutionMaker:
    """Images to pick among ``cells``, 0-based (the pages' examples contain 0), ascending."""

    def make(draws: Draws, task: Mapping[str, Any], /) -> dict[str, Any]:
        fake = draws.faker
        count = fake.random_int(1, min(4, cells))
        return {"objects": sorted(fake.random_sample(range(cells), length=count))}

    return make


def icon_points(draws: Draws, task: Mapping[str, Any], /) -> dict[str, Any]:
    """One point per anchor icon, in the icons' order, on the Geetest picture."""
    fake = draws.faker
    view = (300, 200)
    return {"points": [_point(fake, view) for _ in range(_count(task, "anchorImageBase64s", 3))]}


def swap(cells: int) -> SolutionMaker:
    """Two distinct cells to swap, 0-based in reading order (Gobang 5x5, IconCrush 3x3)."""

    def make(draws: Draws, task: Mapping[str, Any], /) -> dict[str, Any]:
        fake = draws.faker
        return {"swap_positions": fake.random_sample(range(cells), length=2)}

    return make


def gap_rects(draws: Draws, task: Mapping[str, Any], /) -> dict[str, Any]:
    """The gap the piece goes into, ``{"rects": [{"x", "y", "w", "h"}]}``, inside the view sent
    (``heightView`` defaults to half the width)."""
    fake = draws.faker
    width, _ = _view(task, (300, 1))
    width, height = _view(task, (width, max(1, width // 2)))
    w = max(1, min(width, _between(fake, width, 0.15, 0.2)))
    h = max(1, min(height, _between(fake, height, 0.25, 0.35)))
    x = fake.random_int(min(width - w, width // 3), width - w)
    y = fake.random_int(0, height - h)
    return {"rects": [{"x": x, "y": y, "w": w, "h": h}]}


# Fields shared by several classes, with the pages' examples.


def _image(meaning: str = "the captcha image", example: str = "BASE64_BODY_HERE") -> TaskField:
    return TaskField("imageBase64", "String", True, f"{meaning}, base64", example, image=True)


def _images(name: str, meaning: str, example: list[str], count: int) -> TaskField:
    return TaskField(name, "Array of String", True, meaning, example, True, (count,))


def _width(example: int, required: bool = True) -> TaskField:
    return TaskField("widthView", "Number", required, "the image's width in pixels as displayed", example)


def _height(example: int, required: bool = True) -> TaskField:
    return TaskField("heightView", "Number", required, "the image's height in pixels as displayed", example)


def _text(name: str, meaning: str, example: str, required: bool = True) -> TaskField:
    return TaskField(name, "String", required, meaning, example)


_WEB_VIEW = (340, 212)
# A captcha on a phone, screenshotted: 1080 x 2400 is the commonest screen (as in v1).
_PHONE = (1080, 2400)
_TOKEN_EXAMPLE = {"gRecaptchaResponse": "3AHJ_VuvYIBNBW5yyv0zRYJ75VkOKvhKj9_xGBJKnQimF72rfoq3Iy-DyGHMwLAo6a3"}
_POINTS_EXAMPLE = {"pointA": {"x": 50, "y": 30}, "pointB": {"x": 100, "y": 70}}
_OBJECTS_0_BASED = (
    "The page does not state the index base; its example contains 0 (V2-11), so objects are "
    "0-based, unlike v1 type 13's 1-based 'index|index'."
)

#: Decisions that concern more than one class.
DECISIONS: tuple[str, ...] = (
    "V2-2: 'TencentSlider' is not a class: its page sends SliderAllWebTask. SliderAllWebTask "
    "accepts that page's extra fields as optional (puzzle: the piece image, base64; domain: the "
    "iframe's domain) and keeps heightView optional as its own page says (the TencentSlider page "
    "marks it required); task.type 'TencentSlider' is refused as an unknown class.",
    "V2-4: examples that are invalid JSON are read with the trailing commas dropped, the '//' "
    "comment removed and '...' taken as 'more of the same items'.",
    "Fields the pages do not list are ignored, not refused (clients of the anti-captcha family "
    "send extras such as userAgent); a listed field of the wrong type is refused.",
    "Images are standard-alphabet base64 with '=' padding, no line breaks and no 'data:' prefix, "
    "as in v1; the pages' placeholders ('BASE64_BODY_HERE') are not base64.",
    "Array lengths: a list of images the page fixes (imageBase64s: 2, anchorImageBase64s: 3, "
    "queries: 9 or 1) must have exactly that many; anchors may be empty ('pass an empty array').",
    "The processing and fail answers are the same for every class (README §3.2); the fail answer "
    "is the current one with status and an empty solution, not the older one of V2-12.",
    "Index bases: objects and swap_positions are 0-based (V2-11); FuncaptchaImageTask's index "
    "is 1-based as its page says.",
    "Listing figures: only RecaptchaV2TokenTask's (0.00055, 98%, 60s) are documented; a class "
    "with a v1 id takes that id's v1 price and success rate; the rest are omofake's, in line "
    "with them. No page states a currency.",
)


def _page(*names: str) -> tuple[str, ...]:
    return tuple(_PAGES + n for n in names)


TASK_CLASSES: Mapping[str, TaskClass] = MappingProxyType(
    {
        tc.name: tc
        for tc in (
            TaskClass(
                "ImageToTextTask",
                "ImageToText (All type supported)",
                _page("imagetotexttask.md"),
                (
                    _image("the image of distorted text"),
                    _text("module", "the captcha type's name", "module_1", required=False),
                ),
                False,
                "30",
                text,
                ({"text": "ABC"},),
                "0.00010",
                "99%",
                2,
                "image.svg",
                (
                    "module: no page lists the module names, so any string is accepted and does "
                    "not change the answer.",
                ),
            ),
            TaskClass(
                "RecaptchaV2TokenTask",
                "reCAPTCHA v2",
                _page("recaptcha/recaptchav2tokentask.md", "lay-danh-sach-dich-vu.md"),
                (
                    _text(
                        "websiteURL",
                        "the URL of the page with the captcha",
                        "https://lessons.zennolab.com/captchas/recaptcha/v2_simple.php?level=high",
                    ),
                    _text(
                        "websiteKey",
                        "the site key (data-sitekey)",
                        "6Lcg7CMUAAAAANphynKgn9YAgA4tQ2KI_iqRyTwd",
                    ),
                ),
                False,
                "1",
                recaptcha_token,
                (_TOKEN_EXAMPLE,),
                "0.00055",
                "98%",
                60,
                "recaptcha.svg",
                ("avg_time is v2's documented 60s, not v1's 15s (X-2).",),
                documented_price=True,
            ),
            TaskClass(
                "RecaptchaV3TokenTask",
                "reCAPTCHA v3",
                _page("recaptcha/recaptchav3tokentask.md"),
                (
                    _text(
                        "websiteURL",
                        "the URL of the page with the captcha",
                        "https://lessons.zennolab.com/captchas/recaptcha/v3.php?level=beta",
                    ),
                    _text(
                        "websiteKey",
                        "the site key (data-sitekey)",
                        "6Le0xVgUAAAAAIt20XEB4rVhYOODgTl00d8juDob",
                    ),
                    TaskField("isEnterprise", "Bool", True, "whether it is reCAPTCHA Enterprise", True),
                    _text("pageAction", "the action name (data-action)", "myverify"),
                ),
                False,
                "3",
                recaptcha_token,
                (_TOKEN_EXAMPLE,),
                "0.00080",
                "95%",
                10,
                "recaptcha.svg",
                (
                    "isEnterprise and pageAction are required, as the page marks them; v1's score "
                    "has no v2 field.",
                    "V2-1: the page's getTaskResult URL lacks 'api.'; the fake serves one path.",
                ),
            ),
            TaskClass(
                "RecaptchaV2ImageTask",
                "reCAPTCHA v2 image",
                _page("recaptcha/recaptchav2imagetask.md"),
                (
                    _image("the challenge grid, scaled to 100x100, 300x300 or 450x450"),
                    _text("question", "the object to find", "traffic lights"),
                ),
                False,
                None,
                recaptcha_tiles,
                ({"objects": [1, 5, 8], "type": "multi"},),
                "0.00060",
                "95%",
                8,
                "recaptcha.svg",
                (
                    "V2-4: the page's '//' comment is dropped from its solution.",
                    "objects are 0-based on the 3x3 grid (0..8), in line with the classes whose "
                    "examples show 0; the page's [1, 5, 8] fits either base. type is always 'multi'.",
                    "The image size is not checked (the page asks for 100, 300 or 450 px squares).",
                ),
            ),
            TaskClass(
                "HcaptchaImageTask",
                "hCaptcha image",
                _page("hcaptcha/hcaptchaimagetask.md"),
                (
                    TaskField(
                        "anchors",
                        "Array of String",
                        True,
                        "the images in the challenge header, base64 (an empty list when there are none)",
                        ["base64_image_1", "base64_image_2"],
                        image=True,
                        unless="isScreenshot",
                    ),
                    TaskField(
                        "queries",
                        "Array of String",
                        True,
                        "the challenge images, base64: 9 for a grid, 1 for a canvas",
                        ["base64_image_1", "base64_image_2"],
                        True,
                        (9, 1),
                    ),
                    TaskField(
                        "question",
                        "String",
                        True,
                        "the challenge's question",
                        "Pick all the cooking utensils and equipment",
                        unless="isScreenshot",
                    ),
                    TaskField("isScreenshot", "Bool", False, "whether queries holds one screenshot", True),
                ),
                True,
                None,
                hcaptcha_answer,
                (
                    {"objects": [1, 3, 8]},
                    {"type": "click", "coords": [[398, 347]]},
                    {
                        "type": "drag",
                        "box": [
                            {"start": [446, 200], "end": [100, 224]},
                            {"start": [455, 300], "end": [139, 190]},
                        ],
                    },
                ),
                "0.00080",
                "95%",
                20,
                "hcaptcha.svg",
                (
                    "V2-9: anchors and question are required unless isScreenshot is true; then "
                    "only queries (one screenshot) is, as the page's second example sends.",
                    "queries holds exactly 9 images (grid) or exactly 1 (canvas or screenshot).",
                    "Answer shape: 9 queries get the grid answer (objects, 0-based); 1 query gets a "
                    "drag answer when the question contains 'drag', else a click answer, on a "
                    "500x500 canvas.",
                    "V2-4: the '...' in the request examples means more images of the same kind.",
                ),
            ),
            TaskClass(
                "FuncaptchaImageTask",
                "FunCaptcha image",
                _page("funcaptcha/funcaptchaimagetask.md"),
                (
                    _image("the captcha image itself (not a screenshot)"),
                    _text(
                        "other",
                        "the captcha's question",
                        "Use the arrows to pick the image where all the darts add up to the number in the "
                        "left image",
                    ),
                ),
                False,
                "45",
                gallery_index,
                ({"index": 1},),
                "0.00100",
                "95%",
                8,
                "funcaptcha.svg",
                ("V2-8: task.type is a class name here too, whatever the page's table says.",),
            ),
            TaskClass(
                "Tiktok3DSelectObjectWebTask",
                "TikTok (Chọn 2 đối tượng 3D - Web)",
                _page("tiktok/tiktok3dselectobjectwebtask.md"),
                (_image(), _width(340), _height(212)),
                False,
                "22",
                two_points(_WEB_VIEW),
                (_POINTS_EXAMPLE,),
                "0.00050",
                "98%",
                4,
                "tiktok.svg",
                ("V2-4: the request example's trailing comma is dropped.",),
            ),
            TaskClass(
                "TiktokSelectObjectWebTask",
                "TikTok (Chọn 2 đối tượng - Web)",
                _page("tiktok/tiktokselectobjectwebtask.md"),
                (
                    _image(),
                    _width(340),
                    _height(212),
                    _text("question", "the challenge's question", "Which of these objects...?"),
                ),
                False,
                None,
                two_points(_WEB_VIEW),
                (_POINTS_EXAMPLE,),
                "0.00050",
                "98%",
                4,
                "tiktok.svg",
            ),
            TaskClass(
                "Tiktok3DSelectObjectPhoneTask",
                "TikTok (Chọn 2 đối tượng - App)",
                _page("tiktok/tiktok3dselectobjectphonetask.md"),
                (_image("a screenshot of the phone"),),
                False,
                "25",
                two_points(_PHONE),
                (_POINTS_EXAMPLE,),
                "0.00050",
                "98%",
                4,
                "tiktok.svg",
                (
                    "Points are within a 1080x2400 screen (no view is sent).",
                    "V2-1: the page's getTaskResult URL lacks 'api.'; the fake serves one path.",
                ),
            ),
            TaskClass(
                "TiktokRotateWebTask",
                "TikTok (Xoay đối tượng - Web)",
                _page("tiktok/tiktokrotatewebtask.md"),
                (
                    _images(
                        "imageBase64s",
                        "the inner image then the outer image, base64",
                        ["BASE64_INSIDE_BODY_HERE", "BASE64_OUTSIDE_BODY_HERE"],
                        2,
                    ),
                ),
                False,
                "23",
                rotate_ratio,
                ({"rotate": 0.76},),
                "0.00040",
                "99%",
                3,
                "tiktok.svg",
                ("rotate is a ratio in 0..1 with two decimals, as the page's 0.76 and its formula.",),
            ),
            TaskClass(
                "TiktokSliderWebTask",
                "TikTok (Kéo thả - Web)",
                _page("tiktok/tiktoksliderwebtask.md"),
                (_image("a screenshot of the captcha"), _width(340)),
                False,
                "21",
                end_x(340),
                ({"end": {"x": 150}},),
                "0.00040",
                "99%",
                3,
                "tiktok.svg",
                ("V2-4: the trailing commas of the request and of {'end': {'x': 150,}} are dropped.",),
            ),
            TaskClass(
                "TiktokSliderPhoneTask",
                "TikTok (Kéo thả - App)",
                _page("tiktok/tiktoksliderphonetask.md"),
                (_image("a screenshot of the phone"),),
                False,
                "24",
                phone_drag(_PHONE, end2=True),
                ({"start": {"x": 50, "y": 30}, "end": {"x": 100, "y": 70}, "end2": {"x": 100, "y": 70}},),
                "0.00040",
                "99%",
                3,
                "tiktok.svg",
                ("end2 is not explained by the page; it equals end, as in the page's example.",),
            ),
            TaskClass(
                "ShopeeSliderWebTask",
                "Shopee (Kéo thả - Web)",
                _page("shopee/shopeesliderwebtask.md"),
                (
                    _images(
                        "imageBase64s",
                        "the piece (mask) image then the background image, base64",
                        ["BASE64_MASK_BODY_HERE", "BASE64_BACKGROUND_BODY_HERE"],
                        2,
                    ),
                    TaskField(
                        "typeCaptcha",
                        "String",
                        False,
                        "the captcha variant ('rotate': the trajectory is not fixed)",
                        "rotate",
                        choices=("rotate",),
                    ),
                ),
                False,
                "26",
                shopee_slider,
                ({"end": {"x": 150}}, {"point": {"x": 153, "y": 78}}),
                "0.00040",
                "99%",
                3,
                "shopee.svg",
                (
                    "Variant 1a (no typeCaptcha) answers {'end': {'x'}} (2a); variant 1b "
                    "(typeCaptcha 'rotate', the only value the page names; others are refused) "
                    "answers {'point': {'x', 'y'}} (2b).",
                    "V2-7: 1a's missing failure tab and 2a's missing processing/fail tabs are "
                    "taken to be the standard ones.",
                    "V2-4: 2a's trailing comma is dropped.",
                ),
            ),
            TaskClass(
                "ZaloSliderPhoneTask",
                "Zalo (Kéo thả - App)",
                _page("zalo/zalosliderphonetask.md"),
                (_image("a screenshot of the phone"),),
                False,
                None,
                phone_drag(_PHONE, end2=False),
                ({"start": {"x": 100, "y": 250}, "end": {"x": 300, "y": 250}},),
                "0.00040",
                "99%",
                3,
                "zalo.svg",
            ),
            TaskClass(
                "ZaloSelectObjectTask",
                "ZCaptcha (Zalo)",
                _page("zalo/zaloselectobjecttask.md"),
                (
                    _image(),
                    _text("other", "the captcha's question", "Chọn tất cả ảnh có: biến báo giao thông"),
                ),
                False,
                "13",
                object_indices(9),
                ({"objects": [0, 1, 2, 3]},),
                "0.00050",
                "97%",
                5,
                "zalo.svg",
                (_OBJECTS_0_BASED + " A 3x3 grid: 0..8.",),
            ),
            TaskClass(
                "AmznSelectObjectTask",
                "Amazon captcha (Chọn đối tượng)",
                _page("amzn-captcha/amznselectobjecttask.md"),
                (_image(), _text("other", "the captcha's question", "the bags")),
                False,
                None,
                object_indices(9),
                ({"objects": [0, 1, 2, 3]},),
                "0.00050",
                "97%",
                5,
                "amazon.svg",
                (_OBJECTS_0_BASED + " A 3x3 grid: 0..8.",),
            ),
            TaskClass(
                "GeetestSliderWebTask",
                "Geetest (Kéo thả - Web)",
                _page("geetest/geetestsliderwebtask.md"),
                (_image(),),
                False,
                None,
                end_x(260),
                ({"end": {"x": 150}},),
                "0.00040",
                "98%",
                3,
                "geetest.svg",
                (
                    "end.x is within Geetest's 260 px wide background (no view is sent).",
                    "V2-4: the trailing commas of the request and the solution are dropped.",
                ),
            ),
            TaskClass(
                "GeetestIconWebTask",
                "Geetest (Chọn biểu tượng - Web)",
                _page("geetest/geetesticonwebtask.md", "tencent/geetesticonwebtask.md"),
                (
                    _image(),
                    _images(
                        "anchorImageBase64s",
                        "the 3 icons to click, in order, base64",
                        ["BASE64_ICON_1", "BASE64_ICON_2", "BASE64_ICON_3"],
                        3,
                    ),
                ),
                True,
                None,
                icon_points,
                ({"points": [{"x": 40, "y": 96}, {"x": 32, "y": 29}, {"x": 127, "y": 40}]},),
                "0.00050",
                "97%",
                5,
                "geetest.svg",
                (
                    "V2-3: the hidden tencent/ copy is the same class; one entry.",
                    "One point per icon, in the icons' order, on a 300x200 picture.",
                ),
            ),
            TaskClass(
                "GeetestGobangWebTask",
                "Geetest (Gobang - Web)",
                _page("geetest/geetestgobangwebtask.md"),
                (_image(),),
                True,
                None,
                swap(25),
                ({"swap_positions": [2, 21]},),
                "0.00050",
                "97%",
                5,
                "geetest.svg",
                ("swap_positions are two distinct cells of the 5x5 board, 0-based (0..24).",),
            ),
            TaskClass(
                "GeetestIconCrushWebTask",
                "Geetest (IconCrush - Web)",
                _page("geetest/geetesticoncrushwebtask.md"),
                (_image(),),
                True,
                None,
                swap(9),
                ({"swap_positions": [4, 7]},),
                "0.00050",
                "97%",
                5,
                "geetest.svg",
                ("swap_positions are two distinct cells of the 3x3 board, 0-based (0..8).",),
            ),
            TaskClass(
                "GeetestSelectObjectTask",
                "Geetest (Chọn đối tượng)",
                _page("geetest/geetestselectobjecttask.md"),
                (
                    _image(),
                    _text("question", "the challenge's question", "Select..."),
                    TaskField(
                        "anchor",
                        "String",
                        True,
                        "the anchor image after the question, base64",
                        "BASE64_ICON_HERE",
                        image=True,
                    ),
                ),
                True,
                None,
                object_indices(9),
                ({"objects": [0, 1, 6]},),
                "0.00050",
                "97%",
                5,
                "geetest.svg",
                (
                    _OBJECTS_0_BASED + " A 3x3 grid: 0..8.",
                    "V2-10: anchor is required here, as this page marks it.",
                ),
            ),
            TaskClass(
                "TencentSelectObjectTask",
                "Tencent (Chọn đối tượng)",
                _page("tencent/tencentselectobjecttask.md"),
                (
                    _image(),
                    _text("question", "the challenge's question", "QUESTION_CAPTCHA"),
                    TaskField(
                        "anchor",
                        "String",
                        False,
                        "the anchor image after the question, if any, base64",
                        "BASE64_ANCHOR_HERE",
                        image=True,
                    ),
                ),
                True,
                None,
                object_indices(9),
                ({"objects": [4, 5]},),
                "0.00050",
                "97%",
                5,
                "tencent.svg",
                (
                    _OBJECTS_0_BASED + " A 3x3 grid: 0..8.",
                    "V2-10: anchor is optional here, as the current page says (an older version "
                    "required it, V2-13).",
                ),
            ),
            TaskClass(
                "SliderAllWebTask",
                "Slider All (Kéo thả - Web)",
                _page("slider-all/sliderallwebtask.md", "tencent/tencentslider.md"),
                (
                    _image("the background image"),
                    _width(300),
                    _height(150, required=False),
                    TaskField(
                        "puzzle",
                        "String",
                        False,
                        "the piece image, base64 (TencentSlider page)",
                        "PUZZLE_BASE64",
                        image=True,
                    ),
                    _text(
                        "domain",
                        "the domain of the iframe holding the captcha (TencentSlider page)",
                        "global.captcha.gtimg.com",
                        required=False,
                    ),
                ),
                True,
                None,
                gap_rects,
                (
                    {"rects": [{"x": 237, "y": 70, "w": 53, "h": 47}]},
                    {"rects": [{"x": 183, "y": 109, "w": 56, "h": 70}]},
                ),
                "0.00040",
                "98%",
                3,
                "slider.svg",
                (
                    "V2-2: also the 'TencentSlider' page's class: puzzle and domain optional, "
                    "heightView optional (the TencentSlider page marks it required).",
                    "V2-5: the TencentSlider page's ready answer has no errorCode/errorDescription "
                    "while sliderallwebtask.md's has: the fake sends them (the class's own page) and "
                    "the schema accepts the answer with or without them.",
                    "The rect lies inside widthView x heightView (heightView: half the width if not sent).",
                ),
                ready_codes_optional=True,
            ),
        )
    }
)
