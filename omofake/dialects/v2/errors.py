"""The one catalogue of v2 error answers: ``{"errorId": 1, "errorCode": ..., "errorDescription": ...}``.

The pages document a single code: ``ERROR_JOB_STATUS`` with ``"Job failed"``, on every
getTaskResult fail tab (README §3.6). Every createTask and getBalance failure tab prints
``"errorCode": ""``. The v2 API copies the anti-captcha family's envelope (``errorId``,
``errorCode``, ``errorDescription``, ``taskId``, ``solution``), so omofake names the other codes
as that family does (``ERROR_KEY_DOES_NOT_EXIST``, ``ERROR_ZERO_BALANCE``,
``ERROR_NO_SUCH_CAPCHA_ID`` with its historical typo, ``ERROR_TASK_ABSENT``,
``ERROR_TASK_NOT_SUPPORTED``, ``ERROR_NO_SUCH_METHOD``, ...) and adds a few of its own where that
family has none; those are ``documented=False``. Every description names the field at fault.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from string import Formatter
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class V2Error:
    """One error code and the template of its ``errorDescription``."""

    code: str
    #: ``str.format`` template; its placeholders are listed in :attr:`placeholders`.
    template: str
    #: When the fake answers with it.
    when: str
    #: The code (and its text) is printed on a vendor page, rather than omofake's decision.
    documented: bool = False

    @property
    def placeholders(self) -> tuple[str, ...]:
        return tuple(name for _, name, _, _ in Formatter().parse(self.template) if name)

    def describe(self, **values: Any) -> str:
        return self.template.format(**values)

    def answer(self, **values: Any) -> dict[str, Any]:
        """The whole answer body, ``errorId`` first as the pages print it."""
        return {"errorId": 1, "errorCode": self.code, "errorDescription": self.describe(**values)}


ERRORS: Mapping[str, V2Error] = MappingProxyType(
    {
        e.code: e
        for e in (
            V2Error(
                "ERROR_JOB_STATUS",
                "Job failed",
                "getTaskResult of a task whose solve failed (with status 'fail' and solution {}).",
                documented=True,
            ),
            V2Error(
                "ERROR_KEY_DOES_NOT_EXIST",
                "clientKey {detail}: the account key was not found",
                "clientKey missing, not a string, or not a known account key (any endpoint).",
            ),
            V2Error(
                "ERROR_ZERO_BALANCE",
                "The balance of clientKey is too low for a {task_type} ({price} per solve)",
                "createTask when the account cannot pay for one solve of the class.",
            ),
            V2Error(
                "ERROR_NO_SUCH_CAPCHA_ID",
                "taskId {task_id} is not a task of this clientKey, or it has expired",
                "getTaskResult of a well-formed taskId the fake does not know for that key.",
            ),
            V2Error(
                "ERROR_TASK_ABSENT",
                "task is {detail}: send a JSON object with at least task.type",
                "createTask without task, or with a task that is not an object.",
            ),
            V2Error(
                "ERROR_TASK_NOT_SUPPORTED",
                "task.type {task_type} is not a task class this API solves",
                "createTask whose task.type is missing, not a string, or no known class.",
            ),
            V2Error(
                "ERROR_FIELD_MISSING",
                "{field} is required by {task_type}",
                "createTask without a field the class requires (getTaskResult without taskId).",
            ),
            V2Error(
                "ERROR_WRONG_FIELD_TYPE",
                "{field} must be {expected}, not {actual}",
                "A listed field of the wrong JSON type (a Number sent as text, a Bool as 1, ...).",
            ),
            V2Error(
                "ERROR_WRONG_FIELD_VALUE",
                "{field} {detail}",
                "A field of the right type but a wrong value: an array of the wrong length, a "
                "typeCaptcha the page does not name, a view size that is not a positive number, a "
                "taskId that is not a UUID.",
            ),
            V2Error(
                "ERROR_IMAGE_NOT_BASE64",
                "{field} is not a base64 image: {detail}",
                "An image field (or item) that is not standard base64 with '=' padding.",
            ),
            V2Error(
                "ERROR_ZERO_CAPTCHA_FILESIZE",
                "{field} is empty: send the image as base64",
                "An image field (or item) that is the empty string.",
            ),
            V2Error(
                "ERROR_TOO_BIG_CAPTCHA_FILESIZE",
                "{field} is too big: {size} bytes, the most is {limit}",
                "A request body or image beyond the fake's size bound.",
            ),
            V2Error(
                "ERROR_MALFORMED_REQUEST",
                "The request body {detail}: send a JSON object with Content-Type application/json",
                "A body that is not JSON, not UTF-8, or not a JSON object.",
            ),
            V2Error(
                "ERROR_NO_SUCH_METHOD",
                "{path} is not a v2 method: use createTask, getTaskResult or getBalance",
                "A path under /v2/ that names no method.",
            ),
            V2Error(
                "ERROR_METHOD_NOT_ALLOWED",
                "{path} takes POST, not {method}",
                "A v2 method called with another HTTP method than POST.",
            ),
            V2Error(
                "ERROR_FORCED_BY_TEST",
                "{detail}",
                "A test's error= / create_error= / result_error= knob whose text is no v2 code (a "
                "text that is a code, such as 'ERROR_NO_SLOT_AVAILABLE', gets that code instead).",
            ),
            V2Error(
                "ERROR_FAKE_INTERNAL",
                "omofake could not answer: {detail}",
                "A request the fake could not answer: a test's result= function failed (HTTP 500), "
                "or the fake was reset while the request was in flight.",
            ),
            V2Error(
                "ERROR_NO_SLOT_AVAILABLE",
                "No idle worker for {task_type}: try again in a few seconds",
                "createTask while the fake is told to simulate an overloaded service.",
            ),
        )
    }
)


def error_answer(code: str, **values: Any) -> dict[str, Any]:
    """The answer of ``code`` with its description filled in; a KeyError for an unknown code."""
    return ERRORS[code].answer(**values)
