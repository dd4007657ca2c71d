"""Every message the fake answers, in one place.

The vendor's style, taken from the one real wording its public docs show (``Invalid api
token.``): sentence case, a full stop at the end. Messages about a field name it the way the
docs do (``data.type_job_id``). The README's error catalogue lists these; a test keeps the two
in step.
"""

from __future__ import annotations

from typing import Final

CREATE_SUCCESS: Final = "Create job success."
BALANCE_SUCCESS: Final = "Get balance success."
SERVICE_SUCCESS: Final = "Get service success."
#: The docs never show the real wording of an empty balance; ``balance_error=`` changes it.
BALANCE_NOT_ENOUGH: Final = "Balance is not enough."

# Body
INVALID_JSON: Final = "Request body is not valid JSON."
NOT_AN_OBJECT: Final = "Request body must be a JSON object."

# Fields (the schema names the field; these phrase it)
MISSING_FIELD: Final = "Missing field {field}."
MISSING_FIELD_FOR_TYPE: Final = "Missing field {field}, required for type_job_id {type_job_id}."
WRONG_TYPE: Final = "Field {field} must be {expected}, not {found}."
EMPTY_FIELD: Final = "Field {field} must not be empty."
MISSING_DATA_FIELD: Final = (
    "Missing field {field}, required for type_job_id {type_job_id}: {meaning}, such as {example}."
)
DATA_FIELD_TYPE: Final = "Field {field} must be {expected} such as {example} ({meaning}), not {found}."
DATA_FIELD_CHOICE: Final = "Field {field} must be one of {choices} ({meaning}), not {found}."
INVALID_FIELD: Final = "Field {field} is invalid: {detail}."

# Token
INVALID_TOKEN: Final = "Invalid api token."

# Job types and images
UNKNOWN_SERVICE: Final = "Unknown service: data.type_job_id {found} is not one of {known}."
TYPE_JOB_ID_NOT_TEXT: Final = (
    'Field data.type_job_id must be text such as "{example}", not the number {found}.'
)
IMAGE_COUNT: Final = (
    "Field data.image_base64 must hold {expected} for type_job_id {type_job_id}, not {found}."
)
IMAGE_NOT_BASE64: Final = "Field data.image_base64 is not valid base64 (image {index} of {count})."

# Jobs
JOB_ID_NOT_NUMBER: Final = "Field job_id must be a number such as 123456, not {found}."
JOB_NOT_FOUND: Final = "Job {job_id} not found."

# Transport (these keep their HTTP status)
NOT_FOUND: Final = (
    "Not found: {method} {path}. The API answers POST /api/createJob, /api/getJobResult, "
    "/api/getBalance and /api/getService."
)
METHOD_NOT_ALLOWED: Final = "Method {method} is not allowed on {path}; use {allowed}."
BODY_TOO_LARGE: Final = "Request body is larger than the limit of {limit} bytes."
BAD_COMPRESSION: Final = "Request body is not valid {encoding} data: it could not be decompressed."
UNSUPPORTED_ENCODING: Final = (
    "Content-Encoding {encoding} is not supported; send the body uncompressed, gzip or deflate."
)
BAD_HTTP: Final = "Bad HTTP request: {detail}."
RESET_IN_FLIGHT: Final = "The fake server was reset while this request was in flight; it was not processed."
USER_CODE_ERROR: Final = "Error in code the test gave omofake: {detail}."
INTERNAL_ERROR: Final = "Internal error in omofake: {detail}. Please report it."

#: Every template, for the README catalogue and its test.
ALL: Final = {name: value for name, value in globals().items() if name.isupper() and name != "ALL"}
