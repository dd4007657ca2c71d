"""The v2 dialect over the one job core: createTask, getTaskResult, getBalance, getServicePrice.

It keeps no job of its own: a v2 task is a core job (the store, its life, the knobs), created
under its class's v1 type id where the class has one (so ``job_type=23`` scopes
TiktokRotateWebTask too), else under the class name. What it keeps is the map from the UUID
task ids it hands out to those jobs, bounded with the store.
"""

from __future__ import annotations

import json
import math
import random
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final

from omofake.contract.validation import Violation, loads_json
from omofake.core.behaviour import Behaviour, Latency, UserCodeError, register_job_type
from omofake.core.jobs import Job, JobStore, StaleRequest
from omofake.core.pricing import money
from omofake.core.state import REQUEST_GENERATION, FakeState
from omofake.dialects.base import Answer, Route, unless_faulted
from omofake.dialects.v2.checks import code_of, request_violations
from omofake.dialects.v2.errors import ERRORS, error_answer
from omofake.dialects.v2.tasks import PROCESSING_ANSWER, TASK_CLASSES, TaskClass, fail_answer

if TYPE_CHECKING:
    from omofake.core.draws import Draws

for _class in TASK_CLASSES.values():
    # job_type="TiktokRotateWebTask" scopes the knobs of v1's type 23 and the other way round.
    register_job_type(_class.name, _class.v1_type_job_id)

#: The packages ``getServicePrice?type=package`` lists: the one v2/README.md prints.
PACKAGES: tuple[Mapping[str, str], ...] = ({"name": "Combo Funcaptcha", "price": "0.15"},)
SERVICE_SUCCESS: Final = "Get service success."


class Messages:
    """What the HTTP layer answers in v2's words for a request that reaches no v2 method."""

    NOT_FOUND: Final = ERRORS["ERROR_NO_SUCH_METHOD"].template
    METHOD_NOT_ALLOWED: Final = ERRORS["ERROR_METHOD_NOT_ALLOWED"].template
    INTERNAL_ERROR: Final = ERRORS["ERROR_FAKE_INTERNAL"].template


# The codes of errors the HTTP layer meets before an endpoint, by HTTP status.
_STATUS_CODES = {
    404: "ERROR_NO_SUCH_METHOD",
    405: "ERROR_METHOD_NOT_ALLOWED",
    413: "ERROR_TOO_BIG_CAPTCHA_FILESIZE",
    500: "ERROR_FAKE_INTERNAL",
}
_PRICE_LIST = "v2/getServicePrice"


@dataclass(frozen=True, slots=True)
class _Task:
    job_id: int
    task_class: TaskClass


def v2_error(code: str, description: str, *, status: int = 200, delay: float = 0.0, **extra: Any) -> Answer:
    """An answer in the v2 error shape, with a description already written."""
    return Answer(
        {"errorId": 1, "errorCode": code, "errorDescription": description},
        status=status,
        delay=delay,
        **extra,
    )


def _pick_delay(latency: Latency) -> float:
    return random.uniform(*latency) if isinstance(latency, tuple) else latency


class V2Service:
    """The v2 dialect: checks v2 bodies against ``schemas/v2/`` and maps them onto a FakeState."""

    name = "v2"
    routes: tuple[Route, ...] = (
        Route("/v2/createTask", "POST", "v2/createTask"),
        Route("/v2/getTaskResult", "POST", "v2/getTaskResult"),
        Route("/v2/getBalance", "POST", "v2/getBalance"),
        # V2-14: the price list stays on the v1 host and envelope, under /api/.
        Route("/api/getServicePrice", "GET", _PRICE_LIST),
    )
    routes_summary = "POST /v2/createTask, getTaskResult or getBalance; GET /api/getServicePrice"
    messages = Messages
    token_field = "clientKey"

    def __init__(self, *, state: FakeState | None = None, **settings: Any) -> None:
        self.state = FakeState(**settings) if state is None else state
        self._tasks: dict[str, _Task] = {}
        self._generation = self.state.generation
        self._lock = threading.Lock()

    @property
    def store(self) -> JobStore:
        return self.state.store

    # The Dialect interface

    def parse(self, raw: bytes, endpoint: Any) -> tuple[Any, Violation | None]:
        try:
            return loads_json(raw), None
        except (ValueError, RecursionError):
            found = "an empty body" if not raw.strip() else "text that is not JSON"
            detail = ERRORS["ERROR_MALFORMED_REQUEST"].describe(detail=f"is {found}")
            return None, Violation(endpoint, "request", "$", "a JSON object", found, "json", detail)

    def error(self, message: str, *, status: int = 200, **extra: Any) -> Answer:
        return v2_error(_STATUS_CODES.get(status, "ERROR_MALFORMED_REQUEST"), message, status=status, **extra)

    def refuse(self, endpoint: Any, message: str, **extra: Any) -> Answer:
        delay = _pick_delay(self._latency(endpoint))
        if endpoint == _PRICE_LIST:
            return Answer({"error": True, "message": message}, delay=delay, **extra)
        return v2_error("ERROR_MALFORMED_REQUEST", message, delay=delay, **extra)

    def render(self, body: dict[str, Any]) -> dict[str, Any]:
        return body

    def answer(self, endpoint: Any, body: Any) -> Answer:
        handlers = {
            "v2/createTask": self.create_task,
            "v2/getTaskResult": self.get_task_result,
            "v2/getBalance": self.get_balance,
            _PRICE_LIST: self.get_service_price,
        }
        return handlers[endpoint](body)

    # Endpoints

    def create_task(self, body: Any) -> Answer:
        found, body, problem = self._check("v2/createTask", body)
        if problem is not None:
            return problem
        cls = TASK_CLASSES[body["task"]["type"]]
        key = cls.v1_type_job_id or cls.name
        return unless_faulted(
            self.state,
            "create",
            key,
            body["clientKey"],
            lambda: self._create_task(body, found, cls, key),
            violations=found,
            type_job_id=cls.name,
        )

    def _create_task(self, body: Any, found: tuple[Violation, ...], cls: TaskClass, key: str) -> Answer:
        task: dict[str, Any] = body["task"]
        token = body["clientKey"]
        generation = REQUEST_GENERATION.get()
        extra: dict[str, Any] = {"violations": found, "type_job_id": cls.name}
        with self.state.lock:
            if generation is not None and generation != self.state.generation:
                return _stale(found)
            behaviour = self.state.behaviours.for_new_job(key, token)
            delay = _pick_delay(behaviour.create_latency)
            if behaviour.create_error is not None:
                return _forced(behaviour.create_error, delay, **extra)
            listed = money(cls.price)
            if not self.state.accounts.charge(token, key, listed):
                price = self.state.accounts.price(key) if self.state.accounts.has_price(key) else listed
                description = self.state.balance_error or ERRORS["ERROR_ZERO_BALANCE"].describe(
                    task_type=cls.name, price=f"{price:.5f}"
                )
                return v2_error("ERROR_ZERO_BALANCE", description, delay=delay, **extra)
        if self.state.timing == "realistic" and behaviour.solve_after == 0:
            behaviour = replace(behaviour, solve_after=cls.avg_seconds / self.state.speed)
        images = [f.name for f in cls.fields if f.image]
        kept = {k: v for k, v in task.items() if k not in images}
        count = sum(len(v) if isinstance(v, list) else 1 for k, v in task.items() if k in images)

        def solve(draws: Draws, data: Mapping[str, Any]) -> str:
            return json.dumps(cls.make_solution(draws, task))

        try:
            job = self.store.create(
                key,
                behaviour,
                input=None,
                images=count,
                data=kept,
                generation=generation,
                make_result=solve,
                token=token,
            )
        except StaleRequest:
            return _stale(found)
        except UserCodeError as exc:
            self.state.report(exc, generation)
            description = ERRORS["ERROR_FAKE_INTERNAL"].describe(detail=exc.message)
            return v2_error("ERROR_FAKE_INTERNAL", description, status=500, delay=delay, **extra)
        task_id = str(uuid.uuid4())
        self._remember(task_id, _Task(job.id, cls))
        return Answer({"errorId": 0, "taskId": task_id}, delay=delay, job_id=job.id, **extra)

    def get_task_result(self, body: Any) -> Answer:
        found, body, problem = self._check("v2/getTaskResult", body)
        if problem is not None:
            return problem
        task_id = body["taskId"]
        with self._lock:
            self._forget_old_generation()
            known = self._tasks.get(task_id)
        job: Job | None = None if known is None else self.store.get(known.job_id)
        return unless_faulted(
            self.state,
            "result",
            None if job is None else job.type_job_id,
            body["clientKey"],
            lambda: self._task_result(body, found, known, job),
            violations=found,
            job_id=None if job is None else job.id,
            type_job_id=None if job is None or known is None else known.task_class.name,
        )

    def _task_result(
        self, body: Any, found: tuple[Violation, ...], known: _Task | None, job: Job | None
    ) -> Answer:
        task_id = body["taskId"]
        token = body["clientKey"]
        behaviour = self.state.behaviours.for_unknown_job(token) if job is None else job.behaviour
        delay = _pick_delay(behaviour.result_latency)
        if job is None or known is None:
            description = ERRORS["ERROR_NO_SUCH_CAPCHA_ID"].describe(task_id=task_id)
            return v2_error("ERROR_NO_SUCH_CAPCHA_ID", description, delay=delay, violations=found)
        extra: dict[str, Any] = {"violations": found, "job_id": job.id, "type_job_id": known.task_class.name}
        if behaviour.result_error is not None:
            return _forced(behaviour.result_error, delay, **extra)
        try:
            self.store.poll(job.id, generation=REQUEST_GENERATION.get())
        except StaleRequest:
            return _stale(found)
        if job.status == "success":
            answer = known.task_class.ready_answer(_solution(job))
        elif job.status == "fail":
            answer = fail_answer()
        else:
            answer = dict(PROCESSING_ANSWER)
        return Answer(answer, delay=delay, **extra)

    def get_balance(self, body: Any) -> Answer:
        found, body, problem = self._check("v2/getBalance", body)
        if problem is not None:
            return problem
        token = body["clientKey"]

        def balance() -> Answer:
            amount = float(self.state.accounts.balance(token))
            # Decided: the fake sells no package and no voucher, so both are 0; the balance is
            # the one v1's getBalance reports for the same key.
            answer = {"errorId": 0, "balance": amount, "quantity": 0, "voucher_balance": 0}
            return Answer(answer, delay=_pick_delay(self._latency("v2/getBalance", token)), violations=found)

        return unless_faulted(self.state, "create", None, token, balance, violations=found)

    def get_service_price(self, query: Any) -> Answer:
        # The price list names no account: only faults scoped to no token reach it.
        return unless_faulted(self.state, "create", None, None, lambda: self._service_price(query))

    def _service_price(self, query: Any) -> Answer:
        kind = query.get("type") if isinstance(query, Mapping) else None
        delay = _pick_delay(self._latency(_PRICE_LIST))
        if kind == "service":
            entries = [c.service_entry() for c in TASK_CLASSES.values()]
            return Answer({"error": False, "typeJob": entries, "message": SERVICE_SUCCESS}, delay=delay)
        if kind == "package":
            packages = [dict(p) for p in PACKAGES]
            return Answer({"error": False, "package": packages, "message": SERVICE_SUCCESS}, delay=delay)
        shown = "missing" if kind is None else repr(kind)
        message = f"type must be service or package, not {shown}."
        violation = Violation(_PRICE_LIST, "request", "$.type", "service or package", shown, "enum", message)
        return Answer({"error": True, "message": message}, delay=delay, violations=(violation,))

    # Checks

    def _check(self, endpoint: str, body: Any) -> tuple[tuple[Violation, ...], Any, Answer | None]:
        """Violations as sent, the body to act on, and the error answer if any.

        Problems are answered in the order a client fixes them: the body, the key, the task's
        class, then the fields. Outside strict mode a Number field sent as numeric text
        (``"widthView": "340"``) is read as the number, but still reported as a violation.
        """
        found = tuple(request_violations(endpoint, body))
        effective = found
        if found and not self.state.strict and (lenient := _lenient(body)) is not body:
            body, effective = lenient, tuple(request_violations(endpoint, lenient))
        first = effective[0] if effective else None
        if first is not None and first.path in ("$", "$.clientKey"):
            code = code_of(first)
        elif not self.state.accepts(body["clientKey"]):
            description = ERRORS["ERROR_KEY_DOES_NOT_EXIST"].describe(detail="is not a known account key")
            return found, body, self._refuse(endpoint, "ERROR_KEY_DOES_NOT_EXIST", description, found)
        elif first is not None:
            code = code_of(first)
        else:
            return found, body, None
        assert first is not None
        return found, body, self._refuse(endpoint, code, first.message, found)

    def _refuse(self, endpoint: str, code: str, description: str, found: tuple[Violation, ...]) -> Answer:
        delay = _pick_delay(self._latency(endpoint))
        return v2_error(code, description, delay=delay, violations=found)

    def _latency(self, endpoint: str, token: str | None = None) -> Latency:
        behaviour: Behaviour = self.state.behaviours.for_unknown_job(token)
        return behaviour.result_latency if endpoint == "v2/getTaskResult" else behaviour.create_latency

    # The task ids

    def _remember(self, task_id: str, task: _Task) -> None:
        with self._lock:
            self._forget_old_generation()
            self._tasks[task_id] = task
            # Bounded with the store: ids of jobs it evicted go, a batch now and then.
            if len(self._tasks) > 2 * len(self.store) + 64:
                store = self.store
                self._tasks = {k: t for k, t in self._tasks.items() if t.job_id in store}

    def _forget_old_generation(self) -> None:
        # Called with the lock held: after a reset the old ids name nothing.
        if self._generation != self.state.generation:
            self._tasks = {}
            self._generation = self.state.generation


def _solution(job: Job) -> dict[str, Any]:
    """The job's solution: the generated one, or a test's ``result=`` text (a JSON object, or
    any other text as ``{"text": ...}``)."""
    text = job.planned_result
    try:
        solution = json.loads(text)
    except ValueError:
        return {"text": text}
    return solution if isinstance(solution, dict) else {"text": text}


def _forced(message: str, delay: float, **extra: Any) -> Answer:
    """The answer of an ``error=`` knob: its text as the code if it is one, else as the description."""
    if message in ERRORS and not ERRORS[message].placeholders:
        return Answer(error_answer(message), delay=delay, **extra)
    code = message if message in ERRORS else "ERROR_FORCED_BY_TEST"
    description = message if message not in ERRORS else ERRORS[message].when
    return v2_error(code, description, delay=delay, **extra)


def _stale(found: tuple[Violation, ...]) -> Answer:
    description = ERRORS["ERROR_FAKE_INTERNAL"].describe(
        detail="the fake was reset while this request was in flight"
    )
    return v2_error("ERROR_FAKE_INTERNAL", description, violations=found)


def _lenient(body: Any) -> Any:
    """The body with Number fields sent as numeric text read as numbers; the same object if none."""
    task = body.get("task") if isinstance(body, Mapping) else None
    kind = task.get("type") if isinstance(task, Mapping) else None
    cls = TASK_CLASSES.get(kind) if isinstance(kind, str) else None
    if cls is None or not isinstance(task, Mapping):
        return body
    read = dict(task)
    for field in cls.fields:
        value = read.get(field.name)
        if field.kind == "Number" and isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                continue
            if not math.isfinite(number):
                continue
            read[field.name] = int(number) if number.is_integer() else number
    return body if read == task else {**body, "task": read}
