"""The fake's seeded random source: a ``random.Random``, and Faker's base provider on it when needed.

Importing Faker is slow: ``faker.config`` scans the file system for its locales when imported.
Measured on Faker 40.63 and Python 3.11: some 55 ms in a fresh interpreter (``time.perf_counter``
around the import; ``python -X importtime`` agrees), 28-35 ms on top of what a running server has
imported already (the first job of a type that needs Faker, against 1-2 ms for the next one).
The pytest fixture's first use paid it in every test session, whatever the tests asked for.

Most results need only numbers, samples and choices, which ``random.Random`` draws itself
(coordinates and offsets too: Faker's ``random_int(a, b)`` is ``randrange(a, b + 1)``); only the
makers of tokens and of v2 solutions use :class:`faker.providers.BaseProvider`'s methods
(``random_int``, ``random_choices``, ``lexify``, ``hexify``...). So :attr:`Draws.faker` imports
Faker the first time a result asks for it, and draws from the very same ``random.Random``: a
seed repeats the same values, whichever of the two a result draws with, as when every draw went
through Faker (``tests/test_seeded_draws.py``).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from faker.providers import BaseProvider


class Draws:
    """Where every seeded draw comes from: :attr:`random`, and :attr:`faker` on top of it."""

    __slots__ = ("_faker", "random")

    def __init__(self, seed: int | None = None) -> None:
        #: The seeded source itself; Faker's provider draws from this same object.
        self.random: random.Random = random.Random()
        self._faker: BaseProvider | None = None
        self.seed(seed)

    def __repr__(self) -> str:
        return f"<Draws, faker {'loaded' if self._faker is not None else 'not loaded'}>"

    def seed(self, seed: int | None) -> None:
        """Restart the source, as ``faker.Generator.seed_instance(seed)`` does (``None``: from the
        system's randomness)."""
        self.random.seed(seed)

    @property
    def faker(self) -> BaseProvider:
        """Faker's base provider, drawing from :attr:`random` (Faker is imported on first use)."""
        provider = self._faker
        if provider is None:
            from faker import Generator
            from faker.providers import BaseProvider

            generator = Generator()
            # The same object, not a copy: draws through Faker and through random interleave
            # in one stream, and seed() reseeds both.
            generator.random = self.random
            provider = self._faker = BaseProvider(generator)
        return provider
