"""Shared by the atheris harnesses (tests/fuzz/atheris_*.py, issue 7).

Each harness module defines ``one(data: bytes) -> None``: it runs the
Python entry points of its layer on both backends (``native``: the C core
through cffi, ``pure``: the Python twins) and raises :class:`Disagreement`
when they differ in value, or in error class, layer and offset.  Any
exception other than a :class:`~dlmsmesh.errors.DlmsError` escapes too: a
decoder must answer every input with a value or a clear error.

``one`` needs no atheris, so ``tests/fuzz/test_replay.py`` replays the
committed corpora through it under pytest; run as a script, a harness fuzzes
``one`` under atheris (tests/fuzz/_atheris_main.py; libFuzzer's flags apply:
``-max_total_time``, ``-print_final_stats``, ...).
"""

from __future__ import annotations

import dataclasses
import enum
import math
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import dlmsmesh
from dlmsmesh import _backend
from dlmsmesh.errors import DlmsError

BACKENDS = ("native", "pure") if dlmsmesh.native_available() else ("pure",)


class Disagreement(AssertionError):
    """The two backends answered the same input differently."""


@contextmanager
def backend(name: str) -> Iterator[None]:
    before = _backend.backend()
    _backend.set_backend(name)
    try:
        yield
    finally:
        _backend.set_backend(before)


@dataclasses.dataclass(frozen=True)
class Failed:
    """A DlmsError, reduced to what both backends must agree on."""

    cls: str
    layer: str | None
    offset: int | None

    @classmethod
    def of(cls, exc: DlmsError) -> Failed:
        return cls(type(exc).__name__, getattr(exc, "layer", None), getattr(exc, "offset", None))


def outcome(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """fn's value, or Failed for a DlmsError (anything else propagates)."""
    try:
        return fn(*args, **kwargs)
    except DlmsError as exc:
        return Failed.of(exc)


def on_each(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
    """outcome(fn, ...) with each backend live."""
    results = {}
    for name in BACKENDS:
        with backend(name):
            results[name] = outcome(fn, *args, **kwargs)
    return results


def same(a: Any, b: Any) -> bool:
    """Equal values of the same types, all the way down (floats bit for bit)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return struct.pack(">d", a) == struct.pack(">d", b) or (math.isnan(a) and math.isnan(b))
    if isinstance(a, (list, tuple)):
        if len(a) != len(b) or not all(same(x, y) for x, y in zip(a, b)):
            return False
        return same(vars(a), vars(b)) if hasattr(a, "__dict__") else True
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, enum.Enum):  # (pseudo-members of unknown values are new objects each time)
        return bool(a.name == b.name and a.value == b.value)
    if dataclasses.is_dataclass(a):
        return all(same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if hasattr(a, "__dict__") and not isinstance(a, type) and vars(a):
        return same(vars(a), vars(b)) and a == b
    return bool(a == b)


def agree(results: dict[str, Any], what: str, data: bytes) -> Any:
    """The common result of the backends; Disagreement when they differ."""
    values = list(results.values())
    first = values[0]
    for name, other in list(results.items())[1:]:
        if not same(first, other):
            raise Disagreement(
                f"{what}: backends disagree on {data.hex()}:\n  {BACKENDS[0]}: {first!r}\n  {name}: {other!r}"
            )
    return first
