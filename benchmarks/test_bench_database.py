"""The database workloads of ``workloads_database.py`` (``suite="database"``) under pytest-benchmark.

    python -m pytest benchmarks/test_bench_database.py --benchmark-enable   # measure
    python -m pytest benchmarks/test_bench_database.py                      # each op runs once, checked

Registrations recorded and counter reservations on SQLite and PostgreSQL;
``python benchmarks/workloads_database.py`` prints the rates side by side.
"""

from __future__ import annotations

from typing import Any

import pytest

import bench_pytest
import bench_support as B
import workloads as W
import workloads_database as WD

SUITE = "database"


@pytest.mark.parametrize(("workload", "impl"), bench_pytest.params(SUITE))
def test_bench(benchmark: Any, workload: B.Workload, impl: str) -> None:
    bench_pytest.run(benchmark, workload, impl)


def test_suite_has_the_workloads() -> None:
    suite = [wl for wl in W.WORKLOADS if wl.suite == SUITE]
    assert [wl.name for wl in suite] == [WD.SQLITE_RECORD, WD.POSTGRES_RECORD, WD.SQLITE_RESERVE, WD.POSTGRES_RESERVE]
    # without a PostgreSQL server binary its rows have no implementation: n/a, never an error
    assert all(wl.implementations() == ([B.NATIVE] if WD.postgres_installed() or "SQLite" in wl.name else [])
               for wl in suite)  # fmt: skip
