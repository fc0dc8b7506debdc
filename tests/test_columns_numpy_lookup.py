"""columns.decode looks numpy up once: without numpy installed, the failed
``import numpy`` (a search of every sys.path entry, which Python does not
remember) is not repeated on every call.  Counted, not timed: a finder in
front of sys.meta_path sees every search for numpy and refuses it, as an
installation without numpy would."""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterator
from typing import Any

import pytest

from dlmsmesh import axdr, columns
from dlmsmesh.columns import table as columns_table
from dlmsmesh.types import DoubleLongUnsigned, Unsigned

CALLS = 5


class _NoNumpy:
    """A meta path finder for which numpy is not installed; counts the searches."""

    def __init__(self, hidden: Any) -> None:
        self.searches = 0
        self.hidden = hidden  # the numpy imported before, if any

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "numpy":
            self.searches += 1
            raise ModuleNotFoundError("No module named 'numpy'", name="numpy")
        return None


@pytest.fixture
def no_numpy(monkeypatch: pytest.MonkeyPatch) -> Iterator[_NoNumpy]:
    try:
        import numpy as hidden
    except ImportError:
        hidden = None
    finder = _NoNumpy(hidden)
    monkeypatch.delitem(sys.modules, "numpy", raising=False)
    monkeypatch.setattr(columns_table, "_numpy_missing", None, raising=False)
    monkeypatch.setattr(sys, "meta_path", [finder, *sys.meta_path])
    yield finder


def _profile(rows: int = 24) -> bytes:
    return axdr.encode([(DoubleLongUnsigned(1000 + 7 * i), Unsigned(i % 3)) for i in range(rows)])


def test_absent_numpy_is_searched_for_once(backend: str, no_numpy: _NoNumpy) -> None:
    data = _profile()
    for _ in range(CALLS):
        table = columns.decode(data)
        assert isinstance(table[0], array) and table[0].typecode == "I"
        assert list(table[0]) == [1000 + 7 * i for i in range(24)]
        assert list(table[1]) == [i % 3 for i in range(24)]
    assert no_numpy.searches == 1
    # numpy=True still says numpy is missing, without searching again
    with pytest.raises(ImportError, match="numpy"):
        columns.decode(data, numpy=True)
    assert no_numpy.searches == 1


def test_numpy_imported_after_the_failure_is_used(backend: str, no_numpy: _NoNumpy) -> None:
    real = no_numpy.hidden
    if real is None:
        pytest.skip("numpy is not installed")
    data = _profile()
    assert isinstance(columns.decode(data)[0], array)
    sys.modules["numpy"] = real  # numpy imported by someone else after all (monkeypatch restores the entry)
    table = columns.decode(data)
    assert isinstance(table[0], real.ndarray) and table[0].dtype == real.uint32
    assert no_numpy.searches == 1


def test_blocked_numpy_is_not_remembered(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    numpy = pytest.importorskip("numpy")
    data = _profile()
    with monkeypatch.context() as m:
        m.setitem(sys.modules, "numpy", None)  # how test_columns makes numpy unimportable
        assert isinstance(columns.decode(data)[0], array)
    table = columns.decode(data)
    assert isinstance(table[0], numpy.ndarray) and list(table[0]) == [1000 + 7 * i for i in range(24)]
