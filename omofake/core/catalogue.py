"""The job types the fake knows: what each requires and how its result looks.

One entry per job type any public OMOcaptcha v1 page documents (and the two the service lists
name without a page). The JSON Schemas in ``schemas/`` state the same rules for validators;
``tests/test_catalogue.py`` proves the two agree. Page names are paths under the vendor's docs
(``omocaptcha-public-docs/``) except for the five first pages (``000_...txt`` and so on).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    import random

    from faker.providers import BaseProvider

    from omofake.core.draws import Draws

_NO_DATA: Mapping[str, Any] = MappingProxyType({})


class ResultMaker(Protocol):
    """Makes a result from the job store's seeded :class:`~omofake.core.draws.Draws` and the
    job's ``data`` (types whose result depends on what the client sent, such as ``width_view``)."""

    def __call__(self, draws: Draws, data: Mapping[str, Any] = _NO_DATA, /) -> str: ...


# Result makers. Each draws from ``draws`` only, so a seed repeats the results. Those that need
# only numbers, samples and choices (coordinates and offsets included) use ``draws.random`` and
# so never import Faker (see omofake/core/draws.py); the tokens use Faker's base provider,
# ``draws.faker``, as they always did, so that a seed keeps drawing the same results.

_BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_CAPTCHA_LETTERS = "abcdefghjkmnpqrstuvwxyz23456789"
_TILES = range(1, 10)
# Real sizes are hundreds of pixels; a bigger number than this is a client's bug, not a view.
_MAX_VIEW = 100_000


def tile_indices(draws: Draws, data: Mapping[str, Any] = _NO_DATA, /) -> str:
    """Tiles to click on a 3x3 grid, 1-based, ascending, e.g. ``"2|5|9"``."""
    rng = draws.random
    return "|".join(str(i) for i in sorted(rng.sample(_TILES, rng.randint(2, 4))))


def rotation_angle(draws: Draws, data: Mapping[str, Any] = _NO_DATA, /) -> str:
    """A rotation in whole degrees, e.g. ``"50"``."""
    return str(draws.random.randint(0, 359))


def drag_x(draws: Draws, data: Mapping[str, Any] = _NO_DATA, /) -> str:
    """The X pixel to drag a slider piece to, within a typical 280-340 px wide background."""
    return str(draws.random.randint(40, 280))


def captcha_text(draws: Draws, data: Mapping[str, Any] = _NO_DATA, /) -> str:
    """Short text as read off a distorted image; captcha alphabets drop look-alikes such as 0/o, 1/l."""
    # The seeded random.Random, directly: Faker's lexify costs 4 µs a result (and Faker's import).
    rng = draws.random
    return "".join(rng.choices(_CAPTCHA_LETTERS, k=rng.randint(4, 6)))


def audio_text(draws: Draws, data: Mapping[str, Any] = _NO_DATA, /) -> str:
    """The letters heard in an audio captcha, as the page's ``"ABCDEF"``."""
    return "".join(draws.random.choices(_UPPER, k=6))


def position(draws: Draws, data: Mapping[str, Any] = _NO_DATA, /) -> str:
    """A 1-based position in a FunCaptcha gallery (the widget starts on image 1), e.g. ``"5"``."""
    return str(draws.random.randint(1, 6))


def view_size(data: Mapping[str, Any], default: tuple[int, int]) -> tuple[int, int]:
    """The displayed image size the client sent (``width_view``, ``height_view``), else ``default``;
    a value that is not a sensible number of pixels counts as not sent."""

    def read(name: str, fallback: int) -> int:
        value = data.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and 1 <= value <= _MAX_VIEW:
            return int(value)
        return fallback

    return read("width_view", default[0]), read("height_view", default[1])


def pixel_between(rng: random.Random, size: int, low: float, high: float) -> int:
    """A whole pixel in [low, high] of ``size`` (fractions), always inside 0 .. size - 1."""
    top = size - 1
    # randrange(a, b + 1) is what Faker's random_int(a, b) draws: the same values for a seed.
    return rng.randrange(min(top, int(size * low)), min(top, max(int(size * low), int(size * high))) + 1)


def slider_offset(default_width: int) -> ResultMaker:
    """The X offset to drag a slider by, within the ``width_view`` sent (else ``default_width``)."""

    def make(draws: Draws, data: Mapping[str, Any] = _NO_DATA, /) -> str:
        width, _ = view_size(data, (default_width, 0))
        return str(pixel_between(draws.random, width, 0.15, 0.8))

    return make


def two_points(default_view: tuple[int, int]) -> ResultMaker:
    """Two distinct points to click, ``"x1|y1|x2|y2"``, within the view sent (else ``default_view``)."""

    def make(draws: Draws, data: Mapping[str, Any] = _NO_DATA, /) -> str:
        rng = draws.random
        width, height = view_size(data, default_view)
        first = (pixel_between(rng, width, 0.05, 0.95), pixel_between(rng, height, 0.05, 0.95))
        second = first
        for _ in range(8):  # a 1-pixel view has one point only
            second = (pixel_between(rng, width, 0.05, 0.95), pixel_between(rng, height, 0.05, 0.95))
            if second != first:
                break
        return "|".join(str(n) for n in (*first, *second))

    return make


def drag_points(default_view: tuple[int, int]) -> ResultMaker:
    """A horizontal drag on a phone screenshot, ``"x1|y1|x2|y2"``: from the slider's knob on the
    left to the right, at the same height, within the view sent (else ``default_view``)."""

    def make(draws: Draws, data: Mapping[str, Any] = _NO_DATA, /) -> str:
        rng = draws.random
        width, height = view_size(data, default_view)
        x1, y = pixel_between(rng, width, 0.08, 0.2), pixel_between(rng, height, 0.55, 0.7)
        x2 = max(x1, pixel_between(rng, width, 0.3, 0.9))
        return f"{x1}|{y}|{x2}|{y}"

    return make


def point_list(default_view: tuple[int, int]) -> ResultMaker:
    """Points to tap as JSON text inside the result string, ``'[{"x": 721, "y": 1945}, ...]'``."""

    def make(draws: Draws, data: Mapping[str, Any] = _NO_DATA, /) -> str:
        rng = draws.random
        width, height = view_size(data, default_view)
        points = [
            {"x": pixel_between(rng, width, 0.1, 0.9), "y": pixel_between(rng, height, 0.3, 0.9)}
            for _ in range(rng.randrange(2, 6))
        ]
        return json.dumps(points)

    return make


def _chars(fake: BaseProvider, alphabet: str, count: int) -> str:
    return "".join(fake.random_choices(alphabet, length=count))


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def recaptcha_token(draws: Draws, data: Mapping[str, Any] = _NO_DATA, /) -> str:
    """A reCAPTCHA response token as Google issues them: ``03A`` and 400-odd base64url characters."""
    fake = draws.faker
    return "03A" + _chars(fake, _BASE64URL, fake.random_int(440, 560))


def hcaptcha_token(draws: Draws, data: Mapping[str, Any] = _NO_DATA, /) -> str:
    """An hCaptcha response token: ``P1_`` and a JWT (header ``eyJ0eXAiOiJKV1Qi...``, payload, signature)."""
    fake = draws.faker
    header = _b64url(b'{"typ":"JWT","alg":"HS256"}')
    claims = {
        "pd": 0,
        "exp": fake.random_int(1_700_000_000, 1_900_000_000),
        "passkey": _chars(fake, _BASE64URL, fake.random_int(600, 800)),
        "kr": fake.hexify("^" * 8),
    }
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    return f"P1_{header}.{payload}.{_chars(fake, _BASE64URL, 43)}"


def arkose_token(public_key: str) -> ResultMaker:
    """An Arkose Labs (FunCaptcha) session token for the site whose public key is ``public_key``:
    ``<17 hex>.<10 digits>|r=ap-southeast-1|meta=3|...|pk=<key>|...``, as the pages show it."""

    def make(draws: Draws, data: Mapping[str, Any] = _NO_DATA, /) -> str:
        fake = draws.faker
        session = f"{fake.hexify('^' * 17)}.{fake.numerify('%#########')}"
        return "|".join(
            (
                session,
                "r=ap-southeast-1",
                "meta=3",
                "metabgclr=transparent",
                "metaiconclr=%23757575",
                "guitextcolor=%23000000",
                f"pk={public_key}",
                "at=40",
                "sup=1",
                f"rid={fake.random_int(1, 99)}",
                "ag=101",
                "cdn_url=https%3A%2F%2Fclient-api.arkoselabs.com%2Fcdn%2Ffc",
                "lurl=https%3A%2F%2Faudio-ap-southeast-1.arkoselabs.com",
                "surl=https%3A%2F%2Fclient-api.arkoselabs.com",
                "smurl=https%3A%2F%2Fclient-api.arkoselabs.com%2Fcdn%2Ffc%2Fassets%2Fstyle-manager",
            )
        )

    return make


@dataclass(frozen=True)
class DataField:
    """One ``data`` field a job type requires, besides ``type_job_id`` and ``image_base64``."""

    name: str
    #: The JSON type the page documents: "text" is a JSON string, "number" a JSON number.
    kind: Literal["text", "number"]
    #: The page's example value (a str for text, an int for number).
    example: str | int
    #: What the field holds, in the words error messages use ("" for the five first types).
    meaning: str = ""
    #: The only values the page allows, if it lists them.
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class JobType:
    """One captcha service of the API, as the vendor page documents it."""

    id: str
    name: str
    doc_page: str
    #: Required ``data`` fields other than ``type_job_id`` and ``image_base64``, in page order.
    fields: tuple[DataField, ...]
    #: How many base64 images ``image_base64`` holds, joined by ``|``; 0: no image (token types).
    images: int
    #: What the images are, in order (shown in messages and the README).
    image_roles: tuple[str, ...]
    make_result: ResultMaker
    #: Example of a success result, as the page shows it.
    example_result: str
    #: ``result`` while running and on fail: ``None`` on most pages, ``""`` on some (V1-6).
    pending_result: str | None = None
    #: Extra fields of the fail answer (type 26 adds ``error_code``).
    fail_extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    #: Each image may be a whole data URI (``data:image/jpg;base64,...``) and the ``|`` may have
    #: spaces around it, as the type 44 page tells clients to send (V1-14).
    data_uri_images: bool = False

    @property
    def required(self) -> tuple[str, ...]:
        """Every ``data`` field a createJob request must carry for this type."""
        image = ("image_base64",) if self.images else ()
        return ("type_job_id", *image, *(f.name for f in self.fields))

    def data_field(self, name: str) -> DataField | None:
        return next((f for f in self.fields if f.name == name), None)

    def running_answer(self) -> dict[str, Any]:
        return {"error": False, "status": "running", "result": self.pending_result}

    def fail_answer(self) -> dict[str, Any]:
        return {"error": False, "status": "fail", **self.fail_extra, "result": self.pending_result}

    @staticmethod
    def success_answer(result: str) -> dict[str, Any]:
        return {"error": False, "status": "success", "result": result}


# Fields shared by several types, with the pages' example values.
_INPUT_13 = DataField("input", "text", "Chọn tất cả hình ảnh có: tàu thuyền")
_INPUT_14 = DataField("input", "text", "panda")
_WEBSITE_URL = DataField(
    "website_url", "text", "http://mywebsite.com/recaptcha/test.php", "the URL of the page with the captcha"
)
_RECAPTCHA_KEY = DataField(
    "website_key",
    "text",
    "6Lc_aCMTAAAAABx7u2N0D1XnVbI_v6ZdbM6rYf16",
    "the site key (data-sitekey) of the captcha",
)


def _width(example: int) -> DataField:
    return DataField("width_view", "number", example, "the image's width in pixels as shown on the page")


def _height(example: int) -> DataField:
    return DataField("height_view", "number", example, "the image's height in pixels as shown on the page")


# A TikTok captcha on a phone, screenshotted: 1080 x 2400 is the commonest screen.
_PHONE = (1080, 2400)
_EMPTY = MappingProxyType({"error_code": ""})
_RECAPTCHA_EXAMPLE = "03AHJ_VuvYIBNBW5yyv0zRYJ75VkOKvhKj9_xGBJKnQim...."
_ARKOSE_EXAMPLE = "41417c9d63b5d4e25.6591757004|r=ap-southeast-1|meta=3...."

CATALOGUE: Mapping[str, JobType] = MappingProxyType(
    {
        jt.id: jt
        for jt in (
            JobType(
                "1",
                "reCAPTCHA v2",
                "v1/types/recaptcha/recaptcha-v2.md",
                (_WEBSITE_URL, _RECAPTCHA_KEY),
                0,
                (),
                recaptcha_token,
                _RECAPTCHA_EXAMPLE,
            ),
            JobType(
                "2",
                "reCAPTCHA v2 Facebook",
                "v1/types/recaptcha/recaptcha-v2-facebook.md",
                (),
                0,
                (),
                recaptcha_token,
                _RECAPTCHA_EXAMPLE,
            ),
            JobType(
                "3",
                "reCAPTCHA v3",
                "v1/types/recaptcha/recaptcha-v3.md",
                (
                    DataField(
                        "website_url",
                        "text",
                        "https://recaptcha-demo.appspot.com/recaptcha-v3-request-scores.php",
                        "the URL of the page with the captcha",
                    ),
                    DataField(
                        "website_key",
                        "text",
                        "6LdyC2cUAAAAACGuDKpXeDorzUDWXmdqeg-xy696",
                        "the site key (data-sitekey) of the captcha",
                    ),
                    DataField(
                        "score",
                        "text",
                        "0,9",
                        "the minimum score, written with a decimal comma",
                        ("0,3", "0,7", "0,9"),
                    ),
                    DataField(
                        "action",
                        "text",
                        "examples/v3scores",
                        "the action (data-action, or the one grecaptcha.execute is called with)",
                    ),
                ),
                0,
                (),
                recaptcha_token,
                _RECAPTCHA_EXAMPLE,
            ),
            JobType(
                "11",
                "hCaptcha",
                "v1/types/hcaptcha/hcaptcha-token.md",
                (
                    DataField(
                        "website_url",
                        "text",
                        "https://accounts.hcaptcha.com/demo",
                        "the URL of the page with the captcha",
                    ),
                    DataField(
                        "website_key",
                        "text",
                        "a5f74b19-9e45-40e0-b45d-47ff91b7a6c2",
                        "the site key (data-sitekey) of the captcha",
                    ),
                ),
                0,
                (),
                hcaptcha_token,
                "P1_eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9....",
                pending_result="",
            ),
            JobType(
                "13",
                "ZCaptcha (Zalo)",
                "000_c610b606f217ad89.txt",
                (_INPUT_13,),
                1,
                ("grid",),
                tile_indices,
                "1|4|7",
            ),
            JobType(
                "14",
                "Coinmarketcap",
                "002_b24a2b6b7bd51a14.txt",
                (_INPUT_14,),
                1,
                ("grid",),
                tile_indices,
                "1|4|7",
            ),
            JobType(
                "21",
                "TikTok slider on web",
                "v1/types/tiktok/keo-tha-tren-web.md",
                (_width(340),),
                1,
                ("screenshot",),
                slider_offset(340),
                "50",
            ),
            JobType(
                "22",
                "TikTok select 2 objects on web",
                "v1/types/tiktok/chon-2-doi-tuong-tren-web.md",
                (_width(340), _height(212)),
                1,
                ("image",),
                two_points((340, 212)),
                "52|117|268|90",
                pending_result="",
            ),
            JobType(
                "23",
                "Rotate on web (TikTok)",
                "001_90c8d517bba5c093.txt",
                (),
                2,
                ("inner", "outer"),
                rotation_angle,
                "50",
            ),
            JobType(
                "24",
                "TikTok slider on phone",
                "v1/types/tiktok/keo-tha-tren-phone.md",
                (),
                1,
                ("screenshot",),
                drag_points(_PHONE),
                "142|1495|689|1495",
            ),
            JobType(
                "25",
                "TikTok select 2 objects on phone",
                "v1/types/tiktok/chon-2-doi-tuong-tren-phone.md",
                (),
                1,
                ("screenshot",),
                two_points(_PHONE),
                "310|1288|802|1544",
                pending_result="",
            ),
            JobType(
                "26",
                "Drag-and-drop on web (Shopee)",
                "004_d99f0dd5b649ffc2.txt",
                (),
                2,
                ("mask", "background"),
                drag_x,
                "123",
                pending_result="",
                fail_extra=_EMPTY,
            ),
            JobType(
                "30",
                "Image to text",
                "003_d684eec6974e10c2.txt",
                (),
                1,
                ("image",),
                captcha_text,
                "abcxyz",
            ),
            JobType(
                "31",
                "Image to text (BIDV)",
                "v1/danh-sach-dich-vu.md",
                (),
                1,
                ("image",),
                captcha_text,
                "abcxyz",
            ),
            JobType(
                "33",
                "Image to text (Vietcombank)",
                "v1/types/danh-sach-dich-vu.md",
                (),
                1,
                ("image",),
                captcha_text,
                "abcxyz",
            ),
            JobType(
                "41",
                "Audio Facebook",
                "v1/_deleted_before_HEAD/audio-facebook.md",
                (),
                1,
                ("mp3",),
                audio_text,
                "ABCDEF",
            ),
            JobType(
                "43",
                "Bytrade",
                "v1/_deleted_before_HEAD/bytrade.md",
                (),
                1,
                ("image",),
                slider_offset(320),
                "100",
            ),
            JobType(
                "44",
                "Nimo.tv",
                "v1/_deleted_before_HEAD/nimo.tv.md",
                (_width(320), _height(148)),
                2,
                ("bg-placeholder", "slide-block"),
                slider_offset(320),
                "123",
                data_uri_images=True,
            ),
            JobType(
                "45",
                "FunCaptcha click",
                "v1/types/funcaptcha/funcaptcha-click.md",
                (
                    DataField(
                        "text",
                        "text",
                        "Use the arrows to pick the image where all the darts add up to the number "
                        "in the left image",
                        "the captcha's question",
                    ),
                ),
                1,
                ("image",),
                position,
                "5",
            ),
            JobType(
                "47",
                "FunCaptcha token Hotmail",
                "v2/tai-lieu-api/funcaptcha/funcaptcha-token-hotmail.md",
                (),
                0,
                (),
                arkose_token("B7D8911C-5CC8-A9A3-35B0-554ACEE604DA"),
                _ARKOSE_EXAMPLE,
            ),
            JobType(
                "48",
                "FunCaptcha token Twitter",
                "v2/tai-lieu-api/funcaptcha/funcaptcha-token-twitter.md",
                (),
                0,
                (),
                arkose_token("2CB16598-CB82-4CF7-B332-5990DB66F3AB"),
                _ARKOSE_EXAMPLE,
            ),
            JobType(
                "52",
                "NimoTV slider on web",
                "v2/tai-lieu-api/nimotv/keo-tha-tren-web.md",
                (_width(320),),
                2,
                ("small", "big"),
                slider_offset(320),
                "50",
            ),
            JobType(
                "55",
                "Moonbix select objects on phone",
                "v2/tai-lieu-api/moonbix/chon-doi-tuong-app.md",
                (),
                1,
                ("screenshot",),
                point_list(_PHONE),
                '[{"x": 721, "y": 1945}, {"x": 353, "y": 1945}, '
                '{"x": 353, "y": 1579}, {"x": 353, "y": 1211}]',
            ),
        )
    }
)
