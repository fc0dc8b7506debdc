"""Pure-Python BER TLV walker and header writer (the baseline twin of csrc/ber.c).

The walk lists a TLV tree in pre-order as :class:`Node` tuples; its checks,
their order and the offsets they report match the C walker exactly, so both
backends give the same nodes or the same error for the same input.
"""

from __future__ import annotations

from .. import _status as S
from .._common.ber import (
    APPLICATION,
    CONTEXT,
    DEFAULT_MAX_DEPTH,
    DEPTH_LIMIT,
    LAYER,
    PRIVATE,
    UNIVERSAL,
    Node,
    check_args,
    check_header,
    encode_length,
)

__all__ = [
    "APPLICATION",
    "CONTEXT",
    "DEFAULT_MAX_DEPTH",
    "DEPTH_LIMIT",
    "LAYER",
    "PRIVATE",
    "UNIVERSAL",
    "Node",
    "walk",
    "encode_length",
    "encode_header",
    "encode_tlv",
]


def _err(code: int, offset: int) -> Exception:
    return S.decode_error(code, offset, LAYER)


def walk(
    data: bytes | bytearray | memoryview,
    offset: int = 0,
    end: int | None = None,
    max_depth: int = DEFAULT_MAX_DEPTH,
    *,
    flat: bool = False,
    one: bool = False,
) -> list[Node]:
    buf = bytes(data) if not isinstance(data, bytes) else data
    end = check_args(len(buf), offset, end, max_depth)
    if one and offset == end:
        raise _err(S.TRUNCATED, offset)
    nodes: list[Node] = []
    ends = [end]
    pos = offset
    depth = 0
    while True:
        while depth and pos == ends[depth]:
            ends.pop()
            depth -= 1
        if not depth and (pos == end or (one and nodes)):
            return nodes
        stop = ends[depth]
        head = pos
        if depth > max_depth:
            raise _err(S.TOO_DEEP, head)
        ident = buf[pos]
        pos += 1
        number = ident & 0x1F
        if number == 0x1F:
            number = 0
            k = 0
            while True:
                if k == 4:
                    raise _err(S.BER_TAG, head)
                if pos >= stop:
                    raise _err(S.TRUNCATED, pos)
                b = buf[pos]
                pos += 1
                number = (number << 7) | (b & 0x7F)
                if b < 0x80:
                    break
                k += 1
        if pos >= stop:
            raise _err(S.TRUNCATED, pos)
        length = buf[pos]
        if length < 0x80:
            pos += 1
        else:
            n = length & 0x7F
            if n == 0:
                raise _err(S.BER_INDEFINITE, pos)
            if n > 4:
                raise _err(S.BAD_LENGTH, pos)
            if n > stop - pos - 1:
                raise _err(S.TRUNCATED, pos)
            length = int.from_bytes(buf[pos + 1 : pos + 1 + n], "big")
            pos += 1 + n
        if length > stop - pos:
            raise _err(S.TRUNCATED, pos)
        constructed = bool(ident & 0x20)
        nodes.append(Node(ident & 0xC0, constructed, number, head, pos, length, depth))
        if constructed and not flat:
            depth += 1
            ends.append(pos + length)
        else:
            pos += length


def encode_header(cls: int, constructed: bool, number: int, length: int) -> bytes:
    """Identifier octets and the shortest definite length of a TLV."""
    check_header(cls, number, length)
    first = cls | (0x20 if constructed else 0)
    if number < 0x1F:
        ident = bytes((first | number,))
    else:
        groups = [number & 0x7F]
        number >>= 7
        while number:
            groups.append(0x80 | (number & 0x7F))
            number >>= 7
        ident = bytes((first | 0x1F, *reversed(groups)))
    return ident + encode_length(length)


def encode_tlv(cls: int, constructed: bool, number: int, content: bytes) -> bytes:
    """A whole TLV: header (shortest length form) and ``content``."""
    return encode_header(cls, constructed, number, len(content)) + bytes(content)
