"""The listener workload of ``workloads_listener.py`` (``suite="listener"``) under pytest-benchmark.

    python -m pytest benchmarks/test_bench_listener.py --benchmark-enable   # measure
    python -m pytest benchmarks/test_bench_listener.py                      # each op runs once, checked

Issue 14's target (>= 50,000 registrations/s through the listener's batch
path into SQLite) is an absolute rate, printed by
``python benchmarks/workloads_listener.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

import bench_pytest
import bench_support as B
import workloads as W
import workloads_listener as WL

SUITE = "listener"


@pytest.mark.parametrize(("workload", "impl"), bench_pytest.params(SUITE))
def test_bench(benchmark: Any, workload: B.Workload, impl: str) -> None:
    bench_pytest.run(benchmark, workload, impl)


def test_suite_has_the_workload() -> None:
    suite = [wl for wl in W.WORKLOADS if wl.suite == SUITE]
    assert [wl.name for wl in suite] == [WL.NAME]
    assert [wl.targets for wl in suite] == [{}]  # absolute, printed by main()
