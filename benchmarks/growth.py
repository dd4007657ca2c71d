"""Cost growth: a request must cost the same with 10 thousand jobs behind it as with a million.

One fresh subprocess builds the service and journal the way ``omofake serve`` does (the job
store bounded at ``--max-jobs``, 100,000; the journal at 1,000 exchanges; the request log on,
written to /dev/null) and drives them in-process, as the HTTP layer would, minus HTTP: for each
job, a createJob (a realistic body with a 3000-byte base64 image, parsed from bytes, checked,
answered, encoded, journaled and logged) and one getJobResult that finishes it. At each
checkpoint (10k, 100k, 300k and 1M jobs by default) it reports the CPU time per request over the
``--window`` jobs before it. The figure is the ratio CPU per request at the last checkpoint / at
the first; target: 1.25 or less (a cost that grew with the jobs or the journal would show as
a ratio well above 1; the margin is for a noisy machine).

    python benchmarks/growth.py                      # to 1,000,000 jobs, about a minute or two
    python benchmarks/growth.py --checkpoints 10000,100000 --json

Exit status: 0 when the ratio meets the target, 1 when it does not, 2 on a broken run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

from throughput import (
    JOB_TYPES,
    TOKEN,
    children_cpu,
    create_bodies,
    machine_busy_seconds,
    others_line,
    others_share,
)

TARGET_RATIO = 1.25
# omofake serve's bounds (omofake.cli's SERVE_* constants; repeated so that --help needs nothing).
SERVE_MAX_JOBS = 100_000
SERVE_JOURNAL_SIZE = 1000
SERVE_JOURNAL_BYTES = 64 * 1024 * 1024


def child(checkpoints: list[int], window: int, max_jobs: int) -> dict[str, Any]:
    from omofake.cli import RequestLog
    from omofake.core.journal import Exchange, Journal, now_utc
    from omofake.dialects.v1.service import FakeService

    service = FakeService(max_jobs=max_jobs)
    journal = Journal(maxlen=SERVE_JOURNAL_SIZE, maxbytes=SERVE_JOURNAL_BYTES)
    devnull = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - for the life of the process
    journal.listeners.append(RequestLog(devnull))
    create_raw = create_bodies(3000)[JOB_TYPES.index("30")]
    encode = json.JSONEncoder().encode

    def request(endpoint: str, raw: bytes) -> dict[str, Any]:
        # What omofake.http.app does with a small body, but for the socket.
        body, problem = service.parse(raw, endpoint)
        if problem is not None:
            raise SystemExit(f"{endpoint}: {problem}")
        answer = service.answer(endpoint, body)  # type: ignore[arg-type]
        sent = service.render(answer.body)
        encode(sent).encode()
        exchange = Exchange(
            endpoint, "POST", f"/api/{endpoint}", body, sent, answer.status, now_utc(),
            answer.violations, answer.job_id, answer.type_job_id,
        )  # fmt: skip
        journal.add(exchange, generation=journal.generation, size=len(raw))
        if sent.get("error") is not False:
            raise SystemExit(f"{endpoint} answered {sent}")
        return sent

    points = []
    done = 0
    started = time.process_time()
    for checkpoint in sorted(checkpoints):
        while done < checkpoint:
            if done == checkpoint - window:
                started = time.process_time()
            job_id = request("createJob", create_raw)["job_id"]
            request("getJobResult", b'{"api_token": "%s", "job_id": %d}' % (TOKEN.encode(), job_id))
            done += 1
        seconds = time.process_time() - started
        points.append(
            {
                "jobs": checkpoint,
                "jobs_kept": len(service.store),
                "journal": len(journal),
                "cpu_us_per_request": seconds / (2 * window) * 1e6,
            }
        )
        print(
            f"{checkpoint:>9} jobs ({len(service.store)} kept, {len(journal)} journaled): "
            f"{points[-1]['cpu_us_per_request']:.1f} µs CPU per request",
            file=sys.stderr,
            flush=True,
        )
    return {"points": points}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--checkpoints",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[10_000, 100_000, 300_000, 1_000_000],
        help="jobs at which to measure, comma-separated (default: 10000,100000,300000,1000000)",
    )
    parser.add_argument(
        "--window", type=int, default=5000, help="jobs measured before each checkpoint (default: 5000)"
    )
    parser.add_argument(
        "--max-jobs", type=int, default=SERVE_MAX_JOBS, help="the store's bound (default: %(default)s)"
    )
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if min(args.checkpoints) < args.window:
        print("growth: every checkpoint must be at least --window jobs", file=sys.stderr)
        return 2
    if args.child:
        print(json.dumps(child(args.checkpoints, args.window, args.max_jobs)))
        return 0
    command = [sys.executable, os.path.abspath(__file__), "--child", "--window", str(args.window)]
    command += ["--checkpoints", ",".join(map(str, args.checkpoints)), "--max-jobs", str(args.max_jobs)]
    busy_before, children_before, wall_before = machine_busy_seconds(), os.times(), time.time()
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, timeout=7200)
    busy_after, children_after, wall = machine_busy_seconds(), os.times(), time.time() - wall_before
    others = others_share(busy_before, busy_after, children_cpu(children_before, children_after), wall)
    if done.returncode != 0:
        print(f"growth: the measuring subprocess failed ({done.returncode})", file=sys.stderr)
        return 2
    points = json.loads(done.stdout)["points"]
    first, last = points[0], points[-1]
    ratio = last["cpu_us_per_request"] / first["cpu_us_per_request"]
    result = {
        "max_jobs": args.max_jobs,
        "journal_size": SERVE_JOURNAL_SIZE,
        "window": args.window,
        "points": points,
        "ratio": ratio,
        "others_share": others,
        "target": TARGET_RATIO,
        "passed": ratio <= TARGET_RATIO,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        lines = [
            f"omofake cost growth: in-process, store bounded at {args.max_jobs} jobs, journal at "
            f"{SERVE_JOURNAL_SIZE}, request log on (/dev/null); CPU per request over the {args.window} "
            "jobs before each checkpoint"
        ]
        lines += [
            f"  {p['jobs']:>9} jobs: {p['cpu_us_per_request']:6.1f} µs per request ({p['jobs_kept']} kept)"
            for p in points
        ]
        if others is not None:
            lines.append(others_line(others, " meanwhile"))
        verdict = "PASS" if result["passed"] else "FAIL"
        lines.append(
            f"{verdict}: {last['jobs']} / {first['jobs']} jobs = {ratio:.2f} (target {TARGET_RATIO} or less)"
        )
        print("\n".join(lines))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
