"""The A-XDR workloads of ``workloads.py`` (``suite="axdr"``) under pytest-benchmark.

    python -m pytest benchmarks --benchmark-enable            # measure
    python -m pytest benchmarks                               # (addopts has --benchmark-disable) each op runs once, checked

Parametrized over every (workload, implementation) pair: the native and pure
backends and, where the workload has one, the dlms-cosem baseline.  Each test
checks that its result is right.  Benchmarks are grouped by workload, so
``--benchmark-group-by=group`` (the default) puts the implementations of one
workload side by side.
"""

from __future__ import annotations

from typing import Any

import pytest

import bench_pytest
import bench_support as B
import workloads_axdr as WX


@pytest.mark.parametrize(("workload", "impl"), bench_pytest.params("axdr"))
def test_bench(benchmark: Any, workload: B.Workload, impl: str) -> None:
    bench_pytest.run(benchmark, workload, impl, lambda inp: {"input_bytes": len(getattr(inp, "data", b""))})


def test_backends_agree() -> None:
    """Native and pure decode give equal values of identical types."""
    if not B.native_available():
        pytest.skip("native backend not available")
    from dlmsmesh._native import axdr as native
    from dlmsmesh._pure import axdr as pure

    inp = WX.profile_input()
    a, b = native.decode(inp.data), pure.decode(inp.data)
    assert a == b
    assert [tuple(map(type, r)) for r in a] == [tuple(map(type, r)) for r in b]
    assert native.encode(b) == pure.encode(a) == inp.data
