"""Native DLMS/COSEM wrapper header: csrc/wrapper.c."""

from __future__ import annotations

import threading

from .. import _status as S
from .._core import ffi, lib

LAYER = "wrapper"
HEADER = 8


class _Scratch(threading.local):
    def __init__(self) -> None:
        self.hdr = ffi.new("dm_wrapper *")
        self.err = ffi.new("size_t *")
        self.out = ffi.new("uint8_t[8]")


_scratch = _Scratch()


def decode(data: bytes | bytearray | memoryview) -> tuple[int, int, int, int]:
    sc = _scratch
    rc = lib.dm_wrapper_decode(ffi.from_buffer(data), len(data), sc.hdr, sc.err)
    if rc < 0:
        raise S.decode_error(rc, sc.err[0], LAYER)
    h = sc.hdr
    return h.version, h.source_wport, h.destination_wport, h.length


def header(source_wport: int, destination_wport: int, apdu_length: int) -> bytes:
    sc = _scratch
    rc = lib.dm_wrapper_encode(source_wport, destination_wport, apdu_length, sc.out, 8)
    if rc < 0:
        raise ValueError(f"APDU of {apdu_length} bytes does not fit the 16-bit wrapper length")
    return ffi.buffer(sc.out, HEADER)[:]
