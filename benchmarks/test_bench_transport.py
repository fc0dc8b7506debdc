"""The transport workloads of ``workloads_transport.py`` (``suite="transport"``) under pytest-benchmark.

    python -m pytest benchmarks/test_bench_transport.py --benchmark-enable   # measure
    python -m pytest benchmarks/test_bench_transport.py                      # each op runs once, checked

One op compresses 10,000 IPv6/UDP datagrams to IPHC frames, or decompresses
them back, in one batch call, on the native and the pure backend.
"""

from __future__ import annotations

from typing import Any

import pytest

import bench_pytest
import bench_support as B
import workloads as W

SUITE = "transport"


@pytest.mark.parametrize(("workload", "impl"), bench_pytest.params(SUITE))
def test_bench(benchmark: Any, workload: B.Workload, impl: str) -> None:
    bench_pytest.run(
        benchmark, workload, impl, lambda inp: {"headers": len(inp.datagrams), "input_bytes": inp.total_bytes}
    )


def test_suite_has_the_workloads() -> None:
    suite = [wl for wl in W.WORKLOADS if wl.suite == SUITE]
    assert [wl.name for wl in suite] == [
        "10,000 IPv6/UDP headers: IPHC compress",
        "10,000 IPHC frames: decompress",
        "10,000 IPHC frames: decompress, every datagram as bytes",
    ]
    # issue 6's target for workload 4; the last row is for information
    assert [wl.targets for wl in suite] == [{"native/pure": 20.0}] * 2 + [{}]


def test_input_is_what_the_library_compresses() -> None:
    """The hand-built datagrams parse, and the public batch API gives the
    workload's frames."""
    import workloads_transport as T
    from dlmsmesh import ipv6, lowpan

    inp = T.transport_input()
    assert len(inp.datagrams) == T.HEADERS
    parsed = [ipv6.parse(d) for d in inp.datagrams[:200]]
    assert all(p.checksum_ok for p in parsed)
    frames = lowpan.compress_batch(inp.datagrams, links=inp.links, contexts=inp.contexts)
    assert frames == inp.frames
    assert lowpan.decompress_batch(frames, links=inp.links, contexts=inp.contexts) == inp.datagrams
