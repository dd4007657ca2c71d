"""What the omofake fixtures cost per test, against pytest-httpserver with hand-written stubs.

Generates two test files of ``--tests`` tests each (300 by default). Every test makes one
createJob and one getJobResult call with ``requests`` and checks the answers:

- ``test_omofake.py`` talks to ``omofake_url``: the shared fake, reset before each test, which
  validates both requests against the schemas, creates and solves a real job, and journals it;
- ``test_httpserver.py`` talks to pytest-httpserver's ``httpserver``, given the two documented
  success answers by hand in each test (``expect_request(...).respond_with_json(...)``).

Each file runs in its own ``python -m pytest -p no:cacheprovider`` subprocess of this
interpreter, the two alternating for ``--rounds`` rounds; the wall time of each run is
measured around the subprocess. The ratio omofake / httpserver of the median wall times is
the figure; target: **0.95** or less, although omofake does real job logic and validation.
It is measured in two plugin modes, and both must meet it:

- ``own``: plugin autoloading off, each file given only its own plugin (``-p omofake`` or
  ``-p pytest_httpserver``), so each pays just its own imports: a project with one of the two;
- ``installed``: every installed plugin loads, as in a project that has both (and faker,
  xdist, pytest-asyncio, ...); start-up is then the same for both files and most of each run.

Every run has Python's byte-code cache on, in a folder of the benchmark's own that the
unmeasured warm-up runs fill: installed packages run from byte code, and a source checkout
(often run with ``PYTHONDONTWRITEBYTECODE``) would otherwise recompile omofake at every run.

A small timing plugin in each run records every test's setup, call and teardown from pytest's
reports: **per-test setup** is the median setup + teardown of the tests after the first (the
fixtures' own work: omofake's reset and markers, pytest-httpserver's clear), and **first use**
is how much longer the first test's setup took (omofake: importing and starting the server).
CPU time and pytest's own session time are steadier second opinions. The same ratio
of the wall times less each file's first use bounds what a cheaper first use could reach: when
it misses the target, no saving in the first use alone would meet it. Last, faker's pytest
plugin (which every project that installs faker loads) is timed on a one-test file, every
installed plugin loaded, with and without ``-p no:faker``.

    python benchmarks/fixture_overhead.py                    # 300 tests, 5 rounds, both modes
    python benchmarks/fixture_overhead.py --tests 50 --rounds 3 --plugins own
    python benchmarks/fixture_overhead.py --profile omofake.prof   # the omofake file under cProfile
    python benchmarks/fixture_overhead.py --json

Needs pytest-httpserver (``pip install 'omofake[bench]'``). Exit status: 0 when every measured
ratio meets the target, 1 when one does not, 2 when a run fails.
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

TARGET_RATIO = 0.95
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

# Loaded into every run (``-p _omofake_bench_timing``): pytest's own duration of each test's
# setup, call and teardown, written as JSON to the file named by the environment variable.
_TIMING_PLUGIN = """
import json
import os

_PHASES = {"setup": [], "call": [], "teardown": []}


def pytest_runtest_logreport(report):
    _PHASES[report.when].append(report.duration)


def pytest_sessionfinish(session):
    with open(os.environ["OMOFAKE_BENCH_TIMING"], "w") as fh:
        json.dump(_PHASES, fh)
"""
TIMING_MODULE = "_omofake_bench_timing"

_EMPTY_TEST = "\n\ndef test_nothing():\n    assert True\n"


def write_suites(root: Path, tests: int) -> dict[str, Path]:
    """Write the two test files, each in its own folder (so each is its own rootdir)."""
    suites = {}
    for name, template in (("omofake", _OMOFAKE_TEST), ("httpserver", _HTTPSERVER_TEST)):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "pytest.ini").write_text(_INI)
        (folder / f"{TIMING_MODULE}.py").write_text(_TIMING_PLUGIN)
        body = _ROUNDTRIP + "".join(template.format(n=n) for n in range(tests))
        path = folder / f"test_{name}.py"
        path.write_text(body)
        suites[name] = path
    return suites


def write_empty(root: Path) -> Path:
    """A one-test file that uses no fixture: what every pytest run pays for the plugins alone."""
    folder = root / "empty"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pytest.ini").write_text(_INI)
    (folder / f"{TIMING_MODULE}.py").write_text(_TIMING_PLUGIN)
    path = folder / "test_empty.py"
    path.write_text(_EMPTY_TEST)
    return path


#: The plugin each file needs, by entry point name, for ``--plugins own``.
OWN_PLUGIN = {"omofake": "omofake", "httpserver": "pytest_httpserver", "empty": "omofake"}
PLUGIN_MODES = ("own", "installed")


def pytest_command(path: Path, plugins: str, extra: tuple[str, ...] = ()) -> tuple[list[str], dict[str, str]]:
    """The pytest arguments and environment to run one generated file with."""
    env = dict(os.environ)
    # omofake's own test suite turns on answer self-checking; users do not, so neither do we.
    env.pop("OMOFAKE_SELF_CHECK", None)
    env.pop("PYTEST_ADDOPTS", None)
    # Installed packages run from byte code (pip compiles it at install); a source checkout under
    # PYTHONDONTWRITEBYTECODE compiles each module at every run instead (some 70 ms of omofake's
    # first use). Byte code goes to a folder of the run's own, written by the warm-up runs, so
    # that both files run as installed and nothing is written to the source tree.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(path.parent.parent / "pycache")
    args = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", TIMING_MODULE, *extra]
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
    #: Median setup + teardown of the tests after the first: the fixtures' per-test work.
    per_test_setup: float
    #: The first test's setup beyond that median: the fixture's first use (server start).
    first_use: float
    #: Median duration of a test's body (its two HTTP calls).
    per_test_call: float

    @property
    def without_first_use(self) -> float:
        """The wall time less the first use: what the run would take if that cost nothing."""
        return self.wall - self.first_use


def run_suite(
    path: Path,
    tests: int,
    plugins: str = "installed",
    profile: Path | None = None,
    extra: tuple[str, ...] = (),
) -> Run:
    """Run one file in a pytest subprocess and time it."""
    args, env = pytest_command(path, plugins, extra)
    timing = path.parent / "timing.json"
    env["OMOFAKE_BENCH_TIMING"] = str(timing)
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
    phases = json.loads(timing.read_text())
    setups, calls, teardowns = phases["setup"], phases["call"], phases["teardown"]
    # The last test's teardown also stops the session's server: it is left out with the first.
    later = [s + t for s, t in zip(setups[1:-1], teardowns[1:-1], strict=True)]
    per_test = statistics.median(later) if later else math.nan
    first = setups[0] - statistics.median(setups[1:]) if len(setups) > 1 else math.nan
    return Run(
        elapsed,
        cpu,
        float(session.group(1)) if session else math.nan,
        per_test,
        first,
        statistics.median(calls),
    )


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def other_cpu_share(busy_before: tuple[float, float], own_cpu: float) -> float:
    """The share of the machine's CPU (all cores) used by other processes since ``busy_before``."""
    busy, wall = _machine_busy()
    spent = busy - busy_before[0]
    elapsed = (wall - busy_before[1]) * (os.cpu_count() or 1)
    return max(0.0, (spent - own_cpu) / elapsed) if elapsed > 0 else math.nan


def _machine_busy() -> tuple[float, float]:
    """CPU seconds all processes have used (Linux /proc/stat; NaN elsewhere) and the time now."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return math.nan, time.monotonic()
    ticks = os.sysconf("SC_CLK_TCK")
    idle = int(fields[3]) + int(fields[4])  # idle + iowait
    return (sum(int(f) for f in fields[:8]) - idle) / ticks, time.monotonic()


@dataclass
class Runs:
    """The measured runs of one file."""

    runs: list[Run]

    def median(self, what: str) -> float:
        return statistics.median(float(getattr(run, what)) for run in self.runs)


MEASURES = ("wall", "cpu", "session", "per_test_setup", "first_use", "per_test_call", "without_first_use")


@dataclass
class Summary:
    """Both files in one plugin mode."""

    tests: int
    rounds: int
    plugins: str
    omofake: Runs
    httpserver: Runs

    def ratio(self, what: str = "wall") -> float:
        """Median omofake over median httpserver; the target is about the wall time."""
        return self.omofake.median(what) / self.httpserver.median(what)

    @property
    def met(self) -> bool:
        return self.ratio() <= TARGET_RATIO

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"tests": self.tests, "rounds": self.rounds, "plugins": self.plugins}
        for name, runs in (("omofake", self.omofake), ("httpserver", self.httpserver)):
            out[name] = {
                "runs": [asdict(run) for run in runs.runs],
                **{f"{what}_median": runs.median(what) for what in MEASURES},
            }
        out.update(
            {f"{what}_ratio": self.ratio(what) for what in ("wall", "cpu", "session", "without_first_use")}
        )
        out["ratio"] = self.ratio()
        out["target"] = TARGET_RATIO
        out["met"] = self.met
        return out


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


@dataclass
class FakerPlugin:
    """A one-test run with every installed plugin, with and without faker's."""

    rounds: int
    with_faker: Runs
    without_faker: Runs

    @property
    def cost(self) -> float:
        """Seconds of wall time faker's plugin adds to every pytest run."""
        return self.with_faker.median("wall") - self.without_faker.median("wall")

    def to_dict(self) -> dict[str, object]:
        return {
            "rounds": self.rounds,
            "with_faker_wall_median": self.with_faker.median("wall"),
            "without_faker_wall_median": self.without_faker.median("wall"),
            "with_faker_cpu_median": self.with_faker.median("cpu"),
            "without_faker_cpu_median": self.without_faker.median("cpu"),
            "cost": self.cost,
            "cpu_cost": self.with_faker.median("cpu") - self.without_faker.median("cpu"),
        }


def measure_faker_plugin(rounds: int, workdir: Path) -> FakerPlugin | None:
    """None when faker (and so its plugin) is not installed."""
    try:
        import faker  # noqa: F401
    except ImportError:
        return None
    path = write_empty(workdir)
    run_suite(path, 1)  # warm-up
    with_faker: list[Run] = []
    without: list[Run] = []
    for round_ in range(rounds):
        pair = ((with_faker, ()), (without, ("-p", "no:faker")))
        for runs, extra in pair if round_ % 2 == 0 else pair[::-1]:
            runs.append(run_suite(path, 1, "installed", extra=extra))
    return FakerPlugin(rounds, Runs(with_faker), Runs(without))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tests", type=int, default=300, help="tests per file (default 300)")
    parser.add_argument("--rounds", type=int, default=5, help="measured runs of each file (default 5)")
    parser.add_argument(
        "--warmup", type=int, default=1, help="unmeasured runs of each file first (default 1)"
    )
    parser.add_argument(
        "--plugins",
        choices=(*PLUGIN_MODES, "both"),
        default="both",
        help="only each file's own pytest plugin, every installed one, or both in turn (default)",
    )
    parser.add_argument(
        "--faker-rounds",
        type=int,
        default=None,
        metavar="N",
        help="runs of the one-test file with and without faker's plugin (default: --rounds; 0: skip)",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    parser.add_argument("--keep", type=Path, help="write the test files here and keep them")
    parser.add_argument(
        "--profile", type=Path, metavar="FILE", help="run the omofake file once under cProfile into FILE"
    )
    args = parser.parse_args(argv)
    faker_rounds = args.rounds if args.faker_rounds is None else args.faker_rounds
    if args.tests < 1 or args.rounds < 1 or args.warmup < 0 or faker_rounds < 0:
        parser.error("--tests and --rounds must be 1 or more, --warmup and --faker-rounds 0 or more")
    try:
        import pytest_httpserver  # noqa: F401
    except ImportError:
        print("pytest-httpserver is not installed: pip install 'omofake[bench]'", file=sys.stderr)
        return 2
    modes = PLUGIN_MODES if args.plugins == "both" else (args.plugins,)
    busy_before = _machine_busy()
    cpu_before = _children_cpu()
    with tempfile.TemporaryDirectory(prefix="omofake-bench-") as tmp:
        workdir = args.keep or Path(tmp)
        try:
            if args.profile is not None:
                suites = write_suites(workdir, args.tests)
                run_suite(suites["omofake"], args.tests, modes[0], profile=args.profile.resolve())
                print(f"profile of the omofake file written to {args.profile}")
                return 0
            summaries = [
                measure(args.tests, args.rounds, workdir, plugins=mode, warmup=args.warmup) for mode in modes
            ]
            faker = measure_faker_plugin(faker_rounds, workdir) if faker_rounds else None
        except RuntimeError as exc:
            print(exc, file=sys.stderr)
            return 2
    others = other_cpu_share(busy_before, _children_cpu() - cpu_before)
    met = all(summary.met for summary in summaries)
    if args.json:
        print(
            json.dumps(
                {
                    "tests": args.tests,
                    "rounds": args.rounds,
                    "target": TARGET_RATIO,
                    "modes": {summary.plugins: summary.to_dict() for summary in summaries},
                    "faker_plugin": faker.to_dict() if faker is not None else None,
                    "other_cpu_share": others,
                    "met": met,
                }
            )
        )
    else:
        _print_report(args.tests, args.rounds, summaries, faker, others)
    return 0 if met else 1


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def _print_report(
    tests: int, rounds: int, summaries: list[Summary], faker: FakerPlugin | None, others: float
) -> None:
    print(f"{tests} tests per file, {rounds} rounds per mode, python {sys.version.split()[0]}")
    for summary in summaries:
        print(f"plugins: {summary.plugins}")
        for name, runs in (("omofake", summary.omofake), ("httpserver", summary.httpserver)):
            walls = ", ".join(f"{run.wall:.2f}" for run in runs.runs)
            print(
                f"  {name:<10}  wall median {runs.median('wall'):.2f} s (runs: {walls});"
                f" cpu {runs.median('cpu'):.2f} s; in pytest's session {runs.median('session'):.2f} s"
            )
            print(
                f"  {'':<10}  per-test setup {_ms(runs.median('per_test_setup'))}, first use "
                f"{_ms(runs.median('first_use'))}, test body {_ms(runs.median('per_test_call'))}"
            )
        verdict = "meets" if summary.met else "misses"
        print(
            f"  ratio omofake/httpserver: {summary.ratio():.2f} wall ({verdict} the target of "
            f"{TARGET_RATIO}); {summary.ratio('cpu'):.2f} cpu; {summary.ratio('session'):.2f} session"
        )
        # The bound that says why: start-up and the tests alone, as if no fixture's first use
        # (omofake: importing aiohttp and starting the server) cost anything.
        bound = summary.ratio("without_first_use")
        would = "would meet" if bound <= TARGET_RATIO else "would still miss"
        print(f"  without either file's first use: {bound:.2f} ({would} the target)")
    if faker is not None:
        print(
            f"faker's pytest plugin, one-test file, every plugin installed: "
            f"{faker.with_faker.median('wall'):.2f} s with it, "
            f"{faker.without_faker.median('wall'):.2f} s with -p no:faker: "
            f"{_ms(faker.cost)} per pytest run ({faker.rounds} rounds)"
        )
    warn = " (above 10 %: the figures are noisy)" if others > 0.10 else ""
    print(f"other processes used {others:.0%} of the machine's CPU during the runs{warn}")


if __name__ == "__main__":
    sys.exit(main())
