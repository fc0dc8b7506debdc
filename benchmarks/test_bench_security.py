"""The security workloads of ``workloads_security.py`` (``suite="security"``)
under pytest-benchmark.

    python -m pytest benchmarks/test_bench_security.py --benchmark-enable   # measure
    python -m pytest benchmarks/test_bench_security.py                      # each op runs once, checked

One op verifies and decrypts 10,000 ciphered data-notifications, or protects
10,000 GET requests, in one backend call; each test checks its result.
"""

from __future__ import annotations

from typing import Any, List

import pytest

import workloads as W

SUITE = "security"


def _params() -> List[Any]:
    out = []
    for wl in W.WORKLOADS:
        if wl.suite != SUITE:
            continue
        for impl in wl.implementations():
            out.append(pytest.param(wl, impl, id=f"{wl.name}-{impl}".replace(" ", "_").replace(",", "")))
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


def test_openssl_reference_is_parsed() -> None:
    import workloads_security as S

    cached = S.openssl_rate(1.5e6)
    assert cached == {"name": cached["name"], "items_per_s": 1.5e6, "source": "cached"}
    measured = S.openssl_rate()
    if measured["source"] == "measured":
        assert measured["items_per_s"] > 10_000
