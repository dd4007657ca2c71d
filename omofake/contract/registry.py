"""Where the JSON Schema files live, and their compiled validators.

The files are the single source of truth: in a wheel they are packaged as ``omofake/schemas/``;
in a source checkout (or an editable install) they are read from ``schemas/`` at the top of the
repository. Each dialect has its folder there (``schemas/v1/``, ``schemas/v2/``, ...), found by
looking: a new dialect's schemas need no edit here. A schema's name is its file's stem, prefixed by
its folder (``"v2/createTask.request"``), except in the first dialect's folder, whose names
(``"createJob.request"``) predate the folders and stay as users know them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote

from omofake.contract.fastcheck import Check, compile_schema
from omofake.contract.patterns import known_pattern

if TYPE_CHECKING:
    # jsonschema and referencing load on first use (validator(), registry()), not with this
    # module: a fake that only sees valid requests never needs jsonschema.
    from jsonschema import Draft202012Validator, ValidationError
    from referencing import Registry

if sys.version_info >= (3, 11):
    from importlib.resources.abc import Traversable
else:
    from importlib.abc import Traversable

Endpoint = Literal["createJob", "getJobResult", "getBalance", "getService"]
Direction = Literal["request", "response"]

ENDPOINTS: tuple[Endpoint, ...] = ("createJob", "getJobResult", "getBalance", "getService")
#: The folder whose schema names carry no prefix: v1's, named before there were folders.
UNPREFIXED_FOLDER = "v1"


def schema_dir() -> Traversable:
    """The folder holding the schema files, packaged or in the source tree."""
    packaged = files("omofake") / "schemas"
    if packaged.is_dir():
        return packaged
    source = Path(__file__).resolve().parents[2] / "schemas"
    if source.is_dir():
        return source
    raise FileNotFoundError(
        "omofake's schema files are missing: neither omofake/schemas/ in the installed package "
        f"nor {source} exists. Reinstall omofake."
    )


def _discover(root: Traversable) -> dict[str, Traversable]:
    """Every schema file of every dialect folder, by name; v1's in its endpoints' order first."""
    found: dict[str, Traversable] = {}
    for folder in sorted((f for f in root.iterdir() if f.is_dir()), key=lambda f: f.name):
        prefix = "" if folder.name == UNPREFIXED_FOLDER else f"{folder.name}/"
        for file in sorted(folder.iterdir(), key=lambda f: f.name):
            if file.name.endswith(".json"):
                found[prefix + file.name.removesuffix(".json")] = file
    order = {f"{e}.{d}": i for i, e in enumerate(ENDPOINTS) for d in ("request", "response")}
    return dict(sorted(found.items(), key=lambda item: (item[0] not in order, order.get(item[0], 0))))


_FILES = _discover(schema_dir())
#: Every schema's name, e.g. ``"createJob.request"``, ``"v2/createTask.request"``.
SCHEMA_NAMES: tuple[str, ...] = tuple(_FILES)


def schema_path(name: str) -> Traversable:
    """The file of one schema, by name."""
    if name not in _FILES:
        raise KeyError(f"no schema named {name!r}; known: {', '.join(SCHEMA_NAMES)}")
    return _FILES[name]


@cache
def load_schema(name: str) -> dict[str, Any]:
    """One schema file by name, e.g. ``"createJob.request"``."""
    with schema_path(name).open("rb") as fh:
        schema: dict[str, Any] = json.load(fh)
    return schema


@cache
def registry() -> Registry[Any]:
    from referencing import Registry, Resource

    return Registry().with_resources(
        (load_schema(name)["$id"], Resource.from_contents(load_schema(name))) for name in SCHEMA_NAMES
    )


# What a mismatch's message shows of the text: an image can be 20 MB.
_SHOWN = 80


def _pattern(validator: Any, pattern: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    """jsonschema's ``pattern``, with the base64 image patterns checked in linear time."""
    from jsonschema import Draft202012Validator, ValidationError

    known = known_pattern(pattern) if isinstance(pattern, str) else None
    if known is None:
        yield from Draft202012Validator.VALIDATORS["pattern"](validator, pattern, instance, schema)
    elif isinstance(instance, str) and not known(instance):
        shown = repr(instance) if len(instance) <= _SHOWN else f"{instance[:_SHOWN]!r}..."
        yield ValidationError(f"{shown} does not match {pattern!r}")


@cache
def validator_class() -> type[Draft202012Validator]:
    """Draft 2020-12 as jsonschema implements it, but for the cost of the base64 patterns."""
    from jsonschema import Draft202012Validator, validators

    extended: type[Draft202012Validator] = validators.extend(  # type: ignore[no-untyped-call]
        Draft202012Validator, {"pattern": _pattern}
    )
    return extended


@cache
def validator(name: str, pointer: str = "") -> Draft202012Validator:
    """A compiled validator for a schema file, or for the subschema at a JSON pointer in it."""
    schema = load_schema(name)
    target: dict[str, Any] = {"$ref": f"{schema['$id']}#{pointer}"} if pointer else schema
    return validator_class()(target, registry=registry())


def request_validator(endpoint: Endpoint) -> Draft202012Validator:
    return validator(f"{endpoint}.request")


@cache
def request_check(endpoint: Endpoint) -> Check | None:
    """The request schema compiled to a yes/no check (see :mod:`.fastcheck`), if it compiles."""
    schema = load_schema(f"{endpoint}.request")
    # Duck-typed as referencing's Resolver: what fastcheck uses of it is lookup().contents/.resolver.
    resolver: Any = _LocalRefs(schema)
    return compile_schema(schema, resolver)


class _LocalRefs:
    """Resolves a schema's ``#/...`` references (JSON pointers into itself), as referencing does.

    For the fast check only, so that compiling it needs neither referencing nor the registry of
    every schema file. Any other reference raises LookupError: the check then does not compile,
    and jsonschema, with the full registry, checks every body.
    """

    def __init__(self, document: Any) -> None:
        self.document = document

    def lookup(self, ref: str) -> _Resolved:
        if not ref.startswith("#/") and ref != "#":
            raise LookupError(f"not a reference within the schema: {ref!r}")
        target = self.document
        for part in unquote(ref[2:]).split("/") if ref != "#" else ():
            name = part.replace("~1", "/").replace("~0", "~")
            if isinstance(target, list) and name.isdigit() and int(name) < len(target):
                target = target[int(name)]
            elif isinstance(target, dict) and name in target:
                target = target[name]
            else:
                raise LookupError(f"unresolvable reference {ref!r}")
        return _Resolved(target, self)


@dataclass(frozen=True)
class _Resolved:
    contents: Any
    resolver: _LocalRefs


def response_validator(endpoint: Endpoint, type_job_id: str | None = None) -> Draft202012Validator:
    """The response schema; for getJobResult narrowed to one job type's answers when it is known."""
    if endpoint == "getJobResult" and type_job_id is not None:
        return validator("getJobResult.response", f"/$defs/byType/{type_job_id}")
    return validator(f"{endpoint}.response")
