"""A fast yes/no check of a body against a schema file, for the common case of a valid request.

jsonschema is the authority on what is wrong with a body: :mod:`omofake.contract.validation` builds every
violation and message from its errors. But it spends most of a request's time finding that a
valid body has nothing wrong (it makes a validator object per subschema and resolves each
``$ref`` anew). This module compiles the same schema file, once, into plain Python predicates
that give the same yes/no answer as ``Draft202012Validator.is_valid``, so a valid request skips
jsonschema and an invalid one still goes through it.

Only the keywords the request schemas use are compiled, each with jsonschema's own semantics
(its type checker, its ``x < minimum`` and ``len(x) < minLength`` tests, ``re.search`` for
``pattern``, ``==`` for text ``enum``/``const``; the base64 image patterns are checked by
:mod:`omofake.contract.patterns`, as the validators of :mod:`omofake.contract.registry` check them). A schema
using any other validating keyword compiles to ``None``, and callers then use jsonschema for
every body: an unknown keyword can cost speed, never correctness. ``tests/test_fastcheck.py``
checks the two agree.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from omofake.contract.patterns import known_pattern

if TYPE_CHECKING:
    from referencing._core import Resolver  # not re-exported by referencing; only for the type

# Neither jsonschema nor referencing is imported here: the check exists so that a valid request
# never needs them, and importing them costs a fake's first request some 30 ms.

Check = Callable[[Any], bool]

#: The keywords Draft202012Validator.VALIDATORS validates with (tests/test_fastcheck.py checks
#: the two sets are equal).
VALIDATING_KEYWORDS = frozenset(
    {
        "$dynamicRef", "$ref", "additionalProperties", "allOf", "anyOf", "const", "contains",
        "dependentRequired", "dependentSchemas", "enum", "exclusiveMaximum", "exclusiveMinimum",
        "format", "if", "items", "maxItems", "maxLength", "maxProperties",
        "maximum", "minItems", "minLength", "minProperties", "minimum",
        "multipleOf", "not", "oneOf", "pattern", "patternProperties", "prefixItems",
        "properties", "propertyNames", "required", "type", "unevaluatedItems",
        "unevaluatedProperties", "uniqueItems",
    }
)  # fmt: skip
# Keywords that never change whether an instance is valid.
_ANNOTATIONS = frozenset(
    {"$schema", "$comment", "$defs", "title", "description", "examples", "default", "deprecated"}
)
# Recursion through $ref deeper than this means a recursive schema, which is not compiled.
_MAX_DEPTH = 32


class Unsupported(Exception):
    """The schema uses something this module does not compile; use jsonschema instead."""


def compile_schema(schema: Any, resolver: Resolver[Any]) -> Check | None:
    """A predicate equal to jsonschema's ``is_valid`` for ``schema``, or None if not compilable.

    ``resolver`` resolves the schema's ``$ref`` s (relative ones against the schema's ``$id``).
    """
    try:
        return _compile(schema, resolver, 0)
    except Unsupported:
        return None


def _compile(schema: Any, resolver: Resolver[Any], depth: int) -> Check:
    if depth > _MAX_DEPTH:
        raise Unsupported("recursive schema")
    if schema is True:
        return _always
    if schema is False:
        return _never
    if not isinstance(schema, Mapping):
        raise Unsupported(f"schema {schema!r}")
    checks: list[Check] = []
    for keyword, value in schema.items():
        if keyword in _ANNOTATIONS or (keyword == "$id" and depth == 0):
            continue
        if keyword in ("then", "else"):
            continue  # compiled with "if", as jsonschema reads them
        make = _KEYWORDS.get(keyword)
        if make is None:
            if keyword in VALIDATING_KEYWORDS or keyword.startswith("$"):
                raise Unsupported(keyword)
            continue  # jsonschema ignores keywords it does not know; so does this
        checks.append(make(value, schema, resolver, depth))
    return _all(checks)


def _all(checks: Sequence[Check]) -> Check:
    if len(checks) == 1:
        return checks[0]
    frozen = tuple(checks)

    # A plain loop, not all() over a generator: half the time (a generator object per call),
    # and this runs a dozen times per request.
    def check_all(instance: Any) -> bool:
        for check in frozen:  # noqa: SIM110
            if not check(instance):
                return False
        return True

    return check_all


def _always(instance: Any) -> bool:
    return True


def _never(instance: Any) -> bool:
    return False


def _is(kind: str) -> Check:
    if kind in _PLAIN_TYPES:
        return _PLAIN_TYPES[kind]
    if kind not in ("integer", "number"):
        raise Unsupported(f"type {kind!r}")
    # jsonschema's own rules for numbers (bool is not one; 1.0 is an integer in draft 2020-12).
    return _is_integer if kind == "integer" else _is_number


# jsonschema._types.is_integer and is_number, which Draft202012Validator.TYPE_CHECKER uses,
# after the common case, a plain int, which is both.
def _is_integer(instance: Any) -> bool:
    if type(instance) is int:
        return True
    if isinstance(instance, bool):
        return False
    if isinstance(instance, float) and instance.is_integer():
        return True
    return isinstance(instance, int)


def _is_number(instance: Any) -> bool:
    return type(instance) is int or (not isinstance(instance, bool) and isinstance(instance, numbers.Number))


def _texts(value: Any) -> tuple[str, ...]:
    # With a text on one side, jsonschema's equal() is plain ==; other values need its rules.
    values = tuple(value) if isinstance(value, list) else ()
    if not values or not all(isinstance(v, str) for v in values):
        raise Unsupported(f"enum/const of {value!r}")
    return values


Maker = Callable[[Any, Mapping[str, Any], "Resolver[Any]", int], Check]


def _type(value: Any, schema: Mapping[str, Any], resolver: Resolver[Any], depth: int) -> Check:
    kinds = [_is(kind) for kind in (value if isinstance(value, list) else [value])]
    if len(kinds) == 1:
        return kinds[0]
    return lambda instance: any(kind(instance) for kind in kinds)


def _is_object(instance: Any) -> bool:
    return isinstance(instance, dict)


def _is_string(instance: Any) -> bool:
    return isinstance(instance, str)


# The types jsonschema checks with a plain isinstance (jsonschema._types.is_object and friends);
# calling them directly saves TypeChecker.is_type's lookup, a quarter of a microsecond a time.
_PLAIN_TYPES: Mapping[str, Check] = {
    "object": _is_object,
    "string": _is_string,
    "array": lambda instance: isinstance(instance, list),
    "boolean": lambda instance: isinstance(instance, bool),
    "null": lambda instance: instance is None,
}


def _required(value: Any, schema: Mapping[str, Any], resolver: Resolver[Any], depth: int) -> Check:
    names = tuple(value)

    def check_required(instance: Any) -> bool:
        if isinstance(instance, dict):
            for name in names:
                if name not in instance:
                    return False
        return True

    return check_required


def _properties(value: Any, schema: Mapping[str, Any], resolver: Resolver[Any], depth: int) -> Check:
    checks = tuple((name, _compile(sub, resolver, depth + 1)) for name, sub in value.items())

    def check_properties(instance: Any) -> bool:
        if isinstance(instance, dict):
            for name, check in checks:
                if name in instance and not check(instance[name]):
                    return False
        return True

    return check_properties


def _enum(value: Any, schema: Mapping[str, Any], resolver: Resolver[Any], depth: int) -> Check:
    values = _texts(value)
    texts = frozenset(values)
    # A text is in the set exactly when it equals one of them; anything else takes the long way.
    return lambda instance: (
        instance in texts if type(instance) is str else any(each == instance for each in values)
    )


def _const(value: Any, schema: Mapping[str, Any], resolver: Resolver[Any], depth: int) -> Check:
    (expected,) = _texts([value])
    return lambda instance: expected == instance


def _min_length(value: Any, schema: Mapping[str, Any], resolver: Resolver[Any], depth: int) -> Check:
    return lambda instance: not _is_string(instance) or not len(instance) < value


def _minimum(value: Any, schema: Mapping[str, Any], resolver: Resolver[Any], depth: int) -> Check:
    # Written as jsonschema tests it (fail when x < minimum), so NaN passes here as it does there.
    return lambda instance: not _is_number(instance) or not instance < value


def _pattern(value: Any, schema: Mapping[str, Any], resolver: Resolver[Any], depth: int) -> Check:
    known = known_pattern(value) if isinstance(value, str) else None
    if known is not None:  # the base64 images: a linear scan, not re's backtracking
        return lambda instance: not _is_string(instance) or known(instance)
    search = re.compile(value).search  # what jsonschema's re.search(pattern, x) compiles and caches
    return lambda instance: not _is_string(instance) or search(instance) is not None


def _all_of(value: Any, schema: Mapping[str, Any], resolver: Resolver[Any], depth: int) -> Check:
    if not value:
        return _always
    every = _all([_compile(sub, resolver, depth + 1) for sub in value])
    switch = _switch(value)
    if switch is None:
        return every
    name, cases = switch
    by_value = {
        text: _all([_compile(then, resolver, depth + 1) for then in thens]) for text, thens in cases.items()
    }

    # One dict lookup instead of an "if" per job type (two dozen of them, 8 µs a request). For
    # an object, the "if" of a case holds exactly when the field is present and equal to its
    # text (jsonschema compares a text const with ==), so only that case's "then" applies.
    def check_switch(instance: Any) -> bool:
        if not isinstance(instance, dict):
            return every(instance)  # every "if" holds for a non-object: let them all run
        if name not in instance:
            return True
        selected = instance[name]
        if not isinstance(selected, str):
            return True  # equal to no text
        case = by_value.get(selected)
        return case is None or case(instance)

    return check_switch


def _switch(value: Any) -> tuple[str, dict[str, list[Any]]] | None:
    """``allOf: [{"if": {"properties": {F: {"const": "1"}}, "required": [F]}, "then": S1}, ...]``
    (one field F, text consts, no ``else``) as F and the ``then`` schemas by const; else None."""
    name: str | None = None
    cases: dict[str, list[Any]] = {}
    for sub in value:
        if not isinstance(sub, Mapping) or set(sub) != {"if", "then"}:
            return None
        condition = sub["if"]
        if not isinstance(condition, Mapping) or set(condition) != {"properties", "required"}:
            return None
        properties, required = condition["properties"], condition["required"]
        if not isinstance(properties, Mapping) or len(properties) != 1:
            return None
        ((field, rule),) = properties.items()
        if required != [field] or (name is not None and field != name):
            return None
        if not isinstance(rule, Mapping) or set(rule) != {"const"} or not isinstance(rule["const"], str):
            return None
        name = field
        cases.setdefault(rule["const"], []).append(sub["then"])
    return None if name is None else (name, cases)


def _if(value: Any, schema: Mapping[str, Any], resolver: Resolver[Any], depth: int) -> Check:
    condition = _compile(value, resolver, depth + 1)
    then = _compile(schema.get("then", True), resolver, depth + 1)
    otherwise = _compile(schema.get("else", True), resolver, depth + 1)
    return lambda instance: then(instance) if condition(instance) else otherwise(instance)


def _ref(value: Any, schema: Mapping[str, Any], resolver: Resolver[Any], depth: int) -> Check:
    if not isinstance(value, str):
        raise Unsupported(f"$ref {value!r}")
    try:
        resolved = resolver.lookup(value)
    except Exception as exc:  # referencing's Unresolvable, a LookupError: jsonschema will say
        raise Unsupported(f"$ref {value!r}") from exc
    if isinstance(resolved.contents, Mapping) and "$id" in resolved.contents:
        raise Unsupported("a $ref into another resource")  # its base URI would change
    return _compile(resolved.contents, resolved.resolver, depth + 1)


_KEYWORDS: Mapping[str, Maker] = {
    "type": _type,
    "required": _required,
    "properties": _properties,
    "enum": _enum,
    "const": _const,
    "minLength": _min_length,
    "minimum": _minimum,
    "pattern": _pattern,
    "allOf": _all_of,
    "if": _if,
    "$ref": _ref,
}
