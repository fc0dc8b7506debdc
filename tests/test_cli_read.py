"""``dlmsmesh read`` (issue 13, point 5): the command reads ``dlmsmesh serve``
subprocesses as a head-end would: the public client, LLS, HLS-GMAC with
authenticated encryption, an attribute the meter refuses, bad command lines,
a meter that never answers, and the help, docs/cli.md and README as written.

Every wait is bounded (the start-up line, each read) and every process is
killed in ``finally`` (tests/test_cli_serve.py's ``serve``).
"""

from __future__ import annotations

import json
import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from dlmsmesh import read_cli
from dlmsmesh.client.errors import ObjectUndefined
from dlmsmesh.errors import DlmsTimeout

from .test_cli_serve import ROOT, WAIT, serve

pytestmark = pytest.mark.single_backend  # the meter and the reader run in subprocesses

EK = "000102030405060708090a0b0c0d0e0f"
AK = "d0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
NAME_LINE = {"attribute": "1/0.0.42.0.0.255/2", "data": {"type": "octet-string", "value": b"MMM0000012345678".hex()}}
MISSING_LINE = {
    "attribute": "1/0.0.99.0.0.255/2",
    "error": {"type": "object-undefined", "message": "the meter has no such object or attribute"},
}


def read(*args: str, timeout: float = WAIT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dlmsmesh", "read", *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


def lines(proc: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    assert proc.returncode == 0 and proc.stderr == "", (proc.returncode, proc.stderr)
    return [json.loads(line) for line in proc.stdout.splitlines()]


def _at(port: int, *args: str) -> list[str]:
    return ["--host", "127.0.0.1", "--port", str(port), *args]


# --------------------------------------------------------------------------
# reads
# --------------------------------------------------------------------------


def test_the_public_client_reads_in_the_order_given_and_a_refused_attribute_is_an_error_line() -> None:
    with serve() as served:
        proc = read(
            *_at(served.port, "8/0.0.1.0.0.255/2", "1/0.0.99.0.0.255/2", "3/1-0:1.8.0.255/3", "1/0.0.42.0.0.255/2")
        )
    clock, missing, scaler_unit, name = lines(proc)
    assert clock["attribute"] == "8/0.0.1.0.0.255/2" and clock["data"]["type"] == "octet-string"
    assert len(bytes.fromhex(clock["data"]["value"])) == 12
    assert bytes.fromhex(clock["data"]["value"])[:2] == time.gmtime().tm_year.to_bytes(2, "big")
    assert missing == MISSING_LINE
    # the OBIS code as given (1-0:1.8.0.255) comes back dotted
    assert scaler_unit == {
        "attribute": "3/1.0.1.8.0.255/3",
        "data": {"type": "structure", "value": [{"type": "integer", "value": 0}, {"type": "enum", "value": 30}]},
    }
    assert name == NAME_LINE


def test_lls_reads_and_a_wrong_password_is_exit_1() -> None:
    with serve("--auth", "lls", "--password", "12345678") as served:
        ok = read(*_at(served.port, "--client-sap", "1", "--auth", "lls", "--password", "12345678"),
                  "1/0.0.42.0.0.255/2")  # fmt: skip
        wrong = read(*_at(served.port, "--client-sap", "1", "--auth", "lls", "--password", "87654321"),
                     "1/0.0.42.0.0.255/2")  # fmt: skip
    assert lines(ok) == [NAME_LINE]
    assert wrong.returncode == 1 and wrong.stdout == ""
    assert wrong.stderr == (
        "dlmsmesh read: error: cannot open the association: the meter refused the association:"
        " authentication failed (wrong password or key)\n"
    )


def test_hls_gmac_with_authenticated_encryption_reads_run_after_run(tmp_path: Path) -> None:
    counters = str(tmp_path / "client-counters.sqlite3")
    with serve("--auth", "hls-gmac", "--security", "authenc", "--ek", EK, "--ak", AK,
               "--counters", str(tmp_path / "meter.sqlite3")) as served:  # fmt: skip
        assert served.info["system_title"] == read_cli.DEFAULT_SYSTEM_TITLE.hex()
        args = _at(served.port, "--client-sap", "1", "--auth", "hls-gmac", "--security", "authenc",
                   "--ek", EK, "--ak", AK, "--counters", counters)  # fmt: skip
        first = lines(read(*args, "1/0.0.43.1.0.255/2", "1/0.0.42.0.0.255/2"))
        # a second run sends under the same keys: its counters continue, the
        # meter does not take it for a replay
        second = lines(read(*args, "1/0.0.43.1.0.255/2"))
        # without the keys the management association does not open
        keyless = read(*_at(served.port, "--client-sap", "1"), "1/0.0.42.0.0.255/2")
        wrong_key = read(*args[:-4], "--ak", EK, "--counters", counters, "--timeout", "0.3", "1/0.0.42.0.0.255/2")
    assert first[1] == NAME_LINE
    assert first[0]["data"]["type"] == "double-long-unsigned" and first[0]["data"]["value"] > 0
    assert second[0]["data"]["value"] > first[0]["data"]["value"]
    assert Path(counters).exists()
    assert keyless.returncode == 1 and keyless.stdout == ""
    assert keyless.stderr == (
        "dlmsmesh read: error: cannot open the association: the meter refused the association:"
        " the application context is not supported\n"
    )
    assert wrong_key.returncode == 1 and wrong_key.stdout == ""
    assert wrong_key.stderr.startswith("dlmsmesh read: error: cannot open the association: ")
    assert wrong_key.stderr.count("\n") == 1


def test_the_meter_title_is_needed_for_ciphering() -> None:
    # a meter with another title: the client's default title would not verify
    title = "4d4d4d0000000007"
    with serve("--system-title", title, "--security", "authenc", "--ek", EK, "--ak", AK,
               "--counters", ":memory:") as served:  # fmt: skip
        args = _at(served.port, "--client-sap", "1", "--security", "authenc", "--ek", EK, "--ak", AK)
        proc = read(*args, "--system-title", title, "1/0.0.42.0.0.255/2")
    assert lines(proc) == [{**NAME_LINE, "data": {"type": "octet-string", "value": b"MMM0000000000007".hex()}}]


def test_keys_and_the_meter_title_from_a_keys_file(tmp_path: Path) -> None:
    """--keys: the file's only line gives the keys and the meter's system
    title; with several lines --system-title picks one."""
    title = "4d4d4d0000000008"
    keys = tmp_path / "keys.jsonl"
    keys.write_text(f'{{"system_title": "{title.upper()}", "ek": "{EK}", "ak": "{AK}"}}\n')
    with serve("--system-title", title, "--security", "authenc", "--keys", str(keys),
               "--counters", ":memory:") as served:  # fmt: skip
        proc = read(*_at(served.port, "--client-sap", "1", "--security", "authenc", "--keys", str(keys)),
                    "1/0.0.42.0.0.255/2")  # fmt: skip
        assert lines(proc) == [{**NAME_LINE, "data": {"type": "octet-string", "value": b"MMM0000000000008".hex()}}]
        more = tmp_path / "more.jsonl"
        more.write_text(f'{{"system_title": "0000000000000001", "ek": "{AK}", "ak": "{EK}"}}\n' + keys.read_text())
        proc = read(*_at(served.port, "--client-sap", "1", "--security", "authenc", "--keys", str(more),
                         "--system-title", title), "1/0.0.42.0.0.255/2")  # fmt: skip
        assert lines(proc) == [{**NAME_LINE, "data": {"type": "octet-string", "value": b"MMM0000000000008".hex()}}]


# --------------------------------------------------------------------------
# failures
# --------------------------------------------------------------------------


def test_a_meter_that_never_answers_is_exit_1_within_the_timeout() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))  # bound, so no ICMP: just silence
        started = time.monotonic()
        proc = read(*_at(silent.getsockname()[1], "--timeout", "0.2"), "1/0.0.42.0.0.255/2")
        took = time.monotonic() - started
    assert proc.returncode == 1 and proc.stdout == ""
    assert (
        proc.stderr
        == "dlmsmesh read: error: cannot open the association: meter 4d4d4d0000bc614e did not answer the AARQ\n"
    )
    assert took < 0.2 * 7 + 10  # three tries (0.2 + 0.4 + 0.8 s) and the interpreter's start


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["1/0.0.42.0.0.255/2"], "--host is needed: the meter's IP address"),
        (["--host", "meter.example", "1/0.0.42.0.0.255/2"], "--host: 'meter.example' is not an IPv4 or IPv6 address"),
        (["--host", "::1", "--port", "0", "1/0.0.42.0.0.255/2"], "--port: expected a port number 1..65535, got '0'"),
        (["--host", "::1", "--port", "http", "1/0.0.42.0.0.255/2"], "--port: expected a port number 1..65535, got 'http'"),
        (["--host", "::1", "--client-sap", "70000", "1/0.0.42.0.0.255/2"], "--client-sap: expected a SAP 1..65535, got '70000'"),
        (["--host", "::1", "--server-sap", "-1", "1/0.0.42.0.0.255/2"], "--server-sap: expected a SAP 0..65535, got '-1'"),
        (["--host", "::1", "--auth", "lls", "1/0.0.42.0.0.255/2"], "--auth lls needs a password (--password)"),
        (["--host", "::1", "--password", "x", "1/0.0.42.0.0.255/2"], "--password is only used with --auth lls"),
        (["--host", "::1", "--security", "auth", "--ek", EK, "1/0.0.42.0.0.255/2"], "--security auth needs both keys (--ek and --ak, or --keys)"),
        (["--host", "::1", "--auth", "hls-gmac", "1/0.0.42.0.0.255/2"], "--auth hls-gmac needs both keys (--ek and --ak, or --keys)"),
        (["--host", "::1", "--ek", "zz", "1/0.0.42.0.0.255/2"], "--ek: 'zz' is not hex"),
        (["--host", "::1", "--ak", "0011", "1/0.0.42.0.0.255/2"], "--ak: 2 bytes, expected 16"),
        (["--host", "::1", "--system-title", "00", "1/0.0.42.0.0.255/2"], "--system-title: 1 byte, expected 8"),
        (["--host", "::1", "--timeout", "0", "1/0.0.42.0.0.255/2"], "--timeout: expected a number of seconds > 0, got 0.0"),
        (["--host", "::1", "1/0.0.42.0.0/2"], "'1/0.0.42.0.0/2': not an OBIS code: '0.0.42.0.0'"),
        (["--host", "::1", "1/0.0.42.0.0.256/2"], "'1/0.0.42.0.0.256/2': OBIS groups are 0..255: '0.0.42.0.0.256'"),
        (["--host", "::1", "1/0.0.42.0.0.255"], "'1/0.0.42.0.0.255': expected CLASS/OBIS/ATTR, e.g. 8/0.0.1.0.0.255/2"),
        (["--host", "::1", "x/0.0.42.0.0.255/2"], "'x/0.0.42.0.0.255/2': expected a class id 0..65535, got 'x'"),
        (["--host", "::1", "1/0.0.42.0.0.255/200"], "'1/0.0.42.0.0.255/200': expected an attribute id -128..127, got '200'"),
    ],
)  # fmt: skip
def test_a_bad_command_line_is_one_line_and_exit_2(args: list[str], line: str) -> None:
    proc = read(*args)
    assert (proc.returncode, proc.stdout, proc.stderr) == (2, "", f"dlmsmesh read: error: {line}\n")


def test_keys_file_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    two = tmp_path / "two.jsonl"
    two.write_text(
        f'{{"system_title": "4D4D4D0000BC614E", "ek": "{EK}", "ak": "{EK}"}}\n'
        f'{{"system_title": "4D4D4D0000BC614F", "ek": "{EK}", "ak": "{EK}"}}\n'
    )
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"system_title": "4D4D4D0000BC614E", "ek": "00"}\n')
    cases = [
        (["--keys", str(two)], f"--keys {two}: 2 meters in the file: give the system title to choose one"),
        (["--keys", str(two), "--system-title", "0000000000000001"], f"--keys {two}: no line for system title 0000000000000001"),
        (["--keys", str(two), "--ek", EK], "--keys and --ek/--ak: give the keys one way"),
        (["--keys", str(tmp_path / "none.jsonl")], f"--keys {tmp_path / 'none.jsonl'}: cannot read the keys file: No such file or directory"),
    ]  # fmt: skip
    for extra, line in cases:
        proc = read("--host", "::1", "--security", "authenc", *extra, "1/0.0.42.0.0.255/2")
        assert (proc.returncode, proc.stdout, proc.stderr) == (2, "", f"dlmsmesh read: error: {line}\n"), extra
    proc = read("--host", "::1", "--security", "authenc", "--keys", str(bad), "1/0.0.42.0.0.255/2")
    assert proc.returncode == 2 and proc.stderr.startswith(f"dlmsmesh read: error: --keys {bad}:1: ")
    assert EK not in proc.stderr


def test_a_counter_file_that_cannot_be_made_is_exit_2(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    path = blocker / "counters.sqlite3"  # under a file: no directory can be made
    proc = read("--host", "::1", "--security", "auth", "--ek", EK, "--ak", AK, "--counters", str(path),
                "1/0.0.42.0.0.255/2")  # fmt: skip
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith(f"dlmsmesh read: error: counters file {path}: ")
    assert proc.stderr.count("\n") == 1


def test_argparse_errors_are_exit_2() -> None:
    proc = read("--host", "::1")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.endswith("dlmsmesh read: error: the following arguments are required: CLASS/OBIS/ATTR\n")
    proc = read("--host", "::1", "--auth", "hls-md5", "1/0.0.42.0.0.255/2")
    assert proc.returncode == 2 and "argument --auth: invalid choice: 'hls-md5'" in proc.stderr


def test_the_error_object_names_the_result_or_the_class() -> None:
    assert read_cli.error_object(ObjectUndefined()) == {
        "type": "object-undefined",
        "message": "the meter has no such object or attribute",
    }
    assert read_cli.error_object(DlmsTimeout("meter 4d4d4d0000bc614e did not answer")) == {
        "type": "DlmsTimeout",
        "message": "meter 4d4d4d0000bc614e did not answer",
    }


# --------------------------------------------------------------------------
# help and documentation
# --------------------------------------------------------------------------


def test_help_says_what_read_does() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "dlmsmesh", "read", "--help"], capture_output=True, text=True, timeout=WAIT
    )
    assert proc.returncode == 0 and proc.stderr == ""
    text = " ".join(proc.stdout.split())
    assert text.startswith(
        "usage: dlmsmesh read [-h] [--host H] [--port P] [--client-sap N] [--server-sap N] "
        "[--auth {none,lls,hls-gmac}] [--password PW] [--security {none,auth,enc,authenc}] [--ek HEX] [--ak HEX] "
        "[--keys FILE] [--system-title HEX] [--timeout S] [--counters FILE] CLASS/OBIS/ATTR [CLASS/OBIS/ATTR ...]"
    )
    assert (
        "--system-title is the METER's system title: ciphering and HLS need it (default 4d4d4d0000bc614e, the dlmsmesh serve default)"
        in text
    )
    assert "The client's own system title is 444c4d0000000001." in text
    assert read_cli.CLIENT_SYSTEM_TITLE.hex() == "444c4d0000000001"
    assert '{"attribute": ..., "error": {"type": "object-undefined", "message": ...}}' in text
    assert "the meter's UDP port (default 61616)" in text and read_cli.DEFAULT_PORT == 61616
    assert "the client SAP (default 16, public)" in text
    assert "the server SAP, logical device (default 1)" in text
    assert "seconds to wait for an answer before asking again, twice more, each wait doubled (default 3)" in text
    assert (
        '0 the association opened (lines with "error" say which attributes failed) '
        "1 the association did not open (one line on standard error says why) "
        "2 bad command line or counters file (one line on standard error: dlmsmesh read: error: ...)"
    ) in text


def test_the_top_level_help_lists_read() -> None:
    proc = subprocess.run([sys.executable, "-m", "dlmsmesh", "--help"], capture_output=True, text=True, timeout=WAIT)
    assert re.search(r"\n +read +read attributes of a meter over UDP \(one JSON line each\)\n", proc.stdout)


def _shown(text: str) -> tuple[list[str], list[str]]:
    """The dlmsmesh read command documented and the lines shown as its output:
    one ```sh block of the command and its output (docs/cli.md), or a block
    of the command then a ```text block of the output (the README, whose
    ``$`` examples run with no meter)."""
    shown = re.search(r"```sh\n\$ (dlmsmesh read .*?)\n(.*?)```", text, re.S) or re.search(
        r"```sh\n(dlmsmesh read .*?)\n```\n.*?```text\n(.*?)```", text, re.S
    )
    assert shown is not None
    return shlex.split(shown.group(1))[2:], shown.group(2).splitlines()


@pytest.mark.parametrize("doc", ["README.md", "docs/cli.md"])
def test_the_documented_read_prints_what_is_shown(doc: str) -> None:
    text = (ROOT / doc).read_text(encoding="utf-8")
    if doc == "README.md":
        start = text.index("## Run a meter emulator\n")
        text = text[start : text.index("\n## ", start + 1)]
    args, output = _shown(text)
    with serve() as served:
        # as written, on the free port serve took instead of 61616
        proc = read(*args, "--port", str(served.port))
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.splitlines() == output


def test_docs_describe_every_option_and_the_error_object() -> None:
    docs = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    section = docs[docs.index("\n## read\n") :]
    for option in ("--host", "--port", "--client-sap", "--server-sap", "--auth", "--password", "--security",
                   "--ek", "--ak", "--system-title", "--timeout", "--counters"):  # fmt: skip
        assert f"`{option}" in section, option
    assert "`444c4d0000000001`" in section and "`4d4d4d0000bc614e`" in section
    for word in ("`type`", "`message`", "`object-undefined`", "`DlmsTimeout`"):
        assert word in section, word


def test_decode_does_not_import_the_client() -> None:
    code = "import sys, dlmsmesh.cli; print(sorted(m for m in ('dlmsmesh.client', 'dlmsmesh.sync', 'dlmsmesh.transport') if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=WAIT)
    assert proc.stdout == "[]\n", proc.stderr
