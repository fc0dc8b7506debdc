"""The A-XDR length codec, the one copy in Python (``csrc/bytes.h`` has the C one).

A length (or element count) below 0x80 is one octet; otherwise ``0x80 | k``
followed by ``k`` big-endian octets, 1 <= k <= 4.  Decoding accepts any
``k`` in that range (non-minimal forms included); encoding always writes the
shortest form.
"""

from __future__ import annotations

from .. import _status as S
from ..errors import EncodeError
from ..limits import MAX_LENGTH
from .fail import Fail


def read_length(buf: bytes | bytearray | memoryview, p: int, end: int) -> tuple[int, int]:
    """The length at ``p`` (reading no further than ``end``): (value, offset after it).

    Raises ``Fail(TRUNCATED, p)`` when the field runs past ``end`` and
    ``Fail(BAD_LENGTH, p)`` for a first octet of 0x80 or 0x85..0xFF.
    """
    if p >= end:
        raise Fail(S.TRUNCATED, p)
    b = buf[p]
    if b < 0x80:
        return b, p + 1
    k = b & 0x7F
    if k == 0 or k > 4:
        raise Fail(S.BAD_LENGTH, p)
    q = p + 1 + k
    if q > end:
        raise Fail(S.TRUNCATED, p)
    return int.from_bytes(buf[p + 1 : q], "big"), q


def length_size(n: int) -> int:
    """How many octets the shortest form of ``n`` takes."""
    if n < 0x80:
        return 1
    if n > MAX_LENGTH:
        raise EncodeError(f"length {n} does not fit an A-XDR length field")
    return 1 + (n.bit_length() + 7) // 8


def put_length(out: bytearray, n: int) -> None:
    """Append the shortest form of ``n`` to ``out``."""
    if n < 0x80:
        if n < 0:
            raise EncodeError(f"length {n} is negative")
        out.append(n)
        return
    if n > MAX_LENGTH:
        raise EncodeError(f"length {n} does not fit an A-XDR length field")
    k = (n.bit_length() + 7) // 8
    out.append(0x80 | k)
    out += n.to_bytes(k, "big")


def encode_length(n: int) -> bytes:
    """The shortest form of ``n`` as bytes."""
    out = bytearray()
    put_length(out, n)
    return bytes(out)
