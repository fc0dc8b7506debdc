"""``dlmsmesh listen --pushes FILE`` (issue 19, point 3): data-notifications
received on the push port are written as CSV or JSON Lines, one row per
notification and a column per field, beside the registration handling."""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dlmsmesh.types import DoubleLongUnsigned, Long, OctetString, Structure

from .push_support import notification_frame
from .registration_support import keys_text, meter_context, title

pytestmark = pytest.mark.single_backend  # subprocesses of the command line

COMMAND = [sys.executable, "-m", "dlmsmesh", "listen"]
WHEN = bytes.fromhex("07EA0C06070A0F0000FFC400")  # 2026-12-06 10:15:00, UTC+1


def _listen(tmp_path: Path, out: str) -> tuple[subprocess.Popen[str], dict[str, object]]:
    (tmp_path / "k.jsonl").write_text(keys_text([title(1), title(2)]))
    proc = subprocess.Popen(
        [*COMMAND, "--port", "0", "--registry", str(tmp_path / "r.sqlite"), "--keys", "k.jsonl", "--json",
         "--pushes", out, "--push-port", "0"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    start = json.loads(proc.stdout.readline())
    return proc, start


def _push(port: int) -> None:
    frames = []
    for m in (1, 2):
        ctx = meter_context(title(m))
        for k in range(3):
            body = Structure([OctetString(WHEN), DoubleLongUnsigned(100 * m + k), Long(-k)])
            frames.append(notification_frame(m, body, invoke=k, when=WHEN, ctx=ctx))
    frames.append(notification_frame(9, Long(1), ctx=meter_context(title(9))))  # no keys
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for f in frames:
            s.sendto(f, ("127.0.0.1", port))


def _stop(proc: subprocess.Popen[str], path: Path, lines: int) -> dict[str, object]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if path.exists() and len(path.read_text().splitlines()) >= lines:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    return json.loads(out.splitlines()[-1])  # type: ignore[no-any-return]


def test_pushes_to_csv(tmp_path: Path) -> None:
    proc, start = _listen(tmp_path, "pushes.csv")
    try:
        pushes = start["pushes"]
        assert isinstance(pushes, dict) and pushes["file"] == "pushes.csv" and pushes["port"] > 0
        _push(int(pushes["port"]))
        stopped = _stop(proc, tmp_path / "pushes.csv", 7)
    finally:
        if proc.poll() is None:
            proc.kill()
    rows = list(csv.DictReader((tmp_path / "pushes.csv").open()))
    assert len(rows) == 6
    assert list(rows[0]) == [
        "frame",
        "system_title",
        "invocation_counter",
        "invoke_id",
        "date_time",
        "body.0",
        "body.1",
        "body.2",
    ]
    got = sorted((r["system_title"], int(r["body.1"]), int(r["body.2"]), r["date_time"]) for r in rows)
    assert got == sorted((title(m).hex(), 100 * m + k, -k, "2026-12-06T09:15:00Z") for m in (1, 2) for k in range(3))
    assert {r["body.0"] for r in rows} == {"2026-12-06T09:15:00Z"}
    assert stopped["pushes"]["received"] == 7 and stopped["pushes"]["rows"] == 6  # type: ignore[index]
    assert stopped["pushes"]["unknown"] == 1  # type: ignore[index]


def test_pushes_to_json_lines(tmp_path: Path) -> None:
    proc, start = _listen(tmp_path, "pushes.jsonl")
    try:
        _push(int(start["pushes"]["port"]))  # type: ignore[index]
        _stop(proc, tmp_path / "pushes.jsonl", 6)
    finally:
        if proc.poll() is None:
            proc.kill()
    records = [json.loads(line) for line in (tmp_path / "pushes.jsonl").read_text().splitlines()]
    assert len(records) == 6
    one = next(r for r in records if r["body.1"] == 201)
    assert one == {
        "frame": one["frame"], "system_title": title(2).hex(), "invocation_counter": 2, "invoke_id": 1,
        "date_time": "2026-12-06T09:15:00Z", "body.0": "2026-12-06T09:15:00Z", "body.1": 201, "body.2": -1,
    }  # fmt: skip


def test_push_port_out_of_range_is_refused(tmp_path: Path) -> None:
    result = subprocess.run(
        [*COMMAND, "--pushes", "x.csv", "--push-port", "70000", "--seconds", "0"],
        cwd=tmp_path, capture_output=True, text=True, timeout=30, env={**os.environ},
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == "dlmsmesh listen: error: --push-port: 0..65535, not 70000"
