"""The vendor's service list as data: what ``getService`` lists and what each job type costs.

One :class:`Service` per ``type_job_id`` any v1 page documents. Only id 1's figures are
documented (the getService example of ``v1/lay-danh-sach-dich-vu-bang-api.md``: "reCaptcha v2",
"Google Inc", price ``"0.00055"``, ``"98%"``, ``"15s"``, order 1, ``recaptcha.svg``). Every
other price, success rate, time, order, image and description here is omofake's decision
(``documented=False``), chosen to look like id 1's: token types cost and take the most,
image types less and are faster. Names are the service lists' own (``v1/danh-sach-dich-vu.md``
and ``v1/types/danh-sach-dich-vu.md``, which disagree: ``listed`` is the union of the two), or
the page title for the ids in neither list (3, 47, 48, 52, 55), which getService leaves out.
No page states a currency.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

#: Money has five decimals on the wire: ``"0.00000"`` (getBalance), ``"0.00055"`` (getService).
QUANTUM = Decimal("0.00001")


def money(value: Any, name: str = "amount") -> Decimal:
    """An amount of money as a Decimal of five decimals, from text, an int, a Decimal or a float
    (read as its shortest text, so ``0.003`` is exactly 0.00300); a ValueError naming ``name``
    for anything else, a negative amount, or more than five decimals."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise ValueError(f"{name} must be an amount such as '0.00055', not {value!r}")
    try:
        amount = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{name} must be an amount such as '0.00055', not {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"{name} must be an amount of 0 or more, such as '0.00055', not {value!r}")
    if amount != amount.quantize(QUANTUM):
        raise ValueError(f"{name} has more than five decimals, which the API cannot show: {value!r}")
    return amount.quantize(QUANTUM)


def money_text(amount: Decimal) -> str:
    """``Decimal("3")`` -> ``"3.00000"``: the wire format of balances and prices."""
    return f"{amount.quantize(QUANTUM):f}"


@dataclass(frozen=True)
class Service:
    """One row of getService, and what the fake needs of it."""

    id: int
    name: str
    description: str
    price: Decimal
    #: Success rate as the API shows it, ``"98%"``.
    avg_success: str
    #: Average solving time in seconds (shown as ``"15s"``); the realistic timing profile uses it.
    avg_seconds: int
    order: int
    image: str
    #: In either vendor service list; getService lists only these.
    listed: bool = True
    #: The figures come from a vendor page (only id 1), rather than omofake's decision.
    documented: bool = False
    is_active: int = 1

    @property
    def avg_time(self) -> str:
        return f"{self.avg_seconds}s"

    def entry(self, price: Decimal | None = None) -> dict[str, Any]:
        """The service as getService lists it, with the documented fields in the documented order."""
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "price": money_text(self.price if price is None else price),
            "require_field": None,
            "order": self.order,
            "image": self.image,
            "avg_success": self.avg_success,
            "avg_time": self.avg_time,
            "is_active": self.is_active,
            "created_at": None,
            "updated_at": None,
        }


def _s(
    id: int, name: str, description: str, price: str, success: str, seconds: int, image: str, **kw: Any
) -> Service:
    # order: the root list's order first, then the types/ list's additions, then the unlisted.
    return Service(id, name, description, Decimal(price), success, seconds, _ORDER.index(id) + 1, image, **kw)


_ORDER = (1, 2, 11, 13, 14, 21, 22, 23, 24, 25, 30, 31, 33, 43, 41, 44, 26, 45, 3, 47, 48, 52, 55)

SERVICES: Mapping[str, Service] = MappingProxyType(
    {
        str(s.id): s
        for s in (
            _s(1, "reCaptcha v2", "Google Inc", "0.00055", "98%", 15, "recaptcha.svg", documented=True),
            _s(2, "reCAPTCHA-v2 Facebook", "Facebook", "0.00055", "97%", 15, "recaptcha.svg"),
            _s(3, "reCAPTCHA-v3", "Google Inc", "0.00080", "95%", 10, "recaptcha.svg", listed=False),
            _s(11, "hCAPTCHA", "Intuition Machines", "0.00080", "95%", 20, "hcaptcha.svg"),
            _s(13, "ZCaptcha (Zalo)", "Zalo", "0.00050", "97%", 5, "zalo.svg"),
            _s(14, "Coinmarketcap", "Coinmarketcap", "0.00050", "97%", 5, "coinmarketcap.svg"),
            _s(21, "TikTok (Kéo thả - Web)", "TikTok", "0.00040", "99%", 3, "tiktok.svg"),
            _s(22, "TikTok (Chọn 2 đối tượng - Web)", "TikTok", "0.00050", "98%", 4, "tiktok.svg"),
            _s(23, "TikTok (Xoay đối tượng - Web)", "TikTok", "0.00040", "99%", 3, "tiktok.svg"),
            _s(24, "TikTok (Kéo thả - App)", "TikTok", "0.00040", "99%", 3, "tiktok.svg"),
            _s(25, "TikTok (Chọn 2 đối tượng - App)", "TikTok", "0.00050", "98%", 4, "tiktok.svg"),
            _s(26, "Shopee (Kéo thả - Web)", "Shopee", "0.00040", "99%", 3, "shopee.svg"),
            _s(30, "ImageToText (All type supported)", "Tự đông phát hiện", "0.00010", "99%", 2, "image.svg"),
            _s(31, "ImageToText(BIDV)", "BIDV và các loại captcha tương tự", "0.00010", "99%", 2, "bidv.svg"),
            _s(
                33,
                "ImageToText (Vietcombank)",
                "Vietcombank và các loại captcha tương tự",
                "0.00010",
                "99%",
                2,
                "vietcombank.svg",
            ),
            _s(41, "Audio Facebook", "Facebook", "0.00060", "95%", 10, "facebook.svg"),
            _s(43, "Bytrade", "Bytrade", "0.00040", "98%", 3, "bytrade.svg"),
            _s(44, "Nimo.tv", "Nimo TV", "0.00040", "98%", 3, "nimotv.svg"),
            _s(45, "FunCaptcha click", "Arkose Labs", "0.00100", "95%", 8, "funcaptcha.svg"),
            _s(
                47,
                "FunCaptcha token Hotmail",
                "Arkose Labs",
                "0.00200",
                "90%",
                30,
                "funcaptcha.svg",
                listed=False,
            ),
            _s(
                48,
                "FunCaptcha token Twitter",
                "Arkose Labs",
                "0.00200",
                "90%",
                30,
                "funcaptcha.svg",
                listed=False,
            ),
            _s(52, "NimoTV (Kéo thả - Web)", "Nimo TV", "0.00040", "98%", 3, "nimotv.svg", listed=False),
            _s(
                55,
                "Moonbix (Chọn đối tượng - App)",
                "Binance",
                "0.00050",
                "97%",
                5,
                "moonbix.svg",
                listed=False,
            ),
        )
    }
)

#: Balance a token starts with unless configured: plenty, for tests that do not care about money.
DEFAULT_BALANCE = Decimal("1000.00000")
#: Price of a job type the list does not name (one a user registers in the catalogue).
FALLBACK_PRICE = Decimal("0.00100")


def price_of(type_job_id: str) -> Decimal:
    service = SERVICES.get(type_job_id)
    return FALLBACK_PRICE if service is None else service.price
