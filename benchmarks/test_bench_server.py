"""The server workloads of ``workloads_server.py`` (``suite="server"``) under pytest-benchmark.

    python -m pytest benchmarks/test_bench_server.py --benchmark-enable   # measure
    python -m pytest benchmarks/test_bench_server.py                      # each op runs once, checked

One op serves an AARQ and 1,000 GET requests through ``Server.handle`` on a
fresh meter, plain or glo-ciphered, on the native and the pure backend.
"""

from __future__ import annotations

from typing import Any

import pytest

import bench_pytest
import bench_support as B
import workloads as W

SUITE = "server"


@pytest.mark.parametrize(("workload", "impl"), bench_pytest.params(SUITE))
def test_bench(benchmark: Any, workload: B.Workload, impl: str) -> None:
    bench_pytest.run(benchmark, workload, impl, lambda inp: {"requests": len(inp.datagrams) - 1})


def test_suite_has_the_workloads() -> None:
    suite = [wl for wl in W.WORKLOADS if wl.suite == SUITE]
    assert [wl.name for wl in suite] == [
        "server: AARQ + 1,000 GETs served, plain",
        "server: AARQ + 1,000 GETs served, glo-ciphered",
    ]
    # no target in the issue: for information
    assert [wl.targets for wl in suite] == [{}, {}]
