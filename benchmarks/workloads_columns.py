"""Workload 3 of DESIGN.md section 6, columns: the 1,000-row profile-generic
buffer of ``workloads.py`` decoded straight into typed columns.

``native`` is ``dlmsmesh.columns.decode`` on the C core (layout inferred from
the first row, numpy arrays when numpy is installed); the baselines decode
the same bytes into Python values: ``pure`` is ``axdr.decode`` on the pure
backend, ``dlms-cosem`` its ``DlmsDataParser``.  Targets (issue 6): native
>= 30x pure, >= 150x dlms-cosem.
"""

from __future__ import annotations

import calendar
import importlib
from typing import Any, Callable, List

import workloads_axdr as A
from bench_support import DLMS_COSEM, NATIVE, PURE, Workload, pure_axdr
from dlmsmesh import columns


def _columns_op(backend: str) -> Callable[[], Callable[[A.ProfileInput], Any]]:
    def factory() -> Callable[[A.ProfileInput], Any]:
        module = importlib.import_module(f"dlmsmesh._{backend}.columns")
        decode = columns._decode
        return lambda inp: decode(module, inp.data, None, 0, "s", None, True)

    return factory


def _check_columns(inp: A.ProfileInput, table: Any) -> None:
    assert isinstance(table, columns.Table), type(table)
    assert len(table) == A.PROFILE_ROWS
    assert table.layout == columns.Layout(
        (columns.DATETIME_OCTETS, columns.Field(6), columns.Field(6), columns.Field(17))
    )
    clock = table[0]
    for r in range(A.PROFILE_ROWS):
        local = A.PROFILE_START + r * A.PROFILE_STEP  # UTC = local time + deviation
        assert int(clock.epoch[r]) == calendar.timegm(local.timetuple()) + 60 * A.CET_DEVIATION, r
        assert int(clock.deviation[r]) == A.CET_DEVIATION and int(clock.status[r]) == 0
    for k in (1, 2, 3):
        assert list(map(int, table[k])) == [row[k] for row in inp.value]


WORKLOADS: List[Workload] = [
    Workload(
        name="profile-generic 1,000 rows: decode into columns",
        description="native: columns.decode of the 1,000-row buffer (layout inferred, date-time column as "
        "int64 epoch + deviation + status); pure: axdr.decode into Python values; dlms-cosem: DlmsDataParser",
        setup=A.profile_input,
        ops={
            NATIVE: _columns_op("native"),
            PURE: A.decode_op(pure_axdr),
            DLMS_COSEM: lambda: A.dlms_cosem_decode(),
        },
        check=A.check_profile_decode,
        checks={NATIVE: _check_columns, DLMS_COSEM: A.check_dlms_cosem_decode},
        targets={"native/pure": 30.0, "native/dlms-cosem": 150.0},
        suite="columns",
    ),
]
