"""Every benchmark workload stays right when its op runs again and again.

pytest-benchmark and compare.py call one op many times on the same state
(security contexts, counter stores, workspaces) and check the last result.
A check written against fresh state passes after one call (what
``python -m pytest benchmarks`` does with ``--benchmark-disable``) and fails
under ``--benchmark-enable``: the encode_batch workload did, its counters had
moved on.  Here each op runs twice and the second result is checked, on
the native backend (the op state does not depend on the backend, and native
keeps this quick).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

BENCHMARKS = str(Path(__file__).resolve().parent.parent / "benchmarks")
if BENCHMARKS not in sys.path:
    sys.path.insert(0, BENCHMARKS)

import bench_support  # noqa: E402
import workloads  # noqa: E402

pytestmark = pytest.mark.single_backend  # the workloads call the backend modules themselves

CALLS = 2


@pytest.mark.parametrize("workload", workloads.WORKLOADS, ids=lambda wl: wl.name)
def test_check_holds_after_repeated_ops(workload: Any) -> None:
    if bench_support.NATIVE not in workload.ops:
        pytest.skip("no native op")
    if not bench_support.available(bench_support.NATIVE):
        pytest.skip("the native backend is not available here")
    inp = workload.setup()
    with workload.environment():
        op = workload.op(bench_support.NATIVE)
        result = None
        for _ in range(CALLS):
            result = op(inp)
        workload.verify(bench_support.NATIVE, inp, result)


def test_headline_names_are_workloads() -> None:
    # compare.py's headline table silently leaves out a name that is no workload's
    names = {wl.name for wl in workloads.WORKLOADS}
    headline = [name for names_ in workloads.HEADLINE.values() for name in names_]
    assert sorted(workloads.HEADLINE) == [1, 2, 3, 4]
    assert [n for n in headline if n not in names] == []
    assert len(headline) == 6
