"""The ``omofake`` command: ``serve`` the fake API, ``validate`` recorded exchanges against the
contract, export the ``schemas`` and the ``openapi`` document."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from omofake import __version__
from omofake.accounts import check_prices
from omofake.app import DEFAULT_MAX_BODY
from omofake.exchanges import FORMATS, Report, TextReport, report_for, validate_paths
from omofake.journal import Exchange, mask_token
from omofake.openapi import DEFAULT_SERVER_URL, openapi_document
from omofake.pricing import money
from omofake.registry import SCHEMA_NAMES, load_schema, schema_dir
from omofake.server import FakeServer

log = logging.getLogger("omofake.serve")

#: How many exchanges a long-running server keeps in memory (the record file keeps them all).
SERVE_JOURNAL_SIZE = 1000
#: The estimated bytes of request bodies that journal keeps: 1,000 big images would be 20 GB.
SERVE_JOURNAL_BYTES = 64 * 1024 * 1024
#: How many jobs ``serve`` keeps unless ``--max-jobs`` says otherwise.
SERVE_MAX_JOBS = 100_000


class CliError(Exception):
    """A problem with the command line or its input: printed without a traceback, exit 2."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        run: Callable[[argparse.Namespace], int] = args.run
        code = run(args)
    except CliError as exc:
        print(f"omofake: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="omofake",
        description="A fake OMOcaptcha API for tests: serve it, check traffic against its contract.",
    )
    parser.add_argument("--version", action="version", version=f"omofake {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    add_serve(commands)
    add_validate(commands)
    add_schemas(commands)
    add_openapi(commands)
    return parser


Subparsers = Any  # argparse's _SubParsersAction is private


def add_serve(commands: Subparsers) -> None:
    serve = commands.add_parser(
        "serve",
        help="run the fake API server until Ctrl-C",
        description="Run the fake OMOcaptcha API. Prints the URL once it accepts connections, "
        "and one line per request (tokens masked) to standard error.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    serve.add_argument(
        "--port", type=_port, default=8765, help="port to bind, 0 for a free one (default: %(default)s)"
    )
    serve.add_argument(
        "--latency",
        type=_latency,
        metavar="SECONDS[:MAX]",
        help="seconds added before each answer, or a MIN:MAX range",
    )
    serve.add_argument(
        "--running-polls",
        type=_non_negative(int),
        metavar="N",
        help="polls that answer 'running' before a job is done (default: 0)",
    )
    serve.add_argument(
        "--solve-after",
        type=_non_negative(float),
        metavar="SECONDS",
        help="seconds after creation before a job is done (default: 0)",
    )
    serve.add_argument(
        "--fail-rate",
        type=_probability,
        metavar="P",
        help="probability, 0 to 1, that a job ends in 'fail' (default: 0)",
    )
    serve.add_argument("--seed", type=int, help="make job ids and results the same run to run")
    serve.add_argument(
        "--token",
        action="append",
        dest="tokens",
        metavar="TOKEN",
        help="accept only this api_token (repeat for several; default: any non-empty token)",
    )
    serve.add_argument(
        "--strict",
        action="store_true",
        help="require the documented forms: type_job_id as text, job_id as a number",
    )
    serve.add_argument(
        "--balance",
        type=_amount,
        metavar="AMOUNT",
        help="every token's starting balance, e.g. 0.00300 (default: 1000.00000)",
    )
    serve.add_argument(
        "--price",
        type=_price,
        action="append",
        dest="prices",
        metavar="TYPE=AMOUNT",
        help="what a job of one type costs, e.g. 30=0.001 (repeat; default: the getService list)",
    )
    serve.add_argument(
        "--balance-error",
        metavar="MESSAGE",
        help="createJob's message when the balance cannot pay (default: 'Balance is not enough.')",
    )
    serve.add_argument(
        "--timing",
        choices=("instant", "realistic"),
        help="realistic: each job takes its type's listed avg_time to solve (default: instant)",
    )
    serve.add_argument(
        "--speed",
        type=_positive_float,
        metavar="FACTOR",
        help="with --timing realistic, run that many times faster, e.g. 100 (default: 1)",
    )
    serve.add_argument(
        "--max-body",
        type=_non_negative(int),
        default=DEFAULT_MAX_BODY,
        metavar="BYTES",
        help="largest request body accepted, larger ones get 413 (default: %(default)s)",
    )
    serve.add_argument(
        "--record",
        type=_record_file,
        metavar="FILE",
        help="append every exchange to FILE as JSON Lines (tokens masked), for omofake validate",
    )
    serve.add_argument(
        "--max-jobs",
        type=_positive_int,
        default=SERVE_MAX_JOBS,
        metavar="N",
        help="jobs kept in memory; past it the job finished longest ago is forgotten first "
        "(default: %(default)s)",
    )
    serve.add_argument("--quiet", action="store_true", help="do not log each request")
    serve.set_defaults(run=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    # A flag left out is None, which FakeServer reads as "not set": the defaults apply.
    server = FakeServer(
        args.host,
        args.port,
        seed=args.seed,
        strict=args.strict,
        tokens=args.tokens,
        max_body=args.max_body,
        record=args.record,
        journal_size=SERVE_JOURNAL_SIZE,
        journal_bytes=SERVE_JOURNAL_BYTES,
        max_jobs=args.max_jobs,
        latency=args.latency,
        running_polls=args.running_polls,
        solve_after=args.solve_after,
        fail_rate=args.fail_rate,
        balance=args.balance,
        prices=None if args.prices is None else dict(args.prices),
        balance_error=args.balance_error,
        timing=args.timing,
        speed=args.speed,
    )
    if not args.quiet:
        server.journal.listeners.append(log_exchange)
    return asyncio.run(_serve(server))


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, 1 or more, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number, 1 or more, not {text!r}")
    return value


def _record_file(text: str) -> str:
    # Checked here, so that a bad path is a flag error (exit 2) rather than a failure once the
    # server is set up; the file itself is only created (or appended to) by the server.
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"cannot record to {text}: it is a folder")
    folder = path.parent
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"cannot record to {text}: no folder {folder}")
    if not os.access(path if path.exists() else folder, os.W_OK):
        raise argparse.ArgumentTypeError(f"cannot record to {text}: permission denied")
    return text


def add_validate(commands: Subparsers) -> None:
    validate = commands.add_parser(
        "validate",
        help="check recorded exchanges against the API contract",
        description="Check files of exchanges (as omofake serve --record writes them) against the "
        "JSON Schemas: each request, each answer, getJobResult answers against their job type's "
        "result format. One line per violation (file:line: endpoint, JSON path, expected, found), "
        "then a summary. Exit status: 0 all hold, 1 any violation, 2 input that cannot be read "
        "as exchanges (missing file, not JSON, a line that is not an exchange object).",
    )
    validate.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="JSON Lines of exchanges (streamed), a .json file of one exchange or a list, "
        "or - for standard input",
    )
    validate.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="report format: text for people, json for machines, junit (JUnit XML) for CI "
        "servers (default: %(default)s)",
    )
    validate.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the report to FILE; standard output then shows the text report",
    )
    validate.set_defaults(run=run_validate)


def run_validate(args: argparse.Namespace) -> int:
    output: IO[str] | None = None
    if args.output is not None:
        try:
            output = open(args.output, "w", encoding="utf-8")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise CliError(f"cannot write the report to {args.output}: {exc.strerror or exc}") from None
    try:
        reports: list[Report] = []
        if output is not None:
            reports.append(report_for(args.format, output, output))
        if output is not None or args.format == "text":
            reports.append(TextReport(sys.stdout, sys.stderr))
        else:
            # A machine format owns standard output; people still see unreadable input.
            reports += [report_for(args.format, sys.stdout), TextReport(None, sys.stderr)]
        return validate_paths(args.files, reports).exit_code
    finally:
        if output is not None:
            output.close()


def add_schemas(commands: Subparsers) -> None:
    schemas = commands.add_parser(
        "schemas",
        help="list the JSON Schema files, or copy them to a folder",
        description="List the shipped JSON Schema files (draft 2020-12): name, $id, path. With "
        "--out, copy them to a folder for validators in other languages; they refer to each "
        "other by $id only.",
    )
    schemas.add_argument("--out", metavar="DIR", help="write copies of the files to DIR (made if missing)")
    schemas.set_defaults(run=run_schemas)


def run_schemas(args: argparse.Namespace) -> int:
    folder = schema_dir()
    if args.out is None:
        rows = [(name, str(load_schema(name)["$id"]), str(folder / f"{name}.json")) for name in SCHEMA_NAMES]
        name_width, id_width = (max(len(row[i]) for row in rows) for i in (0, 1))
        for name, schema_id, path in rows:
            print(f"{name:<{name_width}}  {schema_id:<{id_width}}  {path}")
        return 0
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name in SCHEMA_NAMES:
            target = out / f"{name}.json"
            target.write_bytes((folder / f"{name}.json").read_bytes())
            print(target)
    except OSError as exc:
        raise CliError(f"cannot write the schemas to {args.out}: {exc.strerror or exc}") from None
    return 0


def add_openapi(commands: Subparsers) -> None:
    openapi = commands.add_parser(
        "openapi",
        help="print the OpenAPI 3.1 document of the API (JSON)",
        description="Print an OpenAPI 3.1 document of the API, built from the JSON Schema files. "
        "A running server serves the same document at GET /openapi.json.",
    )
    openapi.add_argument(
        "--server-url",
        default=DEFAULT_SERVER_URL,
        metavar="URL",
        help="the document's servers entry (default: %(default)s, where omofake serve listens)",
    )
    openapi.add_argument("-o", "--output", metavar="FILE", help="write the document to FILE")
    openapi.set_defaults(run=run_openapi)


def run_openapi(args: argparse.Namespace) -> int:
    document = openapi_document(args.server_url)
    if args.output is not None:
        try:
            with open(args.output, "w", encoding="utf-8") as fh:
                fh.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        except OSError as exc:
            raise CliError(f"cannot write to {args.output}: {exc.strerror or exc}") from None
        return 0
    # Vietnamese text as is where the terminal takes UTF-8, escaped (still the same JSON) elsewhere.
    utf8 = (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "") == "utf8"
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=not utf8) + "\n")
    return 0


async def _serve(server: FakeServer) -> int:
    try:
        await server.start_async()
    except OSError as exc:
        raise CliError(f"cannot listen on {server.host}:{server.port}: {exc.strerror or exc}") from exc
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # The URL on stdout, flushed, is the readiness signal scripts wait for.
    print(server.url, flush=True)
    log.info("omofake serving the OMOcaptcha API at %s/api (Ctrl-C to stop)", server.url)
    try:
        await stop.wait()
    finally:
        await server.stop_async()
        log.info("omofake stopped after %d request(s)", server.journal.total)
    return 0


def log_exchange(exchange: Exchange) -> None:
    request: dict[str, Any] = exchange.request if isinstance(exchange.request, dict) else {}
    data: dict[str, Any] = request["data"] if isinstance(request.get("data"), dict) else {}
    parts = [
        f"{exchange.method} {exchange.path} {exchange.status}",
        f"token={mask_token(request.get('api_token'))}",
    ]
    if exchange.type_job_id is not None or "type_job_id" in data:
        parts.append(f"type={exchange.type_job_id or data.get('type_job_id')}")
    if exchange.job_id is not None:
        parts.append(f"job={exchange.job_id}")
    response = exchange.response
    parts.append(str(response.get("message") or response.get("status")))
    log.info(" ".join(parts))


def _port(text: str) -> int:
    value: int = _non_negative(int)(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 to 65535, not {text}")
    return value


def _non_negative(kind: Callable[[str], Any]) -> Callable[[str], Any]:
    noun = "whole number" if kind is int else "number"

    def convert(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {noun} of 0 or more, not {text!r}") from None
        if value < 0:
            raise argparse.ArgumentTypeError(f"expected a {noun} of 0 or more, not {text!r}")
        return value

    convert.__name__ = kind.__name__
    return convert


def _probability(text: str) -> float:
    value: float = _non_negative(float)(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"a probability is 0 to 1, not {text}")
    return value


def _amount(text: str) -> Decimal:
    try:
        return money(text, "the amount")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _price(text: str) -> tuple[str, Decimal]:
    type_id, sep, amount = text.partition("=")
    if not sep or not type_id.strip().isdigit():
        raise argparse.ArgumentTypeError(f"expected TYPE=AMOUNT, such as 30=0.001, not {text!r}")
    try:
        check_prices({type_id.strip(): amount})
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return type_id.strip(), _amount(amount)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number above 0, such as 100, not {text!r}")
    return value


def _latency(text: str) -> float | tuple[float, float]:
    low, _, high = text.partition(":")
    seconds = _non_negative(float)
    if not high:
        return float(seconds(low))
    bounds = (float(seconds(low)), float(seconds(high)))
    if bounds[0] > bounds[1]:
        raise argparse.ArgumentTypeError(f"the latency range {text} has its minimum above its maximum")
    return bounds


if __name__ == "__main__":
    raise SystemExit(main())
