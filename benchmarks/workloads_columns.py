"""Headline workload 3 (benchmarks/README.md), columns: the 1,000-row
profile-generic buffer of ``workloads_axdr.py`` decoded straight into typed
columns.

``native`` is ``dlmsmesh.columns.decode`` on the C core (layout inferred from
the first row, numpy arrays when numpy is installed); the baselines decode
the same bytes into Python values: ``pure`` is ``axdr.decode`` on the pure
backend, ``dlms-cosem`` its ``DlmsDataParser``.  Targets (issue 6): native
>= 30x pure, >= 150x dlms-cosem.

The same decode again in a process without numpy (numpy made unimportable
for that workload only), native and pure ``columns.decode``: the columns
are ``array.array``, and native must stay >= 30x pure there too.
"""

from __future__ import annotations

import calendar
import contextlib
import importlib
import os
import sys
from array import array
from importlib.machinery import ModuleSpec, PathFinder
from typing import Any, Callable, Iterator, List, Sequence

import workloads_axdr as A
from bench_support import DLMS_COSEM, NATIVE, PURE, Workload, pure_axdr
from dlmsmesh import columns


def _columns_op(backend: str) -> Callable[[], Callable[[A.ProfileInput], Any]]:
    def factory() -> Callable[[A.ProfileInput], Any]:
        module = importlib.import_module(f"dlmsmesh._{backend}.columns")
        decode = columns._decode
        return lambda inp: decode(module, inp.data, None, 0, "s", None, True)

    return factory


class _NumpyNotInstalled:
    """A meta path finder that makes ``import numpy`` fail as it does where
    numpy is not installed: after a search of every sys.path entry but the
    ones holding numpy (the cost a failed import pays each time it is tried)."""

    def __init__(self, paths: Sequence[str]) -> None:
        self.paths = list(paths)

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        if name != "numpy":
            return None
        if PathFinder.find_spec(name, self.paths) is not None:
            raise AssertionError("numpy found outside the paths it was taken out of")
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)


@contextlib.contextmanager
def numpy_not_installed() -> Iterator[None]:
    """The process as if numpy were not installed, for the length of one
    workload.  dlmsmesh remembers a failed numpy lookup; that memory starts
    empty here and is put back on exit, with numpy, so the workloads after
    this one see numpy again."""
    from dlmsmesh.columns import table

    # hasattr: a dlmsmesh that retried the import on every call has no such
    # memory, and the row then measures that
    paths = [p for p in sys.path if not os.path.exists(os.path.join(p or os.curdir, "numpy"))]
    finder = _NumpyNotInstalled(paths)
    module = sys.modules.pop("numpy", None)
    remembered = getattr(table, "_numpy_missing", None)
    if hasattr(table, "_numpy_missing"):
        table._numpy_missing = None
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
        if module is not None:
            sys.modules["numpy"] = module
        if hasattr(table, "_numpy_missing"):
            table._numpy_missing = remembered


def _check_columns_without_numpy(inp: A.ProfileInput, table: Any) -> None:
    assert all(isinstance(c, array) for c in (table[0].epoch, table[1], table[2], table[3])), [type(c) for c in table]
    _check_columns(inp, table)


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
    Workload(
        name="profile-generic 1,000 rows: decode into columns (no numpy, array.array)",
        description="columns.decode of the same buffer in a process without numpy (its import fails after a "
        "search of sys.path): the columns are array.array; native on the C core, pure on the pure backend",
        setup=A.profile_input,
        ops={NATIVE: _columns_op("native"), PURE: _columns_op("pure")},
        check=_check_columns_without_numpy,
        # the native/pure target of the row above: without numpy, a numpy
        # lookup on every call took native to about 23x
        targets={"native/pure": 30.0},
        suite="columns",
        environment=numpy_not_installed,
    ),
]
