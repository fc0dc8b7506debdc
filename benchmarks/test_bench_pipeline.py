"""The pipeline workloads of ``workloads_pipeline.py`` (``suite="pipeline"``)
under pytest-benchmark.

    python -m pytest benchmarks/test_bench_pipeline.py --benchmark-enable   # measure
    python -m pytest benchmarks/test_bench_pipeline.py                      # each op runs once, checked

One op decodes 10,000 ciphered data-notifications with decode_batch (or
also builds every APDU object), or encodes 10,000 GET requests with
encode_batch, in one backend call; the peers decode the same frames one by
one.  Each test checks its result.
"""

from __future__ import annotations

from typing import Any, List

import pytest

import workloads as W

SUITE = "pipeline"


def _params() -> List[Any]:
    out = []
    for wl in W.WORKLOADS:
        if wl.suite != SUITE:
            continue
        for impl in wl.implementations():
            marks = [pytest.mark.slow] if impl == W.GURUX else []
            out.append(pytest.param(wl, impl, id=f"{wl.name}-{impl}".replace(" ", "_").replace(",", ""), marks=marks))
    return out


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
