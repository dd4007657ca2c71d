"""pytest plugin: a running fake OMOcaptcha API in every test, with one line.

Installing omofake is all it takes: pytest loads this module through the ``pytest11`` entry
point ``omofake``.

Fixtures
    ``omofake_server``
        A running :class:`~omofake.FakeServer`, fresh for each test: one server per session
        (per xdist worker), reset before every test, as pytest-httpserver does.
    ``omofake_url``
        Its API base URL, ``http://127.0.0.1:PORT/api``.
    ``omofake_token``
        The API token :data:`omofake_client` sends (override it to use another one).
    ``omofake_client``
        An async :class:`~omofake.client.OmoClient` pointed at the fake, closed after the test.
        Defined as a pytest-asyncio fixture when pytest-asyncio is one of the run's plugins
        (pytest-aiohttp builds on it too), else as a plain async fixture for plugins that run
        those (anyio).
    ``omofake_session_server``
        The shared server itself, never reset: for session-scoped fixtures that need its URL.

Marker
    ``@pytest.mark.omofake(**knobs)`` takes the keywords of :meth:`FakeServer.configure` and
    applies them before the test, in reading order: module, class, then function markers, and
    stacked markers top to bottom, so the marker closest to the test wins.

Options (command line, or the ini file without the dashes)
    ``--omofake-seed N``
        Reproducible job ids and results.
    ``--omofake-strict``
        Only the documented field types are accepted.
    ``--omofake-contract``
        A test fails if the code under test sent the fake any request that breaks the
        documented contract; the failure lists each violation.
    ``--omofake-server-url URL`` (env ``OMOFAKE_SERVER_URL``)
        Use an ``omofake serve`` that is already running at URL instead of starting one: the
        fixtures hand out a :class:`~omofake.RemoteServer`, steered through the server's control
        API, with the same per-test reset, markers, seed and strict settings (applied with
        ``configure`` after each reset). The session waits (up to 10 s) for the server's health
        check at its start, and stops with a usage error if it does not answer.
    ``--omofake-control-token TOKEN`` (env ``OMOFAKE_CONTROL_TOKEN``)
        The server's ``--control-token``, if it was started with one.

An external server is one server for whoever points at it. Each test resets it whole, so two
test processes sharing one would wipe each other's jobs, journal and configuration between their
tests: under pytest-xdist with more than one worker the plugin refuses an external URL (a usage
error) rather than give flaky results. Give each process its own ``omofake serve``, or scope
what they do by token (``configure(token=...)``, ``reset(token=...)``) with RemoteServer directly.
"""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator, Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

# pytest imports this module in every run of every project that has omofake installed: the
# server, the client and their dependencies (aiohttp, jsonschema) load only when a test asks for
# a fixture; faker only when a job's result needs it (omofake/core/draws.py).
if TYPE_CHECKING:
    from omofake.client import OmoClient
    from omofake.contract.validation import Violation
    from omofake.core.journal import Exchange
    from omofake.http.protocol import FakeServerLike

__all__ = [
    "CLIENT_POLL_INTERVAL",
    "CLIENT_TIMEOUT",
    "DEFAULT_TOKEN",
    "Settings",
    "describe_violations",
    "omofake_server",
    "omofake_session_server",
    "omofake_token",
    "omofake_url",
]

#: The token ``omofake_client`` sends unless ``omofake_token`` is overridden. The fake accepts
#: any non-empty token unless the test configures ``tokens=[...]``.
DEFAULT_TOKEN = "omofake-test-token"
#: Seconds between polls of ``omofake_client.solve``: the real API asks for 2 s, but the fake
#: answers at once, and a test should not sleep.
CLIENT_POLL_INTERVAL = 0.01
#: Seconds ``omofake_client.solve`` waits for a job: ample for the ``running_polls`` and
#: latencies tests configure, short enough that a job that never finishes fails the test
#: quickly. ``solve(..., timeout=...)`` takes another.
CLIENT_TIMEOUT = 10.0

MARKER = "omofake"
#: Environment variables read when neither the command line nor the ini file names a server.
SERVER_URL_ENV = "OMOFAKE_SERVER_URL"
CONTROL_TOKEN_ENV = "OMOFAKE_CONTROL_TOKEN"
#: Seconds the session waits for an external server's health check.
READY_TIMEOUT = 10.0


@dataclass(frozen=True)
class Settings:
    """The plugin's options, as read from the command line and the ini file."""

    seed: int | None = None
    strict: bool = False
    contract: bool = False
    #: An ``omofake serve`` already running, to use instead of starting one.
    server_url: str | None = None
    control_token: str | None = None


_SETTINGS = pytest.StashKey[Settings]()
#: The configured sessions, innermost (a pytester in-process run) last.
_CONFIGS: list[pytest.Config] = []
_STATE = pytest.StashKey["_TestState"]()
_REMOTE = pytest.StashKey["FakeServerLike"]()


@dataclass
class _TestState:
    """What the contract check needs to know about one test."""

    server: FakeServerLike
    contract: bool
    #: How many of the journal's violations have already been reported for this test.
    reported: int = 0

    #: How many of the server's errors in user code have already been reported.
    errors_reported: int = 0

    def unreported(self) -> list[tuple[Exchange, Violation]]:
        found = self.server.requests.violations
        fresh, self.reported = found[self.reported :], len(found)
        return fresh

    def user_errors(self) -> str | None:
        """What the test's own code given to the fake (``result=`` functions) got wrong."""
        found = self.server.errors
        fresh, self.errors_reported = found[self.errors_reported :], len(found)
        if not fresh:
            return None
        lines = [f"omofake: code the test gave the fake failed ({len(fresh)} time(s)):"]
        return "\n".join(lines + [f"  {error.message}" for error in fresh])


# Options


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("omofake", "omofake (fake OMOcaptcha API)")
    group.addoption(
        "--omofake-seed",
        type=int,
        default=None,
        metavar="N",
        help="seed the fake's job ids and results, so every run gives the same ones (ini: omofake_seed)",
    )
    # The flags default to None, not False, so that leaving them out defers to the ini file.
    group.addoption(
        "--omofake-strict",
        action="store_true",
        default=None,
        help="refuse requests that send undocumented field types, such as type_job_id 23 "
        "(ini: omofake_strict)",
    )
    group.addoption(
        "--omofake-contract",
        action="store_true",
        default=None,
        help="fail a test whose code sent the fake a request that breaks the documented "
        "contract (ini: omofake_contract)",
    )
    group.addoption(
        "--omofake-server-url",
        default=None,
        metavar="URL",
        help="use the omofake serve already running at URL instead of starting a fake server "
        f"(ini: omofake_server_url, env: {SERVER_URL_ENV})",
    )
    group.addoption(
        "--omofake-control-token",
        default=None,
        metavar="TOKEN",
        help="the control token of the server of --omofake-server-url "
        f"(ini: omofake_control_token, env: {CONTROL_TOKEN_ENV})",
    )
    parser.addini("omofake_server_url", help="the URL of an omofake serve to use instead of starting one")
    parser.addini("omofake_control_token", help="the control token of the server of omofake_server_url")
    parser.addini("omofake_seed", help="seed for the fake's job ids and results (a whole number)")
    parser.addini("omofake_strict", type="bool", default=False, help="refuse undocumented field types")
    parser.addini(
        "omofake_contract",
        type="bool",
        default=False,
        help="fail tests that sent the fake requests breaking the documented contract",
    )


def _read_settings(config: pytest.Config) -> Settings:
    seed: int | None = config.getoption("omofake_seed")
    if seed is None:
        raw = str(config.getini("omofake_seed") or "").strip()
        # An empty value (``-o omofake_seed=``) is "no seed", to undo one set in the ini file.
        if raw:
            try:
                seed = int(raw)
            except ValueError:
                raise pytest.UsageError(f"omofake_seed must be a whole number, not {raw!r}") from None
    strict = config.getoption("omofake_strict")
    contract = config.getoption("omofake_contract")
    return Settings(
        seed=seed,
        strict=bool(config.getini("omofake_strict") if strict is None else strict),
        contract=bool(config.getini("omofake_contract") if contract is None else contract),
        server_url=_text_setting(config, "omofake_server_url", SERVER_URL_ENV),
        control_token=_text_setting(config, "omofake_control_token", CONTROL_TOKEN_ENV),
    )


def _text_setting(config: pytest.Config, name: str, env: str) -> str | None:
    """The command line, else the environment, else the ini file; empty is "not set"."""
    for value in (config.getoption(name), os.environ.get(env), config.getini(name)):
        if value is not None and str(value).strip():
            return str(value).strip()
    return None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**knobs): configure the fake OMOcaptcha server (omofake_server) before the "
        "test; the keywords are those of FakeServer.configure, e.g. running_polls=2, outcome='fail'",
    )
    config.stash[_SETTINGS] = _read_settings(config)
    _CONFIGS.append(config)
    config.pluginmanager.register(_client_fixture(config), "omofake-client")


def pytest_unconfigure(config: pytest.Config) -> None:
    if config in _CONFIGS:
        _CONFIGS.remove(config)


def pytest_report_header(config: pytest.Config) -> str:
    # The seed belongs in the header: it is what reproduces a run's job ids and results.
    s = config.stash[_SETTINGS]
    where = f", server={s.server_url}" if s.server_url is not None else ""
    return f"omofake: seed={s.seed}, strict={s.strict}, contract={s.contract}{where}"


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """With an external server: refuse what would share it unsafely, and wait for it to answer."""
    config = session.config
    settings = config.stash[_SETTINGS]
    if settings.server_url is None:
        return
    # An xdist worker knows the count from its controller; the controller, from -n (maybe "auto").
    # Not from the environment: a pytest run inside an xdist worker inherits the worker's.
    workerinput = getattr(config, "workerinput", None)
    workers = workerinput.get("workercount") if workerinput else getattr(config.option, "numprocesses", None)
    if workers not in (None, 0, 1):
        raise pytest.UsageError(
            f"omofake: --omofake-server-url cannot be shared by {workers} pytest-xdist workers: every "
            "test resets the whole server, so the workers would wipe each other's jobs, journal and "
            "configuration. Run with -n 0 (or -n 1), or drop the URL so that each worker starts its own "
            "fake server."
        )
    from omofake.http.remote import RemoteServer, RemoteServerError

    try:
        server = RemoteServer(settings.server_url, control_token=settings.control_token)
        server.wait_ready(READY_TIMEOUT)
        # Should health ever answer without the control token, a wrong one shows here, not in a test.
        server.clock()
    except (RemoteServerError, ValueError) as exc:
        raise pytest.UsageError(f"omofake: --omofake-server-url {settings.server_url}: {exc}") from None
    config.stash[_REMOTE] = server


# Fixtures


@pytest.fixture(scope="session")
def omofake_session_server() -> Iterator[FakeServerLike]:
    """The one fake server of this session (of this xdist worker), in a background thread; or
    the :class:`~omofake.RemoteServer` of ``--omofake-server-url``.

    It is not reset between tests: tests should use ``omofake_server``. This fixture is for
    session-scoped fixtures that need the server's address, which never changes in a session.
    """
    # No pytestconfig argument: pytest resolves a fixture's arguments every time a test asks for
    # it, cached or not, and that alone cost each test ~30 us.
    config = _CONFIGS[-1]
    remote = config.stash.get(_REMOTE, None)
    if remote is not None:
        yield remote  # not ours to stop
        return
    settings = config.stash[_SETTINGS]
    with _gc_paused():
        # Seed and strict are the server's own settings, so reset() returns to them before each test.
        from omofake.http.server import FakeServer

        server = FakeServer(seed=settings.seed, strict=settings.strict).start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def _gc_paused() -> Iterator[None]:
    # Starting the server imports a few hundred modules and builds objects that are none of
    # them garbage: the collector's passes over the session's heap meanwhile cost ~10 % of it.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@pytest.fixture
def omofake_server(
    omofake_session_server: FakeServerLike, request: pytest.FixtureRequest
) -> Iterator[FakeServerLike]:
    """A running fake OMOcaptcha server with fresh state: no jobs, an empty journal, and the
    configuration of the command line plus this test's ``@pytest.mark.omofake`` markers.

    Talk to it at ``omofake_server.api_url`` (or use ``omofake_url``); assert on
    ``omofake_server.requests``; change its behaviour mid-test with ``configure(...)``.
    """
    server = omofake_session_server
    # Reset before the test, not only after one: a test must start fresh even when the previous
    # one was interrupted, or used the shared server without this fixture.
    server.reset()
    settings = request.config.stash[_SETTINGS]
    if settings.server_url is not None:
        # An external server's baseline is its own (flags, --config): the run's options come on top.
        _apply_options(server, settings)
    _apply_markers(server, request.node)
    state = _TestState(server, contract=request.config.stash[_SETTINGS].contract)
    request.node.stash[_STATE] = state
    yield server
    # Requests sent after the test body (by other fixtures' teardown) were not seen by the
    # check in pytest_runtest_call; report them here, as an error at teardown.
    if state.contract and (fresh := state.unreported()):
        pytest.fail(describe_violations(fresh), pytrace=False)
    if problem := state.user_errors():
        pytest.fail(problem, pytrace=False)


@pytest.fixture
def omofake_url(omofake_server: FakeServerLike) -> str:
    """The fake's API base URL, ``http://127.0.0.1:PORT/api``, for code that takes a base URL."""
    return omofake_server.api_url


@pytest.fixture
def omofake_token() -> str:
    """The API token ``omofake_client`` sends. Override it (and configure ``tokens=[...]``) to
    test token handling."""
    return DEFAULT_TOKEN


def _make_client(url: str, token: str) -> OmoClient:
    from omofake.fixture_client import FixtureClient

    return FixtureClient(token, base_url=url, poll_interval=CLIENT_POLL_INTERVAL, timeout=CLIENT_TIMEOUT)


async def _omofake_client(omofake_url: str, omofake_token: str) -> AsyncIterator[OmoClient]:
    """An async :class:`~omofake.client.OmoClient` pointed at the fake, closed after the test.

    It polls every 10 ms (the real API asks for 2 s) and gives up after 10 s. With pytest-asyncio
    running it is a pytest-asyncio fixture (strict and auto mode, pytest-aiohttp); without, a
    plain async fixture, for plugins that run those (anyio).
    """
    async with _make_client(omofake_url, omofake_token) as client:
        yield client


def _client_fixture(config: pytest.Config) -> ModuleType:
    """``omofake_client``, as the fixture kind the session's plugins run.

    Registered as a plugin at configure time, once pytest knows whether pytest-asyncio is one of
    them: deciding there, not at import, spares every run without pytest-asyncio importing it.
    A module, because pytest reads the fixtures of any other plugin object from its class.
    """
    fixture: Any = pytest.fixture
    if any(_module_of(plugin) == "pytest_asyncio" for plugin in config.pluginmanager.get_plugins()):
        import pytest_asyncio

        fixture = pytest_asyncio.fixture
    holder = ModuleType(f"{__name__}.client_fixture")
    holder.omofake_client = fixture(name="omofake_client")(_omofake_client)  # type: ignore[attr-defined]
    return holder


def _module_of(plugin: object) -> str:
    return str(getattr(plugin, "__name__", "")).partition(".")[0]


# The marker


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A marker on a test that never asks for the fake would be silently ignored: say so.
    for item in items:
        uses_fake = "omofake_server" in getattr(item, "fixturenames", ())
        if not uses_fake and any(marker.name == MARKER for marker in item.own_markers):
            item.warn(
                pytest.PytestWarning(
                    "@pytest.mark.omofake has no effect here: the test uses no omofake fixture "
                    "(omofake_server, omofake_url or omofake_client)"
                )
            )


def _apply_options(server: FakeServerLike, settings: Settings) -> None:
    options: dict[str, Any] = {}
    if settings.seed is not None:
        options["seed"] = settings.seed
    if settings.strict:
        options["strict"] = True
    if options:
        server.configure(**options)


def _apply_markers(server: FakeServerLike, item: pytest.Item) -> None:
    # iter_markers yields the closest marker first; applying them in reverse makes it win.
    for marker in reversed(list(item.iter_markers(MARKER))):
        if marker.args:
            pytest.fail(
                f"@pytest.mark.omofake takes keywords only (those of FakeServer.configure), "
                f"not {', '.join(map(repr, marker.args))}",
                pytrace=False,
            )
        try:
            server.configure(**marker.kwargs)
        except (TypeError, ValueError) as exc:
            problem = str(exc)
        else:
            continue
        # Outside the except block, so the report shows this message alone, not a chain.
        pytest.fail(f"@pytest.mark.omofake({_show_kwargs(marker.kwargs)}): {problem}", pytrace=False)


def _show_kwargs(kwargs: Mapping[str, Any]) -> str:
    return ", ".join(f"{key}={value!r}" for key, value in kwargs.items())


# The contract check


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """Fail the test itself (not its teardown) when its body broke the contract."""
    state = item.stash.get(_STATE, None)
    try:
        yield
    except BaseException:
        # The test failed anyway: show the violations beside its own failure, not instead of it.
        if state is not None and state.contract and (fresh := state.unreported()):
            item.add_report_section("call", "omofake contract", describe_violations(fresh))
        if state is not None and (problem := state.user_errors()):
            item.add_report_section("call", "omofake", problem)
        raise
    if state is not None and (problem := state.user_errors()):
        pytest.fail(problem, pytrace=False)
    if state is not None and state.contract and (fresh := state.unreported()):
        pytest.fail(describe_violations(fresh), pytrace=False)


def describe_violations(found: Sequence[tuple[Exchange, Violation]]) -> str:
    """A readable list of contract violations: one line each, with the endpoint, the JSON path,
    what the documented contract expects there and what was sent."""
    requests = len({id(exchange) for exchange, _ in found})
    lines = [
        f"omofake contract: the code under test sent {_count(requests, 'request')} that "
        f"{'breaks' if requests == 1 else 'break'} the documented OMOcaptcha API "
        f"({_count(len(found), 'violation')}):"
    ]
    rows = [(violation.endpoint, violation.path, _what(violation)) for _, violation in found]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    lines += [f"  {ep:<{widths[0]}}  {path:<{widths[1]}}  {what}" for ep, path, what in rows]
    lines.append(
        "The JSON Schemas shipped with omofake state the documented contract; to turn this "
        "check off, run with -o omofake_contract=false."
    )
    return "\n".join(lines)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _what(violation: Violation) -> str:
    if violation.keyword == "required":
        return "expected: present, sent: nothing"
    return f"expected: {violation.expected}, sent: {violation.found}"
