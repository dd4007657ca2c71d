"""The wheel carries the schemas, the types marker and the entry points, and finds its schemas
from inside the wheel, not from a source checkout."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = sorted(p.relative_to(ROOT / "schemas").as_posix() for p in (ROOT / "schemas").rglob("*.json"))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # The build backend's own hook, in-process-free: what pip runs when it installs omofake.
    subprocess.run(
        [sys.executable, "-c", f"from hatchling.build import build_wheel; print(build_wheel({str(out)!r}))"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    [built] = out.glob("omofake-*.whl")
    return built


def test_wheel_contains_the_schemas_and_the_type_marker(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    packaged_names = [n.removeprefix("omofake/schemas/") for n in names if n.startswith("omofake/schemas/")]
    assert sorted(packaged_names) == SCHEMAS
    assert "v1/createJob.request.json" in SCHEMAS
    assert "omofake/py.typed" in names
    for name in SCHEMAS:
        packaged = json.loads(zipfile.ZipFile(wheel).read(f"omofake/schemas/{name}"))
        assert packaged == json.loads((ROOT / "schemas" / name).read_text(encoding="utf-8"))


def test_wheel_declares_the_command_and_the_pytest_plugin(wheel: Path) -> None:
    archive = zipfile.ZipFile(wheel)
    [entry_points] = [n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")]
    text = archive.read(entry_points).decode()
    assert "[console_scripts]\nomofake = omofake.cli:main" in text
    assert "[pytest11]\nomofake = omofake.pytest_plugin" in text


def test_package_finds_its_schemas_inside_the_wheel(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    # -I drops the checkout and PYTHONPATH from sys.path; the extracted wheel goes first, ahead
    # of the editable install, so this is the wheel's omofake or nothing.
    probe = (
        f"import sys; sys.path.insert(0, {str(site)!r}); "
        "import omofake, omofake.contract.registry as r; "
        "print(omofake.__file__); print(r.schema_dir()); "
        "from omofake.contract import validate_request; "
        "print(validate_request('getJobResult', {'api_token': 't', 'job_id': 1}))"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    module, schema_dir, violations = done.stdout.splitlines()
    assert module.startswith(str(site))
    assert Path(schema_dir) == site / "omofake" / "schemas"
    assert violations == "[]"


def test_loading_the_plugin_leaves_the_heavy_dependencies_alone() -> None:
    # pytest loads the plugin in every run of every project with omofake installed.
    probe = (
        "import sys, pytest, omofake.pytest_plugin; "
        "print(sorted(m for m in ('aiohttp', 'faker', 'jsonschema', 'omofake.http.server') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_public_names_load_on_first_use() -> None:
    import omofake

    assert set(omofake.__all__) - {"__version__"} == set(omofake._EXPORTS)
    for name, module in omofake._EXPORTS.items():
        assert getattr(omofake, name) is getattr(importlib.import_module(module), name)
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = omofake.Nope  # type: ignore[attr-defined]
