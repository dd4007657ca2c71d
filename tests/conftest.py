"""Suite-wide: every fake server started by these tests checks each answer it sends against
the response schemas (a non-conforming answer turns into a 500 the test sees), including
servers in subprocesses, which inherit the environment."""

from __future__ import annotations

import os

from omofake.server import SELF_CHECK_ENV

os.environ[SELF_CHECK_ENV] = "1"
