"""The fast check's stand-ins for jsonschema and referencing agree with them.

So that a valid request needs neither library (see ``test_plugin.py`` for what a fixture run
imports), :mod:`omofake.contract.fastcheck` carries jsonschema's number rules and its list of
validating keywords, and :mod:`omofake.contract.registry` resolves a request schema's own
``#/...`` references itself.
"""

from __future__ import annotations

import decimal
import fractions
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from omofake.contract import fastcheck, registry


def test_the_validating_keywords_are_jsonschemas() -> None:
    assert set(Draft202012Validator.VALIDATORS) == fastcheck.VALIDATING_KEYWORDS


NUMBERS = [0, 1, -3, 1.0, 1.5, -0.0, True, False, "1", None, [], {}, 10**30, float("nan"), float("inf")]
NUMBERS += [decimal.Decimal("1"), decimal.Decimal("1.5"), fractions.Fraction(1, 2), complex(1, 0)]


@pytest.mark.parametrize("value", NUMBERS, ids=repr)
def test_the_number_rules_are_jsonschemas(value: Any) -> None:
    types = Draft202012Validator.TYPE_CHECKER
    assert fastcheck._is("integer")(value) is types.is_type(value, "integer")
    assert fastcheck._is("number")(value) is types.is_type(value, "number")


def _refs(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from _refs(item)


@pytest.mark.parametrize("name", [n for n in registry.SCHEMA_NAMES if n.endswith(".request")])
def test_local_references_resolve_as_referencing_resolves_them(name: str) -> None:
    schema = registry.load_schema(name)
    theirs = registry.registry().resolver(base_uri=schema["$id"])
    ours = registry._LocalRefs(schema)
    refs = sorted(set(_refs(schema)))
    for ref in refs:
        if ref.startswith("#"):
            assert ours.lookup(ref).contents == theirs.lookup(ref).contents, ref
        else:  # another file: left to jsonschema
            with pytest.raises(LookupError):
                ours.lookup(ref)
    for bad in ("#/$defs/nothing-here", "#/properties/0", "other#/x"):
        with pytest.raises(LookupError):
            ours.lookup(bad)


def test_every_request_schema_compiles_to_a_fast_check() -> None:
    # A schema that stopped compiling would cost every request jsonschema's time (and its import).
    assert all(registry.request_check(endpoint) is not None for endpoint in registry.ENDPOINTS)
