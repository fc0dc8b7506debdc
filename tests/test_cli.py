"""The ``dlmsmesh`` command line, run as a separate process the way users run it.

``python -m dlmsmesh`` is used instead of the ``dlmsmesh`` script so the tests
run the interpreter (and venv) pytest runs in; one test checks the installed
script itself.  Every codec test runs once per backend, chosen through
DLMSMESH_BACKEND as a user would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import dlmsmesh
from dlmsmesh import cli

BACKENDS = ["native", "pure"] if dlmsmesh.native_available() else ["pure"]
ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "profile_capture.hex"
# the transport layers on two frames too short for them: (layer, error of 1203e8, error of 6003)
TRANSPORT_SHORT = [
    ("lowpan", (0, "not a 6LoWPAN dispatch this decoder handles"), (2, "truncated input")),
    ("ipv6", (0, "truncated input"), (0, "truncated input")),
    ("udp", (0, "truncated input"), (0, "truncated input")),
    ("wrapper", (0, "truncated input"), (0, "truncated input")),
]

# A14 and A27 of tests/vectors/axdr_examples.json: (hex, JSON form)
LONG_UNSIGNED_1000 = ("1203e8", {"type": "long-unsigned", "value": 1000})
SCALER_UNIT = (
    "02020ffd161e",
    {"type": "structure", "value": [{"type": "integer", "value": -3}, {"type": "enum", "value": 30}]},
)
DATE_TIME = ("1907e8030f050c1e2d00ffc400", {"type": "date-time", "value": "07e8030f050c1e2d00ffc400"})
BIT_STRING = ("040a40c0", {"type": "bit-string", "value": "0100000011"})
COMPACT = (
    "13020212060c00010000000a000200000014",
    {
        "type": "compact-array",
        "description": {
            "type": "structure",
            "elements": [{"type": "long-unsigned"}, {"type": "double-long-unsigned"}],
        },
        "value": [
            {
                "type": "structure",
                "value": [{"type": "long-unsigned", "value": 1}, {"type": "double-long-unsigned", "value": 10}],
            },
            {
                "type": "structure",
                "value": [{"type": "long-unsigned", "value": 2}, {"type": "double-long-unsigned", "value": 20}],
            },
        ],
    },
)
VECTORS = [LONG_UNSIGNED_1000, SCALER_UNIT, DATE_TIME, BIT_STRING, COMPACT]


def run(
    args: list[str], stdin: str | bytes | None = None, backend: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("DLMSMESH_BACKEND", None)
    if backend is not None:
        env["DLMSMESH_BACKEND"] = backend
    data = stdin.encode() if isinstance(stdin, str) else stdin
    proc = subprocess.run(
        [sys.executable, "-m", "dlmsmesh", *args],
        input=data if data is not None else b"",
        capture_output=True,
        env=env,
        timeout=120,
    )
    return subprocess.CompletedProcess(
        proc.args, proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8", "replace")
    )


def json_lines(text: str) -> list[dict[str, Any]]:
    assert text.endswith("\n") or text == ""
    return [json.loads(line) for line in text.splitlines()]


def error(layer: str, offset: int | None, message: str) -> dict[str, Any]:
    return {"error": {"layer": layer, "offset": offset, "message": message}}


# --------------------------------------------------------------------------
# the basics
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", BACKENDS)
def test_backend_command_names_the_backend_asked_for(name: str) -> None:
    proc = run(["backend"], backend=name)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"{name}\n"


def test_version() -> None:
    proc = run(["--version"])
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"dlmsmesh {dlmsmesh.__version__}"


def test_no_command_is_a_usage_error() -> None:
    proc = run([])
    assert proc.returncode == 2
    assert "decode" in proc.stderr and proc.stdout == ""


def test_help_documents_exit_codes() -> None:
    proc = run(["decode", "--help"])
    assert proc.returncode == 0
    assert "exit status" in proc.stdout and "with --strict: at least one line gave an error line" in proc.stdout


def test_installed_console_script() -> None:
    script = Path(sys.executable).with_name("dlmsmesh.exe" if os.name == "nt" else "dlmsmesh")
    if not script.exists():
        pytest.skip("the dlmsmesh script is not installed next to this interpreter")
    proc = subprocess.run([str(script), "decode", "1203e8"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"data": LONG_UNSIGNED_1000[1]}


# --------------------------------------------------------------------------
# decode
# --------------------------------------------------------------------------


def test_decode_arguments(backend: str) -> None:
    proc = run(["decode", "--layer", "data", *(h for h, _ in VECTORS)], backend=backend)
    assert proc.returncode == 0, proc.stderr
    assert json_lines(proc.stdout) == [{"data": j} for _, j in VECTORS]


def test_auto_layer_decodes_bare_values_for_now(backend: str) -> None:
    proc = run(["decode", SCALER_UNIT[0]], backend=backend)
    assert proc.returncode == 0
    assert json_lines(proc.stdout) == [{"data": SCALER_UNIT[1]}]


def test_decode_argument_forms_and_failures(backend: str) -> None:
    frames = ["0x12 03 E8", "  12 03e8\t", "1203", "1203e800", "12zz", "1 203e8", "1203e", "", "0x"]
    proc = run(["decode", "-l", "data", "--strict", *frames], backend=backend)
    assert proc.returncode == 1
    assert json_lines(proc.stdout) == [
        {"data": LONG_UNSIGNED_1000[1]},
        {"data": LONG_UNSIGNED_1000[1]},
        error("data", 1, "truncated input"),
        error("data", 3, "trailing bytes after the value"),
        error("input", 2, "not a hex digit: 'z'"),
        error("input", 1, "whitespace inside the byte starting at column 0"),
        error("input", 4, "odd number of hex digits"),
        error("input", 0, "empty line: expected a hex frame"),
        error("input", 2, "no hex digits after 0x"),
    ]


def test_stdin_lines_blank_crlf_and_no_final_newline(backend: str) -> None:
    proc = run(["decode", "--layer", "data"], stdin="1101\r\n\n  0x 12 03 e8 \r\n\xff\n1102", backend=backend)
    assert proc.returncode == 0
    assert json_lines(proc.stdout) == [
        {"data": {"type": "unsigned", "value": 1}},
        error("input", 0, "empty line: expected a hex frame"),
        {"data": LONG_UNSIGNED_1000[1]},
        error("input", 0, "not a hex digit: 'Ã'"),  # the UTF-8 lead byte of U+00FF, read as latin-1
        {"data": {"type": "unsigned", "value": 2}},
    ]


def test_empty_stdin_prints_nothing(backend: str) -> None:
    proc = run(["decode"], stdin="", backend=backend)
    assert (proc.returncode, proc.stdout) == (0, "")


def test_stdin_batch_of_10000_in_one_process(backend: str) -> None:
    good = [h for h, _ in VECTORS]
    lines = [good[i % len(good)] for i in range(10_000)]
    lines[4_999] = "0203" + "1203e8"  # a structure of three members that ends after one
    lines[7_500] = "not hex"
    started = time.perf_counter()
    proc = run(["decode", "--layer", "data"], stdin="\n".join(lines) + "\n", backend=backend)
    elapsed = time.perf_counter() - started
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.split("\n")
    assert out[-1] == "" and len(out) == 10_001
    decoded = [json.loads(line) for line in out[:-1]]
    expected = [{"data": VECTORS[i % len(VECTORS)][1]} for i in range(10_000)]
    expected[4_999] = error("data", 5, "truncated input")
    expected[7_500] = error("input", 0, "not a hex digit: 'n'")
    assert decoded == expected
    # generous: a process per line, or a write per value, would take far longer
    assert elapsed < 15, f"10,000 lines took {elapsed:.1f} s"


@pytest.mark.parametrize("command", ["decode", "encode"])
def test_error_lines_fail_the_run_only_with_strict(command: str) -> None:
    good, bad = ("1203e8", "12") if command == "decode" else (json.dumps(LONG_UNSIGNED_1000[1]), "{}")
    for strict, lines, status in [
        (False, [good, bad], 0),
        (True, [good, bad], 1),
        (True, [good, good], 0),
    ]:
        proc = run([command, *(["--strict"] if strict else [])], stdin="\n".join(lines) + "\n")
        assert proc.returncode == status, (strict, lines, proc.stderr)
        assert len(proc.stdout.splitlines()) == 2


@pytest.mark.parametrize("layer, first, second", TRANSPORT_SHORT)
def test_transport_layers_give_an_error_line_per_frame(
    layer: str, first: tuple[int, str], second: tuple[int, str]
) -> None:
    proc = run(["decode", "--layer", layer], stdin="1203e8\n6003\n\n")
    assert proc.returncode == 0
    assert json_lines(proc.stdout) == [
        error(layer, *first),
        error(layer, *second),
        error("input", 0, "empty line: expected a hex frame"),
    ]


def test_unknown_layer_is_a_usage_error() -> None:
    proc = run(["decode", "--layer", "ethernet", "00"])
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def test_security_and_lowpan_options_are_accepted(backend: str) -> None:
    key = "000102030405060708090a0b0c0d0e0f"
    proc = run(
        [
            "decode", "--layer", "data",
            "--ek", key, "--ak", key, "--bk", key, "--dk", key * 2,
            "--system-title", "4d4d4d0000bc614e",
            "--ll-src", "0211223344556677", "--ll-dst", "abcd",
            "--context", "0=2001:db8:1::/64", "--context", "1=fd00::/8",
            LONG_UNSIGNED_1000[0],
        ],
        backend=backend,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json_lines(proc.stdout) == [{"data": LONG_UNSIGNED_1000[1]}]


@pytest.mark.parametrize(
    "args, complaint",
    [
        (["--ek", "0011"], "--ek: '0011' is 2 bytes, expected 16 or 32"),
        (["--system-title", "zz"], "--system-title: 'zz' is not hex"),
        (["--ll-src", "001122"], "--ll-src: '001122' is 3 bytes, expected 2 or 8"),
        (["--context", "16=2001:db8::/64"], "N in 0..15"),
        (["--context", "0=not-an-address/64"], "not-an-address"),
        (["--context", "0=::/64", "--context", "0=fd00::/8"], "--context 0 given more than once"),
    ],
)
def test_bad_options_are_usage_errors(args: list[str], complaint: str) -> None:
    proc = run(["decode", *args, "1100"])
    assert proc.returncode == 2
    assert complaint in proc.stderr and proc.stdout == ""


def test_output_to_a_closed_pipe_stops_quietly(tmp_path: Path) -> None:
    big = tmp_path / "big.hex"
    big.write_text((SCALER_UNIT[0] + "\n") * 50_000)
    with big.open("rb") as f:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dlmsmesh", "decode"], stdin=f, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()
        proc.stdout.close()
        err = proc.stderr.read()
        proc.wait(timeout=60)
    assert json.loads(first) == {"data": SCALER_UNIT[1]}
    assert b"Traceback" not in err, err.decode()


# --------------------------------------------------------------------------
# encode
# --------------------------------------------------------------------------


def test_encode_arguments(backend: str) -> None:
    proc = run(["encode", "--layer", "data", *(json.dumps(j) for _, j in VECTORS)], backend=backend)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [h for h, _ in VECTORS]


def test_encode_then_decode_round_trip(backend: str) -> None:
    values = [j for _, j in VECTORS] + [
        {"type": "utf8-string", "value": "Zählerstand ä€"},
        {"type": "float64", "value": -0.1},
        {"type": "array", "value": [{"type": "null-data", "value": None}, {"type": "dont-care", "value": None}]},
        {"type": "octet-string", "value": "00" * 300},
    ]
    enc = run(["encode"], stdin="".join(json.dumps(v) + "\n" for v in values), backend=backend)
    assert enc.returncode == 0, enc.stderr
    assert len(enc.stdout.splitlines()) == len(values)
    dec = run(["decode", "--layer", "data"], stdin=enc.stdout, backend=backend)
    assert dec.returncode == 0, dec.stderr
    assert json_lines(dec.stdout) == [{"data": v} for v in values]


def test_encode_errors_keep_one_line_per_line(backend: str) -> None:
    lines = [
        json.dumps(LONG_UNSIGNED_1000[1]),
        '{"type": "long-unsigned", "value": 70000}',
        '{"type": "galaxy", "value": 1}',
        "{oops",
        "",
        '{"type": "unsigned", "value": "7"}',
        json.dumps(SCALER_UNIT[1]),
    ]
    proc = run(["encode", "--strict"], stdin="\n".join(lines) + "\n", backend=backend)
    assert proc.returncode == 1
    out = proc.stdout.splitlines()
    assert len(out) == len(lines)
    assert out[0] == LONG_UNSIGNED_1000[0] and out[6] == SCALER_UNIT[0]
    errors = [json.loads(line) for line in out[1:6]]
    assert errors == [
        error("data", None, "LongUnsigned must be in 0..65535, got 70000"),
        error("data", None, "unknown COSEM data type 'galaxy'"),
        error("input", 1, "invalid JSON: Expecting property name enclosed in double quotes"),
        error("input", 0, "empty line: expected a JSON value"),
        error("data", None, "unsigned takes a JSON integer"),
    ]


# --------------------------------------------------------------------------
# the sample capture
# --------------------------------------------------------------------------


def _sample_lines() -> list[str]:
    if not SAMPLE.exists():
        pytest.skip("samples/ is not part of this installation")
    return SAMPLE.read_text().splitlines()


def test_sample_file_decodes_with_only_the_intended_error(backend: str) -> None:
    lines = _sample_lines()
    with SAMPLE.open("rb") as f:
        proc = subprocess.run(
            [sys.executable, "-m", "dlmsmesh", "decode", "--layer", "data"],
            stdin=f,
            capture_output=True,
            text=True,
            env={**os.environ, "DLMSMESH_BACKEND": backend},
            timeout=120,
        )
    assert proc.returncode == 0, proc.stderr
    out = json_lines(proc.stdout)
    assert len(out) == len(lines) == 39
    failed = [i + 1 for i, obj in enumerate(out) if "error" in obj]
    assert failed == [22]
    assert out[21] == error("data", 107, "truncated input")
    buffer = out[20]["data"]
    assert buffer["type"] == "array" and len(buffer["value"]) == 96
    first = buffer["value"][0]["value"]
    assert [m["type"] for m in first] == ["octet-string", "double-long-unsigned", "double-long-unsigned", "unsigned"]
    assert first[0]["value"] == "07e80b1901000f0000ffc400"  # 2024-11-25 Mon 00:15 CET


def test_sample_file_re_encodes_to_itself(backend: str) -> None:
    lines = _sample_lines()
    good = [line for i, line in enumerate(lines) if i != 21]
    dec = run(["decode", "--layer", "data"], stdin="\n".join(good) + "\n", backend=backend)
    assert dec.returncode == 0, dec.stderr
    payload = "".join(json.dumps(obj["data"]) + "\n" for obj in json_lines(dec.stdout))
    enc = run(["encode"], stdin=payload, backend=backend)
    assert enc.returncode == 0, enc.stderr
    assert enc.stdout.splitlines() == good


def test_sample_output_is_the_same_on_both_backends() -> None:
    if len(BACKENDS) < 2:
        pytest.skip("the native backend is not built")
    data = "\n".join(_sample_lines()) + "\n"
    native, pure = (run(["decode"], stdin=data, backend=b) for b in ("native", "pure"))
    assert native.stdout == pure.stdout and native.returncode == pure.returncode == 0


def test_sample_file_is_what_the_generator_makes() -> None:
    _sample_lines()
    proc = subprocess.run(
        [sys.executable, str(ROOT / "samples" / "make_samples.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr


# --------------------------------------------------------------------------
# in process: the library entry point used by the console script
# --------------------------------------------------------------------------


def test_main_in_process(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("1203e8\n12\n"))
    assert cli.main(["decode", "--layer", "data", "--strict"]) == 1
    assert json_lines(capsys.readouterr().out) == [
        {"data": LONG_UNSIGNED_1000[1]},
        error("data", 1, "truncated input"),
    ]


def test_every_decode_layer_is_a_contract_layer() -> None:
    assert set(cli.DECODERS) <= set(cli.DECODE_LAYERS)
    assert cli.DECODE_LAYERS == ("auto", "lowpan", "ipv6", "udp", "wrapper", "apdu", "data")


def test_apdu_layer_decodes_xdlms_and_acse(backend: str) -> None:
    frames = [
        "C401C1000600003039",  # get-response-normal, double-long-unsigned 12345
        "6203800100",  # RLRQ, reason normal
        "C401C10006000030",  # truncated inside the Data value
    ]
    proc = run(["decode", "--layer", "apdu"], stdin="\n".join(frames) + "\n", backend=backend)
    lines = json_lines(proc.stdout)
    assert lines[0]["apdu"]["type"] == "get-response"
    assert lines[0]["apdu"]["result"] == {"type": "double-long-unsigned", "value": 12345}
    assert lines[1]["acse"]["type"] == "rlrq"
    assert lines[2]["error"]["layer"] == "apdu" and lines[2]["error"]["offset"] == 5


def test_auto_layer_prefers_a_whole_apdu_then_data(backend: str) -> None:
    proc = run(["decode", "--layer", "auto"], stdin="C401C1000600003039\n0600003039\n", backend=backend)
    first, second = json_lines(proc.stdout)
    assert first["apdu"]["variant"] == "normal"
    assert second["data"] == {"type": "double-long-unsigned", "value": 12345}
