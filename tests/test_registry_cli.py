"""``dlmsmesh registry``: the examples of docs/registry.md as written, the help,
export/import through the command line, and the errors (one line, exit 2)."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from dlmsmesh import cli
from dlmsmesh.registration import Registration, Registry

pytestmark = pytest.mark.single_backend  # subprocesses

DOC = Path(__file__).resolve().parents[1] / "docs" / "registry.md"
WAIT = 60
A = bytes.fromhex("4D4D4D0000BC614E")


def run(
    args: list[str], cwd: Path, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "DLMSMESH_DATABASE"}
    return subprocess.run(
        [sys.executable, "-m", "dlmsmesh", "registry", *args],
        input=stdin, capture_output=True, text=True, timeout=WAIT, cwd=cwd, check=False, env={**environ, **(env or {})},
    )  # fmt: skip


def doc_examples() -> list[tuple[str, list[str]]]:
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"```sh\n(\$ .*?)```", text, re.S)
    assert block is not None
    out: list[tuple[str, list[str]]] = []
    for line in block.group(1).splitlines():
        if line.startswith("$ "):
            out.append((line[2:], []))
        else:
            out[-1][1].append(line)
    return out


def test_the_documented_session_prints_what_it_shows(tmp_path: Path) -> None:
    examples = doc_examples()
    assert len(examples) == 6
    prose = " ".join(DOC.read_text(encoding="utf-8").split())
    for command, shown in examples:
        runnable = re.sub(
            r"(^|\| )dlmsmesh ", lambda m: f"{m.group(1)}{shlex.quote(sys.executable)} -m dlmsmesh ", command
        )
        proc = subprocess.run(["bash", "-c", runnable], capture_output=True, text=True, timeout=WAIT, cwd=tmp_path)
        assert proc.stdout.splitlines() == shown, command
        if shown:
            assert proc.returncode == 0 and proc.stderr == "", command
        else:  # the two errors the text names
            assert proc.returncode == 2, command
            assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("dlmsmesh registry: error: ")
            assert f"`{proc.stderr.strip()}`" in prose, command  # the error line the text quotes


def test_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    cases = {
        ("list",): "dlmsmesh registry: error: no registry at registry.sqlite\n",
        ("show",): "dlmsmesh registry: error: show needs a TITLE (the system title, 16 hex digits)\n",
        ("show", "XYZ"): "dlmsmesh registry: error: 'XYZ' is not a system title (16 hex digits)\n",
        ("admit", "0102"): "dlmsmesh registry: error: '0102' is 2 octets, a system title is 8 (16 hex digits)\n",
        ("--database", "postgresql://u:secret@127.0.0.1:1/r", "list"): "dlmsmesh registry: error: registry:"
        " cannot connect to postgresql://u:***@127.0.0.1:1/r: connection failed: connection to server at"
        ' "127.0.0.1", port 1 failed: Connection refused\n',
        ("--database", "mysql://db/r", "list"): "dlmsmesh registry: error: unknown registry store 'mysql':"
        " expected a file path, sqlite:///PATH or postgresql://...\n",
        ("list", "4D4D4D0000BC614E"): "dlmsmesh registry: error: list takes no TITLE\n",
    }
    for args, message in cases.items():
        proc = run(list(args), tmp_path)
        assert (proc.returncode, proc.stdout, proc.stderr) == (2, "", message), args
    bad = run(["--registry", "r.sqlite", "import"], tmp_path, stdin='{"system_title": 5}\n')
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr == "dlmsmesh registry: error: import: line 1: 'system_title' is 5 (nothing imported)\n"
    with Registry.open(tmp_path / "r.sqlite") as registry:
        assert registry.list() == []
    unknown = run(["--registry", "r.sqlite", "admit", "4D4D4D0000BC614E"], tmp_path)
    assert (unknown.returncode, unknown.stderr) == (
        2,
        "dlmsmesh registry: error: no binding for system title 4D4D4D0000BC614E\n",
    )
    assert not (tmp_path / "registry.sqlite").exists()  # a reading command never creates a file


def test_export_then_import_through_the_command_line(tmp_path: Path) -> None:
    with Registry.open(tmp_path / "a.sqlite") as registry:
        registry.record_many(
            [Registration(A, ("fd00::1",), 61616, 1, "registration", 5, 1, time.time(), "fd00::1"),
             Registration(A, ("fd00::2",), 61616, 1, "update", 6, 2, time.time(), "fd00::2"),
             Registration(bytes(8), ("fd00::9",), 4059, 2, "registration", 1, None, time.time(), "fd00::9")]
        )  # fmt: skip
    exported = run(["--registry", "a.sqlite", "export"], tmp_path)
    assert exported.returncode == 0 and len(exported.stdout.splitlines()) == 2
    imported = run(["--registry", "sqlite:///b.sqlite", "import"], tmp_path, stdin=exported.stdout)
    assert (imported.returncode, imported.stdout) == (0, '{"read":2,"applied":2}\n')
    again = run(["--registry", "b.sqlite", "export"], tmp_path)
    assert again.stdout == exported.stdout
    listed = [json.loads(line) for line in run(["--registry", "b.sqlite", "list"], tmp_path).stdout.splitlines()]
    assert [(b["system_title"], b["addresses"], b["previous_addresses"]) for b in listed] == [
        ("0000000000000000", ["fd00::9"], []),
        ("4D4D4D0000BC614E", ["fd00::2"], ["fd00::1"]),
    ]
    shown = json.loads(run(["--registry", "b.sqlite", "show", "4d4d4d0000bc614e"], tmp_path).stdout)
    assert list(shown)[:5] == ["system_title", "addresses", "port", "status", "last_update"]
    assert list(shown)[-1] == "history"
    assert [(h["change"], h["invocation_counter"], h["addresses"]) for h in shown["history"]] == [
        ("recorded", 5, ["fd00::1"]),
        ("updated", 6, ["fd00::2"]),
    ]


def test_help_says_what_registry_does() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "dlmsmesh", "registry", "--help"], capture_output=True, text=True, timeout=WAIT
    )
    assert proc.returncode == 0 and proc.stderr == ""
    text = " ".join(proc.stdout.split())
    assert text.startswith("usage: dlmsmesh registry [-h] [--database URL] {list,show,export,import,admit} [TITLE]")
    for words in (
        "list one JSON line per binding, by system title",
        'show TITLE one binding and its history: {"system_title", "addresses": [...], "port", "status", '
        '"last_update", ..., "history": [...]}',
        "export every binding with its history, JSON Lines on standard output",
        'prints {"read": N, "applied": M}',
        "admit TITLE make a quarantined meter registered (its keys were added); prints the binding",
        "--database URL, --registry URL the registry: FILE, sqlite:///PATH or postgresql://... (default"
        " $DLMSMESH_DATABASE, else registry.sqlite)",
        "The registry (--database) is a SQLite file, sqlite:///PATH or postgresql://USER@HOST/DB; without --database,"
        " $DLMSMESH_DATABASE, else registry.sqlite.",
        "2 bad command line, no such registry or title, or a bad import line (one line on standard error: "
        "dlmsmesh registry: error: ...)",
    ):
        assert words in text


def test_the_top_level_help_lists_registry() -> None:
    help_text = cli.build_parser().format_help()
    assert re.search(r"\n +registry +list, show, export, import or admit registry bindings \(JSON\)\n", help_text)


def test_the_commands_on_postgres_by_option_and_by_environment(
    tmp_path: Path, postgres_db: Callable[[str], str]
) -> None:
    first, second = postgres_db("first"), postgres_db("second")
    with Registry.open(first) as registry:
        registry.record_many([Registration(A, ("2001:db8::1",), 61616, 1, "registration", 4, None, 1.5e9, "fd00::1")])
    listed = run(["--database", first, "list"], tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert [json.loads(line)["addresses"] for line in listed.stdout.splitlines()] == [["2001:db8::1"]]
    exported = run(["--database", first, "export"], tmp_path)
    # DLMSMESH_DATABASE names the database when --database is not given
    imported = run(["import"], tmp_path, stdin=exported.stdout, env={"DLMSMESH_DATABASE": second})
    assert json.loads(imported.stdout) == {"read": 1, "applied": 1}, imported.stderr
    assert run(["export"], tmp_path, env={"DLMSMESH_DATABASE": second}).stdout == exported.stdout
    shown = json.loads(run(["--database", second, "show", A.hex()], tmp_path).stdout)
    assert shown["invocation_counter"] == 4 and [h["change"] for h in shown["history"]] == ["recorded"]
    # --database wins over the environment
    missing = run(["--database", second, "admit", "4D4D4D0000BC6100"], tmp_path, env={"DLMSMESH_DATABASE": first})
    assert (missing.returncode, missing.stderr) == (
        2,
        "dlmsmesh registry: error: no binding for system title 4D4D4D0000BC6100\n",
    )
    assert not (tmp_path / "registry.sqlite").exists()
