"""Throughput of the fake against a bare aiohttp app answering the same shapes.

Two servers run in subprocesses started the same way (they print their URL on stdout when
ready): ``omofake serve`` with its default flags (request logging on; its log goes to a
temporary file, as a CI job's log does) and a bare aiohttp app with the same two routes that
reads each body and answers fixed JSON of the documented success shapes.

The load generator is ``wrk`` when it is installed (``-t1 -c32``, one POST body through a Lua
script), per endpoint: createJob with a realistic base64 image, and getJobResult polling a job
created first on each server. On a machine with two or more cores the servers and the load
generator are pinned to separate cores. Runs alternate between the servers (fake, bare, bare,
fake, ...) for ``--rounds`` rounds, and the summary reports medians. The figure is the ratio
fake / bare of requests per second, per endpoint, against its target (createJob 0.80,
getJobResult 0.90). Each server's CPU time per request (from /proc) is reported in any case:
it does not depend on which side was the bottleneck.

Without wrk (or with ``--load python``) the load generator is the Python one below, one
aiohttp ClientSession sending createJob + getJobResult pairs. It is labelled *capped*: it
cannot saturate the bare app, so its requests-per-second ratio flatters the fake; its verdict
is the ratio of server CPU per request (bare / fake) instead, against the createJob target.

    python benchmarks/throughput.py                   # wrk, 5 rounds x 5 s per server and endpoint
    python benchmarks/throughput.py --json            # the same, as one JSON object
    python benchmarks/throughput.py --fake-args=--quiet   # the fake without its request log
    python benchmarks/throughput.py --load python     # the capped Python load generator
    python benchmarks/throughput.py --load python --profile fake.prof   # the fake under cProfile

Exit status: 0 when every ratio meets its target, 1 when one does not, 2 on a broken run.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import pstats
import random
import re
import shlex
import shutil
import signal
import statistics
import sys
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from typing import IO, Any

import aiohttp
from aiohttp import web

#: fake / bare requests per second under wrk, per endpoint (issue 11).
TARGETS = {"createJob": 0.80, "getJobResult": 0.90}
#: The capped Python load generator's verdict: bare / fake server CPU per request, mixed endpoints.
TARGET_RATIO = TARGETS["createJob"]
WRK_BODY_TYPE = "30"
TOKEN = "benchmark-token-0123456789"
JOB_TYPES = ("13", "14", "23", "26", "30")
TWO_IMAGE_TYPES = frozenset({"23", "26"})
INPUT_TYPES = frozenset({"13", "14"})
JSON_HEADERS = {"Content-Type": "application/json"}
READY_TIMEOUT = 30.0
# Above this share of the machine used by other processes during the runs, warn of noise.
NOISY_SHARE = 0.05

# The minimal app's fixed answers: the documented success shapes, serialised once.
MINIMAL_CREATE = json.dumps({"error": False, "job_id": 123456, "message": "Create job success."}).encode()
MINIMAL_RESULT = json.dumps({"error": False, "status": "success", "result": "1|4|7"}).encode()


# The minimal server (run in its own process with --minimal-server)


def minimal_app() -> web.Application:
    """An aiohttp app with the fake's two routes that reads each body and answers fixed JSON."""

    def answer(fixed: bytes) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            # Read the body like the fake does, so both pay for receiving the image.
            await request.read()
            return web.Response(body=fixed, content_type="application/json")

        return handle

    # Same body limit as the fake's default, so neither has an advantage there.
    app = web.Application(client_max_size=20 * 1024 * 1024)
    app.router.add_post("/api/createJob", answer(MINIMAL_CREATE))
    app.router.add_post("/api/getJobResult", answer(MINIMAL_RESULT))
    return app


async def serve_minimal(host: str) -> int:
    # Configured as omofake's FakeServer configures its runner: no access log.
    runner = web.AppRunner(minimal_app(), access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # Like `omofake serve`: the URL on stdout, flushed, says it is ready.
    print(f"http://{host}:{runner.addresses[0][1]}", flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
    return 0


# Servers under test


@dataclass
class Server:
    name: str
    url: str
    process: asyncio.subprocess.Process

    def cpu_seconds(self) -> float | None:
        """User + system CPU time the server process has used so far (Linux /proc)."""
        try:
            with open(f"/proc/{self.process.pid}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            return None
        # Fields 14 and 15 of stat(5) (utime, stime), counted after the ")" ending the name.
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float | None:
    """CPU time all processes on the machine have used so far, summed over cores (Linux /proc)."""
    try:
        with open("/proc/stat", "rb") as fh:
            ticks = [int(t) for t in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal ...: processes' time is user, nice, system
    # (and steal, a busy host's). Interrupts are left out: under wrk most of them are the
    # loopback traffic of the benchmark itself, which no process is charged for.
    return (ticks[0] + ticks[1] + ticks[2] + ticks[7]) / os.sysconf("SC_CLK_TCK")


def children_cpu(before: os.times_result, after: os.times_result) -> float:
    """CPU seconds the finished child processes used between two ``os.times()``."""
    return (after.children_user - before.children_user) + (after.children_system - before.children_system)


def others_share(
    busy_before: float | None, busy_after: float | None, ours: float | None, wall: float
) -> float | None:
    """The share of the machine (every core) other processes used over ``wall`` seconds: its busy
    CPU time (:func:`machine_busy_seconds`) minus ``ours``, the benchmark's own processes'.
    None when one of them is unknown."""
    if busy_before is None or busy_after is None or ours is None:
        return None
    return max(0.0, busy_after - busy_before - ours) / (wall * (os.cpu_count() or 1))


def others_line(share: float, when: str) -> str:
    """The report's line on other processes' share, ``when`` saying over what it was taken."""
    noisy = "; the figures are noisy" if share > NOISY_SHARE else ""
    return f"  other processes: {100 * share:.0f}% of the machine{when}{noisy}"


@contextlib.asynccontextmanager
async def running(name: str, command: Sequence[str], cpu: int | None) -> AsyncIterator[Server]:
    """A server subprocess, ready (its URL read from stdout), stopped with SIGTERM on exit."""
    with tempfile.TemporaryFile() as log:
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=log, stdin=asyncio.subprocess.DEVNULL
        )
        try:
            yield await _ready(name, command, process, log, cpu)
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), 15)
                except asyncio.TimeoutError:
                    process.kill()
                    await process.wait()


async def _ready(
    name: str, command: Sequence[str], process: asyncio.subprocess.Process, log: IO[bytes], cpu: int | None
) -> Server:
    if cpu is not None:
        os.sched_setaffinity(process.pid, {cpu})
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), READY_TIMEOUT)
    except asyncio.TimeoutError:
        line = b""
    url = line.decode().strip()
    if not url.startswith("http://"):
        log.seek(0)
        detail = log.read().decode(errors="replace")[-2000:]
        raise RuntimeError(f"the {name} server did not start ({' '.join(command)}):\n{detail}")
    return Server(name, url, process)


def fake_command(args: argparse.Namespace) -> list[str]:
    if args.fake_command:
        return shlex.split(args.fake_command)
    serve = ["-m", "omofake", "serve", "--host", args.host, "--port", "0", *shlex.split(args.fake_args)]
    profile, profiler = args.profile, args.profiler
    if profile is None:
        return [sys.executable, *serve]
    # Both profilers write their file when the server returns from SIGTERM, which it does cleanly.
    if profiler == "pyinstrument":
        # Sampling: far less overhead than cProfile, so the shares of time are closer to the truth.
        return [sys.executable, "-m", "pyinstrument", "-r", "text", "-o", profile, *serve]
    return [sys.executable, "-m", "cProfile", "-o", profile, *serve]


# The load


def image_base64(size: int, rng: random.Random) -> str:
    """A PNG-looking payload of ``size`` bytes, base64-encoded (what the fake validates)."""
    header = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
    return base64.b64encode(header + rng.randbytes(max(0, size - len(header)))).decode("ascii")


def create_bodies(image_bytes: int) -> list[bytes]:
    """One createJob body per job type, encoded once: the client should spend its time sending."""
    rng = random.Random(2024)
    bodies = []
    for type_id in JOB_TYPES:
        images = 2 if type_id in TWO_IMAGE_TYPES else 1
        data: dict[str, str] = {
            "type_job_id": type_id,
            "image_base64": "|".join(image_base64(image_bytes, rng) for _ in range(images)),
        }
        if type_id in INPUT_TYPES:
            data["input"] = "Chọn tất cả hình ảnh có: tàu thuyền" if type_id == "13" else "panda"
        bodies.append(json.dumps({"api_token": TOKEN, "data": data}, ensure_ascii=False).encode())
    return bodies


@dataclass
class Run:
    server: str
    round: int
    requests: int
    seconds: float
    rps: float
    #: The server's CPU time per request, in microseconds (None off Linux).
    server_cpu_us: float | None
    #: The load generator's CPU time per request, in microseconds.
    client_cpu_us: float
    #: Share of the machine's cores other processes used meanwhile: noise when above a few %.
    others_share: float | None
    #: wrk only: the endpoint of the run, and wrk's mean latency.
    endpoint: str | None = None
    mean_latency_ms: float | None = None


class BadAnswer(Exception):
    """The server answered something other than the documented success: the run is void."""


async def drive(server: Server, bodies: list[bytes], requests: int, concurrency: int, limit: float) -> Run:
    """Send about ``requests`` requests (createJob + getJobResult pairs), stopping after ``limit`` s."""
    create_url = f"{server.url}/api/createJob"
    result_url = f"{server.url}/api/getJobResult"
    pairs = max(1, requests // 2)
    started = 0
    done = 0

    async def post(session: aiohttp.ClientSession, url: str, body: bytes) -> dict[str, Any]:
        async with session.post(url, data=body, headers=JSON_HEADERS) as response:
            raw = await response.read()
        answer: dict[str, Any] = json.loads(raw)
        if response.status != 200 or answer.get("error") is not False:
            raise BadAnswer(f"{server.name}: {url} answered {response.status} {raw[:200]!r}")
        return answer

    async def worker(session: aiohttp.ClientSession, deadline: float) -> None:
        nonlocal started, done
        while started < pairs and time.perf_counter() < deadline:
            index = started
            started += 1
            created = await post(session, create_url, bodies[index % len(bodies)])
            poll = b'{"api_token": "%s", "job_id": %d}' % (TOKEN.encode(), created["job_id"])
            await post(session, result_url, poll)
            done += 2

    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as session:
        cpu_before = server.cpu_seconds()
        busy_before = machine_busy_seconds()
        client_before = time.process_time()
        begin = time.perf_counter()
        await asyncio.gather(*(worker(session, begin + limit) for _ in range(concurrency)))
        seconds = time.perf_counter() - begin
        client_cpu = time.process_time() - client_before
        busy_after = machine_busy_seconds()
        cpu_after = server.cpu_seconds()
    busy = (busy_before, busy_after)
    return measured_run(server.name, done, seconds, cpu_before, cpu_after, client_cpu, busy)


# The load: wrk, one endpoint at a time

WRK_SCRIPT = """-- omofake benchmarks/throughput.py: one POST body, sent again and again
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[{body}]==]
"""
_WRK_TOTAL = re.compile(r"(\d+) requests in ([\d.]+)(us|ms|s|m)\b")
_WRK_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}
_WRK_LATENCY = re.compile(r"^\s*Latency\s+([\d.]+)(us|ms|s)\s", re.MULTILINE)
_WRK_NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
_WRK_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


def post_json(url: str, body: bytes) -> dict[str, Any]:
    """One request outside the measured runs (setting up, checking): the answer, or BadAnswer."""
    request = urllib.request.Request(url, data=body, headers=JSON_HEADERS, method="POST")
    # No proxy: the servers are on loopback.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as response:
        raw = response.read()
    answer: dict[str, Any] = json.loads(raw)
    if answer.get("error") is not False:
        raise BadAnswer(f"{url} answered {raw[:200]!r}")
    return answer


def endpoint_body(server: Server, endpoint: str, create_body: bytes) -> bytes:
    """The one body wrk sends to ``endpoint`` of ``server``: for getJobResult, a poll of a job
    created (and finished, by a first poll) on that server beforehand."""
    if endpoint == "createJob":
        return create_body
    created = post_json(f"{server.url}/api/createJob", create_body)
    poll = json.dumps({"api_token": TOKEN, "job_id": created["job_id"]}).encode()
    post_json(f"{server.url}/api/getJobResult", poll)
    return poll


async def drive_wrk(
    server: Server, endpoint: str, body: bytes, seconds: int, connections: int, script_dir: str
) -> Run:
    """One wrk run against one endpoint; wrk runs on the benchmark's own (pinned) core."""
    script = os.path.join(script_dir, f"{server.name}-{endpoint}.lua")
    with open(script, "w", encoding="utf-8") as fh:
        fh.write(WRK_SCRIPT.format(body=body.decode("utf-8")))
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script]
    command.append(f"{server.url}/api/{endpoint}")
    cpu_before = server.cpu_seconds()
    busy_before = machine_busy_seconds()
    children_before = os.times()
    begin = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    wall = time.perf_counter() - begin
    children_after = os.times()
    busy_after = machine_busy_seconds()
    cpu_after = server.cpu_seconds()
    text = out.decode(errors="replace")
    total = _WRK_TOTAL.search(text)
    if process.returncode != 0 or total is None:
        raise RuntimeError(f"wrk failed ({' '.join(command)}):\n{text}\n{err.decode(errors='replace')}")
    done = int(total.group(1))
    measured = float(total.group(2)) * _WRK_UNITS[total.group(3)]
    non_2xx = _WRK_NON_2XX.search(text)
    errors = _WRK_ERRORS.search(text)
    if non_2xx or (errors and any(int(n) for n in errors.groups())):
        raise BadAnswer(f"{server.name} {endpoint}: wrk saw errors:\n{text}")
    latency = _WRK_LATENCY.search(text)
    return measured_run(
        server.name,
        done,
        measured,
        cpu_before,
        cpu_after,
        children_cpu(children_before, children_after),
        (busy_before, busy_after),
        wall=wall,
        endpoint=endpoint,
        mean_latency_ms=None
        if latency is None
        else float(latency.group(1)) * _WRK_UNITS[latency.group(2)] * 1e3,
    )


def measured_run(
    name: str,
    done: int,
    seconds: float,
    cpu_before: float | None,
    cpu_after: float | None,
    client_cpu: float,
    busy: tuple[float | None, float | None],
    *,
    wall: float | None = None,
    **extra: Any,
) -> Run:
    """A run's figures: ``done`` requests in ``seconds``, the server's CPU between its two
    readings, the load generator's, and (over ``wall`` seconds, ``seconds`` by default) the
    machine's busy time before and after, for other processes' share."""
    server_cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    ours = None if server_cpu is None else server_cpu + client_cpu
    return Run(
        name,
        0,
        done,
        seconds,
        done / seconds,
        None if server_cpu is None or not done else server_cpu / done * 1e6,
        client_cpu / max(done, 1) * 1e6,
        others_share(*busy, ours, seconds if wall is None else wall),
        **extra,
    )


async def benchmark_wrk(args: argparse.Namespace) -> dict[str, Any]:
    create_body = create_bodies(args.image_bytes)[JOB_TYPES.index(WRK_BODY_TYPE)]
    minimal_cmd = [sys.executable, os.path.abspath(__file__), "--minimal-server", "--host", args.host]
    server_cpu = pin_load_generator(args)
    endpoints = [e for e in TARGETS if e in args.endpoints]
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="omofake-wrk-") as script_dir:
        async with (
            running("fake", fake_command(args), server_cpu) as fake,
            running("bare", minimal_cmd, server_cpu) as bare,
        ):
            bodies = {
                (server.name, endpoint): endpoint_body(server, endpoint, create_body)
                for server in (fake, bare)
                for endpoint in endpoints
            }
            for endpoint in endpoints:
                for server in (fake, bare):  # warm-up: imports, caches, the first jobs
                    body = bodies[server.name, endpoint]
                    await drive_wrk(server, endpoint, body, args.warmup_seconds, args.connections, script_dir)
                for round_no in range(1, args.rounds + 1):
                    # ABBA order: a slow drift of the machine weighs on both servers alike.
                    order = (fake, bare) if round_no % 2 else (bare, fake)
                    for server in order:
                        body = bodies[server.name, endpoint]
                        run = await drive_wrk(
                            server, endpoint, body, args.seconds, args.connections, script_dir
                        )
                        run.round = round_no
                        runs.append(run)
                        if not args.json:
                            print(
                                f"{endpoint:<12} round {round_no} {run.server:<4} {run.rps:8.0f} req/s; "
                                f"server CPU {run.server_cpu_us or 0:5.0f} µs/request; "
                                f"other processes {100 * (run.others_share or 0):3.0f}% of the machine",
                                file=sys.stderr,
                                flush=True,
                            )
            # The fake still answers as documented after all that load (balance, job store bound).
            post_json(f"{fake.url}/api/createJob", create_body)
    return results_wrk(args, runs, endpoints, pinned=server_cpu is not None)


def pin_load_generator(args: argparse.Namespace) -> int | None:
    """On a machine with 2+ cores: the load generator on one core, the servers on another, so the
    server under test never competes with the client for a core. The servers' core, or None."""
    if args.pin and hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) >= 2:
        client_cpu, server_cpu = sorted(os.sched_getaffinity(0))[:2]
        os.sched_setaffinity(0, {client_cpu})
        return server_cpu
    return None


def results_wrk(
    args: argparse.Namespace, runs: list[Run], endpoints: list[str], *, pinned: bool
) -> dict[str, Any]:
    per_endpoint: dict[str, Any] = {}
    for endpoint in endpoints:
        fake_runs = [r for r in runs if r.endpoint == endpoint and r.server == "fake"]
        bare_runs = [r for r in runs if r.endpoint == endpoint and r.server == "bare"]
        rps_fake = median([r.rps for r in fake_runs]) or 0.0
        rps_bare = median([r.rps for r in bare_runs]) or 0.0
        ratio = rps_fake / rps_bare if rps_bare else 0.0
        round_ratios = [f.rps / b.rps for f, b in zip(fake_runs, bare_runs, strict=True)]
        per_endpoint[endpoint] = {
            "rps_fake": rps_fake,
            "rps_bare": rps_bare,
            "ratio": ratio,
            "round_ratios": round_ratios,
            "server_cpu_us_fake": median([r.server_cpu_us for r in fake_runs]),
            "server_cpu_us_bare": median([r.server_cpu_us for r in bare_runs]),
            "latency_ms_fake": median([r.mean_latency_ms for r in fake_runs]),
            "latency_ms_bare": median([r.mean_latency_ms for r in bare_runs]),
            "target": TARGETS[endpoint],
            "passed": ratio >= TARGETS[endpoint],
        }
    return {
        "load": "wrk",
        "capped": False,
        "rounds": args.rounds,
        "seconds_per_run": args.seconds,
        "connections": args.connections,
        "image_bytes": args.image_bytes,
        "fake_args": args.fake_args,
        "pinned": pinned,
        "endpoints": per_endpoint,
        "others_share": median([r.others_share for r in runs]),
        "others_share_max": max((r.others_share or 0.0 for r in runs), default=0.0),
        "passed": all(e["passed"] for e in per_endpoint.values()),
        "runs": [asdict(r) for r in runs],
    }


def summary_wrk(result: dict[str, Any]) -> str:
    flags = result["fake_args"] or "default flags, request log on (to a file)"
    lines = [
        f"omofake throughput under wrk -t1 -c{result['connections']}: {result['rounds']} rounds x "
        f"{result['seconds_per_run']:g} s per server and endpoint, omofake serve ({flags}) against a "
        f"bare aiohttp app, {result['image_bytes']}-byte image"
        + (", servers and wrk on separate cores" if result["pinned"] else ""),
    ]
    for endpoint, figures in result["endpoints"].items():
        ratios = figures["round_ratios"]
        cpu_fake, cpu_bare = figures["server_cpu_us_fake"], figures["server_cpu_us_bare"]
        cpu = f"; server CPU per request: fake {cpu_fake:.0f} µs, bare {cpu_bare:.0f} µs" if cpu_fake else ""
        lines.append(
            f"  {endpoint:<12} fake {figures['rps_fake']:7.0f} req/s, bare {figures['rps_bare']:7.0f} req/s"
            f"{cpu}\n  {'':<12} ratio {figures['ratio']:.2f} (per round {min(ratios):.2f} to "
            f"{max(ratios):.2f}), target {figures['target']:.2f}: "
            + ("met" if figures["passed"] else "NOT met")
        )
    others = result["others_share"]
    if others is not None:
        most = 100 * result["others_share_max"]
        lines.append(others_line(others, f" (median of the runs, max {most:.0f}%)"))
    verdict = "PASS" if result["passed"] else "FAIL"
    lines.append(
        f"{verdict}: "
        + ", ".join(f"{e} {f['ratio']:.2f} (>= {f['target']:.2f})" for e, f in result["endpoints"].items())
    )
    return "\n".join(lines)


# The capped Python load generator's run and its summary


def median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


async def benchmark_python(args: argparse.Namespace) -> dict[str, Any]:
    bodies = create_bodies(args.image_bytes)
    minimal_cmd = [sys.executable, os.path.abspath(__file__), "--minimal-server", "--host", args.host]
    # On a machine with 2+ cores, give the servers one core and the load generator another, so
    # the server under test never competes with the client for a core.
    server_cpu = pin_load_generator(args)
    runs: list[Run] = []
    async with (
        running("fake", fake_command(args), server_cpu) as fake,
        running("minimal", minimal_cmd, server_cpu) as minimal,
    ):
        for server in (fake, minimal):
            await drive(server, bodies, args.warmup, args.concurrency, args.max_seconds)
        for round_no in range(1, args.rounds + 1):
            # ABBA order (fake, minimal, minimal, fake, ...): a slow drift of the machine weighs
            # on both servers alike instead of always on the one measured second.
            order = (fake, minimal) if round_no % 2 else (minimal, fake)
            for server in order:
                run = await drive(server, bodies, args.requests, args.concurrency, args.max_seconds)
                run.round = round_no
                runs.append(run)
                if not args.json:
                    print(
                        f"round {round_no} {run.server:<7} {run.requests:>7} requests in "
                        f"{run.seconds:6.2f} s = {run.rps:8.0f} req/s; CPU per request: "
                        f"server {run.server_cpu_us or 0:.0f} µs, client {run.client_cpu_us:.0f} µs; "
                        f"other processes {100 * (run.others_share or 0):.0f}% of the machine",
                        file=sys.stderr,
                        flush=True,
                    )
    return results(args, runs, pinned=server_cpu is not None)


def results(args: argparse.Namespace, runs: list[Run], *, pinned: bool) -> dict[str, Any]:
    fake_runs = [r for r in runs if r.server == "fake"]
    minimal_runs = [r for r in runs if r.server == "minimal"]
    rps_fake = median([r.rps for r in fake_runs]) or 0.0
    rps_minimal = median([r.rps for r in minimal_runs]) or 0.0
    ratio = rps_fake / rps_minimal if rps_minimal else 0.0
    # Each round's two runs ran back to back, so their ratio is the least disturbed by drift.
    round_ratios = [f.rps / m.rps for f, m in zip(fake_runs, minimal_runs, strict=True)]
    cpu_fake = median([r.server_cpu_us for r in fake_runs])
    cpu_minimal = median([r.server_cpu_us for r in minimal_runs])
    # The Python client caps the bare app, so the req/s ratio flatters the fake: the verdict is
    # the server CPU per request, which does not depend on who the bottleneck was.
    cpu_ratio = cpu_minimal / cpu_fake if cpu_fake and cpu_minimal else 0.0
    return {
        "load": "python",
        "capped": True,
        "rounds": args.rounds,
        "requests_per_run": args.requests,
        "concurrency": args.concurrency,
        "image_bytes": args.image_bytes,
        "pinned": pinned,
        "profiled": None if args.profile is None else args.profiler,
        "rps_fake": rps_fake,
        "rps_minimal": rps_minimal,
        "ratio": ratio,
        "round_ratios": round_ratios,
        "median_round_ratio": statistics.median(round_ratios),
        "server_cpu_us_per_request_fake": cpu_fake,
        "server_cpu_us_per_request_minimal": cpu_minimal,
        "cpu_ratio": cpu_ratio,
        "client_cpu_us_per_request": median([r.client_cpu_us for r in runs]),
        "others_share": median([r.others_share for r in runs]),
        "target": TARGET_RATIO,
        "passed": cpu_ratio >= TARGET_RATIO,
        "runs": [asdict(r) for r in runs],
    }


def summary(result: dict[str, Any]) -> str:
    ratios = result["round_ratios"]
    lines = [
        "omofake throughput with the Python load generator (CAPPED: it cannot saturate the bare app, "
        "so the req/s ratio flatters the fake; install wrk for the honest figure)",
        f"  {result['rounds']} rounds x {result['requests_per_run']} requests, "
        f"{result['concurrency']} connections, {result['image_bytes']}-byte images"
        + (", servers and load generator on separate cores" if result["pinned"] else ""),
        f"  fake      {result['rps_fake']:8.0f} req/s (median)",
        f"  minimal   {result['rps_minimal']:8.0f} req/s (median)",
        f"  ratio     {result['ratio']:8.2f}  capped (per round: median {result['median_round_ratio']:.2f}, "
        f"{min(ratios):.2f} to {max(ratios):.2f})",
    ]
    cpu_fake = result["server_cpu_us_per_request_fake"]
    cpu_minimal = result["server_cpu_us_per_request_minimal"]
    if cpu_fake and cpu_minimal:
        lines.append(
            f"  server CPU per request: fake {cpu_fake:.0f} µs, minimal {cpu_minimal:.0f} µs "
            f"(minimal/fake {cpu_minimal / cpu_fake:.2f}); "
            f"load generator {result['client_cpu_us_per_request']:.0f} µs"
        )
    if result["profiled"]:
        lines.append(f"  note: the fake ran under {result['profiled']}, so its figures are not comparable")
    others = result["others_share"]
    if others is not None and others > NOISY_SHARE:
        lines.append(
            f"  warning: other processes used {100 * others:.0f}% of the machine meanwhile; the figures "
            "are noisy (rerun on a quiet machine, or with more --rounds)"
        )
    verdict = "PASS" if result["passed"] else "FAIL"
    lines.append(
        f"{verdict}: server CPU per request minimal / fake = {result['cpu_ratio']:.2f}, "
        f"target {result['target']:.2f}"
    )
    return "\n".join(lines)


def print_profile(path: str, profiler: str, top: int) -> None:
    if profiler == "pyinstrument":
        with open(path, encoding="utf-8") as fh:
            sys.stderr.write(fh.read())
        return
    stats = pstats.Stats(path, stream=sys.stderr)
    stats.strip_dirs().sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--load",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="the load generator: wrk, or the capped Python one (default: wrk when installed)",
    )
    parser.add_argument("--rounds", type=positive, default=5, help="measured runs per server (default: 5)")
    parser.add_argument(
        "--seconds", type=positive, default=5, help="wrk: whole seconds per run (default: %(default)s)"
    )
    parser.add_argument(
        "--warmup-seconds",
        type=positive,
        default=2,
        help="wrk: unmeasured whole seconds per server and endpoint first (default: %(default)s)",
    )
    parser.add_argument(
        "--connections", type=positive, default=32, help="wrk: connections, -c (default: %(default)s)"
    )
    parser.add_argument(
        "--endpoints",
        type=lambda text: text.split(","),
        default=list(TARGETS),
        help="wrk: the endpoints to measure, comma-separated (default: createJob,getJobResult)",
    )
    parser.add_argument(
        "--fake-args",
        default="",
        metavar="ARGS",
        help="extra flags for omofake serve, e.g. --fake-args=--quiet (default: none, the defaults)",
    )
    parser.add_argument(
        "--requests",
        type=positive,
        default=20000,
        help="python: requests per run, half createJob (default: 20000)",
    )
    parser.add_argument(
        "--max-seconds", type=float, default=30.0, help="a run stops after this long (default: 30)"
    )
    parser.add_argument(
        "--warmup", type=positive, default=2000, help="requests per server before measuring (default: 2000)"
    )
    parser.add_argument(
        "--concurrency", type=positive, default=64, help="connections and workers (default: 64)"
    )
    parser.add_argument(
        "--image-bytes",
        type=positive,
        default=3000,
        help="bytes per image before base64, two images for types 23 and 26 (default: 3000)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to serve on")
    parser.add_argument(
        "--no-pin",
        dest="pin",
        action="store_false",
        help="do not pin the servers and the load generator to separate cores",
    )
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    parser.add_argument(
        "--profile", metavar="FILE", help="run the fake under cProfile, save FILE and print its top costs"
    )
    parser.add_argument(
        "--profiler",
        choices=("cprofile", "pyinstrument"),
        default="cprofile",
        help="with --profile: cProfile (standard library) or pyinstrument (pip install pyinstrument)",
    )
    parser.add_argument(
        "--fake-command",
        metavar="CMD",
        help="start the fake with this command instead (it must print its URL on stdout when ready), "
        "e.g. to measure an installed wheel or a patched build",
    )
    parser.add_argument("--minimal-server", action="store_true", help=argparse.SUPPRESS)
    return parser


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, not {text}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.minimal_server:
        return asyncio.run(serve_minimal(args.host))
    use_wrk = args.load == "wrk" or (args.load == "auto" and shutil.which("wrk") and args.profile is None)
    if args.load == "wrk" and not shutil.which("wrk"):
        print("throughput: error: wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    try:
        result = asyncio.run(benchmark_wrk(args) if use_wrk else benchmark_python(args))
    except (BadAnswer, RuntimeError, OSError) as exc:
        print(f"throughput: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(summary_wrk(result) if use_wrk else summary(result))
    if args.profile:
        print_profile(args.profile, args.profiler, 25)
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
