"""Turns the C decoder's output into Python objects with CPython's C unpickler.

The C core writes a pickle protocol-4 program that refers only to objects
placed in this loader's memo beforehand (DM_MEMO_* in csrc/dlmsmesh.h):
classes, shared one-octet values and a compact-array builder.  ``find_class``
refuses every global, so a program could not reach anything else even if the
C core had a bug.  One loader per thread: the unpickler and its buffer are
reused, and its memo outlives each load.
"""

from __future__ import annotations

import io
import pickle
import struct
import threading
from typing import Any

from .._pure.axdr import BYTE_CACHE
from ..types import (
    ArrayDescription,
    Bcd,
    CompactArray,
    DontCare,
    Enum,
    Integer,
    StructureDescription,
    TYPES_BY_TAG,
    TypeDescription,
    Unsigned,
)
from .._core import lib


def _make_compact(description: TypeDescription, items: list[Any]) -> CompactArray:
    out = list.__new__(CompactArray)
    list.extend(out, items)
    out.description = description
    return out


def memo_objects() -> dict[int, Any]:
    objs: dict[int, Any] = {
        lib.DM_MEMO_DONT_CARE: DontCare(),
        lib.DM_MEMO_MAKE_COMPACT: _make_compact,
        lib.DM_MEMO_ARRAY_DESCRIPTION: ArrayDescription,
        lib.DM_MEMO_STRUCTURE_DESCRIPTION: StructureDescription,
    }
    for tag, cls in TYPES_BY_TAG.items():
        if tag < 28:
            objs[lib.DM_MEMO_CLASS_BASE + tag] = cls
    for slot, cls in (
        (lib.DM_CACHE_UNSIGNED, Unsigned),
        (lib.DM_CACHE_INTEGER, Integer),
        (lib.DM_CACHE_ENUM, Enum),
        (lib.DM_CACHE_BCD, Bcd),
    ):
        base = lib.DM_MEMO_CACHE_BASE + 256 * slot
        for octet, obj in enumerate(BYTE_CACHE[cls.TAG]):
            objs[base + octet] = obj
    return objs


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, objects: dict[int, Any]) -> None:
        super().__init__(file)
        self._objects = objects

    def persistent_load(self, pid: Any) -> Any:
        return self._objects[pid]

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"global {module}.{name} refused")


def _priming_program(indices: list[int]) -> bytes:
    out = bytearray(b"\x80\x04")
    for idx in indices:
        out += b"J" + struct.pack("<i", idx) + b"Q"  # BININT idx, BINPERSID
        out += b"r" + struct.pack("<I", idx) + b"0"  # LONG_BINPUT idx, POP
    out += b"N."
    return bytes(out)


class Loader:
    def __init__(self) -> None:
        objects = memo_objects()
        self._file = io.BytesIO()
        self._unpickler = _Unpickler(self._file, objects)
        self._file.write(_priming_program(sorted(objects)))
        self._file.seek(0)
        self._unpickler.load()
        self._objects = None

    def load(self, program: Any) -> Any:
        f = self._file
        f.seek(0)
        f.truncate()
        f.write(program)
        f.seek(0)
        return self._unpickler.load()


_local = threading.local()


def loader() -> Loader:
    try:
        return _local.loader  # type: ignore[no-any-return]
    except AttributeError:
        _local.loader = Loader()
        return _local.loader  # type: ignore[no-any-return]
