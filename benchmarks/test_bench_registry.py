"""The registry workloads of ``workloads_registry.py`` (``suite="registry"``) under pytest-benchmark.

    python -m pytest benchmarks/test_bench_registry.py --benchmark-enable   # measure
    python -m pytest benchmarks/test_bench_registry.py                      # each op runs once, checked

The registry runs no codec: the native and pure cells measure the same code.
Issue 14's targets (>= 200,000 lookups/s, >= 50,000 registrations/s) are
absolute rates, printed by ``python benchmarks/workloads_registry.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

import bench_pytest
import bench_support as B
import workloads as W
import workloads_registry as WR

SUITE = "registry"


@pytest.mark.parametrize(("workload", "impl"), bench_pytest.params(SUITE))
def test_bench(benchmark: Any, workload: B.Workload, impl: str) -> None:
    bench_pytest.run(benchmark, workload, impl)


def test_suite_has_the_workloads() -> None:
    suite = [wl for wl in W.WORKLOADS if wl.suite == SUITE]
    assert [wl.name for wl in suite] == [WR.LOOKUP_NAME, WR.RECORD_NAME]
    # absolute targets, not ratios: printed by main(), not compare.py targets
    assert [wl.targets for wl in suite] == [{}, {}]


def test_the_rates_are_measured() -> None:
    lookups = WR.lookups_per_second(rounds=1)
    records = WR.registrations_per_second(rounds=1)
    # far from the targets on any machine only when something is badly wrong
    assert lookups > 20_000 and records > 5_000, (lookups, records)
    print(f"\n{lookups:,.0f} lookups/s, {records:,.0f} registrations/s")
