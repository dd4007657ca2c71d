"""What a test holds of a fake OMOcaptcha API, wherever the fake runs.

:class:`~omofake.FakeServer` (in this process) and :class:`~omofake.RemoteServer` (an
``omofake serve`` elsewhere, steered through its control API) both satisfy
:class:`FakeServerLike`, so code and fixtures typed with it take either.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from omofake.core.behaviour import Knobs
    from omofake.core.journal import Exchanges


@runtime_checkable
class JobLike(Protocol):
    """A job as a test reads it: :class:`~omofake.Job` in process, a ``RemoteJob`` over HTTP."""

    @property
    def id(self) -> int: ...
    @property
    def type_job_id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def outcome(self) -> str: ...
    @property
    def polls(self) -> int: ...
    @property
    def result(self) -> str | None: ...
    @property
    def planned_result(self) -> str: ...
    @property
    def input(self) -> str | None: ...
    @property
    def data(self) -> Mapping[str, Any]: ...
    @property
    def token(self) -> str | None: ...
    @property
    def done(self) -> bool: ...


@runtime_checkable
class FakeServerLike(Protocol):
    """The part of a fake server tests use: where it is, how to steer it, what it saw.

    ``omofake_server`` (the pytest fixture) is one of these: a :class:`~omofake.FakeServer`, or a
    :class:`~omofake.RemoteServer` under ``--omofake-server-url``.
    """

    @property
    def url(self) -> str: ...
    @property
    def api_url(self) -> str: ...
    @property
    def v2_url(self) -> str: ...
    @property
    def requests(self) -> Exchanges: ...
    @property
    def jobs(self) -> Mapping[int, JobLike]: ...
    @property
    def errors(self) -> Sequence[Any]: ...

    def configure(self, **knobs: Unpack[Knobs]) -> None: ...

    def reset(self, token: str | None = None) -> None: ...
