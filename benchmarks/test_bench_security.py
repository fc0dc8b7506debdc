"""The security workloads of ``workloads_security.py`` (``suite="security"``)
under pytest-benchmark.

    python -m pytest benchmarks/test_bench_security.py --benchmark-enable   # measure
    python -m pytest benchmarks/test_bench_security.py                      # each op runs once, checked

One op verifies and decrypts 10,000 ciphered data-notifications, or protects
10,000 GET requests, in one backend call; each test checks its result.
"""

from __future__ import annotations

from typing import Any

import pytest

import bench_pytest
import bench_support as B

SUITE = "security"


@pytest.mark.parametrize(("workload", "impl"), bench_pytest.params(SUITE))
def test_bench(benchmark: Any, workload: B.Workload, impl: str) -> None:
    bench_pytest.run(benchmark, workload, impl)


def test_openssl_reference_is_parsed() -> None:
    import workloads_security as S

    cached = S.openssl_rate(1.5e6)
    assert cached == {"name": cached["name"], "items_per_s": 1.5e6, "source": "cached"}
    measured = S.openssl_rate()
    if measured["source"] == "measured":
        assert measured["items_per_s"] > 10_000
