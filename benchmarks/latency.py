"""Latency accuracy: with ``--latency 0.1``, many requests at once must each wait 0.1 s, not more.

``omofake serve --latency 0.1`` (default flags otherwise: the request log on, to a temporary
file) runs in a subprocess, pinned to its own core when there are two or more (the client gets
another). The client opens ``--concurrency`` keep-alive connections (200 by default), then, each
round, writes one createJob request (a realistic base64 image) on every connection at once and
times each from the moment its bytes were written to the end of its answer. The client is an
asyncio protocol that stops each clock in ``data_received`` as the answer's last byte comes, so
that its own reading is not what is measured; ``--client streams`` uses asyncio's streams
instead, whose task wake-up per answer (tens of microseconds each) makes the 200th answer wait
for the client's reading of the 199 before it. Before the fake
stamped each request's arrival, its latency began only once the requests queued before it had
been processed: +13 ms median and +22 ms p99 at 200 at once.

The figures are the median and the 99th percentile of every request of every round, minus the
configured latency. Targets: median within +3 ms, p99 within +10 ms. For comparison, a second
``omofake serve`` without latency gets the same rounds in turn: what 200 requests at once cost
on this machine anyway (client and server processing, the scheduler of a busy machine).

    python benchmarks/latency.py                    # 10 rounds of 200 requests at once
    python benchmarks/latency.py --rounds 20 --concurrency 100 --latency 0.05
    python benchmarks/latency.py --client streams   # the client of the first measurements
    python benchmarks/latency.py --json

Exit status: 0 when both targets are met, 1 when one is not, 2 on a broken run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

from throughput import (
    JOB_TYPES,
    BadAnswer,
    Server,
    create_bodies,
    machine_busy_seconds,
    others_line,
    others_share,
    pin_load_generator,
    running,
)

TARGET_MEDIAN_MS = 3.0
TARGET_P99_MS = 10.0


class Connection:
    """One keep-alive connection of the client."""

    async def exchange(self, request: bytes) -> tuple[float, bytes]:
        """Write one request, read its answer: the seconds between the two, and the answer's body."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class StreamConnection(Connection):
    """asyncio's streams: a task wakes to read each answer (about 40 µs of the client's time
    each, so that 200 answers due together are read over several milliseconds)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def exchange(self, request: bytes) -> tuple[float, bytes]:
        started = time.perf_counter()
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        body = await self.reader.readexactly(_content_length(head))
        return time.perf_counter() - started, body

    def close(self) -> None:
        self.writer.close()


class ProtocolConnection(asyncio.Protocol, Connection):
    """A protocol that stops the clock in ``data_received`` as an answer's last byte comes:
    the client's own cost per answer is a few microseconds, not part of what is measured."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._started = 0.0
        self._done: asyncio.Future[tuple[float, bytes]] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    async def exchange(self, request: bytes) -> tuple[float, bytes]:
        assert self.transport is not None
        self._buffer.clear()
        self._done = asyncio.get_running_loop().create_future()
        self._started = time.perf_counter()
        self.transport.write(request)
        return await self._done

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0 or self._done is None or self._done.done():
            return
        length = _content_length(bytes(self._buffer[: end + 4]))
        if len(self._buffer) >= end + 4 + length:
            elapsed = time.perf_counter() - self._started
            self._done.set_result((elapsed, bytes(self._buffer[end + 4 : end + 4 + length])))

    def connection_lost(self, exc: Exception | None) -> None:
        if self._done is not None and not self._done.done():
            self._done.set_exception(ConnectionError(f"the server closed the connection: {exc}"))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


async def connect(host: str, port: int, client: str) -> Connection:
    if client == "streams":
        return StreamConnection(*await asyncio.open_connection(host, port))
    _, protocol = await asyncio.get_running_loop().create_connection(ProtocolConnection, host, port)
    return protocol


def http_request(host: str, port: int, body: bytes) -> bytes:
    return (
        f"POST /api/createJob HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def one_round(
    fake: Server, connections: list[Connection], request: bytes, latency: float
) -> tuple[list[float], float | None]:
    """Every request written at once; each one's time minus ``latency`` (ms, sorted), and the
    share of the machine other processes used meanwhile."""
    cpu_before, busy_before, wall_before = fake.cpu_seconds(), machine_busy_seconds(), time.time()
    client_before = time.process_time()
    # Every request written before any answer is read: they reach the server at once.
    answers = await asyncio.gather(*(connection.exchange(request) for connection in connections))
    for _, answer in answers:
        if json.loads(answer).get("error") is not False:
            raise BadAnswer(f"createJob answered {answer[:200]!r}")
    cpu_after, busy_after = fake.cpu_seconds(), machine_busy_seconds()
    client = time.process_time() - client_before
    ours = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before + client
    others = others_share(busy_before, busy_after, ours, time.time() - wall_before)
    return sorted((seconds - latency) * 1e3 for seconds, _ in answers), others


async def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    body = create_bodies(args.image_bytes)[JOB_TYPES.index("30")]
    server_cpu = pin_load_generator(args)
    command = [sys.executable, "-m", "omofake", "serve", "--host", args.host, "--port", "0"]
    excess_ms: list[float] = []
    baseline_ms: list[float] = []
    rounds: list[dict[str, float]] = []
    others: list[float] = []
    async with (
        running(
            "fake", [*command, "--latency", str(args.latency), *args.fake_args.split()], server_cpu
        ) as fake,
        # The same without latency, in alternate rounds: how long 200 at once take on this
        # machine anyway (client and server processing, the scheduler), for comparison.
        running("baseline", [*command, *args.fake_args.split()], server_cpu) as baseline,
    ):
        pools: dict[str, tuple[Server, list[Connection], bytes, float]] = {}
        for server, latency in ((fake, args.latency), (baseline, 0.0)):
            port = int(server.url.rsplit(":", 1)[1])
            connections = [await connect(args.host, port, args.client) for _ in range(args.concurrency)]
            pools[server.name] = (server, connections, http_request(args.host, port, body), latency)
        try:
            for round_no in range(args.warmup + args.rounds):
                late, share = await one_round(*pools["fake"])
                await asyncio.sleep(args.pause)
                base, _ = await one_round(*pools["baseline"])
                await asyncio.sleep(args.pause)
                if round_no < args.warmup:
                    continue
                excess_ms += late
                baseline_ms += base
                if share is not None:
                    others.append(share)
                rounds.append(
                    {
                        "median_ms": statistics.median(late),
                        "max_ms": late[-1],
                        "baseline_median_ms": statistics.median(base),
                    }
                )
                if not args.json:
                    print(
                        f"round {len(rounds):>2}: {len(late)} requests at once, latency "
                        f"+{rounds[-1]['median_ms']:.1f} ms median, +{late[-1]:.1f} ms max; "
                        f"without latency {rounds[-1]['baseline_median_ms']:.1f} ms median, "
                        f"{base[-1]:.1f} ms max",
                        file=sys.stderr,
                        flush=True,
                    )
        finally:
            for _, connections, _, _ in pools.values():
                for connection in connections:
                    connection.close()
    excess_ms.sort()
    median = statistics.median(excess_ms)
    p99 = excess_ms[min(len(excess_ms) - 1, int(0.99 * len(excess_ms)))]
    baseline_ms.sort()
    return {
        "latency_s": args.latency,
        "concurrency": args.concurrency,
        "rounds": args.rounds,
        "requests": len(excess_ms),
        "pinned": server_cpu is not None,
        "fake_args": args.fake_args,
        "client": args.client,
        "median_excess_ms": median,
        "p99_excess_ms": p99,
        "min_excess_ms": excess_ms[0],
        "baseline_median_ms": statistics.median(baseline_ms),
        "baseline_p99_ms": baseline_ms[min(len(baseline_ms) - 1, int(0.99 * len(baseline_ms)))],
        "max_excess_ms": excess_ms[-1],
        "target_median_ms": TARGET_MEDIAN_MS,
        "target_p99_ms": TARGET_P99_MS,
        "others_share": statistics.median(others) if others else None,
        "passed": median <= TARGET_MEDIAN_MS and p99 <= TARGET_P99_MS and excess_ms[0] >= -1.0,
        "per_round": rounds,
    }


def summary(result: dict[str, Any]) -> str:
    others = result["others_share"]
    lines = [
        f"omofake latency accuracy: omofake serve --latency {result['latency_s']:g} "
        f"({result['fake_args'] or 'default flags, request log on'}), {result['rounds']} rounds of "
        f"{result['concurrency']} createJob requests at once, {result['client']} client"
        + (", server and client on separate cores" if result["pinned"] else ""),
        f"  median  +{result['median_excess_ms']:.1f} ms over {result['latency_s']:g} s "
        f"(target +{result['target_median_ms']:g} ms or less)",
        f"  p99     +{result['p99_excess_ms']:.1f} ms (target +{result['target_p99_ms']:g} ms or less); "
        f"min {result['min_excess_ms']:+.1f} ms, max +{result['max_excess_ms']:.1f} ms",
        f"  for comparison, the same {result['concurrency']} at once without latency take "
        f"{result['baseline_median_ms']:.1f} ms median, {result['baseline_p99_ms']:.1f} ms p99 "
        "on this machine",
    ]
    if others is not None:
        lines.append(others_line(others, " (median of the rounds)"))
    verdict = "PASS" if result["passed"] else "FAIL"
    lines.append(
        f"{verdict}: median +{result['median_excess_ms']:.1f} ms (<= +{result['target_median_ms']:g}), "
        f"p99 +{result['p99_excess_ms']:.1f} ms (<= +{result['target_p99_ms']:g})"
    )
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--latency", type=float, default=0.1, help="omofake serve --latency (default: 0.1)")
    parser.add_argument("--concurrency", type=int, default=200, help="requests at once (default: 200)")
    parser.add_argument("--rounds", type=int, default=10, help="measured rounds (default: 10)")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured rounds first (default: 2)")
    parser.add_argument("--pause", type=float, default=0.2, help="seconds between rounds (default: 0.2)")
    parser.add_argument("--image-bytes", type=int, default=3000, help="bytes per image (default: 3000)")
    parser.add_argument(
        "--client",
        choices=("protocol", "streams"),
        default="protocol",
        help="the client: an asyncio protocol that times each answer as its last byte comes "
        "(default), or asyncio's streams, whose own reading is part of what they measure",
    )
    parser.add_argument("--fake-args", default="", metavar="ARGS", help="extra flags for omofake serve")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to serve on")
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="do not pin server and client")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = asyncio.run(benchmark(args))
    except (BadAnswer, RuntimeError, OSError, asyncio.IncompleteReadError) as exc:
        print(f"latency: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2) if args.json else summary(result))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
