"""Every module under benchmarks/ imports on its own, in a fresh interpreter.

A workload module that needs ``workloads.py`` to be imported first (the
import circle ``workloads`` -> ``workloads_security`` -> ``workloads`` that
this guards against) works when the runners import ``workloads`` first and
fails when a user or a test imports it alone.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.single_backend  # subprocesses; the benchmarks call both backends themselves

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
MODULES = sorted(p.stem for p in BENCHMARKS.glob("*.py"))


def test_the_modules_are_found() -> None:
    # the glob must see the modules the runners are built from, or the test below checks nothing
    expected = {"bench_support", "bench_pytest", "compare", "workloads", "workloads_security", "workloads_pipeline"}
    assert expected <= set(MODULES), MODULES


@pytest.mark.parametrize("module", MODULES)
def test_imports_alone(module: str, tmp_path: Path) -> None:
    program = f"import sys; sys.path.insert(0, {str(BENCHMARKS)!r}); import {module}"
    proc = subprocess.run([sys.executable, "-c", program], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
