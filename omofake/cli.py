"""The ``omofake`` command: ``serve`` the fake API, ``wait`` until one answers, ``validate``
recorded exchanges against the contract, export the ``schemas`` and the ``openapi`` document."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import http.client
import ipaddress
import json
import logging
import math
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from omofake import __version__
from omofake.contract.exchanges import FORMATS, Report, TextReport, report_for, validate_paths
from omofake.contract.openapi import DEFAULT_SERVER_URL, openapi_document
from omofake.contract.registry import SCHEMA_NAMES, load_schema, schema_path
from omofake.core.accounts import check_prices
from omofake.core.clock import ManualClock
from omofake.core.journal import Exchange, hide_token, json_type, mask_token
from omofake.core.pricing import money
from omofake.core.scenario import Scenario, ScenarioError, load_scenario
from omofake.http.app import DEFAULT_MAX_BODY
from omofake.http.control import CONTROL_PREFIX, TOKEN_HEADER
from omofake.http.server import FakeServer

log = logging.getLogger("omofake.serve")

#: How many exchanges a long-running server keeps in memory (the record file keeps them all).
SERVE_JOURNAL_SIZE = 1000
#: The estimated bytes of request bodies that journal keeps: 1,000 big images would be 20 GB.
SERVE_JOURNAL_BYTES = 64 * 1024 * 1024
#: How many jobs ``serve`` keeps unless ``--max-jobs`` says otherwise.
SERVE_MAX_JOBS = 100_000
#: The most characters of one client-supplied value a log line shows.
LOG_VALUE_LIMIT = 80


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
    add_wait(commands)
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
    # No defaults here but None: a flag given wins over a scenario file's [server] setting,
    # which wins over SERVE_DEFAULTS (applied in run_serve).
    serve.add_argument(
        "--config",
        metavar="FILE",
        help="a scenario file (TOML, or JSON by its .json suffix): [server] settings by their flag "
        "names, which flags given here override, and [[configure]] calls, the server's baseline",
    )
    serve.add_argument("--host", help="address to bind (default: 127.0.0.1)")
    serve.add_argument("--port", type=_port, help="port to bind, 0 for a free one (default: 8765)")
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
        type=_token,
        metavar="TOKEN",
        help="accept only this api_token (repeat for several; default: any non-empty token)",
    )
    serve.add_argument(
        "--strict",
        action="store_true",
        default=None,
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
        type=_at_least_one,
        metavar="BYTES",
        help=f"largest request body accepted, larger ones get 413 (default: {DEFAULT_MAX_BODY})",
    )
    serve.add_argument(
        "--idle-timeout",
        type=_positive_float,
        metavar="SECONDS",
        help="close a keep-alive connection idle this long between requests (default: 75)",
    )
    serve.add_argument(
        "--header-timeout",
        type=_positive_float,
        metavar="SECONDS",
        help="close a connection that has not sent a complete request head this long after it "
        "opened or after its last answer, a slowloris (default: 10)",
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
        metavar="N",
        help="jobs kept in memory; past it the job finished longest ago is forgotten first "
        f"(default: {SERVE_MAX_JOBS})",
    )
    serve.add_argument(
        "--ready-file",
        type=_writable_file,
        metavar="FILE",
        help="write the URL to FILE (atomically) once the server accepts connections, and remove "
        "FILE when it stops; omofake wait --ready-file FILE waits for it",
    )
    serve.add_argument(
        "--manual-clock",
        action="store_true",
        default=None,
        help='run on a clock that moves only when told to (POST /_omofake/clock {"advance": S}), '
        "so solve_after and realistic timing take no real time",
    )
    serve.add_argument(
        "--no-control",
        dest="control",
        action="store_false",
        default=None,
        help="serve no control API: /_omofake/... paths are then unknown paths of the API",
    )
    serve.add_argument(
        "--control-token",
        type=_control_token,
        metavar="TOKEN",
        help=f"require the header {TOKEN_HEADER}: TOKEN on every control call "
        f"(default: ${CONTROL_TOKEN_ENV} if set, else none)",
    )
    serve.add_argument(
        "--no-direct",
        dest="direct",
        action="store_false",
        default=None,
        help="route every request through aiohttp's web layer instead of answering the common one "
        "directly: the same answers, slower (to tell the two apart)",
    )
    serve.add_argument("--quiet", action="store_true", default=None, help="do not log each request")
    serve.set_defaults(run=run_serve, serve_parser=serve)


#: The settings ``serve`` applies when neither a flag nor the scenario file gives one.
SERVE_DEFAULTS: dict[str, Any] = {
    "host": "127.0.0.1",
    "port": 8765,
    "strict": False,
    "max_body": DEFAULT_MAX_BODY,
    "max_jobs": SERVE_MAX_JOBS,
    "manual_clock": False,
    "control": True,
    "direct": True,
    "quiet": False,
}
#: Where ``serve`` reads the control token when ``--control-token`` is not given.
CONTROL_TOKEN_ENV = "OMOFAKE_CONTROL_TOKEN"
#: Flags a scenario file's [server] table cannot set.
_NOT_IN_SCENARIO = frozenset({"help", "config"})


def run_serve(args: argparse.Namespace) -> int:
    scenario = _settle_serve_settings(args)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(EscapingFormatter("%(asctime)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    if args.quiet:
        logging.getLogger("omofake.control").setLevel(logging.WARNING)
    # A flag left out is None, which FakeServer reads as "not set": the defaults apply.
    try:
        server = _make_server(args, scenario)
    except (TypeError, ValueError) as exc:
        raise CliError(str(exc)) from None
    if not args.quiet:
        server.journal.listeners.append(log_exchange)
    ready_file = Path(args.ready_file) if args.ready_file is not None else None
    # The process is the server's alone: what start-up made (modules, schemas) lives as long
    # as it does, so the collector need not walk it again; and answers make many short-lived
    # containers, so a larger first generation collects less often (about 4% of a request's
    # CPU, benchmarks/growth.py).
    gc.freeze()
    gc.set_threshold(10_000, *gc.get_threshold()[1:])
    return asyncio.run(_serve(server, ready_file))


def _make_server(args: argparse.Namespace, scenario: Scenario | None) -> FakeServer:
    return FakeServer(
        args.host,
        args.port,
        seed=args.seed,
        strict=args.strict,
        tokens=args.tokens,
        max_body=args.max_body,
        idle_timeout=args.idle_timeout,
        header_timeout=args.header_timeout,
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
        clock=ManualClock() if args.manual_clock else None,
        control=args.control,
        control_token=args.control_token if args.control else None,
        direct=args.direct,
        scenario=None if scenario is None else scenario.configure,
    )


def _settle_serve_settings(args: argparse.Namespace) -> Scenario | None:
    """Fill in what the command line left out (None): from the environment (the control
    token), then the scenario file's [server] table, then :data:`SERVE_DEFAULTS`."""
    if args.control is False and args.control_token is not None:
        raise CliError("--control-token goes with the control API: drop --no-control, or the token")
    if args.control_token is None and os.environ.get(CONTROL_TOKEN_ENV):
        args.control_token = os.environ[CONTROL_TOKEN_ENV]
    scenario = None
    if args.config is not None:
        try:
            scenario = load_scenario(args.config)
        except ScenarioError as exc:
            raise CliError(str(exc)) from None
        for dest, value in _scenario_settings(scenario, args.serve_parser).items():
            if getattr(args, dest) is None:
                setattr(args, dest, value)
    for dest, value in SERVE_DEFAULTS.items():
        if getattr(args, dest) is None:
            setattr(args, dest, value)
    return scenario


def _scenario_settings(scenario: Scenario, parser: argparse.ArgumentParser) -> dict[str, Any]:
    """The [server] table's settings by the flags' destinations, each checked as its flag is."""
    flags: dict[str, argparse.Action] = {}
    for flag in parser._actions:  # argparse has no public way to list a parser's flags
        for option in flag.option_strings:
            name = option.lstrip("-").replace("-", "_")
            if option.startswith("--") and name not in _NOT_IN_SCENARIO:
                flags[name] = flag
    settings: dict[str, Any] = {}
    for key, value in scenario.server.items():
        action = flags.get(key)
        if action is None:
            known = ", ".join(sorted(flags))
            raise CliError(str(scenario.error("server", key, f"unknown serve setting; known: {known}")))
        try:
            setting = _scenario_setting(action, value)
        except (argparse.ArgumentTypeError, ValueError) as exc:
            raise CliError(str(scenario.error("server", key, str(exc)))) from None
        if setting is not None:
            settings[action.dest] = setting
    return settings


def _scenario_setting(action: argparse.Action, value: Any) -> Any:
    if action.nargs == 0:  # a switch: --strict, --no-control
        if not isinstance(value, bool):
            raise argparse.ArgumentTypeError(f"expected true or false, not {value!r}")
        return action.const if value else None
    if isinstance(action, argparse._AppendAction):  # --token, --price: a list, or one value
        values = value if isinstance(value, list) else [value]
        return [_flag_value(action, item) for item in values] or None
    if isinstance(value, list) and len(value) == 2 and action.dest == "latency":
        value = ":".join(str(bound) for bound in value)  # [min, max], as in configure
    return _flag_value(action, value)


def _flag_value(action: argparse.Action, value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise argparse.ArgumentTypeError(f"expected text or a number, as the flag takes, not {value!r}")
    if action.type is None and not isinstance(value, str):
        raise argparse.ArgumentTypeError(f"expected text, not {value!r}")
    convert: Callable[[str], Any] = action.type if callable(action.type) else str
    converted = convert(value if isinstance(value, str) else str(value))
    if action.choices is not None and converted not in action.choices:
        choices = ", ".join(repr(choice) for choice in action.choices)
        raise argparse.ArgumentTypeError(f"expected one of {choices}, not {value!r}")
    return converted


def _non_empty(refusal: str) -> Callable[[str], str]:
    """A flag's type: any text but the empty one, which gets ``refusal``."""

    def check(text: str) -> str:
        if not text:
            raise argparse.ArgumentTypeError(refusal)
        return text

    return check


_control_token = _non_empty("a control token cannot be empty")
_token = _non_empty("a token cannot be empty (the API refuses an empty api_token)")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, 1 or more, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number, 1 or more, not {text!r}")
    return value


def _record_file(text: str) -> str:
    return _checked_target(text, "record to")


def _writable_file(text: str) -> str:
    return _checked_target(text, "write")


def _checked_target(text: str, doing: str) -> str:
    # Checked here, so that a bad path is a flag error (exit 2) rather than a failure once the
    # server is set up; the file itself is only created (or appended to) by the server.
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"cannot {doing} {text}: it is a folder")
    folder = path.parent
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"cannot {doing} {text}: no folder {folder}")
    if not os.access(path if path.exists() else folder, os.W_OK):
        raise argparse.ArgumentTypeError(f"cannot {doing} {text}: permission denied")
    return text


def add_wait(commands: Subparsers) -> None:
    wait = commands.add_parser(
        "wait",
        help="wait until a server answers over HTTP (for scripts that start omofake serve &)",
        description="Wait until the server at URL answers an HTTP request (GET /openapi.json, "
        "which the fake does not record; any HTTP answer will do), or, with --ready-file, until "
        "omofake serve --ready-file FILE has written its URL there and it answers. Prints the "
        "URL. Exit status: 0 once it answers, "
        "1 when --timeout passes first, 2 for a bad URL. Proxy settings are ignored: the fake "
        "is reached directly.",
    )
    wait.add_argument("url", nargs="?", metavar="URL", help="the server's URL, e.g. http://127.0.0.1:8765")
    wait.add_argument(
        "--ready-file", metavar="FILE", help="read the URL from FILE, written by omofake serve --ready-file"
    )
    wait.add_argument(
        "--timeout",
        type=_finite_non_negative,
        default=10.0,
        metavar="SECONDS",
        help="give up after this long (default: %(default)s)",
    )
    wait.set_defaults(run=run_wait)


#: How long ``omofake wait`` sleeps between two tries.
WAIT_INTERVAL = 0.1


def run_wait(args: argparse.Namespace) -> int:
    if (args.url is None) == (args.ready_file is None):
        raise CliError("wait: give either a URL or --ready-file FILE")
    if args.url is not None:
        _check_url(args.url)
    # No proxy: a proxy would answer for a fake that is not up, and could not reach loopback.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + args.timeout
    last = "not tried"
    while True:
        url = args.url if args.url is not None else _read_ready_file(Path(args.ready_file))
        if url is None:
            last = f"{args.ready_file} not written yet"
        else:
            if args.ready_file is not None:
                _check_url(url)
            left = max(deadline - time.monotonic(), 0.05)
            reason = _probe(opener, url, min(left, 2.0))
            if reason is None:
                print(url, flush=True)
                return 0
            last = reason
        if time.monotonic() >= deadline:
            target = args.url if args.url is not None else f"the server of {args.ready_file}"
            print(
                f"omofake: error: no answer from {target} within {args.timeout:g} s (last try: {last})",
                file=sys.stderr,
            )
            return 1
        time.sleep(min(WAIT_INTERVAL, max(deadline - time.monotonic(), 0)))


def _check_url(url: str) -> None:
    if not url.startswith(("http://", "https://")):
        raise CliError(f"wait: {url!r} is not an http:// URL")


def _read_ready_file(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text or None


def _probe(opener: urllib.request.OpenerDirector, url: str, timeout: float) -> str | None:
    """None if the server of ``url`` gave an HTTP answer (whatever its status), else why not.

    It asks for ``/openapi.json``, which the fake serves without journaling or recording it:
    waiting leaves no trace in what the tests then check.
    """
    parts = urllib.parse.urlsplit(url)
    probe = urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/openapi.json", "", ""))
    try:
        with opener.open(urllib.request.Request(probe, method="GET"), timeout=timeout):
            return None
    except urllib.error.HTTPError as answer:  # a 404 or a 405 is an answer all the same
        answer.close()
        return None
    except urllib.error.URLError as exc:
        reason = exc.reason
        return reason.strerror or str(reason) if isinstance(reason, OSError) else str(reason)
    except (OSError, http.client.HTTPException) as exc:
        return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    except ValueError as exc:  # not a URL urllib can open
        raise CliError(f"wait: {url!r} is not a URL: {exc}") from None


def add_validate(commands: Subparsers) -> None:
    validate = commands.add_parser(
        "validate",
        help="check recorded exchanges against the API contract",
        description="Check files of exchanges (as omofake serve --record writes them) against the "
        "JSON Schemas: each request, each answer, getJobResult answers against their job type's "
        "result format. One line per violation (file:line: endpoint, JSON path, expected, found), "
        "then a summary. Exit status: 0 all hold, 1 any violation, 2 input that cannot be read "
        "as exchanges (missing file, not JSON, a line that is not an exchange object, a last line "
        "cut short): each such line is reported (file:line: why) and skipped, and every other "
        "line is still checked.",
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
    if args.out is None:
        rows = [(name, str(load_schema(name)["$id"]), str(schema_path(name))) for name in SCHEMA_NAMES]
        name_width, id_width = (max(len(row[i]) for row in rows) for i in (0, 1))
        for name, schema_id, path in rows:
            print(f"{name:<{name_width}}  {schema_id:<{id_width}}  {path}")
        return 0
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name in SCHEMA_NAMES:
            target = out / f"{name}.json"
            target.parent.mkdir(exist_ok=True)  # a prefixed name ("v2/...") is a subfolder
            target.write_bytes(schema_path(name).read_bytes())
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


async def _serve(server: FakeServer, ready_file: Path | None = None) -> int:
    if ready_file is not None:
        # A file left by an earlier run must not announce a server that is not up yet.
        with contextlib.suppress(FileNotFoundError):
            ready_file.unlink()
    try:
        await server.start_async()
    except OSError as exc:
        raise CliError(f"cannot listen on {server.host}:{server.port}: {exc.strerror or exc}") from exc
    if not _is_loopback(server.host):
        print(
            f"omofake: warning: listening on {server.host or 'every address'}, not a loopback "
            "address: the fake is reachable from the network by anyone who can reach this "
            "machine (--host 127.0.0.1 keeps it local)",
            file=sys.stderr,
            flush=True,
        )
    if ready_file is not None:
        try:
            _write_atomically(ready_file, server.url + "\n")
        except OSError as exc:
            await server.stop_async()
            raise CliError(f"cannot write {ready_file}: {exc.strerror or exc}") from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # The URL on stdout, flushed, is the readiness signal scripts wait for.
    print(server.url, flush=True)
    log.info("omofake serving the OMOcaptcha API at %s/api (Ctrl-C to stop)", server.url)
    if server.control is not None:
        guarded = f" (header {TOKEN_HEADER} required)" if server.control.guarded else ""
        log.info("control API at %s%s%s", server.url, CONTROL_PREFIX, guarded)
    try:
        await stop.wait()
    finally:
        if ready_file is not None:
            with contextlib.suppress(OSError):
                ready_file.unlink()
        await server.stop_async()
        log_exchange.flush()
        log.info("omofake stopped after %d request(s)", server.journal.total)
    return 0


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name, or "" (every address): it may be reached from anywhere
        return False


def _write_atomically(path: Path, text: str) -> None:
    # Readers see no file or the whole URL, never half of it.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


class RequestLog:
    """The request log of ``omofake serve``: one line per exchange, every value the client chose
    escaped and cut short.

    Each line is formatted as the ``logging`` setup of :func:`run_serve` would format it
    (``2026-01-01 12:00:00,123 POST /api/createJob 200 ...``, stamped with the exchange's own
    time), without a pass through ``logging``, and buffered: the exchanges of one turn of the
    event loop are formatted and written together at the start of the next, once their answers
    went out (a line follows its answer by well under a millisecond). Off the loop's thread (a
    large body's exchange is journaled on a worker thread), or with no loop running, a line is
    written at once.
    """

    def __init__(self, stream: IO[str] | None = None) -> None:
        #: None: ``sys.stderr`` at the time of writing.
        self.stream = stream
        self._pending: list[Exchange] = []
        self._lock = threading.Lock()
        self._scheduled: asyncio.AbstractEventLoop | None = None
        self._second = -1
        self._stamp = ""

    def __call__(self, exchange: Exchange) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        with self._lock:
            self._pending.append(exchange)
            if loop is not None and self._scheduled is loop:
                return
            if loop is not None:
                # On this loop: a flush scheduled on another (stopped since) would never run.
                self._scheduled = loop
        if loop is None:
            self.flush()
        else:
            loop.call_soon(self.flush)

    def format(self, exchange: Exchange) -> str:
        """The line for an exchange, stamped with its time, with its newline."""
        now = exchange.time.timestamp()
        second = int(now)
        if second != self._second:
            # logging's %(asctime)s: local time to the second, then the milliseconds.
            self._stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
            self._second = second
        text = exchange_line(exchange)
        if not text.isprintable():  # a last guard, as EscapingFormatter is for other lines
            text = escape_controls(text)
        return f"{self._stamp},{int((now - second) * 1000):03d} {text}\n"

    def flush(self) -> None:
        """Write the lines of the exchanges seen so far. Formatted here, not as each exchange
        comes: after the answers of a loop turn went out, not before each of them."""
        with self._lock:
            pending, self._pending = self._pending, []
            self._scheduled = None
            if not pending:
                return
            text = "".join([self.format(exchange) for exchange in pending])
        stream = self.stream if self.stream is not None else sys.stderr
        try:
            stream.write(text)
            stream.flush()
        except (OSError, ValueError):  # a closed or broken stderr must not break answering
            pass


def exchange_line(exchange: Exchange) -> str:
    """What the request log says of one exchange (without its time stamp)."""
    request: dict[str, Any] = exchange.request if isinstance(exchange.request, dict) else {}
    data = request.get("data")
    if not isinstance(data, dict):
        data = {}
    # The token as the dialect names it (v1 api_token, v2 clientKey), masked.
    sent = exchange.token if exchange.token is not None else request.get("api_token")
    has_token = sent is not None or "api_token" in request
    kind: Any = _ABSENT
    if exchange.type_job_id is not None or "type_job_id" in data:
        kind = exchange.type_job_id or data.get("type_job_id")
    response = exchange.response
    said = response.get("message") or response.get("status")
    key = (exchange.method, exchange.path, exchange.status, sent, has_token, kind, exchange.fault, said)
    # Most lines repeat all but their job id: their parts are kept (text only, short only: a
    # number token 1 and a boolean true would share a key, and a client's huge values no place).
    cached = (
        isinstance(sent, str)
        and (kind is _ABSENT or isinstance(kind, str))
        and isinstance(said, str)
        and len(sent) + len(said) + len(exchange.path) <= _CACHED_TEXT
    )
    parts = _LINE_PARTS.get(key) if cached else None
    if parts is None:
        parts = _line_parts(exchange, sent, has_token, kind, said)
        if cached:
            if len(_LINE_PARTS) >= _CACHED_LINES:
                _LINE_PARTS.clear()
            _LINE_PARTS[key] = parts
    job = exchange.job_id
    return parts[0] if job is None else f"{parts[1]} job={job}{parts[2]}"


def _line_parts(exchange: Exchange, sent: Any, has_token: bool, kind: Any, said: Any) -> tuple[str, str, str]:
    # The line without a job id, and its two sides of where a job id goes.
    token = shown(mask_token(sent)) if has_token else "-"
    head = f"{shown(exchange.method)} {shown(exchange.path)} {exchange.status} token={token}"
    if kind is not _ABSENT:
        head += f" type={shown(kind)}"
    tail = f" fault={exchange.fault}" if exchange.fault is not None else ""
    if isinstance(said, str) and has_token:
        said = hide_token(said, sent)
    tail += f" {shown(said)}"
    return head + tail, head, tail


_ABSENT = object()
# Lines whose parts are kept, at most, and the longest text (token, message, path) kept.
_CACHED_LINES = 1024
_CACHED_TEXT = 512
_LINE_PARTS: dict[tuple[Any, ...], tuple[str, str, str]] = {}


#: The request log ``omofake serve`` adds to its journal's listeners unless ``--quiet``.
log_exchange = RequestLog()


_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def shown(value: Any, limit: int = LOG_VALUE_LIMIT) -> str:
    """A value as a log line shows it: one line, no terminal control, at most ``limit``
    characters of it (escapes aside): ``"30\\n2026-01-01 ..."``, ``\\x1b[31m``."""
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return f"<{json_type(value)}>"  # never the contents: they may be huge or deep
    text = value if isinstance(value, str) else str(value)
    if len(text) <= limit and text.isprintable() and "\\" not in text:
        return text  # the common case: nothing to escape, nothing to cut
    cut = text[:limit]
    escaped = "".join(_ESCAPES.get(c, c) if c.isprintable() or c in _ESCAPES else _escape(c) for c in cut)
    return escaped + (f"...(+{len(text) - limit} chars)" if len(text) > limit else "")


def escape_controls(text: str) -> str:
    """``text`` with every non-printable character escaped (``\\n``, ``\\x1b``); backslashes kept."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def _escape(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


class EscapingFormatter(logging.Formatter):
    """Keeps every log message on one line of plain text, whatever a client put in it: a last
    guard for messages that carry a path or a value from a request."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = escape_controls(record.message)
        return super().formatMessage(record)


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
        if isinstance(value, float) and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite {noun} of 0 or more, not {text!r}")
        if value < 0:
            raise argparse.ArgumentTypeError(f"expected a {noun} of 0 or more, not {text!r}")
        return value

    convert.__name__ = kind.__name__
    return convert


def _finite_non_negative(text: str) -> float:
    value: float = _non_negative(float)(text)
    return value


def _at_least_one(text: str) -> int:
    value: int = _non_negative(int)(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, not {text!r}")
    return value


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
