"""``dlmsmesh listen`` as docs/listener.md writes it: the help text, the
example command and its two lines, JSON start/stop lines, commits printed
after they are durable, a clean stop on SIGINT, and exit status 2 with one
line for what cannot work (never showing a key)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from dlmsmesh.registration.registry import Registry, Status

from .postgres_support import Databases
from .registration_support import address, announcement, frame, keys_of, keys_text, meter_context, title

pytestmark = pytest.mark.single_backend  # subprocesses of the command line

DOC = Path(__file__).resolve().parents[1] / "docs" / "listener.md"
COMMAND = [sys.executable, "-m", "dlmsmesh", "listen"]


def _blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", DOC.read_text(), flags=re.S)


def _run(args: list[str], cwd: Path, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "80"}
    return subprocess.run([*COMMAND, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


def test_help_is_as_documented(tmp_path: Path) -> None:
    documented = next(b for b in _blocks("text") if b.startswith("usage: dlmsmesh listen"))
    result = _run(["--help"], tmp_path)
    assert result.returncode == 0
    assert result.stdout == documented


def test_the_documented_example_prints_its_two_lines(tmp_path: Path) -> None:
    (tmp_path / "meters.jsonl").write_text(keys_text([title(1), title(2)]))
    example = next(line for b in _blocks("sh") for line in b.splitlines() if "--seconds" in line)
    result = _run(example.split()[2:], tmp_path)
    assert result.returncode == 0, result.stderr
    text = next(b for b in _blocks("text") if b.startswith("listening on"))
    pattern = re.escape(text).replace("40123", r"\d+")
    assert re.fullmatch(pattern, result.stdout), result.stdout
    with Registry.open(tmp_path / "reg.sqlite") as registry:
        assert registry.list() == []


def test_json_lines_commits_and_a_clean_stop(tmp_path: Path, db: Databases) -> None:
    t, stranger = title(7), title(8)
    (tmp_path / "k.jsonl").write_text(keys_text([t]))
    registry = db("r")
    proc = subprocess.Popen(
        [*COMMAND, "--port", "0", "--database", str(registry), "--keys", "k.jsonl", "--json", "--print-commits",
         "--system-title", "4845530000000002"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        start = json.loads(proc.stdout.readline())
        port = start["listening"]["port"]
        assert start == {
            "listening": {"host": "127.0.0.1", "port": port}, "registry": str(registry), "meters_with_keys": 1,
            "system_title": "4845530000000002",
        }  # fmt: skip
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(frame(meter_context(t), announcement(t, [address(7)])), ("127.0.0.1", port))
            committed = json.loads(proc.stdout.readline())
            assert committed == {"committed": [[t.hex().upper(), 1, "recorded"]]}
            s.sendto(frame(meter_context(stranger), announcement(stranger, [address(8)])), ("127.0.0.1", port))
            assert json.loads(proc.stdout.readline()) == {"committed": [[stranger.hex().upper(), None, "quarantined"]]}
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    stopped = json.loads(out.splitlines()[-1])["stopped"]
    assert (stopped["received"], stopped["recorded"], stopped["quarantined"]) == (2, 1, 1)
    with Registry.open(registry) as reg:
        b = reg.lookup(t)
        assert b is not None and b.status is Status.REGISTERED and b.addresses == (address(7),)
        q = reg.lookup(stranger)
        assert q is not None and q.status is Status.QUARANTINED and q.addresses == ("127.0.0.1",)


def test_what_cannot_work_exits_2_with_one_line(tmp_path: Path) -> None:
    ek, _ak = keys_of(title(1))
    bad = tmp_path / "bad.jsonl"
    bad.write_text(keys_text([title(1)]) + json.dumps({"system_title": "00", "ek": ek.hex(), "ak": ek.hex()}) + "\n")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        cases = {
            "--system-title 0102": "--system-title: a system title is 8 bytes, not 2",
            "--system-title zz": "--system-title: not hex",
            "--keys missing.jsonl": "cannot read the keys file",
            f"--keys {bad}": ":2: ",
            f"--port {taken.getsockname()[1]}": "cannot open UDP 127.0.0.1",
            "--seconds -1": "--seconds: expected a number of seconds >= 0",
            "--port 70000": "--port: 0..65535",
        }
        for args, message in cases.items():
            stop = [] if "--seconds" in args else ["--seconds", "0"]
            result = _run([*args.split(), "--registry", str(tmp_path / "r.sqlite"), *stop], tmp_path)
            assert result.returncode == 2, (args, result.stderr)
            assert result.stderr.startswith("dlmsmesh listen: error: ") and message in result.stderr, (
                args,
                result.stderr,
            )
            assert len(result.stderr.splitlines()) == 1 and result.stdout == ""
            assert ek.hex() not in result.stderr.lower()


def test_the_database_comes_from_the_environment_without_database(tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "80", "DLMSMESH_DATABASE": "sqlite:///env.sqlite"}
    result = subprocess.run(
        [*COMMAND, "--port", "0", "--seconds", "0", "--json"], cwd=tmp_path, capture_output=True, text=True,
        timeout=30, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[0])["registry"] == "sqlite:///env.sqlite"
    assert (tmp_path / "env.sqlite").exists() and not (tmp_path / "registry.sqlite").exists()
