"""The column workloads of ``workloads_columns.py`` (``suite="columns"``) under pytest-benchmark.

    python -m pytest benchmarks/test_bench_columns.py --benchmark-enable

Each (workload, implementation) pair is measured and its result checked.
"""

from __future__ import annotations

from typing import Any

import pytest

import bench_support
import workloads as W


@pytest.mark.parametrize(("workload", "impl"), bench_support.params("columns"))
def test_bench(benchmark: Any, workload: W.Workload, impl: str) -> None:
    bench_support.run(benchmark, workload, impl)
