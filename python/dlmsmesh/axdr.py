"""A-XDR encoding of COSEM values (the ``Data`` CHOICE), on the live backend.

``encode(value) -> bytes`` takes typed values from :mod:`dlmsmesh.types` or
plain Python values with a natural type (None, bool, bytes, str, float, list,
tuple, datetime/date/time).  ``decode(data) -> value`` gives, for each wire
type, the plain Python value when that type alone determines the COSEM type
(null-data -> None, boolean -> bool, octet-string -> bytes, float64 -> float,
array -> list, structure -> tuple) and the typed class otherwise (integers,
enum, bcd, float32, strings, bit-string, date-time/date/time, dont-care,
compact-array), so ``encode(decode(b)) == b`` for every canonical encoding
(except a compact-array whose description is itself an array: decoded, never
emitted: Gurux rejects that form and no meter is known to send it).
"""

from __future__ import annotations

from typing import Any

from . import _backend
from .limits import DEFAULT_MAX_DEPTH

__all__ = ["encode", "decode", "decode_prefix", "DEFAULT_MAX_DEPTH"]

# the one default (``limits``), re-exported: callers have always read it here


def encode(value: Any) -> bytes:
    """The A-XDR bytes of ``value`` (shortest length forms)."""
    return _backend.live.axdr.encode(value)


def decode(data: bytes | bytearray | memoryview, *, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """The one value that ``data`` holds; trailing bytes are a DecodeError."""
    return _backend.live.axdr.decode(data, max_depth)


def decode_prefix(
    data: bytes | bytearray | memoryview, offset: int = 0, *, max_depth: int = DEFAULT_MAX_DEPTH
) -> tuple[Any, int]:
    """The value starting at ``offset`` and the offset just after it."""
    if not 0 <= offset <= len(data):
        raise ValueError(f"offset {offset} is outside the {len(data)}-byte input")
    return _backend.live.axdr.decode_prefix(data, offset, max_depth)
