"""The job types the fake knows: what each requires and how its result looks.

One entry per documented OMOcaptcha service. The JSON Schemas in ``schemas/`` state the same
rules for validators; ``tests/test_catalogue.py`` proves the two agree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from faker.providers import BaseProvider

#: Makes a result from Faker's base provider (seeded by the job store).
ResultMaker = Callable[["BaseProvider"], str]


def tile_indices(fake: BaseProvider) -> str:
    """Tiles to click on a 3x3 grid, 1-based, ascending, e.g. ``"2|5|9"``."""
    count = fake.random_int(2, 4)
    return "|".join(str(i) for i in sorted(fake.random_sample(range(1, 10), length=count)))


def rotation_angle(fake: BaseProvider) -> str:
    """A rotation in whole degrees, e.g. ``"50"``."""
    return str(fake.random_int(0, 359))


def drag_x(fake: BaseProvider) -> str:
    """The X pixel to drag a slider piece to, within a typical 280-340 px wide background."""
    return str(fake.random_int(40, 280))


def captcha_text(fake: BaseProvider) -> str:
    """Short text as read off a distorted image; captcha alphabets drop look-alikes such as 0/o, 1/l."""
    return fake.lexify("?" * fake.random_int(4, 6), letters="abcdefghjkmnpqrstuvwxyz23456789")


@dataclass(frozen=True)
class JobType:
    """One captcha service of the API, as the vendor page documents it."""

    id: str
    name: str
    doc_page: str
    #: ``data`` fields a createJob request must carry for this type.
    required: tuple[str, ...]
    #: How many base64 images ``image_base64`` holds, joined by ``|``.
    images: int
    #: What the images are, in order (shown in messages and the README).
    image_roles: tuple[str, ...]
    make_result: ResultMaker
    #: Example of a success result, as the page shows it.
    example_result: str
    #: ``result`` while running and on fail: ``None`` on four pages, ``""`` on type 26's.
    pending_result: str | None = None
    #: Extra fields of the fail answer (type 26 adds ``error_code``).
    fail_extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def running_answer(self) -> dict[str, Any]:
        return {"error": False, "status": "running", "result": self.pending_result}

    def fail_answer(self) -> dict[str, Any]:
        return {"error": False, "status": "fail", **self.fail_extra, "result": self.pending_result}

    @staticmethod
    def success_answer(result: str) -> dict[str, Any]:
        return {"error": False, "status": "success", "result": result}


_DATA = ("type_job_id", "image_base64")

CATALOGUE: Mapping[str, JobType] = MappingProxyType(
    {
        jt.id: jt
        for jt in (
            JobType(
                "13",
                "ZCaptcha (Zalo)",
                "000_c610b606f217ad89.txt",
                (*_DATA, "input"),
                1,
                ("grid",),
                tile_indices,
                "1|4|7",
            ),
            JobType(
                "14",
                "Coinmarketcap",
                "002_b24a2b6b7bd51a14.txt",
                (*_DATA, "input"),
                1,
                ("grid",),
                tile_indices,
                "1|4|7",
            ),
            JobType(
                "23",
                "Rotate on web (TikTok)",
                "001_90c8d517bba5c093.txt",
                _DATA,
                2,
                ("inner", "outer"),
                rotation_angle,
                "50",
            ),
            JobType(
                "26",
                "Drag-and-drop on web (Shopee)",
                "004_d99f0dd5b649ffc2.txt",
                _DATA,
                2,
                ("mask", "background"),
                drag_x,
                "123",
                pending_result="",
                fail_extra=MappingProxyType({"error_code": ""}),
            ),
            JobType(
                "30",
                "Image to text",
                "003_d684eec6974e10c2.txt",
                _DATA,
                1,
                ("image",),
                captcha_text,
                "abcxyz",
            ),
        )
    }
)
