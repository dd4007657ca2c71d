"""What the fake imports only when a request needs it: jsonschema and referencing, and Faker.

So that a valid request needs neither jsonschema nor referencing (see ``test_plugin.py`` for what
a fixture run imports), :mod:`omofake.contract.fastcheck` carries jsonschema's number rules and
its list of validating keywords, and :mod:`omofake.contract.registry` resolves a request schema's
own ``#/...`` references itself.

Faker loads only when a job's result needs its base provider (:mod:`omofake.core.draws`): the
types whose results are drawn from ``random.Random`` alone never import it, over HTTP and through
the pytest plugin's fixtures.
"""

from __future__ import annotations

import decimal
import fractions
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from omofake.contract import fastcheck, registry
from omofake.core.catalogue import CATALOGUE
from omofake.core.draws import Draws
from omofake.dialects.v2.tasks import TASK_CLASSES
from omofake.http.server import SELF_CHECK_ENV

from .helpers import RESULT_FORMATS, job_data


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


# Faker, only for the results that need it

#: The v1 types whose results are drawn from ``random.Random`` alone: they never import Faker.
RANDOM_ONLY = (
    "13",
    "14",
    "21",
    "22",
    "23",
    "24",
    "25",
    "26",
    "30",
    "31",
    "33",
    "41",
    "43",
    "44",
    "45",
    "52",
    "55",
)


class _NoFaker(Draws):
    """Draws whose ``faker`` refuses: a maker that reaches for it raises LookupError."""

    __slots__ = ()

    @property
    def faker(self) -> Any:
        raise LookupError("this maker uses Faker")


def _uses_faker(make: Any, data: Any) -> bool:
    try:
        make(_NoFaker(0), data)
    except LookupError:
        return True
    return False


def test_the_random_only_types_are_those_whose_makers_never_reach_for_faker() -> None:
    found = tuple(t for t in CATALOGUE if not _uses_faker(CATALOGUE[t].make_result, job_data(t)))
    assert found == RANDOM_ONLY
    # Every v2 solution maker uses Faker's provider, as before Draws.
    assert all(_uses_faker(tc.make_solution, {"type": tc.name}) for tc in TASK_CLASSES.values())


def test_faker_draws_from_the_same_random_and_reseeds_with_it() -> None:
    draws = Draws(3)
    assert repr(draws) == "<Draws, faker not loaded>"
    assert draws.faker.generator.random is draws.random
    assert draws.faker is draws.faker and repr(draws) == "<Draws, faker loaded>"
    first = [draws.faker.random_int(0, 10**6), draws.random.random(), draws.faker.lexify("????")]
    draws.seed(3)
    assert [draws.faker.random_int(0, 10**6), draws.random.random(), draws.faker.lexify("????")] == first
    # What the job store's first id is: randrange(100_000, 900_000) is Faker's random_int(100_000, 899_999).
    for seed in (0, 1, 2, 12345, None):
        draws.seed(seed)
        state = draws.random.getstate()
        mine = draws.random.randrange(100_000, 900_000)
        draws.random.setstate(state)
        assert draws.faker.random_int(100_000, 899_999) == mine


# Run in a fresh interpreter: in this one, Faker's own pytest plugin has imported faker already.
OVER_HTTP = """
import json, sys, urllib.request
from omofake import FakeServer

def post(url, body):
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)

def solve(server, data):
    created = post(server.api_url + "/createJob", {"api_token": "t", "data": data})
    for _ in range(20):
        answer = post(server.api_url + "/getJobResult", {"api_token": "t", "job_id": created["job_id"]})
        if answer["status"] != "running":
            return answer
    raise AssertionError(answer)

out = {"before": "faker" in sys.modules, "random_only": {}}
with FakeServer(seed=5) as server:
    for type_id, data in json.loads(sys.argv[1]).items():
        out["random_only"][type_id] = solve(server, data)
    out["after_random_only"] = "faker" in sys.modules
    out["v1_faker"] = solve(server, json.loads(sys.argv[2]))
    out["after_faker"] = "faker" in sys.modules
    task = {"clientKey": "t", "task": {"type": "RecaptchaV2TokenTask", "websiteURL": "https://a.b", "websiteKey": "k"}}
    out["v2"] = post(server.v2_url + "/createTask", task)
print(json.dumps(out))
"""


def test_over_http_the_random_only_types_never_import_faker_and_the_others_do() -> None:
    random_only = {t: job_data(t) for t in RANDOM_ONLY}
    env = {k: v for k, v in os.environ.items() if k != SELF_CHECK_ENV}
    done = subprocess.run(
        [sys.executable, "-c", OVER_HTTP, json.dumps(random_only), json.dumps(job_data("1"))],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["before"] is False
    for type_id, answer in out["random_only"].items():
        assert answer["status"] == "success", (type_id, answer)
        assert re.fullmatch(RESULT_FORMATS[type_id], answer["result"]), (type_id, answer)
    assert out["after_random_only"] is False
    assert out["v1_faker"]["status"] == "success"
    assert re.fullmatch(RESULT_FORMATS["1"], out["v1_faker"]["result"]), out["v1_faker"]
    assert out["after_faker"] is True
    assert out["v2"]["errorId"] == 0, out["v2"]


PLUGIN_FIRST_USE = """
import sys

import requests


def post(url, endpoint, body):
    return requests.post(f"{url}/{endpoint}", json=body, timeout=10).json()


def test_an_image_to_text_job_imports_no_faker(omofake_url):
    created = post(omofake_url, "createJob", {"api_token": "t", "data": {"type_job_id": "30", "image_base64": "aGVsbG8="}})
    answer = post(omofake_url, "getJobResult", {"api_token": "t", "job_id": created["job_id"]})
    assert answer["status"] == "success" and answer["result"]
    assert "aiohttp" in sys.modules
    assert "faker" not in sys.modules
"""


def test_the_plugins_first_use_imports_no_faker(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Faker's own pytest plugin would import it: autoloading off, omofake's plugin alone.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.delenv(SELF_CHECK_ENV, raising=False)
    pytester.makepyfile(test_first_use=PLUGIN_FIRST_USE)

    result = pytester.runpytest_subprocess("-p", "omofake", "-p", "no:cacheprovider", "test_first_use.py")

    result.assert_outcomes(passed=1)
