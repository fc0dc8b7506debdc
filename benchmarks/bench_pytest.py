"""What every ``test_bench_*.py`` shares: one pytest-benchmark case per
(workload, implementation) of a suite, each measured and then checked."""

from __future__ import annotations

from typing import Any, Callable, Dict, List

import pytest

import workloads
from bench_support import Workload, available

Extra = Callable[[Any], Dict[str, Any]]


def params(suite: str, slow: tuple[str, ...] = ()) -> List[Any]:
    """The (workload, implementation) cases of ``suite``; implementations in
    ``slow`` are marked slow (deselected by default)."""
    return [
        pytest.param(
            wl,
            impl,
            id=f"{wl.name}-{impl}".replace(" ", "_").replace(",", ""),
            marks=[pytest.mark.slow] if impl in slow else [],
        )
        for wl in workloads.WORKLOADS
        if wl.suite == suite
        for impl in wl.implementations()
    ]


def run(benchmark: Any, workload: Workload, impl: str, extra: Extra | None = None) -> None:
    """Measure ``impl`` on ``workload`` (skipped when it is not installed),
    record ``extra(input)`` beside it, and check the result."""
    if not available(impl):
        pytest.skip(f"{impl} is not available here")
    inp = workload.setup()
    benchmark.group = workload.name
    benchmark.extra_info["implementation"] = impl
    if extra is not None:
        benchmark.extra_info.update(extra(inp))
    with workload.environment():
        op = workload.op(impl)
        result = benchmark(op, inp)
        workload.verify(impl, inp, result)
