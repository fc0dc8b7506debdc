"""Turns the C decoder's output into Python objects with CPython's C unpickler.

The C core writes a pickle protocol-4 program that refers only to objects
placed in this loader's memo beforehand (DM_MEMO_* in csrc/dlmsmesh.h):
classes, shared one-octet values and a compact-array builder.  ``find_class``
refuses every global, so a program could not reach anything else even if the
C core had a bug.  One loader per thread: the unpickler and its buffer are
reused, and its memo outlives each load.  Unknown persistent ids and globals
are refused.
"""

from __future__ import annotations

import functools
import pickle
import struct
import sys
import threading
import types
from typing import Any

from .._common.axdr import BYTE_CACHE
from .._core import lib
from ..types import (
    TYPES_BY_TAG,
    ArrayDescription,
    Bcd,
    CompactArray,
    DontCare,
    Enum,
    Integer,
    StructureDescription,
    TypeDescription,
    Unsigned,
)


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
        if tag <= lib.DM_MEMO_CLASS_LAST_TAG:
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
    objs.update(_apdu_memo_objects())
    return objs


def _apdu_memo_objects() -> dict[int, Any]:
    from .. import apdu_model as A
    from ..types import NullData

    objs: dict[int, Any] = {
        lib.DM_MEMO_NULL_DATA: NullData(),
        lib.DM_MEMO_GET_RESPONSE_NORMAL: A.GetResponseNormal,
        lib.DM_MEMO_DATA_NOTIFICATION: A.DataNotification,
        lib.DM_MEMO_GENERAL_BLOCK_TRANSFER: A.GeneralBlockTransfer,
    }
    names = [
        "invoke_id",
        "priority",
        "service_class",
        "result",
        "long_invoke_id",
        "processing_option",
        "self_descriptive",
        "date_time",
        "body",
        "last_block",
        "streaming",
        "window",
        "block_number",
        "block_number_ack",
        "block_data",
    ]
    assert len(names) == lib.DM_FIELD_COUNT
    for i, name in enumerate(names):
        objs[lib.DM_MEMO_FIELD_BASE + i] = sys.intern(name)
    for p in A.Priority:
        objs[lib.DM_MEMO_PRIORITY_BASE + p] = p
    for c in A.ServiceClass:
        objs[lib.DM_MEMO_SERVICE_CLASS_BASE + c] = c
    for octet in range(256):
        objs[lib.DM_MEMO_DAR_BASE + octet] = A.DataAccessResult(octet)
    return objs


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: Any, objects: dict[int, Any]) -> None:
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
    """One thread's unpickler with its memo, and the buffer programs are written to.

    The unpickler reads from a file object whose ``peek`` hands over the
    current program without copying (C-level callables only, so a load costs
    no Python frames); it consumes each program to its STOP, so the next load
    peeks again.
    """

    def __init__(self) -> None:
        from .._core import ffi

        self._ffi = ffi
        objects = memo_objects()
        self.source = types.SimpleNamespace(view=memoryview(_priming_program(sorted(objects))))
        file = types.SimpleNamespace(
            peek=functools.partial(getattr, self.source, "view"), read=b"".__mul__, readline=bytes
        )
        self.unpickler = _Unpickler(file, objects)
        self.unpickler.load()
        self.unpickler._objects = {}  # only the priming program may use persistent ids
        self.cap = 0
        self.apdu_ctx = ffi.new("dm_apdu_ctx *")
        self.grow(1 << 16)
        self.axdr_result = ffi.new("dm_decode_result *")

    def grow(self, need: int) -> None:
        """Make the program buffer at least ``need`` bytes (and at least double)."""
        self.cap = max(need, self.cap * 2)
        self.out = self._ffi.new("uint8_t[]", self.cap)
        self.view = memoryview(self._ffi.buffer(self.out))
        self.apdu_ctx.out = self.out
        self.apdu_ctx.out_cap = self.cap

    def run(self, length: int) -> Any:
        """The object built by the program of ``length`` bytes in ``out``."""
        self.source.view = self.view[:length]
        return self.unpickler.load()

    def load(self, program: Any) -> Any:
        """The object built by a program held elsewhere."""
        self.source.view = memoryview(program)
        return self.unpickler.load()


_local = threading.local()


def loader() -> Loader:
    try:
        return _local.loader  # type: ignore[no-any-return]
    except AttributeError:
        _local.loader = Loader()
        return _local.loader  # type: ignore[no-any-return]
