"""Pushes as columns (issue 19): the receive workload of
``workloads_pipeline.py`` (10,000 general-glo-ciphered data-notifications
from 100 meters in their UDP wrapper) decoded with ``decode_batch`` and
handed over as typed columns (``DecodedBatch.columns``: one row per
notification, one column per body field, one C call on the native backend),
against dlms-cosem decrypting and parsing every frame to values.

The body layout is the one the first op inferred, kept as
:class:`~dlmsmesh.PushListener` keeps it for every batch after the first.
Targets: at least 1,000,000 notifications/s as columns on the native
backend, at least 40% of OpenSSL's own AES-128-GCM at 128 bytes in the same
run, and at least 30 times dlms-cosem.

``python benchmarks/workloads_push.py`` runs the native and pure ops a few
times and prints notifications/s (no peers, no OpenSSL).
"""

from __future__ import annotations

import time
from typing import Any, Callable, List

import workloads_pipeline as WP
import workloads_security as WS
from bench_support import DLMS_COSEM, NATIVE, PURE, ReferencedWorkload, backend
from dlmsmesh.pipeline import FrameBuffer, decode_plan
from dlmsmesh.pipeline.decode import decode_with

COUNT = WP.COUNT
PUSH = "10,000 ciphered data-notifications: decode_batch into push columns"


def _columns_op(impl: str) -> Callable[[], Callable[[FrameBuffer], Any]]:
    def factory() -> Callable[[FrameBuffer], Any]:
        pipe = backend(impl, "pipeline")
        cols = backend(impl, "columns")
        ring = WP._keyring()
        plan = decode_plan(layer="wrapper", security=ring)
        workspace = pipe.Workspace()
        layout: List[Any] = [None]

        def op(frames: FrameBuffer) -> Any:
            WP._forget_counters(ring)  # the same frames again: new to the counter table (a few µs)
            batch = decode_with(pipe, frames, plan, workspace)
            table = batch.columns(layout[0], backend=cols)
            layout[0] = table.push_layout
            return table

        return op

    return factory


def _check(frames: FrameBuffer, table: Any) -> None:
    expected = WP._expected_notifications()
    assert table.rows == COUNT and not table.failed and not table.other
    frame = table["frame"]
    ids = table["invoke_id"]
    names = table.names
    for i in range(0, COUNT, 97):
        assert int(frame[i]) == i
        n = expected[i]
        assert int(ids[i]) == n.long_invoke_id
        body = list(n.body)
        for k in range(2, len(body)):
            assert int(table[names[5 + k]][i]) == int(body[k]), (i, k)
        assert table[names[5]][i] == bytes(body[0])
    ic = table["invocation_counter"]
    assert [int(ic[i]) for i in range(0, COUNT, 997)] == [i // WS.METERS + 1 for i in range(0, COUNT, 997)]


WORKLOADS: List[ReferencedWorkload] = [
    ReferencedWorkload(
        name=PUSH,
        description="decode_batch of the 10,000 ciphered notifications of the receive workload, then "
        "DecodedBatch.columns(): sender title, counter, invoke-id, date-time and the 12 body fields as typed "
        "columns in one call; dlms-cosem decrypts and parses each frame to values",
        setup=WP.receive_input,
        ops={NATIVE: _columns_op(NATIVE), PURE: _columns_op(PURE), DLMS_COSEM: WP._dlms_cosem_decode},
        check=_check,
        checks={DLMS_COSEM: WP._check_dlms_cosem},
        targets={"native/dlms-cosem": 30.0},
        suite="pipeline",
        items_per_op=COUNT,
        reference=WS.openssl_rate,
        reference_target=0.4,
        rate_target=(COUNT, 1_000_000.0),
    ),
]


def main() -> None:
    frames = WP.receive_input()
    for impl in (NATIVE, PURE):
        op = _columns_op(impl)()
        _check(frames, op(frames))
        rounds = 20 if impl == NATIVE else 3
        best = float("inf")
        for _ in range(rounds):
            t = time.perf_counter()
            op(frames)
            best = min(best, time.perf_counter() - t)
        print(f"{impl}: {COUNT / best:,.0f} notifications/s as columns (best of {rounds})")


if __name__ == "__main__":
    main()
