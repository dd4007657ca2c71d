"""What the omofake fixtures cost per test, against pytest-httpserver with hand-written stubs.

Generates two test files of ``--tests`` tests each (300 by default). Every test makes one
createJob and one getJobResult call with ``requests`` and checks the answers:

- ``test_omofake.py`` talks to ``omofake_url``: the shared fake, reset before each test, which
  validates both requests against the schemas, creates and solves a real job, and journals it;
- ``test_httpserver.py`` talks to pytest-httpserver's ``httpserver``, given the two documented
  success answers by hand in each test (``expect_request(...).respond_with_json(...)``).

Each file runs in its own ``python -m pytest -p no:cacheprovider`` subprocess of this
interpreter, the two alternating for ``--rounds`` rounds; the wall time of each run is
measured around the subprocess. The summary gives each file's median and the ratio
omofake / httpserver (target: 1.0 or less, although omofake does real job logic and validation),
with the CPU time and pytest's own session time as steadier second opinions.

``--plugins installed`` (the default) lets pytest load every installed plugin, as in a project
that has both omofake and pytest-httpserver installed; start-up is then the same for both files
and, with heavy plugins around, most of each run. ``--plugins own`` turns autoloading off and
gives each file only its own plugin, so each pays just its own imports.

    python benchmarks/fixture_overhead.py                    # 300 tests, 5 rounds
    python benchmarks/fixture_overhead.py --tests 50 --rounds 3 --plugins own
    python benchmarks/fixture_overhead.py --profile omofake.prof   # the omofake file under cProfile
    python benchmarks/fixture_overhead.py --json

Needs pytest-httpserver (``pip install 'omofake[bench]'``). Exit status: 0 when the ratio meets
the target, 1 when it does not, 2 when a run fails.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

TARGET_RATIO = 1.0
TOKEN = "benchmark-token"
# One small image of type 30 (image to text): the same bytes go to both servers.
IMAGE = "aGVsbG8gd29ybGQ="

# The calls are the same in both files, so the files differ only in the server and its setup.
_ROUNDTRIP = f"""
import requests

TOKEN = {TOKEN!r}
IMAGE = {IMAGE!r}


def roundtrip(api_url):
    created = requests.post(
        api_url + "/createJob",
        json={{"api_token": TOKEN, "data": {{"type_job_id": "30", "image_base64": IMAGE}}}},
        timeout=10,
    ).json()
    assert created["error"] is False, created
    answer = requests.post(
        api_url + "/getJobResult",
        json={{"api_token": TOKEN, "job_id": created["job_id"]}},
        timeout=10,
    ).json()
    assert answer["status"] == "success", answer
    assert answer["result"], answer
"""

_OMOFAKE_TEST = """

def test_{n}(omofake_url):
    roundtrip(omofake_url)
"""

_HTTPSERVER_TEST = """

def test_{n}(httpserver):
    httpserver.expect_request("/api/createJob", method="POST").respond_with_json(
        {{"error": False, "job_id": 123456, "message": "Create job success."}}
    )
    httpserver.expect_request("/api/getJobResult", method="POST").respond_with_json(
        {{"error": False, "status": "success", "result": "abcxyz"}}
    )
    roundtrip(httpserver.url_for("/api"))
"""

# Neither file needs anything from the environment's ini files or conftests.
_INI = "[pytest]\naddopts = -p no:cacheprovider\n"


def write_suites(root: Path, tests: int) -> dict[str, Path]:
    """Write the two test files, each in its own folder (so each is its own rootdir)."""
    suites = {}
    for name, template in (("omofake", _OMOFAKE_TEST), ("httpserver", _HTTPSERVER_TEST)):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "pytest.ini").write_text(_INI)
        body = _ROUNDTRIP + "".join(template.format(n=n) for n in range(tests))
        path = folder / f"test_{name}.py"
        path.write_text(body)
        suites[name] = path
    return suites


#: The plugin each file needs, by entry point name, for ``--plugins own``.
OWN_PLUGIN = {"omofake": "omofake", "httpserver": "pytest_httpserver"}
PLUGIN_MODES = ("installed", "own")


def pytest_command(path: Path, plugins: str) -> tuple[list[str], dict[str, str]]:
    """The pytest arguments and environment to run one generated file with."""
    env = dict(os.environ)
    # omofake's own test suite turns on answer self-checking; users do not, so neither do we.
    env.pop("OMOFAKE_SELF_CHECK", None)
    env.pop("PYTEST_ADDOPTS", None)
    args = ["-m", "pytest", "-q", "-p", "no:cacheprovider"]
    if plugins == "own":
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        args += ["-p", OWN_PLUGIN[path.stem.removeprefix("test_")]]
    return [*args, path.name], env


@dataclass(frozen=True)
class Run:
    """One run of one file, in seconds."""

    #: Wall time of the whole subprocess: the figure the target is about.
    wall: float
    #: User + system CPU time of the subprocess: unlike the wall time, it hardly moves with the
    #: load other processes put on the machine, so it is the steadier second opinion.
    cpu: float
    #: pytest's own "passed in X s": the test session without interpreter start and plugin
    #: loading, which are the same for both files and are most of a run's noise.
    session: float


def run_suite(path: Path, tests: int, plugins: str = "installed", profile: Path | None = None) -> Run:
    """Run one file in a pytest subprocess and time it."""
    args, env = pytest_command(path, plugins)
    command = [sys.executable]
    if profile is not None:
        command += ["-m", "cProfile", "-o", str(profile)]
    command += args
    cpu_before = _children_cpu()
    start = time.perf_counter()
    done = subprocess.run(command, cwd=path.parent, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    cpu = _children_cpu() - cpu_before
    if done.returncode != 0 or f"{tests} passed" not in done.stdout:
        raise RuntimeError(f"{path.name} did not pass:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    session = re.search(r"passed in ([0-9.]+)s", done.stdout)
    return Run(elapsed, cpu, float(session.group(1)) if session else math.nan)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Runs:
    """The measured runs of one file."""

    runs: list[Run]

    def median(self, what: str) -> float:
        return statistics.median(float(getattr(run, what)) for run in self.runs)


@dataclass
class Summary:
    tests: int
    rounds: int
    plugins: str
    omofake: Runs
    httpserver: Runs

    def ratio(self, what: str = "wall") -> float:
        """Median omofake over median httpserver; the target is about the wall time."""
        return self.omofake.median(what) / self.httpserver.median(what)

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"tests": self.tests, "rounds": self.rounds, "plugins": self.plugins}
        for name, runs in (("omofake", self.omofake), ("httpserver", self.httpserver)):
            out[name] = {
                "runs": [asdict(run) for run in runs.runs],
                **{f"{what}_median": runs.median(what) for what in MEASURES},
            }
        out.update({f"{what}_ratio": self.ratio(what) for what in MEASURES})
        out["ratio"] = self.ratio()
        out["target"] = TARGET_RATIO
        return out


MEASURES = ("wall", "cpu", "session")


def measure(
    tests: int, rounds: int, workdir: Path, *, plugins: str = "installed", warmup: int = 1
) -> Summary:
    suites = write_suites(workdir, tests)
    runs: dict[str, list[Run]] = {name: [] for name in suites}
    # Unmeasured runs first: they warm the file system cache and byte-compile.
    for _ in range(warmup):
        for path in suites.values():
            run_suite(path, tests, plugins)
    for round_ in range(rounds):
        # Alternate which goes first, so neither always runs on a machine the other warmed.
        order = ("omofake", "httpserver") if round_ % 2 == 0 else ("httpserver", "omofake")
        for name in order:
            runs[name].append(run_suite(suites[name], tests, plugins))
    return Summary(tests, rounds, plugins, Runs(runs["omofake"]), Runs(runs["httpserver"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tests", type=int, default=300, help="tests per file (default 300)")
    parser.add_argument("--rounds", type=int, default=5, help="measured runs of each file (default 5)")
    parser.add_argument(
        "--warmup", type=int, default=1, help="unmeasured runs of each file first (default 1)"
    )
    parser.add_argument(
        "--plugins",
        choices=PLUGIN_MODES,
        default="installed",
        help="load every installed pytest plugin (default), or only each file's own",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    parser.add_argument("--keep", type=Path, help="write the test files here and keep them")
    parser.add_argument(
        "--profile", type=Path, metavar="FILE", help="run the omofake file once under cProfile into FILE"
    )
    args = parser.parse_args(argv)
    if args.tests < 1 or args.rounds < 1 or args.warmup < 0:
        parser.error("--tests and --rounds must be 1 or more, --warmup 0 or more")
    try:
        import pytest_httpserver  # noqa: F401
    except ImportError:
        print("pytest-httpserver is not installed: pip install 'omofake[bench]'", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="omofake-bench-") as tmp:
        workdir = args.keep or Path(tmp)
        try:
            if args.profile is not None:
                suites = write_suites(workdir, args.tests)
                run_suite(suites["omofake"], args.tests, args.plugins, profile=args.profile.resolve())
                print(f"profile of the omofake file written to {args.profile}")
                return 0
            summary = measure(args.tests, args.rounds, workdir, plugins=args.plugins, warmup=args.warmup)
        except RuntimeError as exc:
            print(exc, file=sys.stderr)
            return 2
    if args.json:
        print(json.dumps(summary.to_dict()))
    else:
        print(
            f"{summary.tests} tests per file, {summary.rounds} rounds, plugins: {summary.plugins}, "
            f"python {sys.version.split()[0]}"
        )
        for name, runs in (("omofake", summary.omofake), ("httpserver", summary.httpserver)):
            walls = ", ".join(f"{run.wall:.2f}" for run in runs.runs)
            print(
                f"  {name:<10}  wall median {runs.median('wall'):.2f} s (runs: {walls});"
                f" cpu {runs.median('cpu'):.2f} s; in pytest's session {runs.median('session'):.2f} s"
            )
        verdict = "meets" if summary.ratio() <= TARGET_RATIO else "misses"
        print(
            f"  ratio omofake/httpserver: {summary.ratio():.2f} wall ({verdict} the target of "
            f"{TARGET_RATIO}); {summary.ratio('cpu'):.2f} cpu; {summary.ratio('session'):.2f} session"
        )
    return 0 if summary.ratio() <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
