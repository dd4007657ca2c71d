"""schemathesis against the live fake, through the OpenAPI document built from the schema files.

Generated valid and invalid requests (negative data included) must never get a 5xx, and every
answer must conform to the response schemas. The suite runs with OMOFAKE_SELF_CHECK=1 (see
conftest.py), so the fake also checks each answer itself and turns a non-conforming one into
a 500, which ``not_a_server_error`` then reports with the request that caused it.

Only ``not_a_server_error`` and ``response_schema_conformance`` apply: the API answers its
errors with HTTP 200 (``{"error": true, ...}``), as the vendor documents, so checks that expect
a 4xx for invalid data would flag the documented behaviour. Runs are bounded (a few seconds).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance

from omofake import FakeServer
from omofake.contract.openapi import openapi_document
from omofake.core.catalogue import CATALOGUE

CHECKS = [not_a_server_error, response_schema_conformance]
# A request that hangs fails the test instead of the run.
REQUEST_TIMEOUT = 10
BOUNDED = settings(
    max_examples=60,
    deadline=None,
    database=None,  # no .hypothesis/ folder in the working tree
    suppress_health_check=list(HealthCheck),  # the fake is fast; generation is what is slow
)

# Loaded from the document itself at import time: schemathesis.pytest.from_fixture would load it
# from the running server, but its lazy loader fails under pytest 9 (it reads a private node
# attribute that pytest 9 removed). The stateful test below fetches GET /openapi.json instead.
schema = schemathesis.openapi.from_dict(openapi_document(None))
schema.config.generation.update(modes=list(GenerationMode))  # positive and negative data
# The coverage phase derives its boundary cases while pytest collects, and spends some 15 s on
# the base64 patterns, whose lookahead its generator cannot satisfy; the fuzzing phase (valid
# and invalid data) and the document's examples reach the same answers in a fraction of that.
schema.config.phases.coverage.enabled = False


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    # Jobs that run a poll before ending, and sometimes fail: every kind of getJobResult answer.
    with FakeServer(running_polls=1, fail_rate=0.3) as server:
        yield server


@schema.parametrize()
@BOUNDED
def test_generated_requests_get_conforming_answers(case: Case[Any], fake: FakeServer) -> None:
    case.call_and_validate(base_url=fake.url, checks=CHECKS, timeout=REQUEST_TIMEOUT)


def test_create_then_poll_workflows_get_conforming_answers(fake: FakeServer) -> None:
    """Stateful: the document's link from createJob to getJobResult polls the jobs just made,
    so real running, success and fail answers of every type are checked, not only "not found"."""
    served = schemathesis.openapi.from_url(f"{fake.url}/openapi.json")
    served.config.update(base_url=fake.url)

    class Workflow(served.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Case[Any]) -> dict[str, Any]:
            return {"timeout": REQUEST_TIMEOUT}

        def validate_response(self, response: Any, case: Case[Any], **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    Workflow.run(
        settings=settings(
            max_examples=8,
            stateful_step_count=6,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    # The run did reach the interesting answers.
    assert len(fake.jobs) > 0
    polled = [e for e in fake.journal.job_results if e.type_job_id in CATALOGUE]
    assert polled, "no getJobResult for a job the run created"
    assert all(e.status == 200 for e in fake.journal)
