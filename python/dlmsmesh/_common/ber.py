"""BER facts both walkers (``_pure/ber.py``, ``_native/ber.py``) and the ACSE
layer share: the :class:`Node` a walk lists, its limits and argument checks,
and the definite-length writer.

Only the limits, ``dlmsmesh.errors`` and the A-XDR length codec are imported:
nothing here calls a backend.
"""

from __future__ import annotations

from typing import NamedTuple

from ..errors import EncodeError
from ..limits import BER_DEFAULT_MAX_DEPTH as DEFAULT_MAX_DEPTH
from ..limits import BER_DEPTH_LIMIT
from .length import MAX_LENGTH
from .length import encode_length as _shortest_length

__all__ = [
    "LAYER",
    "DEFAULT_MAX_DEPTH",
    "DEPTH_LIMIT",
    "UNIVERSAL",
    "APPLICATION",
    "CONTEXT",
    "PRIVATE",
    "Node",
    "check_args",
    "check_header",
    "encode_length",
]

#: BER is the ACSE layer's encoding: walk errors name it
LAYER = "acse"
#: the largest ``max_depth`` accepted; ``DM_BER_DEPTH_LIMIT`` in csrc/dlmsmesh.h
#: sizes the C walker's fixed stack, and ``_native/ber.py`` asserts the two agree
DEPTH_LIMIT = BER_DEPTH_LIMIT

UNIVERSAL, APPLICATION, CONTEXT, PRIVATE = 0x00, 0x40, 0x80, 0xC0


class Node(NamedTuple):
    """One TLV: identifier class bits, constructed flag, tag number, where its
    identifier octet and content start, the content length, and its depth (0
    for the TLVs of the walked range)."""

    cls: int
    constructed: bool
    number: int
    header: int
    content: int
    length: int
    depth: int

    @property
    def end(self) -> int:
        """Offset just after the content."""
        return self.content + self.length

    @property
    def ident(self) -> int:
        """The first identifier octet (``0x1F`` in its low bits for high tag numbers)."""
        return self.cls | (0x20 if self.constructed else 0) | min(self.number, 0x1F)


def check_args(n: int, offset: int, end: int | None, max_depth: int) -> int:
    """The end of the range; ValueError for a range or depth out of bounds."""
    if end is None:
        end = n
    if not 0 <= offset <= end <= n:
        raise ValueError(f"range {offset}..{end} is outside the {n}-byte input")
    if not 0 <= max_depth <= DEPTH_LIMIT:
        raise ValueError(f"max_depth must be 0..{DEPTH_LIMIT}, not {max_depth}")
    return end


def check_header(cls: int, number: int, length: int) -> None:
    """EncodeError unless a TLV header of these fields can be written."""
    if cls not in (UNIVERSAL, APPLICATION, CONTEXT, PRIVATE):
        raise EncodeError(f"BER class must be 0x00, 0x40, 0x80 or 0xC0, not {cls:#x}")
    if not 0 <= number < 1 << 28:
        raise EncodeError(f"BER tag number must be 0 .. 2**28 - 1, not {number}")
    _check_length(length)


def _check_length(length: int) -> None:
    if length < 0:
        raise EncodeError(f"a BER length cannot be negative ({length})")
    if length > MAX_LENGTH:
        raise EncodeError(f"a BER length is at most 2**32 - 1, not {length}")


def encode_length(length: int) -> bytes:
    """The shortest definite length form of ``length`` (0 .. 2**32 - 1).

    Its octets are those of the A-XDR length (X.690 8.1.3.5 is where A-XDR
    took its form from), so the one writer of ``_common/length.py`` makes them;
    only the errors say BER.
    """
    if 0 <= length < 0x80:
        return bytes((length,))
    _check_length(length)
    return _shortest_length(length)
