"""``omofake serve --record`` and ``omofake validate``: recording traffic, then checking it in CI."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import threading
import xml.etree.ElementTree as ET
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
import requests

from omofake.cli import main
from omofake.client import OmoClient
from omofake.contract.exchanges import check_file
from omofake.core.catalogue import CATALOGUE
from omofake.errors import JobFailed

from .helpers import INPUTS, OMOFAKE, PNG, TOKEN, create_body, serve


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The real command in a subprocess: its exit status, standard output and error."""
    return subprocess.run(
        [*OMOFAKE, *args], input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


def validate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``omofake validate`` in this process (fast): exit status, standard output, standard error."""
    code = main(["validate", *args])
    out, err = capsys.readouterr()
    return code, out, err


def write_lines(path: Path, *records: Any) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def exchange(endpoint: str, request: Any, response: Any, **extra: Any) -> dict[str, Any]:
    return {
        "endpoint": endpoint,
        "request": request,
        "response": response,
        "status": 200,
        "time": "2024-05-01T12:00:00.000+00:00",
        **extra,
    }


def created(job_id: int) -> dict[str, Any]:
    return {"error": False, "job_id": job_id, "message": "Create job success."}


def poll(job_id: int | str) -> dict[str, Any]:
    return {"api_token": "test***", "job_id": job_id}


def success(result: Any) -> dict[str, Any]:
    return {"error": False, "status": "success", "result": result}


# Recording real client traffic, then validating it


async def drive_every_type(api_url: str) -> None:
    """What a real application does: solve captchas of every type, with the project's client."""
    async with OmoClient(TOKEN, base_url=api_url, poll_interval=0.01, timeout=10) as client:
        for type_id in CATALOGUE:
            job_type = CATALOGUE[type_id]
            # Raw bytes: the client encodes them; token types send none.
            images = [PNG.encode()] * job_type.images if job_type.images else None
            fields = {f.name: f.example for f in job_type.fields if f.name != "input"}
            for _ in range(4):
                with suppress(JobFailed):  # half the jobs fail (--fail-rate 0.5): part of the traffic
                    await client.solve(type_id, input=INPUTS.get(type_id), images=images, **fields)


def test_a_recorded_run_of_real_client_traffic_validates_clean(tmp_path: Path) -> None:
    record = tmp_path / "exchanges.jsonl"
    with serve("--quiet", "--record", str(record), "--running-polls", "1", "--fail-rate", "0.5") as (url, _):
        asyncio.run(drive_every_type(f"{url}/api"))
        # Another client library, and a job the fake does not know: also conforming traffic.
        for body in (create_body("26"), create_body("13")):
            assert requests.post(f"{url}/api/createJob", json=body, timeout=10).status_code == 200
        answer = requests.post(f"{url}/api/getJobResult", json={"api_token": TOKEN, "job_id": 1}, timeout=10)
        assert answer.json()["error"] is True
    records = [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()]
    # Each job: one create, one running poll, one final poll.
    assert len(records) == 4 * len(CATALOGUE) * 3 + 3
    assert {r["endpoint"] for r in records} == {"createJob", "getJobResult"}
    assert {r["request"]["data"]["type_job_id"] for r in records if r["endpoint"] == "createJob"} == set(
        CATALOGUE
    )
    statuses = {r["response"].get("status") for r in records if r["endpoint"] == "getJobResult"}
    assert {"running", "success", "fail"} <= statuses
    assert all(r["status"] == 200 and r["time"] for r in records)
    assert TOKEN not in record.read_text(encoding="utf-8")
    assert all(r.get("type_job_id") in CATALOGUE for r in records if r["endpoint"] == "createJob")

    result = run("validate", str(record))
    assert (result.returncode, result.stderr) == (0, "")
    assert (
        result.stdout == f"omofake validate: all {len(records)} exchanges in 1 file hold to the contract.\n"
    )


def test_serve_record_appends_and_validate_catches_a_client_that_drifted(tmp_path: Path) -> None:
    record = tmp_path / "exchanges.jsonl"
    with serve("--quiet", "--record", str(record)) as (url, _):
        requests.post(f"{url}/api/createJob", json=create_body("30"), timeout=10)
    with serve("--quiet", "--record", str(record)) as (url, _):
        # The client now sends the number 23: the lenient fake accepts it, the contract does not.
        job = requests.post(f"{url}/api/createJob", json=create_body("23", type_job_id=23), timeout=10).json()
        requests.post(
            f"{url}/api/getJobResult", json={"api_token": TOKEN, "job_id": job["job_id"]}, timeout=10
        )
        requests.get(f"{url}/api/createJob", timeout=10)
    result = run("validate", str(record))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{record}:2: createJob request $.data.type_job_id: expected text, found 23",
        f"{record}:4: /api/createJob request $: expected an endpoint of the API: createJob, "
        'getJobResult, getBalance or getService (/api/...), found "/api/createJob" (answered HTTP 405)',
        "omofake validate: 2 contract violations in 2 of 4 exchanges (1 file).",
    ]


def test_serve_record_to_a_path_that_cannot_be_written_is_a_flag_error(tmp_path: Path) -> None:
    result = run("serve", "--port", "0", "--record", str(tmp_path / "no-such-dir" / "x.jsonl"))
    assert result.returncode == 2
    assert f"cannot record to {tmp_path / 'no-such-dir' / 'x.jsonl'}: no folder" in result.stderr
    result = run("serve", "--port", "0", "--record", str(tmp_path))
    assert result.returncode == 2 and "it is a folder" in result.stderr
    assert "Traceback" not in result.stderr


# What validate finds, and where


def test_each_problem_is_named_at_its_line_and_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing_input = create_body("13")
    del missing_input["data"]["input"]
    file = write_lines(
        tmp_path / "traffic.jsonl",
        exchange("createJob", create_body("23"), created(111), type_job_id="23"),
        # Valid for some job type (30 reads text), malformed for job 111's type, learned above.
        exchange("getJobResult", poll(111), success("abc")),
        exchange("createJob", create_body("23", type_job_id=23), created(112)),
        exchange("createJob", missing_input, {"error": True, "message": "Missing field data.input."}),
        # The type comes from the line itself here: type 26 answers "" while running, not null.
        exchange(
            "getJobResult", poll(222), {"error": False, "status": "running", "result": None}, type_job_id="26"
        ),
        exchange(
            "/api/getTaskResult", {"api_token": "x"}, {"error": True, "message": "Not found."}, status=404
        ),
        # A job this file never created: its answer may be any type's.
        exchange("getJobResult", poll(999), success("abc")),
        exchange(
            "createJob",
            create_body("30"),
            {"error": False, "job_id": "113", "message": "Create job success."},
        ),
        exchange("getJobResult", poll(111), {"error": True, "message": "Internal error."}, status=500),
    )
    code, out, err = validate(capsys, str(file))
    assert (code, err) == (1, "")
    assert out.splitlines() == [
        f"{file}:2: getJobResult response $.result: expected The rotation angle, a whole number in "
        "degrees as text ('50'), found \"abc\"",
        f"{file}:3: createJob request $.data.type_job_id: expected text, found 23",
        f"{file}:4: createJob request $.data.input: expected present, found missing",
        f'{file}:5: getJobResult response $.result: expected "", found null',
        f"{file}:6: /api/getTaskResult request $: expected an endpoint of the API: createJob, getJobResult, "
        'getBalance or getService (/api/...), found "/api/getTaskResult" (answered HTTP 404)',
        f'{file}:8: createJob response $.job_id: expected a whole number, found "113"',
        f"{file}:9: getJobResult response $: expected HTTP status 200 (the API answers every request it "
        "understands with 200, errors included), found HTTP status 500",
        "omofake validate: 7 contract violations in 7 of 9 exchanges (1 file).",
    ]


def test_types_are_learned_per_file_and_a_line_key_wins(tmp_path: Path) -> None:
    first = write_lines(tmp_path / "a.jsonl", exchange("createJob", create_body("30"), created(5)))
    second = write_lines(
        tmp_path / "b.jsonl",
        exchange("getJobResult", poll(5), success("abc")),  # job 5 was made in a.jsonl: type unknown here
        exchange("createJob", create_body("26"), created(6)),
        exchange("getJobResult", poll(6), success("abc"), type_job_id="30"),  # the line says 30
        exchange("getJobResult", poll("6"), success("abc")),  # job_id as text, as the lenient fake reads it
    )
    assert [c.type_job_id for c in check_file(first)] == ["30"]
    checked = list(check_file(second))
    assert [(c.type_job_id, c.ok) for c in checked] == [
        (None, True),
        ("26", True),
        ("30", True),
        ("26", False),
    ]
    assert [v.path for v in checked[3].violations] == ["$.job_id", "$.result"]
    assert checked[3].name == "line 4: getJobResult (job 6, type 26)"


def test_every_file_is_checked_and_counted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clean = write_lines(tmp_path / "clean.jsonl", exchange("createJob", create_body("14"), created(1)))
    dirty = write_lines(tmp_path / "dirty.jsonl", exchange("createJob", {"api_token": "t"}, created(2)))
    code, out, _ = validate(capsys, str(clean), str(dirty))
    assert code == 1
    assert out.splitlines() == [
        f"{dirty}:1: createJob request $.data: expected present, found missing",
        "omofake validate: 1 contract violation in 1 of 2 exchanges (2 files).",
    ]
    code, out, _ = validate(capsys, str(clean), str(clean))
    assert (code, out) == (0, "omofake validate: all 2 exchanges in 2 files hold to the contract.\n")


def test_an_empty_file_holds_no_exchanges(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty.jsonl").write_text("\n\n", encoding="utf-8")
    (tmp_path / "empty.json").write_text("[]", encoding="utf-8")
    code, out, _ = validate(capsys, str(tmp_path / "empty.jsonl"), str(tmp_path / "empty.json"))
    assert (code, out) == (0, "omofake validate: no exchanges in 2 files.\n")


# Plain .json files and standard input


def test_a_json_file_of_one_exchange_or_a_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = exchange(
        "getJobResult", {"api_token": "t", "job_id": 0}, {"error": True, "message": "Job 0 not found."}
    )
    good = exchange("createJob", create_body("30"), created(1))
    one = tmp_path / "one.json"
    one.write_text(json.dumps(bad, indent=2), encoding="utf-8")
    many = tmp_path / "many.json"
    many.write_text(
        "[\n" + json.dumps(good, indent=2) + ",\n\n  " + json.dumps(bad, indent=2) + "\n]\n", "utf-8"
    )
    code, out, _ = validate(capsys, str(one), str(many))
    assert code == 1
    good_lines = json.dumps(good, indent=2).count("\n") + 1
    assert out.splitlines() == [
        f"{one}:1: getJobResult request $.job_id: expected a number of at least 1, found 0",
        f"{many}:{2 + good_lines + 1}: getJobResult request $.job_id: expected a number of at least 1, found 0",
        "omofake validate: 2 contract violations in 2 of 3 exchanges (2 files).",
    ]


def test_json_lines_saved_as_json_are_read_as_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write_lines(
        tmp_path / "saved.json",
        exchange("createJob", create_body("30"), created(1)),
        exchange("createJob", {"api_token": ""}, created(2)),
    )
    code, out, _ = validate(capsys, str(file))
    assert code == 1
    assert (
        out.splitlines()[0] == f'{file}:2: createJob request $.api_token: expected non-empty text, found ""'
    )


def test_standard_input() -> None:
    lines = json.dumps(exchange("createJob", create_body("30"), created(1))) + "\n"
    result = run("validate", "-", stdin=lines + json.dumps(exchange("nope", {}, {})) + "\n")
    assert result.returncode == 1
    assert result.stdout.startswith("<stdin>:2: nope request $: expected an endpoint of the API")


# Unreadable input: exit 2, a clear message, never a traceback

UNREADABLE = {
    "not JSON": ('{"endpoint": "createJob"\n', "bad.jsonl:1: not JSON: Expecting ',' delimiter (column 25)"),
    "a list": ("[1, 2]\n", "bad.jsonl:1: not an exchange: expected a JSON object, found a list"),
    "a number": ("\n42\n", "bad.jsonl:2: not an exchange: expected a JSON object, found a number"),
    "keys missing": (
        '{"endpoint": "createJob", "body": {}}\n',
        "bad.jsonl:1: not an exchange: request and response missing",
    ),
    "endpoint not text": (
        '{"endpoint": 1, "request": {}, "response": {}}\n',
        "bad.jsonl:1: not an exchange: endpoint is a number, not text",
    ),
    "status not a number": (
        '{"endpoint": "createJob", "request": {}, "response": {}, "status": "200"}\n',
        'bad.jsonl:1: not an exchange: status "200" is not an HTTP status',
    ),
    "type_job_id a list": (
        '{"endpoint": "createJob", "request": {}, "response": {}, "type_job_id": [23]}\n',
        "bad.jsonl:1: not an exchange: type_job_id is a list, not text or a number",
    ),
    "NaN": (
        '{"endpoint": "createJob", "request": NaN, "response": {}}\n',
        "bad.jsonl:1: not JSON: NaN is not a JSON value",
    ),
}


@pytest.mark.parametrize("content, message", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_unreadable_lines_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    content: str,
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)  # so that the file is named as typed: bad.jsonl
    Path("bad.jsonl").write_text(content, encoding="utf-8")
    code, out, err = validate(capsys, "bad.jsonl")
    assert code == 2
    assert err.startswith(f"omofake: error: {message}")
    assert err.rstrip().endswith("line skipped, the rest of the file checked")
    assert out.endswith("1 unreadable line skipped.\n")


def test_unreadable_files_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "latin1.jsonl").write_bytes(
        b'{"endpoint": "createJob", "request": "caf\xe9", "response": {}}\n'
    )
    (tmp_path / "trailing.json").write_text('[{"endpoint": "x", "request": 1, "response": 2}] x', "utf-8")
    (tmp_path / "item.json").write_text(
        '[\n{"endpoint": "x", "request": 1, "response": 2},\n"no"\n]', "utf-8"
    )
    (tmp_path / "broken.json").write_text('{\n  "endpoint": "x",\n  "request": \n}', "utf-8")
    cases = {
        "missing.jsonl": "missing.jsonl: cannot read it: No such file or directory",
        ".": ".: cannot read it: Is a directory",
        "latin1.jsonl": "latin1.jsonl:1: not UTF-8 text: JSON files are UTF-8",
        "trailing.json": "trailing.json:1: not JSON: more text after the list",
        "item.json": "item.json:3: not an exchange: expected a JSON object, found text",
        "broken.json": "broken.json:4: not JSON: Expecting value (column 1)",
    }
    monkeypatch.chdir(tmp_path)
    for name, message in cases.items():
        code, _, err = validate(capsys, name)
        assert (code, err.splitlines()[0].split(";")[0]) == (2, f"omofake: error: {message}"), name


def test_what_was_read_before_unreadable_input_is_still_reported(tmp_path: Path) -> None:
    file = tmp_path / "half.jsonl"
    file.write_text(json.dumps(exchange("createJob", {"api_token": 1}, created(1))) + "\n{oops\n", "utf-8")
    other = write_lines(tmp_path / "other.jsonl", exchange("createJob", {}, created(2)))
    result = run("validate", str(tmp_path / "nope.jsonl"), str(file), str(other))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"omofake: error: {tmp_path / 'nope.jsonl'}: cannot read it: No such file or directory",
        f"omofake: error: {file}:2: not JSON: Expecting property name enclosed in double quotes (column 2); "
        "line skipped, the rest of the file checked",
    ]
    assert result.stdout.splitlines() == [
        f"{file}:1: createJob request $.api_token: expected text, found 1",
        f"{file}:1: createJob request $.data: expected present, found missing",
        f"{other}:1: createJob request $.api_token: expected present, found missing",
        f"{other}:1: createJob request $.data: expected present, found missing",
        "omofake validate: 4 contract violations in 2 of 2 exchanges (3 files); 1 unreadable line skipped; "
        "1 file not readable as exchanges.",
    ]


def test_no_file_given_is_a_usage_error() -> None:
    result = run("validate")
    assert result.returncode == 2 and "FILE" in result.stderr


# Report formats


def mixed_files(tmp_path: Path) -> tuple[Path, Path]:
    traffic = write_lines(
        tmp_path / "traffic.jsonl",
        exchange("createJob", create_body("23"), created(7)),
        exchange("getJobResult", poll(7), success("north")),
        exchange("createJob", create_body("26", type_job_id=26, image_base64=5), created(8)),
    )
    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps(exchange("getJobResult", poll(1), success("1"))) + "\n[]\n", "utf-8")
    return traffic, broken


def test_json_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    traffic, broken = mixed_files(tmp_path)
    code, out, err = validate(capsys, "--format", "json", str(traffic), str(broken))
    assert code == 2
    report = json.loads(out)
    assert report["summary"] == {
        "files": 2,
        "exchanges": 4,
        "failed_exchanges": 2,
        "violations": 3,
        "unreadable_files": 0,
        "unreadable_lines": 1,
        "exit_code": 2,
    }
    assert [(v["file"], v["line"], v["exchange"], v["path"], v["keyword"]) for v in report["violations"]] == [
        (str(traffic), 2, 2, "$.result", "pattern"),
        (str(traffic), 3, 3, "$.data.type_job_id", "type"),
        (str(traffic), 3, 3, "$.data.image_base64", "type"),
    ]
    first = report["violations"][0]
    assert (first["endpoint"], first["direction"], first["found"]) == ("getJobResult", "response", '"north"')
    assert first["expected"].startswith("The rotation angle") and first["message"]
    assert report["unreadable"] == [
        {
            "file": str(broken),
            "line": 2,
            "reason": "not an exchange: expected a JSON object, found a list",
            "skipped": True,
        }
    ]
    # Standard output is the machine's; people still see the unreadable input on standard error.
    assert err.startswith(f"omofake: error: {broken}:2: not an exchange")


def test_json_report_when_all_hold(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = write_lines(tmp_path / "ok.jsonl", exchange("createJob", create_body("30"), created(1)))
    code, out, err = validate(capsys, "--format", "json", str(file))
    assert (code, err) == (0, "")
    assert json.loads(out) == {
        "violations": [],
        "unreadable": [],
        "summary": {
            "files": 1,
            "exchanges": 1,
            "failed_exchanges": 0,
            "violations": 0,
            "unreadable_files": 0,
            "unreadable_lines": 0,
            "exit_code": 0,
        },
    }


def test_junit_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    traffic, broken = mixed_files(tmp_path)
    code, out, _ = validate(capsys, "--format", "junit", str(traffic), str(broken))
    assert code == 2
    root = ET.fromstring(out)
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("5", "2", "1")
    suites = root.findall("testsuite")
    assert [(s.get("name"), s.get("tests"), s.get("failures"), s.get("errors")) for s in suites] == [
        (str(traffic), "3", "2", "0"),
        (str(broken), "2", "0", "1"),
    ]
    cases = suites[0].findall("testcase")
    assert [c.get("name") for c in cases] == [
        "line 1: createJob (job 7, type 23)",
        "line 2: getJobResult (job 7, type 23)",
        "line 3: createJob (job 8, type 26)",
    ]
    assert cases[0].find("failure") is None
    failure = cases[2].find("failure")
    assert failure is not None and failure.get("message") == "2 contract violations"
    assert failure.text is not None and failure.text.splitlines() == [
        f"{traffic}:3: createJob request $.data.type_job_id: expected text, found 26",
        f"{traffic}:3: createJob request $.data.image_base64: expected text, found 5",
    ]
    error = suites[1].findall("testcase")[1].find("error")
    assert (
        error is not None and error.get("message") == "not an exchange: expected a JSON object, found a list"
    )


def test_output_file_gets_the_report_and_standard_output_the_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    traffic, _ = mixed_files(tmp_path)
    report = tmp_path / "reports" / "contract.xml"
    report.parent.mkdir()
    code, out, _ = validate(capsys, "--format", "junit", "--output", str(report), str(traffic))
    assert code == 1
    assert ET.parse(report).getroot().get("failures") == "2"
    assert out.splitlines()[-1] == "omofake validate: 3 contract violations in 2 of 3 exchanges (1 file)."
    code, out, _ = validate(capsys, "-o", str(tmp_path / "report.txt"), str(traffic))
    assert (tmp_path / "report.txt").read_text("utf-8") == out


def test_output_file_that_cannot_be_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    traffic, _ = mixed_files(tmp_path)
    code, _, err = validate(capsys, "--output", str(tmp_path / "no" / "r.xml"), str(traffic))
    assert code == 2 and err.startswith(
        f"omofake: error: cannot write the report to {tmp_path / 'no' / 'r.xml'}"
    )


def test_any_text_a_recording_holds_survives_every_format(tmp_path: Path) -> None:
    # A lone surrogate (JSON can spell one), control characters and Vietnamese, in a violation.
    odd = '{"endpoint": "createJob", "request": {"api_token": 5, "data": "\\ud800\\u0001 tàu thuyền"}, "response": {}}'
    file = tmp_path / "odd.jsonl"
    file.write_text(odd + "\n", encoding="utf-8")
    for output_format in ("text", "json", "junit"):
        out = tmp_path / f"report.{output_format}"
        result = run("validate", "--format", output_format, "--output", str(out), str(file))
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        assert "$.data: expected an object" in result.stdout
    # api_token and data in the request; error and message missing from the answer.
    assert json.loads((tmp_path / "report.json").read_text("utf-8"))["summary"]["violations"] == 4
    failure = ET.parse(tmp_path / "report.junit").getroot().find("testsuite/testcase/failure")
    assert failure is not None and failure.text is not None and "tàu thuyền" in failure.text


# Streaming


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a named pipe")
def test_exchanges_are_checked_as_they_are_read(tmp_path: Path) -> None:
    """Each line is checked before the next is read: a file is never loaded whole."""
    fifo = tmp_path / "live.jsonl"
    os.mkfifo(fifo)
    first_checked = threading.Event()
    line = json.dumps(exchange("createJob", create_body("30"), created(1))) + "\n"

    def writer() -> None:
        with open(fifo, "w", encoding="utf-8") as pipe:
            pipe.write(line)
            pipe.flush()
            # The second line is only written once the first has been checked.
            first_checked.wait(timeout=10)
            pipe.write(line)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        checked = check_file(fifo)
        assert next(checked).ok
        first_checked.set()
        assert [c.line for c in checked] == [2]
    finally:
        first_checked.set()
        thread.join(timeout=10)


# omofake schemas


def test_schemas_lists_name_id_and_path(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schemas"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert [row[0] for row in rows] == [
        "createJob.request",
        "createJob.response",
        "getJobResult.request",
        "getJobResult.response",
        "getBalance.request",
        "getBalance.response",
        "getService.request",
        "getService.response",
        "v2/createTask.request",
        "v2/createTask.response",
        "v2/getBalance.request",
        "v2/getBalance.response",
        "v2/getServicePrice.response",
        "v2/getTaskResult.request",
        "v2/getTaskResult.response",
    ]
    for name, schema_id, path in rows:
        assert schema_id == f"urn:omofake:schema:{name.replace('/', ':')}"
        assert json.loads(Path(path).read_text("utf-8"))["$id"] == schema_id


def test_schemas_out_writes_copies_other_validators_can_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    out = tmp_path / "vendored" / "omocaptcha"
    assert main(["schemas", "--out", str(out)]) == 0
    written = capsys.readouterr().out.splitlines()
    copies = sorted(out.rglob("*.json"))
    assert sorted(Path(p) for p in written) == copies
    from omofake.contract.registry import schema_path

    for path in copies:
        name = path.relative_to(out).as_posix().removesuffix(".json")
        assert path.read_bytes() == schema_path(name).read_bytes()
    # v1's names carry no folder: the copies sit where they did before dialects had folders.
    assert (out / "createJob.request.json").is_file()
    # As another project would: load the copies, refer to one type's answers by $id.
    schemas = [json.loads(p.read_text("utf-8")) for p in copies]
    registry: Registry[Any] = Registry().with_resources(
        (s["$id"], Resource.from_contents(s)) for s in schemas
    )
    by_type = Draft202012Validator(
        {"$ref": "urn:omofake:schema:getJobResult.response#/$defs/byType/23"}, registry=registry
    )
    assert by_type.is_valid(success("50")) and not by_type.is_valid(success("abc"))
    # Again into the same folder: overwritten, still fine.
    assert main(["schemas", "--out", str(out)]) == 0


def test_schemas_out_that_cannot_be_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("", "utf-8")
    assert main(["schemas", "--out", str(tmp_path / "file" / "sub")]) == 2
    assert capsys.readouterr().err.startswith(
        f"omofake: error: cannot write the schemas to {tmp_path / 'file'}"
    )


# Records are strict JSON, and validate reads on past what it cannot read


def strict_json(line: str) -> Any:
    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} in a record")

    return json.loads(line, parse_constant=refuse)


def test_out_of_range_numbers_are_recorded_as_strict_json_and_validated(tmp_path: Path) -> None:
    record = tmp_path / "exchanges.jsonl"
    with serve("--record", str(record), "--quiet") as (url, _):
        job_id = requests.post(f"{url}/api/createJob", json=create_body("23"), timeout=10).json()["job_id"]
        for raw in ('{"api_token": "t", "job_id": 1e400}', '{"api_token": "t", "job_id": -1e400}'):
            answer = requests.post(f"{url}/api/getJobResult", data=raw, timeout=10)
            assert answer.status_code == 200 and answer.json()["error"] is True
        requests.post(f"{url}/api/createJob", json=create_body("23", type_job_id=23), timeout=10)
        requests.post(f"{url}/api/getJobResult", json=poll(job_id), timeout=10)
    lines = record.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 5
    records = [strict_json(line) for line in lines]  # no Infinity, no NaN
    assert '"job_id": 1e400' in lines[1] and '"job_id": -1e400' in lines[2]
    assert records[1]["request"]["job_id"] == float("inf")  # read back: still out of range
    result = run("validate", str(record))
    assert result.returncode == 1, result.stderr
    assert result.stderr == ""
    assert result.stdout.splitlines() == [
        f"{record}:2: getJobResult request $.job_id: expected a whole number, found Infinity",
        f"{record}:3: getJobResult request $.job_id: expected a whole number, found -Infinity",
        f"{record}:4: createJob request $.data.type_job_id: expected text, found 23",
        "omofake validate: 3 contract violations in 3 of 5 exchanges (1 file).",
    ]


def broken_recording(tmp_path: Path) -> Path:
    """A recording with a line another tool wrote as Infinity, a line that is not JSON, and
    violations before, between and after them; its last line cut short by kill -9."""
    file = tmp_path / "broken.jsonl"
    good = json.dumps(exchange("createJob", create_body("30"), created(1)))
    lines = [
        json.dumps(exchange("createJob", create_body("23", type_job_id=23), created(2))),  # 1: violation
        '{"endpoint": "getJobResult", "request": {"api_token": "t", "job_id": Infinity}, "response": {}}',  # 2
        json.dumps(exchange("getJobResult", poll(2), success("north"))),  # 3: violation
        "{oops",  # 4
        good,  # 5
        json.dumps(exchange("getJobResult", {"api_token": "t", "job_id": "7"}, success("x"))),  # 6: violation
    ]
    file.write_text("\n".join(lines) + "\n" + good[:40], encoding="utf-8")  # 7: truncated
    return file


def test_validate_reports_every_unreadable_line_and_checks_all_the_others(tmp_path: Path) -> None:
    file = broken_recording(tmp_path)
    result = run("validate", str(file))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"omofake: error: {file}:2: not JSON: Infinity is not a JSON value; line skipped, the rest of the file checked",
        f"omofake: error: {file}:4: not JSON: Expecting property name enclosed in double quotes (column 2); "
        "line skipped, the rest of the file checked",
        f"omofake: error: {file}:7: truncated: the last line has no newline at the end of the file and is not "
        "complete JSON (a recording cut off mid-write, by kill -9 or a full disk); line skipped, the rest of "
        "the file checked",
    ]
    out = result.stdout.splitlines()
    assert [line.split(":")[1] for line in out[:-1]] == ["1", "3", "6"]
    assert out[-1] == (
        "omofake validate: 3 contract violations in 3 of 4 exchanges (1 file); 3 unreadable lines skipped."
    )


def test_every_format_reports_the_violations_around_unreadable_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = broken_recording(tmp_path)
    code, out, err = validate(capsys, "--format", "json", str(file))
    assert code == 2
    report = json.loads(out)
    assert [v["line"] for v in report["violations"]] == [1, 3, 6]
    assert [(u["line"], u["skipped"]) for u in report["unreadable"]] == [(2, True), (4, True), (7, True)]
    assert report["unreadable"][2]["reason"].startswith("truncated: ")
    assert (report["summary"]["unreadable_lines"], report["summary"]["exit_code"]) == (3, 2)
    assert err.count("omofake: error: ") == 3

    code, out, _ = validate(capsys, "--format", "junit", str(file))
    assert code == 2
    root = ET.fromstring(out)
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("7", "3", "3")
    [suite] = root.findall("testsuite")
    cases = suite.findall("testcase")
    assert [c.get("line") for c in cases] == ["1", "2", "3", "4", "5", "6", "7"]
    assert [c.find("failure") is not None for c in cases] == [True, False, True, False, False, True, False]
    assert [c.find("error") is not None for c in cases] == [False, True, False, True, False, False, True]


def test_a_cut_line_left_by_a_killed_recorder_is_its_own_line_when_recording_resumes(tmp_path: Path) -> None:
    record = tmp_path / "exchanges.jsonl"
    with serve("--record", str(record), "--quiet") as (url, _):
        requests.post(f"{url}/api/createJob", json=create_body("23", type_job_id=23), timeout=10)
    whole = record.read_text(encoding="utf-8")
    record.write_text(whole + whole[:50], encoding="utf-8")  # kill -9 mid-write
    result = run("validate", str(record))
    assert result.returncode == 2
    assert f"{record}:2: truncated: " in result.stderr
    assert (
        result.stdout.splitlines()[0]
        == f"{record}:1: createJob request $.data.type_job_id: expected text, found 23"
    )
    # Recording to the same file again: the next exchange starts a line of its own.
    with serve("--record", str(record), "--quiet") as (url, _):
        requests.post(f"{url}/api/createJob", json=create_body("23", type_job_id=23), timeout=10)
    result = run("validate", str(record))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"omofake: error: {record}:2: not JSON: Expecting value (column 51); line skipped, the rest of the file checked"
    ]
    assert [line.split(":")[1] for line in result.stdout.splitlines()[:-1]] == ["1", "3"]


def test_tokens_that_are_not_text_are_recorded_masked_and_still_reported(tmp_path: Path) -> None:
    record = tmp_path / "exchanges.jsonl"
    tokens = [
        ["secret-token-in-a-list"],
        {"k": "secret-token-in-an-object"},
        987654321012345,
        "secret-as-text",
    ]
    with serve("--record", str(record), "--quiet") as (url, _):
        for token in tokens:
            requests.post(f"{url}/api/createJob", json=create_body() | {"api_token": token}, timeout=10)
    text = record.read_text(encoding="utf-8")
    assert "secret-" not in text and "987654321012345" not in text
    recorded = [strict_json(line)["request"]["api_token"] for line in text.splitlines()]
    assert recorded == [["***"], {"***": "***"}, 0, "secr***"]
    result = run("validate", str(record))
    assert result.returncode == 1
    assert [line.split(": ", 1)[1] for line in result.stdout.splitlines()[:3]] == [
        'createJob request $.api_token: expected text, found ["***"]',
        'createJob request $.api_token: expected text, found {"***": "***"}',
        "createJob request $.api_token: expected text, found 0",
    ]
