"""The column workloads of ``workloads_columns.py`` (``suite="columns"``) under pytest-benchmark.

    python -m pytest benchmarks/test_bench_columns.py --benchmark-enable

Each (workload, implementation) pair is measured and its result checked.
"""

from __future__ import annotations

from typing import Any

import pytest

import bench_pytest
import bench_support as B


@pytest.mark.parametrize(("workload", "impl"), bench_pytest.params("columns"))
def test_bench(benchmark: Any, workload: B.Workload, impl: str) -> None:
    bench_pytest.run(benchmark, workload, impl)
