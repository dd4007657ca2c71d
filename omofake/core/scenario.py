"""Scenario files: a server's settings and the configure calls that are its baseline.

TOML (or JSON, by a ``.json`` suffix)::

    [server]            # omofake serve's settings, by their flag names
    port = 8765
    manual_clock = true

    [[configure]]       # configure calls, in order: what a reset returns to
    running_polls = 1

    [[configure]]
    outcome = "fail"
    times = 1

Everything is checked when the file is read, and every problem is a :class:`ScenarioError`
naming the file and the line (or the key path) where it is.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omofake.core.state import ConfigureError, FakeState

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the backport, on Python 3.10 only
    import tomli as tomllib

#: The tables a scenario may have.
SECTIONS = ("server", "configure")


class ScenarioError(ValueError):
    """A scenario file that cannot be used: the message names the file and where in it."""


@dataclass(frozen=True)
class Scenario:
    """A scenario file as read: ``server`` holds ``omofake serve``'s settings as written (the
    command checks them), ``configure`` the configure calls, checked, in order."""

    path: Path
    server: Mapping[str, Any] = field(default_factory=dict)
    configure: tuple[dict[str, Any], ...] = ()
    #: Where each thing was written: ("server", key) or ("configure", index) -> line (TOML only).
    lines: Mapping[tuple[str, Any], int] = field(default_factory=dict, repr=False)

    def where(self, section: str, key: Any = None) -> str:
        """``"scenario.toml:7: "``: the file, and the line of a key or an entry when known."""
        line = self.lines.get((section, key))
        return f"{self.path}:{line}: " if line is not None else f"{self.path}: "

    def error(self, section: str, key: Any, message: str) -> ScenarioError:
        """A :class:`ScenarioError` about one setting: ``scenario.toml:3: server.port: ...``."""
        name = f"{section}[{key}]" if isinstance(key, int) else f"{section}.{key}"
        return ScenarioError(f"{self.where(section, key)}{name}: {message}")


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Read and check a scenario file (TOML, or JSON when its name ends in ``.json``).

    ``FakeServer(scenario=load_scenario(path).configure)`` (or ``scenario=path``) makes its
    configure calls a server's baseline; ``[server]`` is for ``omofake serve``.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ScenarioError(f"cannot read the scenario {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    lines: dict[tuple[str, Any], int] = {}
    if path.suffix.lower() == ".json":
        document = _read_json(path, text)
    else:
        document = _read_toml(path, text)
        lines = _toml_lines(text)
    scenario = Scenario(path, lines=lines)
    if not isinstance(document, dict):
        raise ScenarioError(f"{path}: a scenario is an object with server and configure, not {document!r}")
    if unknown := sorted(set(document) - set(SECTIONS)):
        raise ScenarioError(
            f"{path}: unknown section(s) {', '.join(unknown)}; a scenario has [server] and [[configure]]"
        )
    server = document.get("server", {})
    if not isinstance(server, dict):
        raise ScenarioError(f"{path}: server must be a table of serve settings, not {server!r}")
    calls = document.get("configure", [])
    if not isinstance(calls, list):
        raise ScenarioError(
            f"{path}: configure must be an array of tables ([[configure]] in TOML, a list in JSON), "
            f"not {calls!r}"
        )
    for index, call in enumerate(calls):
        if not isinstance(call, dict):
            raise scenario.error("configure", index, f"a configure call is a table of settings, not {call!r}")
    try:
        FakeState().configure_all(calls)
    except ConfigureError as exc:
        raise scenario.error("configure", exc.index, str(exc.error)) from None
    return Scenario(path, dict(server), tuple(dict(call) for call in calls), lines)


def _read_json(path: Path, text: str) -> Any:
    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        return json.loads(text, parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise ScenarioError(f"{path}:{exc.lineno}:{exc.colno}: not JSON: {exc.msg}") from None
    except ValueError as exc:
        raise ScenarioError(f"{path}: not JSON: {exc}") from None


_TOML_WHERE = re.compile(r"^(?P<why>.*) \(at line (?P<line>\d+), column (?P<column>\d+)\)$", re.DOTALL)


def _read_toml(path: Path, text: str) -> Any:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = _TOML_WHERE.match(message)
        if found is None:
            raise ScenarioError(f"{path}: not TOML: {message}") from None
        line, column, why = found["line"], found["column"], found["why"]
        raise ScenarioError(f"{path}:{line}:{column}: not TOML: {why}") from None


_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\"' -]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*(?:\"([^\"]*)\"|'([^']*)'|([A-Za-z0-9_-]+))\s*=")


def _toml_lines(text: str) -> dict[tuple[str, Any], int]:
    """Where the ``[server]`` keys and the ``[[configure]]`` entries are, by a plain scan of
    the lines (only to point messages at a line: tomllib says where nothing is)."""
    lines: dict[tuple[str, Any], int] = {}
    section: str | None = None
    entries = 0
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header is not None:
            name = header[2].strip("\"'")
            section = name
            if header[1] == "[[" and name == "configure":
                lines.setdefault(("configure", entries), number)
                entries += 1
            continue
        key = _KEY.match(line)
        if key is not None and section == "server":
            lines.setdefault(("server", next(k for k in key.groups() if k is not None)), number)
    return lines
