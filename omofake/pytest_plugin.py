"""pytest plugin for omofake (registered through the ``pytest11`` entry point ``omofake``).

Work in progress: the fixtures, marker and options land in the next commits.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "omofake(**knobs): configure the fake OMOcaptcha server for this test"
    )
