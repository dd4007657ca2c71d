"""What the API does with a request, apart from HTTP: checks, tokens, forced errors, jobs.

The HTTP layer (:mod:`omofake.http.app`) parses bodies and sends answers; everything the API
decides is decided here, so it can be reused and tested without a socket.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from omofake.contract.registry import Endpoint
from omofake.contract.validation import (
    Violation,
    job_id_as_int,
    lenient_data,
    loads_json,
    validate_request,
)
from omofake.core.accounts import Accounts
from omofake.core.behaviour import (
    Behaviour,
    BehaviourTable,
    Latency,
    UserCodeError,
)
from omofake.core.catalogue import CATALOGUE
from omofake.core.jobs import JobStore, StaleRequest
from omofake.core.pricing import SERVICES, money_text
from omofake.core.state import REQUEST_GENERATION, FakeState
from omofake.dialects.base import Answer, Route
from omofake.dialects.v1 import messages


def api_error(message: str, *, status: int = 200, delay: float = 0.0, **extra: Any) -> Answer:
    # The real service answers API errors with HTTP 200; only transport problems change it.
    return Answer({"error": True, "message": message}, status=status, delay=delay, **extra)


def parse_body(raw: bytes, endpoint: str) -> tuple[Any, Violation | None]:
    """The JSON body, or what is wrong with one that is not JSON."""
    try:
        return loads_json(raw), None
    except (ValueError, RecursionError):
        found = "an empty body" if not raw.strip() else "text that is not JSON"
        return None, Violation(
            endpoint, "request", "$", "a JSON object", found, "json", messages.INVALID_JSON
        )


def _pick_delay(latency: Latency) -> float:
    if isinstance(latency, tuple):
        return random.uniform(*latency)
    return latency


class FakeService:
    """The v1 dialect over the core: how it checks and answers its four endpoints.

    It keeps no state of its own: that is :attr:`state` (a :class:`FakeState`), which other
    dialects can share. Without one, it makes one from the keywords.
    """

    name = "v1"
    routes: tuple[Route, ...] = (
        Route("/api/createJob", "POST", "createJob"),
        Route("/api/getJobResult", "POST", "getJobResult"),
        Route("/api/getBalance", "POST", "getBalance"),
        Route("/api/getService", "POST", "getService"),
        # Also as GET, its fields in the query string: the getService page's sample says GET
        # while its heading says POST (and clients send both).
        Route("/api/getService", "GET", "getService"),
    )
    routes_summary = "POST /api/createJob, getJobResult, getBalance or getService"
    messages = messages

    def __init__(self, *, state: FakeState | None = None, **settings: Any) -> None:
        self.state = FakeState(**settings) if state is None else state

    def parse(self, raw: bytes, endpoint: Any) -> tuple[Any, Violation | None]:
        return parse_body(raw, endpoint)

    def error(self, message: str, *, status: int = 200, **extra: Any) -> Answer:
        return api_error(message, status=status, **extra)

    def render(self, body: dict[str, Any]) -> dict[str, Any]:
        if not self.strict and "error" in body:
            # What real servers send beyond the docs, on every answer: success, the opposite of
            # error. The one place it is added; strict mode sends the documented shapes only.
            return {**body, "success": body["error"] is not True}
        return body

    @property
    def store(self) -> JobStore:
        return self.state.store

    @property
    def behaviours(self) -> BehaviourTable:
        return self.state.behaviours

    @property
    def accounts(self) -> Accounts:
        return self.state.accounts

    @property
    def strict(self) -> bool:
        return self.state.strict

    @property
    def user_errors(self) -> list[UserCodeError]:
        return self.state.user_errors

    @property
    def generation(self) -> int:
        """Changes with every :meth:`reset`."""
        return self.state.generation

    def configure(self, **knobs: Any) -> None:
        """Change behaviour; see :class:`omofake.core.behaviour.Knobs` for the keywords."""
        self.state.configure(**knobs)

    def reset(self) -> None:
        """Forget jobs, configuration and user errors (see :meth:`FakeState.reset`)."""
        self.state.reset()

    def accepts(self, token: str) -> bool:
        return self.state.accepts(token)

    # Endpoints

    def create_job(self, body: Any) -> Answer:
        found, body, problem = self._check("createJob", body)
        if problem is not None:
            return problem
        data = body["data"]
        type_id = data["type_job_id"]
        generation = REQUEST_GENERATION.get()
        with self.state.lock:
            if generation is not None and generation != self.generation:
                return _stale(found)
            behaviour = self.behaviours.for_new_job(type_id)
            delay = _pick_delay(behaviour.create_latency)
            if behaviour.create_error is not None:
                return api_error(behaviour.create_error, delay=delay, violations=found, type_job_id=type_id)
            if not self.accounts.charge(body["api_token"], type_id):
                return api_error(
                    self.state.balance_error or messages.BALANCE_NOT_ENOUGH,
                    delay=delay,
                    violations=found,
                    type_job_id=type_id,
                )
        service = SERVICES.get(type_id)
        if self.state.timing == "realistic" and service is not None and behaviour.solve_after == 0:
            behaviour = replace(behaviour, solve_after=service.avg_seconds / self.state.speed)
        image = data.get("image_base64")
        try:
            job = self.store.create(
                type_id,
                behaviour,
                input=data.get("input"),
                images=image.count("|") + 1 if isinstance(image, str) else 0,
                data=data,
                generation=generation,
            )
        except StaleRequest:
            return _stale(found)
        except UserCodeError as exc:
            self.state.report(exc, generation)
            return api_error(
                messages.USER_CODE_ERROR.format(detail=exc.message),
                status=500,
                delay=delay,
                violations=found,
                type_job_id=type_id,
            )
        return Answer(
            {"error": False, "job_id": job.id, "message": messages.CREATE_SUCCESS},
            delay=delay,
            violations=found,
            job_id=job.id,
            type_job_id=type_id,
        )

    def get_job_result(self, body: Any) -> Answer:
        found, body, problem = self._check("getJobResult", body)
        if problem is not None:
            return problem
        # The schema's integer admits 123456.0; the job is 123456 all the same.
        job_id = int(body["job_id"])
        job = self.store.get(job_id)
        behaviour = self.behaviours.for_unknown_job() if job is None else job.behaviour
        delay = _pick_delay(behaviour.result_latency)
        if job is None:
            return api_error(messages.JOB_NOT_FOUND.format(job_id=job_id), delay=delay, violations=found)
        if behaviour.result_error is not None:
            # A forced error is not a poll: the job does not move on.
            return api_error(
                behaviour.result_error,
                delay=delay,
                violations=found,
                job_id=job_id,
                type_job_id=job.type_job_id,
            )
        try:
            self.store.poll(job_id, generation=REQUEST_GENERATION.get())
        except StaleRequest:
            return _stale(found)
        return Answer(job.answer(), delay=delay, violations=found, job_id=job_id, type_job_id=job.type_job_id)

    def get_balance(self, body: Any) -> Answer:
        found, body, problem = self._check("getBalance", body)
        if problem is not None:
            return problem
        balance = money_text(self.accounts.balance(body["api_token"]))
        return self._answer(
            "getBalance", {"error": False, "balance": balance, "message": messages.BALANCE_SUCCESS}, found
        )

    def get_service(self, body: Any) -> Answer:
        """The services the vendor lists that this fake serves, at the prices it charges."""
        found, body, problem = self._check("getService", body)
        if problem is not None:
            return problem
        listed = sorted(
            (s for k, s in SERVICES.items() if s.listed and k in CATALOGUE), key=lambda s: s.order
        )
        services = [s.entry(self.accounts.price(str(s.id))) for s in listed]
        return self._answer(
            "getService", {"error": False, "service": services, "message": messages.SERVICE_SUCCESS}, found
        )

    def answer(self, endpoint: Endpoint, body: Any) -> Answer:
        """The answer of any endpoint to a parsed body."""
        handlers = {
            "createJob": self.create_job,
            "getJobResult": self.get_job_result,
            "getBalance": self.get_balance,
            "getService": self.get_service,
        }
        return handlers[endpoint](body)

    def _answer(self, endpoint: Endpoint, body: dict[str, Any], found: tuple[Violation, ...]) -> Answer:
        behaviour = self.behaviours.for_unknown_job()
        return Answer(body, delay=_pick_delay(_latency(endpoint, behaviour)), violations=found)

    def _check(self, endpoint: Endpoint, body: Any) -> tuple[tuple[Violation, ...], Any, Answer | None]:
        """Contract violations as sent, the body to act on, and the error answer if any.

        Problems are answered in the order a client has to fix them: the body, the token, and
        then the rest. Outside strict mode the forms real clients send (``type_job_id`` 23,
        ``job_id`` "123") are read as the documented ones, but still reported as violations.
        """
        found = tuple(validate_request(endpoint, body))
        effective = found
        if found and not self.strict:
            lenient = _documented_form(body)
            if lenient is not body:
                # A type's own rules ("width_view": "340") apply only once type_job_id is text.
                typed = _documented_form(body, numbers=False)
                if typed is not body:
                    found += tuple(v for v in validate_request(endpoint, typed) if v not in found)
                body, effective = lenient, tuple(validate_request(endpoint, lenient))
        if effective and effective[0].field in ("", "api_token"):
            message = effective[0].message
        elif not self.accepts(body["api_token"]):
            message = messages.INVALID_TOKEN
        elif effective:
            message = effective[0].message
        else:
            return found, body, None
        return found, body, self.refuse(endpoint, message, violations=found)

    def refuse(self, endpoint: Endpoint, message: str, **extra: Any) -> Answer:
        """An API error for a request that names no job, after the global latency."""
        behaviour: Behaviour = self.behaviours.for_unknown_job()
        return api_error(message, delay=_pick_delay(_latency(endpoint, behaviour)), **extra)


def _latency(endpoint: Endpoint, behaviour: Behaviour) -> Latency:
    # getBalance and getService wait as createJob does: the latency of requests that name no job.
    return behaviour.result_latency if endpoint == "getJobResult" else behaviour.create_latency


def _stale(found: tuple[Violation, ...]) -> Answer:
    return api_error(messages.RESET_IN_FLIGHT, violations=found)


def _documented_form(body: Any, *, numbers: bool = True) -> Any:
    """The body with the undocumented but common forms rewritten; the same object if none."""
    if not isinstance(body, Mapping):
        return body
    data = body.get("data")
    if isinstance(data, Mapping) and (read := lenient_data(data, numbers=numbers)) is not data:
        return {**body, "data": read}
    job_id = body.get("job_id")
    if isinstance(job_id, str) and (number := job_id_as_int(job_id)) is not None:
        return {**body, "job_id": number}
    return body
