"""benchmarks/README.md and ``compare.py --help`` describe the benchmarks
from within the repository: every file they name exists (they used to cite
DESIGN.md and spec/ files that are not in it), and the README describes
every workload the runners measure."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.single_backend  # text and a subprocess: nothing runs on a backend

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"
README = BENCHMARKS / "README.md"
FILE = re.compile(r"(?<![\w.-])((?:[\w-]+/)*[\w-]+\.(?:md|py|txt|hex))\b")


def _help() -> str:
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / "compare.py"), "--help"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _missing_files(text: str) -> list[str]:
    names = set(FILE.findall(text))
    assert names, "no file names found: the pattern is wrong"
    return sorted(n for n in names if not (ROOT / n).exists() and not (BENCHMARKS / n).exists())


@pytest.mark.parametrize("source", ["README.md", "compare.py --help"])
def test_every_named_file_exists(source: str) -> None:
    text = README.read_text() if source == "README.md" else _help()
    assert _missing_files(text) == []


def test_the_pattern_finds_a_missing_file() -> None:
    assert _missing_files("see DESIGN.md section 6 and benchmarks/compare.py") == ["DESIGN.md"]


def test_readme_describes_every_workload() -> None:
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    import workloads

    rows = {line.split("|")[1].strip() for line in README.read_text().splitlines() if line.startswith("| ")}
    assert [wl.name for wl in workloads.WORKLOADS if wl.name not in rows] == []
