"""Files of recorded exchanges: reading them as a stream, checking them, and reporting.

The exchange format is one JSON object per exchange::

    {"endpoint": "createJob", "request": {...}, "response": {...}, "status": 200,
     "time": "2024-05-01T12:00:00.000+00:00", "type_job_id": "23"}

``endpoint``, ``request`` and ``response`` are required; ``status`` (checked to be 200 when
present), ``time``, ``type_job_id`` (the job's type, which picks the result format a
getJobResult answer is checked against) and ``fault`` (a transport fault the fake sent instead
of the answer: then only the request is checked) are optional. ``omofake serve --record`` and
``FakeServer(record=...)`` write it (:meth:`omofake.core.journal.Exchange.to_record`).

A file is JSON Lines (``.jsonl`` or any other name), read a line at a time so that a large
recording never sits in memory, or a ``.json`` file holding one exchange or a list of them,
read whole. Two kinds of problem are kept apart:

* a **violation** (exit status 1) is traffic breaking the API contract: a request or answer
  the schemas reject, an endpoint the API does not have, an HTTP status other than 200;
* **unreadable input** (exit status 2, :class:`UnreadableInput`) is a file, or a line, that is
  not in the exchange format at all: missing, not UTF-8, not JSON (a last line cut short by a
  killed recorder is told apart as *truncated*), a line that is not an object, an object
  without the exchange keys, or with a key of the wrong kind. Nothing can be said about the
  contract there. In JSON Lines that line is reported and skipped, and the lines after it are
  still checked (:func:`check_lines`); a ``.json`` document stops at it. The other files are
  checked either way.
"""

from __future__ import annotations

import codecs
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, Protocol
from xml.sax.saxutils import escape, quoteattr

from omofake.contract.registry import ENDPOINTS as _ENDPOINTS
from omofake.contract.validation import Violation, job_id_as_int, reject_json_constant, validate_exchange
from omofake.core.catalogue import CATALOGUE

__all__ = [
    "FORMATS",
    "REQUIRED_KEYS",
    "CheckedExchange",
    "JsonReport",
    "JunitReport",
    "Report",
    "Summary",
    "TextReport",
    "UnreadableInput",
    "check_file",
    "check_lines",
    "read_exchanges",
    "validate_paths",
]

#: The keys every exchange must have.
REQUIRED_KEYS = ("endpoint", "request", "response")
#: The report formats of ``omofake validate``.
FORMATS = ("text", "json", "junit")
#: The name ``-`` (standard input) is shown as.
STDIN_NAME = "<stdin>"

_WHITESPACE = re.compile(r"[ \t\n\r]*")
# Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class UnreadableInput(Exception):
    """A file, or a line of it, that cannot be read as exchanges (exit status 2)."""

    def __init__(self, file: str, line: int | None, reason: str, *, skipped: bool = False) -> None:
        self.file = file
        self.line = line
        self.reason = reason
        #: True for a line of JSON Lines that was skipped, the rest of its file read on.
        self.skipped = skipped
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class CheckedExchange:
    """One exchange of a file and how it breaks the contract (no violations: it holds)."""

    file: str
    #: The line the exchange starts on (JSON Lines: its line).
    line: int
    #: Its position in the file, from 1.
    index: int
    endpoint: str
    #: The job it created or asked about, when the exchange names one.
    job_id: int | None
    #: The job's type: the one a createJob line asked for, or the one a getJobResult answer
    #: was checked against (None: not known, so checked against every type's formats).
    type_job_id: str | None
    violations: tuple[Violation, ...]

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def name(self) -> str:
        """A short title, e.g. ``line 4: getJobResult (job 123456, type 23)``."""
        about = [f"job {self.job_id}"] if self.job_id is not None else []
        about += [f"type {self.type_job_id}"] if self.type_job_id is not None else []
        return f"line {self.line}: {self.endpoint}" + (f" ({', '.join(about)})" if about else "")


def display_name(path: str | os.PathLike[str]) -> str:
    """How reports name a file: as given, with ``-`` shown as ``<stdin>``."""
    text = os.fspath(path)
    return STDIN_NAME if text == "-" else text


def read_exchanges(path: str | os.PathLike[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line, exchange)`` for each exchange of a file, in order; ``-`` is standard input.

    JSON Lines are streamed; a ``.json`` file is read whole (and read as JSON Lines after all
    if it holds more than one JSON value). Raises :class:`UnreadableInput` at the first thing
    that is not an exchange, after yielding the exchanges before it.
    """
    for line, item in _read(path):
        if isinstance(item, UnreadableInput):
            raise item
        yield line, item


def _read(path: str | os.PathLike[str]) -> Iterator[tuple[int, dict[str, Any] | UnreadableInput]]:
    """Each exchange, or each unreadable line (skipped: the next ones are read); raises
    :class:`UnreadableInput` for what ends the file's reading (cannot open it, a broken
    ``.json`` document)."""
    name = display_name(path)
    if name == STDIN_NAME:
        values = _json_lines(sys.stdin.buffer, name)
    else:
        values = _file_values(os.fspath(path), name)
    for line, value in values:
        if isinstance(value, UnreadableInput):
            yield line, value
            continue
        try:
            yield line, _exchange(value, name, line)
        except UnreadableInput as error:  # read whole, just not an exchange: the next one may be
            error.skipped = True
            yield line, error


def check_file(path: str | os.PathLike[str]) -> Iterator[CheckedExchange]:
    """Check each exchange of a file against the contract, as a stream.

    A getJobResult answer is checked against the result format of its job's type: the line's
    own ``type_job_id`` if it has one, else the type learned from an earlier createJob line of
    the same file that created that ``job_id``, else (not known) against every type's formats.
    Raises :class:`UnreadableInput` at the first thing that is not an exchange;
    :func:`check_lines` reads on past an unreadable line.
    """
    for item in check_lines(path):
        if isinstance(item, UnreadableInput):
            raise item
        yield item


def check_lines(path: str | os.PathLike[str]) -> Iterator[CheckedExchange | UnreadableInput]:
    """As :func:`check_file`, but an unreadable line of JSON Lines is yielded (its
    :class:`UnreadableInput`, ``skipped``) and the lines after it are checked too; what ends
    the reading of the whole file is still raised."""
    name = display_name(path)
    job_types: dict[int, str] = {}
    index = 0
    for line, record in _read(path):
        if isinstance(record, UnreadableInput):
            yield record
            continue
        index += 1
        endpoint: str = record["endpoint"]
        request, response = record["request"], record["response"]
        job_id = _job_id(response if endpoint == "createJob" else request) if endpoint in _ENDPOINTS else None
        type_id = _text(record.get("type_job_id"))
        if endpoint == "createJob":
            created = type_id or _text(_get(request, "data", "type_job_id"))
            if job_id is not None and created is not None and created in CATALOGUE:
                # The catalogue's own string: one object per type, however many jobs a file has.
                job_types[job_id] = CATALOGUE[created].id
            type_id = created
        elif endpoint == "getJobResult" and type_id is None and job_id is not None:
            type_id = job_types.get(job_id)
        violations = validate_exchange(
            endpoint,
            request,
            response,
            status=record.get("status"),
            type_job_id=type_id if endpoint in ("getJobResult", "v2/getTaskResult") else None,
            fault=record.get("fault"),
        )
        yield CheckedExchange(
            name,
            line,
            index,
            endpoint,
            job_id,
            type_id,
            tuple(v.at(name, line) for v in violations),
        )


# Reading


def _file_values(path: str, name: str) -> Iterator[tuple[int, Any]]:
    try:
        with open(path, "rb") as stream:
            if path.lower().endswith(".json"):
                yield from _json_document(stream.read(), name)
            else:
                yield from _json_lines(stream, name)
    except OSError as exc:  # missing, a folder, no permission, an I/O error
        raise UnreadableInput(name, None, f"cannot read it: {exc.strerror or exc}") from None


def _json_lines(stream: Iterable[bytes], name: str) -> Iterator[tuple[int, Any]]:
    """``(line, value)`` for each line; a line that is not JSON gives its (skipped)
    :class:`UnreadableInput` as the value, and the lines after it are read all the same."""
    number = 0
    try:
        for number, raw in enumerate(stream, 1):
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            if not raw.strip():
                continue  # blank lines (a trailing one, say) separate nothing and hold nothing
            yield number, _line_value(raw, name, number)
    except OSError as exc:
        raise UnreadableInput(name, number + 1, f"cannot read it: {exc.strerror or exc}") from None


def _line_value(raw: bytes, name: str, number: int) -> Any:
    try:
        return _parse(_decode(raw, name, number).rstrip("\r\n"), name, number)  # the newline: no part of it
    except UnreadableInput as error:
        if raw.endswith(b"\n"):
            error.skipped = True
            return error
    # The last line, cut short: what a recorder killed mid-write leaves.
    return UnreadableInput(name, number, TRUNCATED, skipped=True)


#: Why the last line of a file, without its newline, is not read.
TRUNCATED = (
    "truncated: the last line has no newline at the end of the file and is not complete JSON "
    "(a recording cut off mid-write, by kill -9 or a full disk)"
)


def _json_document(data: bytes, name: str) -> Iterator[tuple[int, Any]]:
    """The exchanges of a whole ``.json`` file: one object, or a list of them (each at its line)."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    text = _decode(data, name, None)
    decoder = json.JSONDecoder(parse_constant=reject_json_constant)
    position = _skip(text, 0)
    if position == len(text):
        return  # an empty file holds no exchanges
    if text[position] != "[":
        value, end = _decode_at(decoder, text, position, name)
        if _skip(text, end) != len(text):
            # More than one value: JSON Lines under a .json name, a common way to save them.
            yield from _json_lines(data.splitlines(keepends=True), name)
            return
        yield _line_at(text, position), value
        return
    position = _skip(text, position + 1)
    line, counted = 1, 0
    if position < len(text) and text[position] == "]":
        position = _skip(text, position + 1)
    else:
        while True:
            value, end = _decode_at(decoder, text, position, name)
            line += text.count("\n", counted, position)
            counted = position
            yield line, value
            position = _skip(text, end)
            if position < len(text) and text[position] == ",":
                position = _skip(text, position + 1)
                continue
            if position < len(text) and text[position] == "]":
                position = _skip(text, position + 1)
                break
            raise UnreadableInput(name, _line_at(text, position), "not JSON: expected ',' or ']' in the list")
    if position != len(text):
        raise UnreadableInput(name, _line_at(text, position), "not JSON: more text after the list")


def _decode(raw: bytes, name: str, line: int | None) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        at = line if line is not None else raw.count(b"\n", 0, exc.start) + 1
        raise UnreadableInput(name, at, "not UTF-8 text: JSON files are UTF-8") from None


def _parse(text: str, name: str, line: int) -> Any:
    try:
        return json.loads(text, parse_constant=reject_json_constant)
    except json.JSONDecodeError as exc:
        raise UnreadableInput(name, line, f"not JSON: {exc.msg} (column {exc.colno})") from None
    except (ValueError, RecursionError) as exc:
        raise UnreadableInput(name, line, f"not JSON: {exc}") from None


def _decode_at(decoder: json.JSONDecoder, text: str, position: int, name: str) -> tuple[Any, int]:
    try:
        value, end = decoder.raw_decode(text, position)
    except json.JSONDecodeError as exc:
        raise UnreadableInput(name, exc.lineno, f"not JSON: {exc.msg} (column {exc.colno})") from None
    except (ValueError, RecursionError) as exc:
        raise UnreadableInput(name, _line_at(text, position), f"not JSON: {exc}") from None
    return value, end


def _skip(text: str, position: int) -> int:
    match = _WHITESPACE.match(text, position)
    return match.end() if match else position


def _line_at(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def _exchange(value: Any, name: str, line: int) -> dict[str, Any]:
    """The exchange, if ``value`` is in the exchange format; else why not (unreadable input)."""
    if not isinstance(value, dict):
        raise UnreadableInput(name, line, f"not an exchange: expected a JSON object, found {_kind(value)}")
    if missing := [key for key in REQUIRED_KEYS if key not in value]:
        raise UnreadableInput(
            name,
            line,
            f"not an exchange: {_and(missing)} missing (an exchange has endpoint, request "
            "and response; status, time and type_job_id are optional)",
        )
    if not isinstance(value["endpoint"], str):
        raise UnreadableInput(
            name, line, f"not an exchange: endpoint is {_kind(value['endpoint'])}, not text"
        )
    status = value.get("status")
    if status is not None and (not _is_int(status) or not 100 <= status <= 599):
        raise UnreadableInput(name, line, f"not an exchange: status {_show(status)} is not an HTTP status")
    fault = value.get("fault")
    if fault is not None and not isinstance(fault, str):
        raise UnreadableInput(name, line, f"not an exchange: fault is {_kind(fault)}, not text")
    type_id = value.get("type_job_id")
    if type_id is not None and not (isinstance(type_id, str) or _is_int(type_id)):
        raise UnreadableInput(
            name, line, f"not an exchange: type_job_id is {_kind(type_id)}, not text or a number"
        )
    return value


# What an exchange names


def _get(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _job_id(body: Any) -> int | None:
    """The ``job_id`` of a body, read as the fake reads it."""
    return job_id_as_int(_get(body, "job_id"))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else str(value) if _is_int(value) else None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _kind(value: Any) -> str:
    kinds = {dict: "an object", list: "a list", str: "text", bool: "true or false", type(None): "null"}
    return kinds.get(type(value), "a number")


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _show(value: Any) -> str:
    return json.dumps(value)[:40]


# Validation and its reports


@dataclass
class Summary:
    """Counts over every file of a run, and the exit status they make."""

    files: int = 0
    exchanges: int = 0
    failed_exchanges: int = 0
    violations: int = 0
    unreadable: list[UnreadableInput] = field(default_factory=list)

    def add(self, checked: CheckedExchange) -> None:
        self.exchanges += 1
        if checked.violations:
            self.failed_exchanges += 1
            self.violations += len(checked.violations)

    @property
    def exit_code(self) -> int:
        """2 if any input was unreadable, else 1 if any violation, else 0."""
        return 2 if self.unreadable else 1 if self.violations else 0

    def describe(self) -> str:
        files = _count(self.files, "file")
        if self.violations:
            text = (
                f"{_count(self.violations, 'contract violation')} in {self.failed_exchanges} of "
                f"{_count(self.exchanges, 'exchange')} ({files})"
            )
        elif self.exchanges:
            text = f"all {_count(self.exchanges, 'exchange')} in {files} hold to the contract"
        else:
            text = f"no exchanges in {files}"
        if lines := self.unreadable_lines:
            text += f"; {_count(lines, 'unreadable line')} skipped"
        if stopped := self.unreadable_files:
            text += f"; {_count(stopped, 'file')} not readable as exchanges"
        return f"omofake validate: {text}."

    @property
    def unreadable_lines(self) -> int:
        """Lines that were not exchanges, skipped (the rest of their file was checked)."""
        return sum(1 for error in self.unreadable if error.skipped)

    @property
    def unreadable_files(self) -> int:
        """Files whose reading stopped: not found, not readable, a broken ``.json`` document."""
        return len(self.unreadable) - self.unreadable_lines

    def to_dict(self) -> dict[str, int]:
        return {
            "files": self.files,
            "exchanges": self.exchanges,
            "failed_exchanges": self.failed_exchanges,
            "violations": self.violations,
            "unreadable_files": self.unreadable_files,
            "unreadable_lines": self.unreadable_lines,
            "exit_code": self.exit_code,
        }


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


class Report(Protocol):
    """What a report format is told, in this order, as the files are checked."""

    def start_file(self, file: str) -> None: ...
    def exchange(self, checked: CheckedExchange) -> None: ...
    def unreadable(self, error: UnreadableInput) -> None: ...
    def finish(self, summary: Summary) -> None: ...


def validate_paths(paths: Iterable[str | os.PathLike[str]], reports: Sequence[Report]) -> Summary:
    """Check every file, telling each report as it goes; the summary holds the exit status."""
    summary = Summary()
    for path in paths:
        name = display_name(path)
        summary.files += 1
        for report in reports:
            report.start_file(name)
        try:
            for checked in check_lines(path):
                if isinstance(checked, UnreadableInput):
                    summary.unreadable.append(checked)
                    for report in reports:
                        report.unreadable(checked)
                    continue
                summary.add(checked)
                for report in reports:
                    report.exchange(checked)
        except UnreadableInput as error:
            summary.unreadable.append(error)
            for report in reports:
                report.unreadable(error)
    for report in reports:
        report.finish(summary)
    return summary


class _Out:
    """Writes text that the stream's encoding can always carry (a recording may hold anything,
    lone surrogates included), so a report never dies of a UnicodeEncodeError."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.encoding = getattr(stream, "encoding", None) or "utf-8"

    def write(self, text: str) -> None:
        self.stream.write(text.encode(self.encoding, "backslashreplace").decode(self.encoding))


class TextReport:
    """One line per violation (``file:line: endpoint direction path: expected ..., found ...``),
    then the summary. Unreadable input goes to ``errors`` (standard error, say) if given, else to
    ``out``; with ``out`` None only unreadable input is reported."""

    def __init__(self, out: IO[str] | None, errors: IO[str] | None = None) -> None:
        self.out = _Out(out) if out is not None else None
        self.errors = _Out(errors) if errors is not None else self.out

    def start_file(self, file: str) -> None:
        pass

    def exchange(self, checked: CheckedExchange) -> None:
        if self.out is not None:
            for violation in checked.violations:
                self.out.write(f"{violation}\n")

    def unreadable(self, error: UnreadableInput) -> None:
        if self.errors is not None:
            if error.skipped:
                rest = "; line skipped, the rest of the file checked"
            else:
                rest = "; the rest of the file was not checked" if error.line is not None else ""
            self.errors.write(f"omofake: error: {error}{rest}\n")

    def finish(self, summary: Summary) -> None:
        if self.out is not None:
            self.out.write(summary.describe() + "\n")


class JsonReport:
    """``{"violations": [...], "unreadable": [...], "summary": {...}}``, written as it goes."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.first = True
        self.errors: list[dict[str, Any]] = []
        # ensure_ascii: escaped text always survives the trip, whatever the stream's encoding.
        self.out.write('{"violations": [')

    def start_file(self, file: str) -> None:
        pass

    def exchange(self, checked: CheckedExchange) -> None:
        for violation in checked.violations:
            item = {**violation.to_dict(), "keyword": violation.keyword, "exchange": checked.index}
            self.out.write(("\n  " if self.first else ",\n  ") + json.dumps(item))
            self.first = False

    def unreadable(self, error: UnreadableInput) -> None:
        self.errors.append(
            {"file": error.file, "line": error.line, "reason": error.reason, "skipped": error.skipped}
        )

    def finish(self, summary: Summary) -> None:
        self.out.write(("" if self.first else "\n") + "],\n")
        self.out.write(f' "unreadable": {json.dumps(self.errors)},\n')
        self.out.write(f' "summary": {json.dumps(summary.to_dict())}\n}}\n')


class JunitReport:
    """JUnit XML: a testsuite per file, a testcase per exchange; a violation is a failure and
    unreadable input an error. Test cases are spooled to a temporary file, not kept in memory,
    because the counts the XML needs up front are only known at the end."""

    _SPOOL = 4 * 1024 * 1024

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.suites = _spool()
        self.cases = _spool()
        self.file: str | None = None
        self.counts = [0, 0, 0]  # tests, failures, errors of the current file

    def start_file(self, file: str) -> None:
        self._close_suite()
        self.file = file
        self.counts = [0, 0, 0]

    def exchange(self, checked: CheckedExchange) -> None:
        self.counts[0] += 1
        attributes = self._case(checked.name, checked.line)
        if checked.ok:
            self.cases.write(f"    <testcase {attributes}/>\n")
            return
        self.counts[1] += 1
        text = "\n".join(str(v) for v in checked.violations)
        message = _count(len(checked.violations), "contract violation")
        self.cases.write(
            f"    <testcase {attributes}>\n"
            f'      <failure type="ContractViolation" message={_attr(message)}>{_xml(text)}</failure>\n'
            "    </testcase>\n"
        )

    def unreadable(self, error: UnreadableInput) -> None:
        self.counts[0] += 1
        self.counts[2] += 1
        where = f"line {error.line}: unreadable" if error.line is not None else "unreadable"
        self.cases.write(
            f"    <testcase {self._case(where, error.line)}>\n"
            f'      <error type="UnreadableInput" message={_attr(error.reason)}>{_xml(str(error))}</error>\n'
            "    </testcase>\n"
        )

    def finish(self, summary: Summary) -> None:
        self._close_suite()
        failures, errors = summary.failed_exchanges, len(summary.unreadable)
        self.out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        self.out.write(
            f'<testsuites name="omofake validate" tests="{summary.exchanges + errors}" '
            f'failures="{failures}" errors="{errors}">\n'
        )
        _copy(self.suites, self.out)
        self.out.write("</testsuites>\n")
        self.suites.close()
        self.cases.close()

    def _case(self, name: str, line: int | None) -> str:
        file = self.file or ""
        located = f" line={_attr(str(line))}" if line is not None else ""
        return f"classname={_attr(file)} name={_attr(name)} file={_attr(file)}{located}"

    def _close_suite(self) -> None:
        if self.file is None:
            return
        tests, failures, errors = self.counts
        self.suites.write(
            f'  <testsuite name={_attr(self.file)} tests="{tests}" failures="{failures}" '
            f'errors="{errors}" skipped="0">\n'
        )
        _copy(self.cases, self.suites)
        self.suites.write("  </testsuite>\n")
        self.cases.close()
        self.cases = _spool()
        self.file = None


def _spool() -> IO[str]:
    return tempfile.SpooledTemporaryFile(
        max_size=JunitReport._SPOOL, mode="w+", encoding="utf-8", errors="backslashreplace"
    )


def _copy(source: IO[str], target: IO[str]) -> None:
    source.seek(0)
    while chunk := source.read(1024 * 1024):
        target.write(chunk)


def _xml(text: str) -> str:
    return _ascii(escape(_xml_chars(text)))


def _attr(text: str) -> str:
    return _ascii(quoteattr(_xml_chars(text), {"\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}))


def _xml_chars(text: str) -> str:
    # Lone surrogates (which JSON can spell) and control characters have no place in XML.
    return _NOT_XML.sub("\ufffd", text.encode("utf-8", "backslashreplace").decode("utf-8"))


def _ascii(text: str) -> str:
    # Character references keep the XML valid whatever encoding the output stream has.
    return text.encode("ascii", "xmlcharrefreplace").decode("ascii")


def report_for(output_format: str, out: IO[str], errors: IO[str] | None = None) -> Report:
    # errors: where a text report puts unreadable input (the other formats carry it inside).
    """The report of a format (one of :data:`FORMATS`) writing to ``out``."""
    if output_format == "text":
        return TextReport(out, errors)
    if output_format == "json":
        return JsonReport(out)
    if output_format == "junit":
        return JunitReport(out)
    raise ValueError(f"unknown report format {output_format!r}; known: {', '.join(FORMATS)}")
