"""The client the ``omofake_client`` fixture hands out (kept apart so the plugin loads light)."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from omofake.client import OmoClient


class FixtureClient(OmoClient):
    """The client of ``omofake_client``: remembers the loop its aiohttp session was opened in.

    OmoClient opens its session on its first request, so the session lives in the loop the test
    runs in, whatever loop set the fixture up. Closing it at teardown needs the fixture's loop to
    be that same loop: pytest-asyncio arranges it for fixtures and tests of one loop scope (the
    default: a loop per test). When they differ, aiohttp fails with "attached to a different
    loop"; this lets the fixture say what is wrong instead.
    """

    session_loop: asyncio.AbstractEventLoop | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self.session_loop is None:
            self.session_loop = asyncio.get_running_loop()
        return super()._get_session()

    async def close(self) -> None:
        if self.session_loop not in (None, asyncio.get_running_loop()):
            pytest.fail(
                "omofake_client was used in another event loop than the one its fixture runs in "
                "(a test loop_scope other than asyncio_default_fixture_loop_scope, or a loop of "
                "the test's own), so it cannot close its connections. Give tests and fixtures the "
                "same loop scope, or open a client in the test: "
                "`async with OmoClient(token, base_url=omofake_url) as client:`",
                pytrace=False,
            )
        await super().close()
