"""IPHC context table: up to 16 shared prefixes, indexed by context id.

A context is distributed by the network (6LoWPAN-ND 6CO option, RFC 6775; in
Wi-SUN by the border router) and is valid for decompression; ``compress``
(the 6CO "C" flag) says the compressor may also use it.  Decompression with
a context id that is not in the table fails (the packet is dropped).
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Union

from ..limits import MAX_CONTEXTS

__all__ = ["Context", "ContextTable", "MAX_CONTEXTS"]

_DECOMPRESS = 1
_COMPRESS = 2
_ROW = struct.Struct("16sBB")

PrefixLike = Union[str, ipaddress.IPv6Network]


@dataclass(frozen=True)
class Context:
    """One entry: ``prefix`` (any length 0..128) and whether the compressor may use it."""

    cid: int
    prefix: ipaddress.IPv6Network
    compress: bool = True


class ContextTable:
    """Contexts 0..15.  ``ContextTable({0: "2001:db8:1::/64"})``."""

    def __init__(self, contexts: Mapping[int, PrefixLike] | None = None) -> None:
        self._entries: dict[int, Context] = {}
        self._rows: tuple[tuple[int, int, int] | None, ...] | None = None
        self._packed: bytes | None = None
        for cid, prefix in (contexts or {}).items():
            self.set(cid, prefix)

    def set(self, cid: int, prefix: PrefixLike, *, compress: bool = True) -> None:
        """Add or replace context ``cid``; host bits of ``prefix`` are cleared."""
        if not isinstance(cid, int) or not 0 <= cid < MAX_CONTEXTS:
            raise ValueError(f"context id must be in 0..{MAX_CONTEXTS - 1}, not {cid!r}")
        net = prefix if isinstance(prefix, ipaddress.IPv6Network) else ipaddress.IPv6Network(prefix, strict=False)
        self._entries[cid] = Context(cid, net, bool(compress))
        self._rows = self._packed = None

    def remove(self, cid: int) -> None:
        self._entries.pop(cid, None)
        self._rows = self._packed = None

    def get(self, cid: int) -> Context | None:
        return self._entries.get(cid)

    def __getitem__(self, cid: int) -> Context:
        return self._entries[cid]

    def __contains__(self, cid: object) -> bool:
        return cid in self._entries

    def __iter__(self) -> Iterator[Context]:
        return iter(sorted(self._entries.values(), key=lambda c: c.cid))

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        inner = ", ".join(f"{c.cid}: {str(c.prefix)!r}" + ("" if c.compress else " (no compress)") for c in self)
        return f"ContextTable({{{inner}}})"

    @property
    def rows(self) -> tuple[tuple[int, int, int] | None, ...]:
        """For the pure backend: per id None or (prefix as an int, length, flags)."""
        if self._rows is None:
            rows: list[tuple[int, int, int] | None] = [None] * MAX_CONTEXTS
            for c in self._entries.values():
                flags = _DECOMPRESS | (_COMPRESS if c.compress else 0)
                rows[c.cid] = (int(c.prefix.network_address), c.prefix.prefixlen, flags)
            self._rows = tuple(rows)
        return self._rows

    @property
    def packed(self) -> bytes:
        """For the native backend: 16 dm_lowpan_context structs."""
        if self._packed is None:
            parts = []
            for row in self.rows:
                if row is None:
                    parts.append(bytes(_ROW.size))
                else:
                    parts.append(_ROW.pack(row[0].to_bytes(16, "big"), row[1], row[2]))
            self._packed = b"".join(parts)
        return self._packed

    @classmethod
    def of(cls, contexts: ContextTable | Mapping[int, PrefixLike] | None) -> ContextTable | None:
        """``contexts`` as a table (a mapping is converted; None stays None)."""
        if contexts is None or isinstance(contexts, ContextTable):
            return contexts
        return cls(contexts)
