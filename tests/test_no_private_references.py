"""What ships and what a user reads cites only what a user can open: no file
of the package, of docs/ or README.md, and no ``--help`` text of the command
line, points at the developers' design notes (``DESIGN.md``) or their
per-layer protocol notes (``spec/<layer>.md``), which are not part of the
repository.  Protocol facts cite the public standard (RFC, IEC 62056-x-y,
ITU-T X.690, ...), JSON and CLI contracts cite docs/json.md and docs/cli.md."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.single_backend

ROOT = Path(__file__).resolve().parent.parent
PRIVATE = re.compile(rb"DESIGN\.md|spec/[a-z0-9-]+\.md")


def _shipped_and_documented() -> list[Path]:
    # compiled bytecode is skipped: a stale .pyc is regenerated from its source
    files = [p for p in sorted((ROOT / "python").rglob("*")) if p.is_file() and "__pycache__" not in p.parts]
    files += [p for p in sorted((ROOT / "docs").rglob("*")) if p.is_file()]
    files.append(ROOT / "README.md")
    return files


def _hits(text: bytes) -> list[str]:
    return [
        f"line {n}: {line.strip().decode('utf-8', 'replace')}"
        for n, line in enumerate(text.splitlines(), 1)
        if PRIVATE.search(line)
    ]


def test_the_pattern_finds_what_it_must() -> None:
    # a check that cannot fail passes for the wrong reason
    assert _hits(b"ok\nsee DESIGN.md section 5\n(spec/axdr-data.md section 6.1)\nspec/README\n") == [
        "line 2: see DESIGN.md section 5",
        "line 3: (spec/axdr-data.md section 6.1)",
    ]
    assert _hits(b"docs/json.md, RFC 6282 section 3.1.1, IEC 62056-5-3") == []


def test_the_files_are_there() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in _shipped_and_documented()}
    assert {"README.md", "docs/json.md", "docs/cli.md", "python/dlmsmesh/types.py", "python/dlmsmesh/cli.py"} <= names


@pytest.mark.parametrize("path", _shipped_and_documented(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_file_cites_the_private_notes(path: Path) -> None:
    hits = _hits(path.read_bytes())
    assert not hits, f"{path.relative_to(ROOT)} cites notes that are not in the repository:\n" + "\n".join(hits)


@pytest.mark.parametrize("args", [["--help"], ["decode", "--help"]], ids=" ".join)
def test_help_cites_no_private_notes(args: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "dlmsmesh", *args], cwd=ROOT, capture_output=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    assert b"usage:" in proc.stdout
    hits = _hits(proc.stdout + proc.stderr)
    assert not hits, f"dlmsmesh {' '.join(args)} cites notes that are not in the repository:\n" + "\n".join(hits)
