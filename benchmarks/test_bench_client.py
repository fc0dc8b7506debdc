"""The client workloads of ``workloads_client.py`` (``suite="client"``) under pytest-benchmark.

    python -m pytest benchmarks/test_bench_client.py --benchmark-enable   # measure
    python -m pytest benchmarks/test_bench_client.py                      # each op runs once, checked

One op is a Client and a Server on loopback UDP sockets in this process: an
AARQ, 1,000 GET round trips and an RLRQ, plain or glo-ciphered, on the
native and the pure backend.  The CPU time per ciphered round trip (issue
13's target: 50 us on native) is :func:`workloads_client.cpu_per_round_trip`.
"""

from __future__ import annotations

from typing import Any

import pytest

import bench_pytest
import bench_support as B
import workloads as W
import workloads_client as WC

SUITE = "client"


@pytest.mark.parametrize(("workload", "impl"), bench_pytest.params(SUITE))
def test_bench(benchmark: Any, workload: B.Workload, impl: str) -> None:
    bench_pytest.run(benchmark, workload, impl, lambda inp: {"requests": inp.requests})


def test_suite_has_the_workloads() -> None:
    suite = [wl for wl in W.WORKLOADS if wl.suite == SUITE]
    assert [wl.name for wl in suite] == [
        "client: 1,000 GET round trips over loopback UDP, plain",
        "client: 1,000 GET round trips over loopback UDP, glo-ciphered",
    ]
    # the target is CPU time per round trip, not a ratio: documented, not a compare.py target
    assert [wl.targets for wl in suite] == [{}, {}]


@pytest.mark.parametrize("impl", [B.NATIVE, B.PURE])
def test_cpu_per_ciphered_round_trip_is_measured(impl: str) -> None:
    if not B.available(impl):
        pytest.skip(f"{impl} is not available here")
    seconds = WC.cpu_per_round_trip(impl, ciphered=True, sessions=1)
    # a round trip costs the process some CPU, and far less than the Client's 5 s timeout
    assert 1e-6 < seconds < 0.05, seconds
    print(f"\n{impl}: {seconds * 1e6:.1f} us of CPU per glo-ciphered GET round trip (client + server)")
