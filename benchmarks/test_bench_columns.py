"""The column workloads of ``workloads_columns.py`` (``suite="columns"``) under pytest-benchmark.

    python -m pytest benchmarks/test_bench_columns.py --benchmark-enable

Each (workload, implementation) pair is measured and its result checked.
"""

from __future__ import annotations

from typing import Any, List

import pytest

import workloads as W


def _params() -> List[Any]:
    return [
        pytest.param(wl, impl, id=f"{wl.name}-{impl}".replace(" ", "_").replace(",", ""))
        for wl in W.WORKLOADS
        if wl.suite == "columns"
        for impl in wl.implementations()
    ]


@pytest.mark.parametrize(("workload", "impl"), _params())
def test_bench(benchmark: Any, workload: W.Workload, impl: str) -> None:
    if not W.available(impl):
        pytest.skip(f"{impl} is not available here")
    inp = workload.setup()
    op = workload.op(impl)
    benchmark.group = workload.name
    benchmark.extra_info["implementation"] = impl
    result = benchmark(op, inp)
    workload.verify(impl, inp, result)
