"""The command line keeps its promises (issue 11, point 7): ``--layer auto``
reports the most plausible layer, no input or output problem ends in a
traceback, ``encode`` refuses what it cannot write faithfully, and ``decode``
output pipes back into ``encode``.  The process-level behaviours run the
command as a separate process."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dlmsmesh import _backend, axdr, cli, types

from .test_cli import SAMPLE, error, json_lines, run

DEV_FULL = Path("/dev/full")
needs_dev_full = pytest.mark.skipif(not DEV_FULL.exists(), reason="no /dev/full")


# --------------------------------------------------------------------------
# --layer auto
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "want"),
    [
        # an array of 3 elements with none there: the data layer's truncation, not "unknown APDU tag"
        ("0203", error("data", 1, "element count exceeds the bytes left")),
        # a truncated AARQ is an ACSE error, not a 6LoWPAN one (0x60 is also an IPHC dispatch)
        ("601da10906076085740508", error("acse", 2, "truncated input")),
        # a truncated get-response is an APDU error, not a 6LoWPAN one (0xC4 is also FRAG1)
        ("c401c1", error("apdu", 3, "truncated input")),
        ("c501c1", error("apdu", 3, "truncated input")),
    ],
)
def test_auto_reports_the_layer_that_got_furthest(backend: str, frame: str, want: dict[str, object]) -> None:
    proc = run(["decode", frame], backend=backend)
    assert json_lines(proc.stdout) == [want]
    assert json_lines(run(["decode", "--layer", "auto", frame], backend=backend).stdout) == [want]


def test_sample_line_22_is_the_data_layers_truncation(backend: str) -> None:
    line = SAMPLE.read_text(encoding="ascii").splitlines()[21]
    auto = json_lines(run(["decode", line], backend=backend).stdout)
    data = json_lines(run(["decode", "--layer", "data", line], backend=backend).stdout)
    assert auto == data
    assert auto[0]["error"]["layer"] == "data" and auto[0]["error"]["message"] == "truncated input"
    assert auto[0]["error"]["offset"] == len(bytes.fromhex(line))


def test_auto_still_decodes_bare_values_and_apdus(backend: str) -> None:
    lines = json_lines(run(["decode", "1203e8", "00", "0f05", "C401C1000600003039"], backend=backend).stdout)
    assert lines[0] == {"data": {"type": "long-unsigned", "value": 1000}}
    assert lines[1] == {"data": {"type": "null-data", "value": None}}
    assert lines[2] == {"data": {"type": "integer", "value": 5}}
    assert lines[3]["apdu"]["type"] == "get-response"


def test_auto_order_is_documented_in_help() -> None:
    text = run(["decode", "--help"]).stdout
    assert "wrapper" in text and "then the earliest tried" in text
    assert text.index("wrapper (when") < text.index("ipv6 (version") < text.index("lowpan (a 6LoWPAN")
    assert text.index("lowpan (a 6LoWPAN") < text.index("apdu (ACSE") < text.index("data (a")


def test_help_cites_files_in_the_repository() -> None:
    texts = [run(args).stdout for args in (["--help"], ["decode", "--help"], ["encode", "--help"])]
    for text in texts:
        assert "DESIGN.md" not in text and "spec/" not in text
    assert "docs/json.md" in texts[1] and "docs/json.md" in texts[2]


# --------------------------------------------------------------------------
# no tracebacks
# --------------------------------------------------------------------------


def test_a_5000_digit_integer_is_an_error_line_and_earlier_lines_survive(backend: str) -> None:
    lines = [
        '{"type": "long", "value": 1}',
        '{"type": "long64", "value": ' + "9" * 5000 + "}",
        '{"type": "long", "value": 2}',
    ]
    proc = run(["encode"], stdin="\n".join(lines) + "\n", backend=backend)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr
    out = proc.stdout.splitlines()
    assert out[0] == "100001" and out[2] == "100002"
    bad = json.loads(out[1])["error"]
    assert bad["layer"] == "input" and "4300 digits" in bad["message"]


def test_json_nested_100000_deep_is_an_error_line(backend: str) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    proc = run(["encode"], stdin='{"type": "unsigned", "value": 7}\n' + deep + "\n", backend=backend)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr and "RecursionError" not in proc.stderr
    first, second = proc.stdout.splitlines()
    assert first == "1107"
    assert json.loads(second) == error("input", None, "invalid JSON: nested too deeply")


def test_a_value_nested_deeper_than_the_codec_allows_is_an_error_line(backend: str) -> None:
    text = '{"type": "array", "value": [' * 900 + '{"type": "null-data", "value": null}' + "]}" * 900
    proc = run(["encode"], stdin=text + "\n", backend=backend)
    assert "Traceback" not in proc.stderr
    assert len(proc.stdout.splitlines()) == 1


def test_a_line_that_raises_inside_does_not_lose_the_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def one(item: str) -> tuple[str, bool]:
        calls.append(item)
        if item == "boom":
            raise RuntimeError("bug")
        return item.upper(), True

    written: list[str] = []
    monkeypatch.setattr(cli, "_emit", lambda lines: written.extend(lines))
    assert cli._run_batch([["a", "boom", "b"]], one, strict=True, layer="data") == 1
    assert written[0] == "A" and written[2] == "B"
    assert json.loads(written[1]) == error("data", None, "internal error: RuntimeError: bug")


def _to_dev_full(args: list[str], stdin: str = "") -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ)
    env.pop("DLMSMESH_BACKEND", None)
    with open(DEV_FULL, "wb") as out:
        return subprocess.run(
            [sys.executable, "-m", "dlmsmesh", *args],
            input=stdin.encode(),
            stdout=out,
            stderr=subprocess.PIPE,
            env=env,
            timeout=60,
        )


@needs_dev_full
@pytest.mark.parametrize(
    ("args", "stdin"),
    [
        (["decode", "1203e8"], ""),
        (["decode"], "1203e8\n" * 100),
        (["encode", '{"type": "long", "value": 1}'], ""),
        (["backend"], ""),
        (["--version"], ""),
        (["--help"], ""),
    ],
)
def test_a_full_disk_is_one_line_on_stderr_and_a_failed_run(args: list[str], stdin: str) -> None:
    proc = _to_dev_full(args, stdin)
    assert proc.returncode == 1
    assert proc.stderr.decode() == "dlmsmesh: error: cannot write the output: No space left on device\n"


def test_a_bogus_backend_is_a_one_line_usage_error() -> None:
    env = dict(os.environ, DLMSMESH_BACKEND="bogus")
    proc = subprocess.run(
        [sys.executable, "-m", "dlmsmesh", "decode", "00"], capture_output=True, env=env, timeout=60, text=True
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == "dlmsmesh: error: DLMSMESH_BACKEND must be one of native, pure (got 'bogus')\n"


def test_a_bogus_backend_gives_library_users_a_clear_exception() -> None:
    code = (
        "import dlmsmesh\n"
        "from dlmsmesh import axdr\n"
        "try:\n"
        "    axdr.decode(b'\\x00')\n"
        "except dlmsmesh.DlmsError as e:\n"
        "    print(type(e).__name__, isinstance(e, ImportError), e)\n"
    )
    env = dict(os.environ, DLMSMESH_BACKEND="bogus")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env, timeout=60, text=True)
    assert proc.stdout == "BackendError True DLMSMESH_BACKEND must be one of native, pure (got 'bogus')\n"


def test_native_asked_for_by_name_that_cannot_load_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    before = _backend.live.modules, _backend.live.name

    def no_core(name: str) -> dict[str, object]:
        raise ImportError("no _core here")

    monkeypatch.setattr(_backend, "_load", no_core)
    try:
        monkeypatch.setenv("DLMSMESH_BACKEND", "native")
        _backend._initial()
        problem = _backend.startup_error()
        assert problem is not None and "could not be loaded (no _core here)" in str(problem)
        with pytest.raises(_backend.BackendError):
            axdr.decode(b"\x00")
        with pytest.raises(_backend.BackendError):
            _backend.backend()  # no backend is live: it names none
        # unset: the default falls back to pure with one warning
        monkeypatch.delenv("DLMSMESH_BACKEND")
        monkeypatch.setattr(_backend, "_load", lambda name: no_core(name) if name == "native" else before[0])
        with pytest.warns(RuntimeWarning, match="running the pure-Python backend"):
            _backend._initial()
        assert _backend.startup_error() is None and _backend.live.name == "pure"
    finally:
        _backend.live.modules, _backend.live.name = before
        for layer, mod in before[0].items():
            setattr(_backend.live, layer, mod)


# --------------------------------------------------------------------------
# encode refuses, and takes decode's output back
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"type": "visible-string", "value": "Zähler"}, "visible-string is ASCII only: 'ä' is not (use utf8-string)"),
        ({"type": "long", "value": math.nan}, "long takes a JSON integer, not nan"),
        ({"type": "double-long-unsigned", "value": math.inf}, "double-long-unsigned takes a JSON integer, not inf"),
        ({"type": "enum", "value": -math.inf}, "enum takes a JSON integer, not -inf"),
        ({"type": "long", "value": 1, "scaler": 2}, "unknown key 'scaler' in a long object (allowed: type, value)"),
        (
            {"type": "structure", "value": [{"type": "long", "value": 1, "x": 0}]},
            "unknown key 'x' in a long object (allowed: type, value)",
        ),
        ({"type": "octet-string", "value": "abc"}, "octet-string takes whole bytes: 3 hex digits is an odd number"),
        ({"type": "octet-string", "value": "0g"}, "octet-string takes hex digits: 'g' at position 1 is not one"),
        ({"type": "date-time", "value": "07 e8"}, "date-time takes hex digits: ' ' at position 2 is not one"),
        (
            {"type": "compact-array", "description": {"type": "long", "n": 1}, "value": []},
            "unknown key 'n' in a type description (allowed: type)",
        ),
    ],
)
def test_encode_refuses(backend: str, value: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)") + "$"):
        cli._encode_data(value)
    proc = run(["encode"], stdin=json.dumps(value, ensure_ascii=False) + "\n", backend=backend)
    assert json_lines(proc.stdout) == [error("data", None, message)]


def test_floats_may_still_be_nan(backend: str) -> None:
    assert cli._encode_data({"type": "float64", "value": math.nan})[:1] == b"\x18"


def test_decode_output_pipes_into_encode(backend: str) -> None:
    lines = SAMPLE.read_text(encoding="ascii").splitlines()
    decoded = run(["decode", "--layer", "data"], stdin="\n".join(lines) + "\n", backend=backend).stdout
    back = run(["encode"], stdin=decoded, backend=backend)
    out = back.stdout.splitlines()
    for i, (line, got) in enumerate(zip(lines, out)):
        if i == 21:  # the deliberately malformed line: its error line is not a value
            assert json.loads(got)["error"]["message"].startswith("unknown key 'error'")
        else:
            assert got == line.lower()


def test_the_data_wrapper_is_only_taken_alone(backend: str) -> None:
    assert cli._encode_data({"data": {"type": "unsigned", "value": 3}}) == b"\x11\x03"
    with pytest.raises(ValueError):
        cli._encode_data({"data": {"type": "unsigned", "value": 3}, "error": {}})
    assert axdr.encode(types.from_json({"type": "unsigned", "value": 3})) == b"\x11\x03"
