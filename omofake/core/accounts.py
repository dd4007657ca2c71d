"""The money side of the fake: each token's balance and what each job type costs.

Amounts are :class:`~decimal.Decimal` of five decimals throughout, never floats, so a balance
of 0.00300 pays for exactly three jobs of 0.00100.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from omofake.core.catalogue import CATALOGUE
from omofake.core.pricing import DEFAULT_BALANCE, SERVICES, money, price_of

#: ``balance=``: one amount for every token, or token -> amount (other tokens get the default).
BalanceSpec = Any


def check_balance(value: Any) -> tuple[Decimal, dict[str, Decimal]]:
    """The ``balance`` knob read as (amount for any token, amounts of named tokens)."""
    if value is None:
        return DEFAULT_BALANCE, {}
    if isinstance(value, Mapping):
        named: dict[str, Decimal] = {}
        for token, amount in value.items():
            if not isinstance(token, str) or not token:
                raise ValueError(f"balance: the keys must be api tokens (non-empty text), not {token!r}")
            named[token] = money(amount, f"balance[{token!r}]")
        return DEFAULT_BALANCE, named
    return money(value, "balance"), {}


def check_prices(value: Any) -> dict[str, Decimal]:
    """The ``prices`` knob: type_job_id -> amount, e.g. ``{"30": "0.001"}``."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(
            f"prices must map type_job_id to an amount, such as {{'30': '0.001'}}, not {value!r}"
        )
    out: dict[str, Decimal] = {}
    for type_id, amount in value.items():
        if isinstance(type_id, bool) or not isinstance(type_id, (str, int)):
            raise ValueError(f"prices: the keys must be type_job_ids such as '30', not {type_id!r}")
        key = str(type_id)
        if key not in SERVICES and key not in CATALOGUE:
            known = ", ".join(sorted({*SERVICES, *CATALOGUE}, key=int))
            raise ValueError(f"prices: {key!r} is not a type_job_id; known: {known}")
        out[key] = money(amount, f"prices[{key!r}]")
    return out


class Accounts:
    """Balances by token, opened at their starting amount on a token's first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._start: tuple[Decimal, dict[str, Decimal]] = (DEFAULT_BALANCE, {})
        self._prices: dict[str, Decimal] = {}
        self._balances: dict[str, Decimal] = {}
        # Starting amounts set with configure(token=..., balance=...): nearer than balance=.
        self._own: dict[str, Decimal] = {}

    def set_balance(self, value: Any) -> None:
        """Every token's balance from now on (None: the default); spent money is forgotten."""
        start = check_balance(value)
        with self._lock:
            self._start = start
            self._balances.clear()

    def set_balance_of(self, token: str, value: Any) -> None:
        """One token's balance from now on (None: back to what ``balance=`` gives every token);
        its spent money is forgotten."""
        if value is not None and isinstance(value, Mapping):
            raise ValueError(
                f"balance with token= must be one amount, such as '0.5', not a mapping of tokens: {value!r}"
            )
        amount = None if value is None else money(value, "balance")
        with self._lock:
            if amount is None:
                self._own.pop(token, None)
            else:
                self._own[token] = amount
            self._balances.pop(token, None)

    def forget(self, token: str) -> None:
        """Forget a token's own starting amount and what it spent."""
        with self._lock:
            self._own.pop(token, None)
            self._balances.pop(token, None)

    def set_prices(self, value: Any) -> None:
        prices = check_prices(value)
        with self._lock:
            self._prices = prices

    def reset(self) -> None:
        with self._lock:
            self._start = (DEFAULT_BALANCE, {})
            self._prices = {}
            self._balances.clear()
            self._own.clear()

    def price(self, type_job_id: str) -> Decimal:
        return self._prices[type_job_id] if type_job_id in self._prices else price_of(type_job_id)

    def has_price(self, type_job_id: str) -> bool:
        """Whether ``prices=`` names the type."""
        return type_job_id in self._prices

    def balance(self, token: str) -> Decimal:
        with self._lock:
            return self._balances[token] if token in self._balances else self._starting(token)

    def charge(self, token: str, type_job_id: str, listed: Decimal | None = None) -> bool:
        """Take the type's price from the token's balance; False (and nothing taken) if it cannot pay.

        ``listed``: the price a dialect lists for the job, unless ``prices=`` names the type."""
        price = listed if listed is not None and type_job_id not in self._prices else self.price(type_job_id)
        with self._lock:
            balance = self._open(token)
            if balance < price:
                return False
            self._balances[token] = balance - price
            return True

    def _open(self, token: str) -> Decimal:
        # Only spending opens an account: a server asked about many tokens keeps no memory of them.
        if token not in self._balances:
            self._balances[token] = self._starting(token)
        return self._balances[token]

    def _starting(self, token: str) -> Decimal:
        if token in self._own:
            return self._own[token]
        default, named = self._start
        return named.get(token, default)
