"""What every ``test_bench_*.py`` shares: one pytest-benchmark case per
(workload, implementation) of a suite, each measured and then checked."""

from __future__ import annotations

from typing import Any, Callable, Dict, List

import pytest

import workloads as W

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
        for wl in W.WORKLOADS
        if wl.suite == suite
        for impl in wl.implementations()
    ]


def run(benchmark: Any, workload: W.Workload, impl: str, extra: Extra | None = None) -> None:
    """Measure ``impl`` on ``workload`` (skipped when it is not installed),
    record ``extra(input)`` beside it, and check the result."""
    if not W.available(impl):
        pytest.skip(f"{impl} is not available here")
    inp = workload.setup()
    op = workload.op(impl)
    benchmark.group = workload.name
    benchmark.extra_info["implementation"] = impl
    if extra is not None:
        benchmark.extra_info.update(extra(inp))
    result = benchmark(op, inp)
    workload.verify(impl, inp, result)
