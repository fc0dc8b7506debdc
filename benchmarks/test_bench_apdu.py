"""The xDLMS APDU workloads of ``workloads.py`` (``suite="apdu"``) under pytest-benchmark.

    python -m pytest benchmarks/test_bench_apdu.py --benchmark-enable   # measure
    python -m pytest benchmarks/test_bench_apdu.py                      # each op runs once, checked

One op decodes a batch of 10,000 APDUs (get-response-normal register reads, or
push data-notifications) with one ``apdu.decode`` call per APDU, on the native
and the pure backend.  Each test checks the 10,000 results (classes, values and
value types).  The inputs are written by hand in ``workloads.py``; the tests
below also check that both backends' ``apdu.encode`` give those same bytes.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, List

import pytest

import bench_pytest
import bench_support as B
import workloads as W
import workloads_apdu as WA

SUITE = "apdu"


@pytest.mark.parametrize(("workload", "impl"), bench_pytest.params(SUITE))
def test_bench(benchmark: Any, workload: B.Workload, impl: str) -> None:
    bench_pytest.run(benchmark, workload, impl, lambda inp: {"apdus": len(inp.data), "input_bytes": inp.total_bytes})


_BATCHES: List[Any] = [
    pytest.param(WA.get_responses_input, id="get-responses"),
    pytest.param(WA.data_notifications_input, id="data-notifications"),
]


def test_suite_has_both_workloads() -> None:
    names = [wl.name for wl in W.WORKLOADS if wl.suite == SUITE]
    assert names == [
        "10,000 GET responses: decode",
        "10,000 data-notifications: decode",
        "10,000 GET responses: decode, all kept",
        "10,000 data-notifications: decode, all kept",
    ]
    assert [wl.targets for wl in W.WORKLOADS if wl.suite == SUITE] == [{"native/pure": 2.0}] * 2 + [{}] * 2


@pytest.mark.parametrize("setup", _BATCHES)
def test_backends_agree(setup: Callable[[], WA.ApduBatch]) -> None:
    """Native and pure decode give equal APDUs with the same field types."""
    if not B.native_available():
        pytest.skip("native backend not available")
    from dlmsmesh._native import apdu as native
    from dlmsmesh._pure import apdu as pure

    inp = setup()
    a = [native.decode(b) for b in inp.data]
    b = [pure.decode(x) for x in inp.data]
    assert a == b
    assert [type(x) for x in a] == [type(x) for x in b]
    assert list(map(_field_types, a)) == list(map(_field_types, b))


def _field_types(obj: Any) -> tuple:
    """The type of every dataclass field (native leaves defaults on the class,
    so read them with getattr), and of each item of a structure body."""
    out = tuple(type(getattr(obj, f.name)) for f in dataclasses.fields(obj))
    body = getattr(obj, "body", None)
    return out + tuple(map(type, body)) if isinstance(body, tuple) else out


@pytest.mark.parametrize("backend", [B.NATIVE, B.PURE])
@pytest.mark.parametrize("setup", _BATCHES)
def test_inputs_are_what_encode_gives(setup: Callable[[], WA.ApduBatch], backend: str) -> None:
    """The hand-written inputs are the bytes ``apdu.encode`` writes for the expected objects."""
    if not B.available(backend):
        pytest.skip(f"{backend} is not available here")
    encode = (B.native_apdu if backend == B.NATIVE else B.pure_apdu)().encode
    inp = setup()
    got = [encode(obj) for obj in inp.expected()]
    bad = [i for i, (g, d) in enumerate(zip(got, inp.data)) if g != d]
    assert not bad, f"{len(bad)} differ, first #{bad[0]}: {got[bad[0]].hex()} != {inp.data[bad[0]].hex()}"


def test_batches_look_like_the_field() -> None:
    """The mix the README describes: distinct APDUs, invoke-ids cycling, the
    result kinds in their proportions, 85-byte notifications with incrementing ids."""
    from dlmsmesh import apdu, types

    g = WA.get_responses_input()
    g_expected = g.expected()
    assert len(g.data) == len(set(g.data)) == WA.APDU_COUNT
    assert [e.invoke_id for e in g_expected[:32]] == list(range(16)) * 2
    kinds: dict = {}
    for e in g_expected:
        kinds[type(e.result)] = kinds.get(type(e.result), 0) + 1
    assert kinds[types.DoubleLongUnsigned] > 0.8 * WA.APDU_COUNT
    for cls in (types.LongUnsigned, types.Long, bytes, apdu.DataAccessResult):
        assert 0 < kinds[cls] < 0.1 * WA.APDU_COUNT, cls
    assert sum(e.priority == apdu.Priority.HIGH for e in g_expected) > 0.9 * WA.APDU_COUNT

    d = WA.data_notifications_input()
    d_expected = d.expected()
    assert len(d.data) == len(set(d.data)) == WA.APDU_COUNT
    assert {len(b) for b in d.data} == {85}
    ids = [e.long_invoke_id for e in d_expected]
    assert all((b - a) & 0xFFFFFF == 1 for a, b in zip(ids, ids[1:]))
    assert ids[-1] < ids[0]  # wrapped past 0xFFFFFF
    assert all(e.date_time is not None and e.date_time.deviation == WA.CET_DEVIATION for e in d_expected[:100])
    assert all(e.body[0] == WA.PUSH_SETUP_LN and len(e.body) == 12 for e in d_expected)


@pytest.mark.parametrize("setup", _BATCHES)
def test_inputs_stay_out_of_the_collector(setup: Callable[[], WA.ApduBatch]) -> None:
    """The cached inputs hold no GC-tracked objects per APDU, so a full
    collection during the timed op does not walk the harness's data."""
    import gc

    inp = setup()
    gc.collect()
    assert not any(gc.is_tracked(x) for x in inp.data)
    assert not any(gc.is_tracked(x) for x in inp.rows)
