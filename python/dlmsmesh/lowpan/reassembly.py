"""RFC 4944 reassembly (fragmentation header: RFC 4944 section 5.3) with bounded memory.

A partial datagram is identified by (source, destination, datagram_size,
datagram_tag), the link-layer (or mesh originator/final) addresses.  Limits:

- ``max_bytes``: the buffers of all partial datagrams together (each one
  reserves its datagram_size plus a fixed bookkeeping charge on its first
  fragment);
- ``max_datagrams``: partial datagrams at once;
- ``timeout``: seconds from a datagram's first fragment (RFC 4944: at most
  60); expired datagrams are dropped whenever a fragment arrives or
  :meth:`Reassembler.expire` is called.

When a new datagram does not fit, the oldest partial ones are evicted (a
flood of first fragments can delay a slow datagram, never exhaust memory).
A fragment that repeats one already held (same offset, same bytes) is
ignored; one that overlaps another in any other way, or arrives with a
different datagram_size for the same (source, destination, tag), discards
the partial datagram, and reassembly restarts from the new fragment.  Every
such event is counted in :attr:`Reassembler.stats`.

The reassembler holds uncompressed bytes: the caller decompresses a FRAG1's
IPHC header first (see :func:`dlmsmesh.lowpan.decode_frame`).  It is one
implementation for both backends: its work is bookkeeping, not byte crunching.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from .. import _status as S
from ..ipv6 import IPV6_HEADER_LENGTH, udp_checksum
from ..limits import REASSEMBLY_MAX_BYTES, REASSEMBLY_MAX_DATAGRAMS, REASSEMBLY_TIMEOUT

__all__ = ["Reassembler", "ReassemblyStats", "ENTRY_OVERHEAD"]

LAYER = "lowpan"
#: bytes charged per partial datagram on top of its buffer (the object, the
#: key and the piece list), so that many tiny datagrams are bounded too
ENTRY_OVERHEAD = 256
_UDP_CHECKSUM = IPV6_HEADER_LENGTH + 6


@dataclass
class ReassemblyStats:
    completed: int = 0
    timed_out: int = 0
    evicted: int = 0
    inconsistent: int = 0
    duplicates: int = 0


class _Partial:
    __slots__ = ("size", "buffer", "pieces", "received", "deadline", "checksum_pending")

    def __init__(self, size: int, deadline: float) -> None:
        self.size = size
        self.buffer = bytearray(size)
        self.pieces: list[tuple[int, int]] = []
        self.received = 0
        self.deadline = deadline
        self.checksum_pending = False


Key = tuple[bytes, bytes, int]


class Reassembler:
    def __init__(
        self,
        *,
        max_bytes: int = REASSEMBLY_MAX_BYTES,
        max_datagrams: int = REASSEMBLY_MAX_DATAGRAMS,
        timeout: float = REASSEMBLY_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_bytes < ENTRY_OVERHEAD + 1 or max_datagrams < 1 or timeout <= 0:
            raise ValueError("max_bytes, max_datagrams and timeout must leave room for one datagram")
        self.max_bytes = max_bytes
        self.max_datagrams = max_datagrams
        self.timeout = timeout
        self.clock = clock
        self.stats = ReassemblyStats()
        # insertion order is deadline order: every entry has the same timeout
        self._partials: OrderedDict[Key, _Partial] = OrderedDict()
        self._memory = 0

    @property
    def memory(self) -> int:
        """Bytes reserved by partial datagrams (never more than ``max_bytes``)."""
        return self._memory

    @property
    def pending(self) -> int:
        """Partial datagrams held."""
        return len(self._partials)

    def has_partial(self, source: bytes, destination: bytes, size: int, tag: int) -> bool:
        entry = self._partials.get((bytes(source), bytes(destination), tag))
        return entry is not None and entry.size == size

    def clear(self) -> None:
        self._partials.clear()
        self._memory = 0

    def expire(self) -> int:
        """Drop the partial datagrams whose time is up; returns how many."""
        now = self.clock()
        dropped = 0
        while self._partials:
            key, entry = next(iter(self._partials.items()))
            if entry.deadline > now:
                break
            self._drop(key)
            dropped += 1
        self.stats.timed_out += dropped
        return dropped

    def _drop(self, key: Key) -> None:
        entry = self._partials.pop(key)
        self._memory -= entry.size + ENTRY_OVERHEAD

    def _new(self, key: Key, size: int) -> _Partial:
        charge = size + ENTRY_OVERHEAD
        while self._partials and (len(self._partials) >= self.max_datagrams or self._memory + charge > self.max_bytes):
            self._drop(next(iter(self._partials)))
            self.stats.evicted += 1
        entry = _Partial(size, self.clock() + self.timeout)
        self._partials[key] = entry
        self._memory += charge
        return entry

    def add(
        self,
        source: bytes,
        destination: bytes,
        size: int,
        tag: int,
        offset: int,
        data: bytes,
        *,
        checksum_pending: bool = False,
    ) -> bytes | None:
        """Add the uncompressed bytes ``data`` at ``offset`` of the datagram
        (source, destination, size, tag); returns the whole datagram when
        this fragment completes it, else None.

        ``checksum_pending``: the first fragment had its UDP checksum elided;
        it is computed when the datagram is complete.  Raises DecodeError
        (layer ``lowpan``, offset 0) for a fragment that cannot belong to the
        datagram: empty, reaching beyond ``size``, or a datagram larger than
        the memory budget.
        """
        if not data:
            raise S.decode_error(S.FRAG_EMPTY, 0, LAYER)
        if offset < 0 or offset + len(data) > size:
            raise S.decode_error(S.FRAG_OFFSET, 0, LAYER)
        if size + ENTRY_OVERHEAD > self.max_bytes:
            raise S.decode_error(S.FRAG_LIMIT, 0, LAYER)
        self.expire()
        key = (bytes(source), bytes(destination), tag)
        end = offset + len(data)
        entry = self._partials.get(key)
        if entry is not None and entry.size != size:
            self._drop(key)
            self.stats.inconsistent += 1
            entry = None
        if entry is not None:
            for start, stop in entry.pieces:
                if start < end and offset < stop:
                    if (start, stop) == (offset, end) and entry.buffer[start:stop] == data:
                        self.stats.duplicates += 1
                        return None
                    self._drop(key)
                    self.stats.inconsistent += 1
                    entry = None
                    break
        if entry is None:
            entry = self._new(key, size)
        entry.buffer[offset:end] = data
        entry.pieces.append((offset, end))
        entry.received += end - offset
        entry.checksum_pending = entry.checksum_pending or checksum_pending
        if entry.received < size:
            return None
        self._drop(key)
        self.stats.completed += 1
        datagram = entry.buffer
        if entry.checksum_pending and size >= _UDP_CHECKSUM + 2:
            check = udp_checksum(bytes(datagram[8:24]), bytes(datagram[24:40]), datagram[IPV6_HEADER_LENGTH:])
            datagram[_UDP_CHECKSUM : _UDP_CHECKSUM + 2] = check.to_bytes(2, "big")
        return bytes(datagram)
