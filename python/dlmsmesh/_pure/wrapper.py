"""Pure-Python DLMS/COSEM wrapper header (the twin of csrc/wrapper.c)."""

from __future__ import annotations

import struct

from .. import _status as S

LAYER = "wrapper"
HEADER = 8

_unpack = struct.Struct(">HHHH").unpack_from
_pack = struct.Struct(">HHHH").pack


def decode(data: bytes | bytearray | memoryview) -> tuple[int, int, int, int]:
    """(version, source wPort, destination wPort, length) of a whole datagram."""
    n = len(data)
    if n < HEADER:
        raise S.decode_error(S.TRUNCATED, 0, LAYER)
    version, source, destination, length = _unpack(data)
    if version != 1:
        raise S.decode_error(S.WRAPPER_VERSION, 0, LAYER)
    if length != n - HEADER:
        raise S.decode_error(S.WRAPPER_LENGTH, 6, LAYER)
    return version, source, destination, length


def header(source_wport: int, destination_wport: int, apdu_length: int) -> bytes:
    """The 8-byte header for an APDU of ``apdu_length`` bytes (all checked by the caller)."""
    return _pack(1, source_wport, destination_wport, apdu_length)
