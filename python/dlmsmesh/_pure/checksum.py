"""Pure-Python UDP checksum over the IPv6 pseudo-header (twin of csrc/checksum.c).

The ones'-complement sum of 16-bit words is the whole byte string read as one
big-endian integer, modulo 0xFFFF (2**16 = 1 modulo 0xFFFF), which CPython
computes in C; a non-zero input whose sum is a multiple of 0xFFFF sums to
0xFFFF ("negative zero"), never to 0.
"""

from __future__ import annotations

from .. import _status as S

_NEXT_HEADER_UDP = b"\x00\x00\x00\x11"


def udp_checksum(src: bytes, dst: bytes, segment: bytes | bytearray | memoryview) -> int:
    """The checksum of the UDP ``segment`` (header + payload); its checksum field counts as zero."""
    n = len(segment)
    if n < 8:
        raise S.decode_error(S.TRUNCATED, 0, "udp")
    if n > 0xFFFFFFFF:
        raise ValueError("UDP segment longer than 2**32 - 1 bytes")
    seg = bytes(segment)
    data = b"".join((src, dst, n.to_bytes(4, "big"), _NEXT_HEADER_UDP, seg[:6], seg[8:]))
    if n & 1:
        data += b"\x00"
    total = int.from_bytes(data, "big") % 0xFFFF or 0xFFFF  # never all zero: next header is 17
    return (~total & 0xFFFF) or 0xFFFF
