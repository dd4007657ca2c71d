"""The jobs the fake holds and their life: running, then success or fail."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from faker import Generator
from faker.providers import BaseProvider

from omofake.behaviour import Behaviour
from omofake.catalogue import CATALOGUE, JobType
from omofake.clock import Clock, MonotonicClock

Status = Literal["running", "success", "fail"]


def random_source(seed: int | None = None) -> BaseProvider:
    """Faker's base provider on a generator of its own: all the results need (numbers, samples,
    letters). A full ``Faker()`` loads every provider of its locale, some 20 ms that each test
    session would pay when its first test starts the fake."""
    generator = Generator()
    generator.seed_instance(seed)
    return BaseProvider(generator)


@dataclass
class Job:
    """One job. Its outcome and result are drawn when it is created, so a seed fixes them
    whatever order the polls come in; ``status`` is what the last poll answered."""

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
    #: in the journal already): what result makers read, such as ``width_view``.
    data: Mapping[str, Any] = field(default_factory=dict)

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


@dataclass
class JobStore(Mapping[int, Job]):
    """All jobs by id, with the random source and the clock that shape their life."""

    seed: int | None = None
    clock: Clock = field(default_factory=MonotonicClock)
    _jobs: dict[int, Job] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _fake: BaseProvider = field(default_factory=lambda: random_source(), init=False, repr=False)
    _next_id: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.reset(self.seed)

    def reset(self, seed: int | None = None) -> None:
        """Forget every job; with a seed, ids and results repeat run to run."""
        with self._lock:
            self._jobs.clear()
        self.reseed(seed)

    def reseed(self, seed: int | None) -> None:
        """Restart the random source (and so the ids and results to come), keeping the jobs."""
        with self._lock:
            self.seed = seed
            self._fake.generator.seed_instance(seed)
            # Real ids are six-digit and up; a random start keeps tests from relying on "1".
            self._next_id = self._fake.random_int(100_000, 899_999)

    def create(
        self,
        type_job_id: str,
        behaviour: Behaviour,
        *,
        input: str | None,
        images: int,
        data: Mapping[str, Any] | None = None,
    ) -> Job:
        with self._lock:
            job_id = self._next_id
            while job_id in self._jobs:  # only after a reseed onto ids already given
                job_id += 1
            self._next_id = job_id + 1
            rate = behaviour.fail_rate
            # Only a true probability draws, so a fixed outcome leaves the random stream alone.
            failed = rate >= 1 or (rate > 0 and self._fake.generator.random.random() < rate)
            generated = CATALOGUE[type_job_id].make_result(self._fake, data or {})
            job = Job(
                job_id,
                type_job_id,
                input,
                images,
                self.clock.now(),
                behaviour,
                "fail" if failed else "success",
                generated,
                data={k: v for k, v in (data or {}).items() if k != "image_base64"},
            )
            if isinstance(behaviour.result, str):
                job.planned_result = behaviour.result
            elif behaviour.result is not None:
                job.planned_result = behaviour.result(job)
            self._jobs[job_id] = job
            return job

    def poll(self, job_id: int) -> Job | None:
        """Count a poll of the job and move it on if its time has come; None if unknown."""
        with self._lock:
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
            return job

    def __getitem__(self, job_id: int) -> Job:
        return self._jobs[job_id]

    def __iter__(self) -> Iterator[int]:
        return iter(list(self._jobs))

    def __len__(self) -> int:
        return len(self._jobs)
