"""The README keeps up with the code: the two opening commands, every message, every job type."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from omofake import messages
from omofake.catalogue import CATALOGUE

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
CI = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text(encoding="utf-8")


def test_opens_with_the_two_commands_and_ci_runs_the_second() -> None:
    block = re.search(r"```bash\n(.*?)```", README, re.S)
    assert block is not None and README.index(block.group(0)) < 200
    serve, test = (line.split("  #")[0].strip() for line in block.group(1).strip().splitlines())
    assert serve.endswith("omofake serve") and "pip install" in serve
    assert "pytest" in test and "pip install" in test
    assert test in CI


@pytest.mark.parametrize("name", sorted(messages.ALL))
def test_every_message_is_in_the_catalogue(name: str) -> None:
    assert f"`{messages.ALL[name]}`" in README.replace("\\|", "|")


@pytest.mark.parametrize("type_id", sorted(CATALOGUE))
def test_every_job_type_is_in_the_table(type_id: str) -> None:
    assert re.search(rf"^\| `{type_id}` \| {re.escape(CATALOGUE[type_id].name)} \|", README, re.M)


def test_quick_start_python_example_runs() -> None:
    section = README[README.index("## Quick start") : README.index("<!-- /section: quickstart -->")]
    [code] = re.findall(r"```python\n(.*?)```", section, re.S)
    exec(compile(code, "README.md (quick start)", "exec"), {})


def test_configuration_example_runs() -> None:
    section = README[README.index("## Configuration") : README.index("<!-- /section: configuration -->")]
    [code] = re.findall(r"```python\n(.*?)```", section, re.S)
    from omofake import FakeServer

    with FakeServer() as server:
        exec(compile(code, "README.md (configuration)", "exec"), {"server": server})
