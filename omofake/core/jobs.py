"""The jobs the fake holds and their life: running, then success or fail."""

from __future__ import annotations

import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Literal

from omofake.core.behaviour import Behaviour, UserCodeError, check_bound
from omofake.core.catalogue import CATALOGUE, JobType
from omofake.core.clock import Clock, MonotonicClock
from omofake.core.draws import Draws

Status = Literal["running", "success", "fail"]


#: How much of a job's ``input`` text the store keeps (the journal has the request as sent): a
#: long-running server must not hold every client's text whole.
MAX_INPUT = 1024


@dataclass(slots=True, eq=False)
class Job:
    """One job. Its outcome and result are drawn when it is created, so a seed fixes them
    whatever order the polls come in; ``status`` is what the last poll answered. ``input`` is
    the text sent, cut to :data:`MAX_INPUT` characters."""

    id: int
    type_job_id: str
    input: str | None
    images: int
    created_at: float
    behaviour: Behaviour
    outcome: Literal["success", "fail"]
    planned_result: str
    polls: int = 0
    status: Status = "running"
    result: str | None = None
    #: The createJob request's ``data`` as the fake read it, without ``image_base64`` (large, and
    #: in the journal already): what result makers read, such as ``width_view``. Bounded as
    #: ``input`` is: text cut to :data:`MAX_INPUT` characters, lists and objects left out.
    data: Mapping[str, Any] = field(default_factory=dict)
    #: The token (v1 ``api_token``, v2 ``clientKey``) of the request that created it.
    token: str | None = None

    @property
    def job_type(self) -> JobType:
        return CATALOGUE[self.type_job_id]

    @property
    def done(self) -> bool:
        return self.status != "running"

    def answer(self) -> dict[str, Any]:
        """The getJobResult answer for the job as it stands."""
        if self.status == "success":
            return JobType.success_answer(self.planned_result)
        if self.status == "fail":
            return self.job_type.fail_answer()
        return self.job_type.running_answer()


def _bounded_input(text: str | None) -> str | None:
    if text is None or len(text) <= MAX_INPUT:
        return text
    return text[:MAX_INPUT]


def _bounded_data(data: Mapping[str, Any] | None) -> dict[str, Any]:
    # What a long-running server keeps of each job's data: a few short scalars at most.
    kept: dict[str, Any] = {}
    for key, value in (data or {}).items():
        if key == "image_base64" or isinstance(value, (list, dict)):
            continue
        kept[key] = _bounded_input(value) if isinstance(value, str) else value
    return kept


class StaleRequest(Exception):
    """The store was reset after the request began: it may no longer touch any job."""


class JobStore(Mapping[int, Job]):
    """All jobs by id, with the random source and the clock that shape their life.

    ``max_jobs`` bounds the store: past it the job that finished longest ago is forgotten
    first, or, when every job is still running, the oldest one. ``generation`` changes with
    each :meth:`reset`; an operation given an older one raises :class:`StaleRequest`.
    Iteration and ``len`` read the jobs as they stand; :meth:`snapshot` gives a fixed copy.
    """

    def __init__(
        self, seed: int | None = None, clock: Clock | None = None, *, max_jobs: int | None = None
    ) -> None:
        self.seed = seed
        self.clock: Clock = MonotonicClock() if clock is None else clock
        self.max_jobs = check_bound("max_jobs", max_jobs)
        self.generation = 0
        self._jobs: dict[int, Job] = {}
        # Eviction order: jobs in the order they finished, and the ids of all jobs in the order
        # they were made (ids of jobs already gone are skipped, and compacted away now and
        # then; ids, not jobs, so that a job evicted as finished is not kept alive here).
        self._finished: deque[Job] = deque()
        self._created: deque[int] = deque()
        self._lock = threading.Lock()
        self._draws = Draws()
        self._next_id = 0
        self.reset(seed)

    def __repr__(self) -> str:
        return f"<JobStore of {len(self)} job(s), seed={self.seed!r}, max_jobs={self.max_jobs!r}>"

    def reset(self, seed: int | None = None) -> None:
        """Forget every job; with a seed, ids and results repeat run to run."""
        with self._lock:
            self.generation += 1
            # A new dict, not clear(): a reader iterating the old one is not disturbed.
            self._jobs = {}
            self._finished = deque()
            self._created = deque()
        self.reseed(seed)

    def reseed(self, seed: int | None) -> None:
        """Restart the random source (and so the ids and results to come), keeping the jobs."""
        with self._lock:
            self.seed = seed
            self._draws.seed(seed)
            # Real ids are six-digit and up; a random start keeps tests from relying on "1".
            # (What Faker's random_int(100_000, 899_999) drew, when the source was Faker's.)
            self._next_id = self._draws.random.randrange(100_000, 900_000)

    def create(
        self,
        type_job_id: str,
        behaviour: Behaviour,
        *,
        input: str | None,
        images: int,
        data: Mapping[str, Any] | None = None,
        generation: int | None = None,
        make_result: Callable[[Draws, Mapping[str, Any]], str] | None = None,
        token: str | None = None,
    ) -> Job:
        """Make a job. A ``result`` function of the behaviour runs outside the store's lock (it
        may call back into the server); what it raises or returns amiss is a :class:`UserCodeError`.
        ``make_result``: a dialect's own maker of the result text, instead of the v1 catalogue's."""
        with self._lock:
            self._check(generation)
            job_id = self._next_id
            while job_id in self._jobs:  # only after a reseed onto ids already given
                job_id += 1
            self._next_id = job_id + 1
            rate = behaviour.fail_rate
            # Only a true probability draws, so a fixed outcome leaves the random stream alone.
            failed = rate >= 1 or (rate > 0 and self._draws.random.random() < rate)
            maker = CATALOGUE[type_job_id].make_result if make_result is None else make_result
            generated = maker(self._draws, data or {})
            job = Job(
                job_id,
                type_job_id,
                _bounded_input(input),
                images,
                self.clock.now(),
                behaviour,
                "fail" if failed else "success",
                generated,
                data=_bounded_data(data),
                token=token,
            )
        if isinstance(behaviour.result, str):
            job.planned_result = behaviour.result
        elif behaviour.result is not None:
            job.planned_result = call_result_function(behaviour.result, job)
        with self._lock:
            self._check(generation)
            self._jobs[job.id] = job
            self._created.append(job.id)
            self._evict()
        return job

    def poll(self, job_id: int, *, generation: int | None = None) -> Job | None:
        """Count a poll of the job and move it on if its time has come; None if unknown."""
        with self._lock:
            self._check(generation)
            job = self._jobs.get(job_id)
            if job is None:
                return None
            job.polls += 1
            if (
                job.status == "running"
                and job.polls > job.behaviour.running_polls
                and self.clock.now() - job.created_at >= job.behaviour.solve_after
            ):
                job.status = job.outcome
                job.result = job.planned_result if job.outcome == "success" else None
                if self.max_jobs is not None:
                    self._finished.append(job)
            return job

    def force(self, job_id: int, status: Any, result: Any = None) -> Job:
        """Set a job's status from outside, whatever its behaviour planned: ``"success"`` (with
        ``result`` as its result text, else the one planned), ``"fail"``, or ``"running"``, which
        holds it running, however often it is polled, until it is forced again. KeyError for an
        unknown job; ValueError for a status or result it cannot take."""
        if status not in ("running", "success", "fail"):
            raise ValueError(f"status must be 'running', 'success' or 'fail', not {status!r}")
        if result is not None and status != "success":
            raise ValueError(f"a result goes with status 'success' only, not with {status!r}")
        if result is not None and (not isinstance(result, str) or not result):
            raise ValueError(f"result must be a non-empty text, not {result!r}")
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                raise KeyError(job_id)
            was_done = job.done
            if status == "running":
                # Polls move a job on once its running_polls are spent: these never are.
                job.behaviour = replace(job.behaviour, running_polls=sys.maxsize)
                job.status, job.result = "running", None
                if was_done and self.max_jobs is not None and job in self._finished:
                    self._finished.remove(job)  # not a finished job to evict first any more
                return job
            job.outcome = status
            if result is not None:
                job.planned_result = result
            job.status = status
            job.result = job.planned_result if status == "success" else None
            if not was_done and self.max_jobs is not None:
                self._finished.append(job)
            return job

    def chance(self, rate: float) -> bool:
        """True with probability ``rate``, drawn from the seeded source (a seed repeats it).
        Only a true probability draws, so 0 and 1 leave the random stream alone."""
        if rate >= 1 or rate <= 0:
            return rate >= 1
        with self._lock:
            return bool(self._draws.random.random() < rate)

    def forget_token(self, token: str) -> None:
        """Forget the jobs that ``token`` created."""
        with self._lock:
            # New containers, not in-place deletes: a reader iterating the old ones is not disturbed.
            self._jobs = {job_id: job for job_id, job in self._jobs.items() if job.token != token}
            self._finished = deque(job for job in self._finished if job.token != token)

    def snapshot(self) -> Mapping[int, Job]:
        """The jobs by id as they stand now, fixed (the jobs themselves go on changing)."""
        with self._lock:
            return MappingProxyType(dict(self._jobs))

    def _check(self, generation: int | None) -> None:
        if generation is not None and generation != self.generation:
            raise StaleRequest

    def _evict(self) -> None:
        if self.max_jobs is None:
            self._created.clear()  # no order needed when nothing is ever evicted
            return
        jobs = self._jobs
        while len(jobs) > self.max_jobs:
            if self._finished:
                job = self._finished.popleft()
                if jobs.get(job.id) is job:
                    del jobs[job.id]
            else:  # every job still running: the oldest goes
                jobs.pop(self._created.popleft(), None)
        if len(self._created) > 2 * len(jobs) + 64:
            self._created = deque(job_id for job_id in self._created if job_id in jobs)

    def __getitem__(self, job_id: int) -> Job:
        return self._jobs[job_id]

    def get(self, job_id: int, default: Any = None) -> Any:
        return self._jobs.get(job_id, default)

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._jobs

    def __iter__(self) -> Iterator[int]:
        return iter(list(self._jobs))

    def __len__(self) -> int:
        return len(self._jobs)


def call_result_function(function: Callable[[Job], Any], job: Job) -> str:
    """The result a user's ``result=`` function makes for a job, or a :class:`UserCodeError`
    that names the function and what went wrong."""
    name = getattr(function, "__qualname__", None) or repr(function)
    try:
        result = function(job)
    except Exception as exc:
        raise UserCodeError(
            f"the result function {name}() raised {type(exc).__name__}: {exc}", cause=exc
        ) from exc
    if not isinstance(result, str) or not result:
        raise UserCodeError(
            f"the result function {name}() must return a non-empty str (the job's result text), "
            f"not {result!r}"
        )
    return result
