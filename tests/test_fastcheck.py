"""The compiled request check answers exactly as jsonschema does, so it may stand in for it on valid bodies.

omofake.contract.fastcheck exists for speed (benchmarks/throughput.py); these tests are what make it safe:
on a corpus of valid and broken bodies it agrees with ``Draft202012Validator.is_valid``, and
``validate_request`` returns the very same violations with and without it.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from omofake.contract import validation as contract
from omofake.contract.fastcheck import compile_schema
from omofake.contract.registry import ENDPOINTS, Endpoint, request_check, request_validator
from omofake.core.catalogue import CATALOGUE
from tests.helpers import PNG, TOKEN, create_body

# Values of every JSON kind, and the edge cases of the keywords the schemas use.
VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    -1,
    123456,
    10**30,
    1.0,
    0.0,
    1.5,
    -2.0,
    float("nan"),
    float("inf"),
    "",
    " ",
    "x",
    "13",
    "23",
    "26",
    "30",
    "99",
    "123456",
    "0,9",
    "340",
    [],
    ["13"],
    {},
    {"type_job_id": "13"},
]
IMAGES = [
    PNG,
    f"{PNG}|{PNG}",
    f"{PNG}|{PNG}|{PNG}",
    "",
    "|",
    f"{PNG}|",
    f"|{PNG}",
    "QQ",
    "QQ==",
    "QUI=",
    "QUJD",
    "Q",
    "Q===",
    "QQ=",
    "QQ==QQ==",
    "QQ==|QUI=",
    "QQ== ",
    " QQ==",
    "QQ==\n",
    "QQ\n==",
    "data:image/png;base64,QQ==",
    "QQ-_",
    "QQ==|",
    "ảnh",
    "data:image/png;base64,QQ== | data:image/jpg;base64,QUI=",
    "QQ== |QUI=",
]


def create_bodies() -> Iterator[Any]:
    yield from VALUES
    for type_id in CATALOGUE:
        base = create_body(type_id)
        yield base
        yield {**base, "extra": 1}
        yield {**base, "data": {**base["data"], "extra": 1}}
        for field in ("api_token", "data"):
            yield {k: v for k, v in base.items() if k != field}
            for value in VALUES:
                yield {**base, field: value}
        for field in ("type_job_id", "input", "image_base64", *(f.name for f in CATALOGUE[type_id].fields)):
            yield {**base, "data": {k: v for k, v in base["data"].items() if k != field}}
            for value in [*VALUES, *CATALOGUE]:
                yield {**base, "data": {**base["data"], field: value}}
        for image in IMAGES:
            yield {**base, "data": {**base["data"], "image_base64": image}}
            # Another type's rules for the same image: the per-type branches must switch with it.
            for other in CATALOGUE:
                yield {**base, "data": {**base["data"], "type_job_id": other, "image_base64": image}}


def result_bodies() -> Iterator[Any]:
    yield from VALUES
    base = {"api_token": TOKEN, "job_id": 123456}
    yield base
    yield {**base, "extra": True}
    for field in base:
        yield {k: v for k, v in base.items() if k != field}
        for value in VALUES:
            yield {**base, field: value}


def token_bodies() -> Iterator[Any]:
    """getBalance and getService take the token alone."""
    yield from VALUES
    base = {"api_token": TOKEN}
    yield base
    yield {**base, "extra": True}
    yield {}
    for value in VALUES:
        yield {"api_token": value}


CORPUS: dict[Endpoint, list[Any]] = {
    "createJob": list(create_bodies()),
    "getJobResult": list(result_bodies()),
    "getBalance": list(token_bodies()),
    "getService": list(token_bodies()),
}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_both_request_schemas_compile(endpoint: Endpoint) -> None:
    # Without a compiled check the server falls back to jsonschema for every body: correct, but
    # the throughput benchmark's target would be missed.
    assert request_check(endpoint) is not None


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_the_check_agrees_with_jsonschema(endpoint: Endpoint) -> None:
    check = request_check(endpoint)
    assert check is not None
    validator = request_validator(endpoint)
    disagreements = [body for body in CORPUS[endpoint] if check(body) != validator.is_valid(body)]
    assert not disagreements, disagreements[:5]
    # The corpus exercises both answers, or the agreement would prove little.
    answers = {check(body) for body in CORPUS[endpoint]}
    assert answers == {True, False}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_violations_are_the_same_with_and_without_the_check(
    endpoint: Endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = CORPUS[endpoint]
    with_check = [contract.validate_request(endpoint, copy.deepcopy(body)) for body in corpus]
    monkeypatch.setattr(contract, "request_check", lambda endpoint: None)
    without = [contract.validate_request(endpoint, copy.deepcopy(body)) for body in corpus]
    assert with_check == without


def _resolver(schema: Any) -> Any:
    return Registry().resolver_with_root(DRAFT202012.create_resource(schema))


def _agrees(schema: dict[str, Any], instances: list[Any]) -> None:
    check = compile_schema(schema, _resolver(schema))
    assert check is not None, schema
    validator = Draft202012Validator(schema)
    for instance in instances:
        assert check(instance) == validator.is_valid(instance), (schema, instance)


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "integer"},
        {"type": "number"},
        {"type": ["string", "null"]},
        {"type": "boolean"},
        {"type": "array"},
        {"minimum": 1},
        {"minimum": 0.5},
        {"minLength": 2},
        {"pattern": "^a+$"},
        {"pattern": "b"},
        {"enum": ["1", "a"]},
        {"const": "1"},
        {"required": ["a"], "properties": {"a": {"type": "integer"}}},
        {"if": {"const": "a"}, "then": {"minLength": 3}},
        {"if": {"const": "a"}, "else": {"type": "integer"}},
        {"then": {"type": "integer"}},
        {"allOf": [{"type": "string"}, {"minLength": 1}]},
        {"$defs": {"n": {"type": "integer"}}, "properties": {"a": {"$ref": "#/$defs/n"}}},
        {"x-vendor": {"type": "integer"}},
        True,
        False,
    ],
)
def test_each_keyword_agrees_with_jsonschema(schema: Any) -> None:
    instances = [*VALUES, -math.inf, "a", "aaa", "b", {"a": 1}, {"a": 1.0}, {"a": "1"}, {"a": True}, [1]]
    _agrees(schema, instances)


@pytest.mark.parametrize(
    "schema",
    [
        {"anyOf": [{"type": "string"}]},
        {"format": "email"},
        {"additionalProperties": False},
        {"enum": [1, "1"]},
        {"const": 1},
        {"type": "fraction"},
        {"$dynamicRef": "#x"},
        {"$ref": "#/$defs/missing"},
        {"$defs": {"me": {"$ref": "#/$defs/me"}}, "$ref": "#/$defs/me"},
        {"properties": {"a": {"$id": "urn:other", "type": "string"}}},
    ],
)
def test_what_it_cannot_compile_is_left_to_jsonschema(schema: dict[str, Any]) -> None:
    assert compile_schema(schema, _resolver(schema)) is None


def test_the_corpus_covers_every_type_with_every_image() -> None:
    datas = [body["data"] for body in CORPUS["createJob"] if isinstance(body, dict) and "data" in body]
    seen = {
        (data.get("type_job_id"), data.get("image_base64"))
        for data in datas
        if isinstance(data, dict)
        and isinstance(data.get("type_job_id"), str)
        and isinstance(data.get("image_base64"), str)
    }
    assert set(itertools.product(CATALOGUE, IMAGES)) <= seen
