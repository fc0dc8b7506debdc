"""Native UDP checksum over the IPv6 pseudo-header: csrc/checksum.c."""

from __future__ import annotations

from .. import _status as S
from .._core import ffi, lib


def udp_checksum(src: bytes, dst: bytes, segment: bytes | bytearray | memoryview) -> int:
    rc = int(lib.dm_udp_checksum(src, dst, ffi.from_buffer(segment), len(segment)))
    if rc < 0:
        if rc == lib.DM_ERR_TRUNCATED:
            raise S.decode_error(rc, 0, "udp")
        raise ValueError("UDP segment longer than 2**32 - 1 bytes")
    return rc
