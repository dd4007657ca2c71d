"""Memory of a long-running fake: RSS after many createJob calls, with the job store bounded.

Each measurement runs in a fresh subprocess that builds the service the way ``omofake serve``
does (``max_jobs``, default 100,000) and drives it in-process through the service layer, not
HTTP, so a million jobs take seconds: createJob with a realistic body (cycling through the five
job types), then one getJobResult per job, which finishes it. The subprocess then reports its
resident set size (RSS, from /proc, or the peak from getrusage elsewhere).

The figure is the ratio RSS after ``--large`` jobs / RSS after ``--small`` jobs, both measured in
the same run. Target: at most 2.0 (an unbounded store made it about 5 for 1M / 100k).

    python benchmarks/memory.py                  # 100,000 then 1,000,000 jobs
    python benchmarks/memory.py --json           # the same, as one JSON object
    python benchmarks/memory.py --small 2000 --large 20000 --max-jobs 1000   # a quick run

Exit status: 0 when the ratio meets the target, 1 when it does not, 2 on a broken run.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

TARGET_RATIO = 2.0
TOKEN = "benchmark-token-0123456789"
# The serve default; imported lazily so that --help works without the package.
SERVE_MAX_JOBS = 100_000
IMAGE = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="


def rss_bytes() -> int:
    """The process's resident set size now (Linux), or its peak (elsewhere)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


def bodies() -> list[dict[str, Any]]:
    out = []
    for type_id in ("13", "14", "23", "26", "30"):
        images = 2 if type_id in ("23", "26") else 1
        data: dict[str, Any] = {"type_job_id": type_id, "image_base64": "|".join([IMAGE] * images)}
        if type_id in ("13", "14"):
            data["input"] = "Chọn tất cả hình ảnh có: tàu thuyền"
        out.append({"api_token": TOKEN, "data": data})
    return out


def child(jobs: int, max_jobs: int | None) -> dict[str, Any]:
    """Drive one service through ``jobs`` createJob + getJobResult pairs; report its memory."""
    from omofake.dialects.v1.service import FakeService

    service = FakeService(max_jobs=max_jobs)
    samples = bodies()
    started = time.perf_counter()
    for i in range(jobs):
        created = service.create_job(samples[i % len(samples)]).body
        if created.get("error"):
            raise SystemExit(f"createJob failed: {created}")
        service.get_job_result({"api_token": TOKEN, "job_id": created["job_id"]})
    seconds = time.perf_counter() - started
    gc.collect()
    return {
        "jobs": jobs,
        "jobs_kept": len(service.store),
        "rss": rss_bytes(),
        "seconds": seconds,
    }


def measure(jobs: int, max_jobs: int | None) -> dict[str, Any]:
    command = [sys.executable, os.path.abspath(__file__), "--child", str(jobs)]
    command += ["--max-jobs", str(max_jobs) if max_jobs is not None else "0"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"the measuring subprocess failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", type=positive, default=100_000, help="jobs in the reference run")
    parser.add_argument("--large", type=positive, default=1_000_000, help="jobs in the measured run")
    parser.add_argument(
        "--max-jobs",
        type=int,
        default=SERVE_MAX_JOBS,
        help="the store's bound, as omofake serve --max-jobs; 0 for none (default: %(default)s)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    parser.add_argument("--child", type=positive, help=argparse.SUPPRESS)
    return parser


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, not {text}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    max_jobs = args.max_jobs or None
    if args.child is not None:
        print(json.dumps(child(args.child, max_jobs)))
        return 0
    try:
        small = measure(args.small, max_jobs)
        large = measure(args.large, max_jobs)
    except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
        print(f"memory benchmark: broken run: {exc}", file=sys.stderr)
        return 2
    ratio = large["rss"] / small["rss"]
    result = {
        "max_jobs": max_jobs,
        "jobs_small": small["jobs"],
        "jobs_large": large["jobs"],
        "jobs_kept_small": small["jobs_kept"],
        "jobs_kept_large": large["jobs_kept"],
        "rss_small": small["rss"],
        "rss_large": large["rss"],
        "seconds_small": small["seconds"],
        "seconds_large": large["seconds"],
        "ratio": ratio,
        "target": TARGET_RATIO,
        "passed": ratio <= TARGET_RATIO,
    }
    if args.json:
        print(json.dumps(result))
    else:
        mib = 1024 * 1024
        print(
            f"omofake memory: store bounded at {max_jobs or 'no'} jobs\n"
            f"  {small['jobs']:>9} jobs: RSS {small['rss'] / mib:7.1f} MiB "
            f"({small['jobs_kept']} kept, {small['seconds']:.1f} s)\n"
            f"  {large['jobs']:>9} jobs: RSS {large['rss'] / mib:7.1f} MiB "
            f"({large['jobs_kept']} kept, {large['seconds']:.1f} s)\n"
            f"  ratio     {ratio:7.2f}  (target: {TARGET_RATIO} or less) "
            + ("met" if result["passed"] else "NOT met")
        )
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
