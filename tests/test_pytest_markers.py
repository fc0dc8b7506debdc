"""Slow tests stay deselected under any -m expression that does not name them.

``addopts = -m "not slow"`` did not do that: a ``-m`` on the command line
replaces the one in addopts, so ``pytest -m "not interop"`` ran every slow
test.  The root conftest.py deselects them instead; these tests run pytest on
a tiny test directory with that conftest.py (in process), and on one test
file of the repository (in a subprocess, with the repository's own settings).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.single_backend  # pytest runs: nothing runs on a backend

ROOT = Path(__file__).resolve().parent.parent

TESTS = """
import pytest

def test_plain():
    pass

@pytest.mark.interop
def test_interop():
    pass

@pytest.mark.slow
def test_slow():
    pass

@pytest.mark.slow
@pytest.mark.interop
def test_slow_interop():
    pass
"""

INI = """[pytest]
addopts = -ra -p no:cacheprovider
markers =
    interop: peers
    slow: long runs
"""


def _collected(args: list[str], cwd: Path) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode in (0, 5), proc.stdout[-3000:] + proc.stderr[-3000:]  # 5: everything deselected
    return {line.split("::", 1)[1] for line in proc.stdout.splitlines() if "::" in line}


@pytest.fixture
def tiny(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # the installed plugins take a second to find
    pytester.makeconftest((ROOT / "conftest.py").read_text())
    pytester.makeini(INI)
    pytester.makepyfile(test_tiny=TESTS)
    return pytester


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], {"test_plain", "test_interop"}),
        (["-m", "not interop"], {"test_plain"}),
        (["-m", "interop"], {"test_interop"}),
        (["-m", "not slow"], {"test_plain", "test_interop"}),
        (["-m", "slow"], {"test_slow", "test_slow_interop"}),
        (["-m", "slow and not interop"], {"test_slow"}),
        (["-m", "slow or interop"], {"test_interop", "test_slow", "test_slow_interop"}),
        (["--run-slow"], {"test_plain", "test_interop", "test_slow", "test_slow_interop"}),
        (["--run-slow", "-m", "not interop"], {"test_plain", "test_slow"}),
        (["-k", "slow"], set()),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_selection(tiny: pytest.Pytester, args: list[str], expected: set[str]) -> None:
    result = tiny.runpytest_inprocess("--collect-only", "-q", *args)
    assert result.ret in (0, 5), result.outlines  # 5: everything deselected
    assert {line.split("::", 1)[1] for line in result.outlines if "::" in line} == expected


def test_addopts_names_no_marker_expression() -> None:
    # a -m in addopts is what a command-line -m silently replaced
    text = (ROOT / "pyproject.toml").read_text()
    match = re.search(r"^addopts\s*=\s*(.*)$", text, re.M)
    assert match is not None
    assert "-m" not in match.group(1).split(), match.group(1)


def test_repository_deselects_its_slow_tests_under_another_marker_expression() -> None:
    target = "tests/test_axdr_differential.py"
    collected = _collected(["-m", "not interop", target], ROOT)
    assert collected and "test_differential_long_run" not in collected
    assert _collected(["-m", "slow", target], ROOT) == {"test_differential_long_run"}
