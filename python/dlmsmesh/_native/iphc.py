"""Native RFC 6282 IPHC + NHC-UDP: csrc/iphc.c, a whole batch per C call.

The items are joined into one buffer with an array of end offsets (a
FrameBuffer is passed as it is), the link-layer addresses and the context
table are passed as packed structs, and C writes every output into one
reused buffer plus one dm_lowpan_item per item; Python copies the two out
and builds per-item objects only when they are read (see Batch).
"""

from __future__ import annotations

import sys
import threading
from array import array
from typing import TYPE_CHECKING, Any

from .._common.iphc import ITEM_WORDS as _ITEM_WORDS
from .._common.iphc import Batch, Fail
from .._core import ffi, lib
from ..frames import FrameBuffer, FramesLike

if TYPE_CHECKING:
    from .._protocols.iphc import ContextsLike, LinksLike

assert ffi.sizeof("dm_ll_pair") == 18
assert ffi.sizeof("dm_lowpan_item") == 4 * _ITEM_WORDS
assert ffi.sizeof("dm_lowpan_context") == 18

# bytes of output per item beyond its input that always suffice
_COMPRESS_GROWTH = 1
_DECOMPRESS_GROWTH = 48


class _Scratch(threading.local):
    """Per-thread buffers.  ``out``/``items`` serve single items (their
    answers are copied out at once).  ``batch_out``/``batch_records`` are what
    C writes a batch into and what the Batch then reads, with no copy; a
    later call writes into them again only when no Batch holds them any
    more, so a loop of batch calls reuses the same memory instead of asking
    the allocator for (and page-faulting in) a megabyte per call."""

    def __init__(self) -> None:
        self.out_cap = 1 << 16
        self.out = ffi.new("uint8_t[]", self.out_cap)
        self.item_cap = 1
        self.items = ffi.new("dm_lowpan_item[]", self.item_cap)
        self.end = ffi.new("uint32_t[1]")
        self.batch_out = bytearray()
        self.batch_records = bytearray()

    def reserve(self, out_cap: int) -> None:
        if out_cap > self.out_cap:
            self.out_cap = max(out_cap, 2 * self.out_cap)
            self.out = ffi.new("uint8_t[]", self.out_cap)

    def batch_buffers(self, out_cap: int, n: int) -> tuple[bytearray, bytearray]:
        """An output buffer of at least out_cap bytes and a record array of
        n items, neither of them read by a live Batch."""
        # references: this attribute and getrefcount's argument; a Batch's
        # memoryview on the buffer (or anything else) adds one.  A buffer far
        # larger than needed is not reused either: a Batch kept alive keeps
        # its whole buffer, which should be about its own size.
        if sys.getrefcount(self.batch_out) > 2 or not _fits(len(self.batch_out), out_cap):
            self.batch_out = bytearray(out_cap)
        size = 4 * _ITEM_WORDS * n
        if sys.getrefcount(self.batch_records) > 2 or not _fits(len(self.batch_records), size):
            self.batch_records = bytearray(size)
        return self.batch_out, self.batch_records


def _fits(have: int, need: int) -> bool:
    return need <= have <= 4 * need + (1 << 16)


_scratch = _Scratch()


def pack_links(links: LinksLike) -> tuple[Any, int]:
    """(dm_ll_pair array or NULL, count) for ``links``."""
    if not len(links):
        return ffi.NULL, 0
    return ffi.from_buffer("dm_ll_pair[]", links.packed), len(links)


def context_table(contexts: ContextsLike | None) -> Any:
    if contexts is None:
        return ffi.NULL
    return ffi.from_buffer("dm_lowpan_context[]", contexts.packed)


def _prepare(items: FramesLike, links: LinksLike) -> tuple[Any, Any, Any, int, int, int]:
    """(input, ends, link pairs, pair count, n, input bytes) for C."""
    if isinstance(items, FrameBuffer):
        # already one buffer: frame i ends at offsets[i + 1]
        n = len(items)
        links.check(n)
        ll, ll_count = pack_links(links)
        data = items.data
        return ffi.from_buffer(data), ffi.from_buffer("uint32_t[]", items.offsets) + 1, ll, ll_count, n, len(data)
    n = len(items)
    links.check(n)
    blob = b"".join(items)
    ends = array("I", map(len, items))
    if lib.dm_ends_from_lengths(ffi.from_buffer("uint32_t[]", ends), n) < 0:
        raise ValueError("a batch holds at most 4 GiB")
    ll, ll_count = pack_links(links)
    return ffi.from_buffer(blob), ffi.from_buffer("uint32_t[]", ends), ll, ll_count, n, len(blob)


def _batch(fn: Any, items: FramesLike, links: LinksLike, contexts: ContextsLike | None, arg: int, growth: int) -> Batch:
    src, ends, ll, ll_count, n, size = _prepare(items, links)
    out, records = _scratch.batch_buffers(size + growth * n + 1, n)
    rc = fn(
        src,
        ends,
        n,
        ll,
        ll_count,
        context_table(contexts),
        arg,
        ffi.from_buffer("uint8_t[]", out),
        len(out),
        ffi.from_buffer("dm_lowpan_item[]", records),
    )
    if rc < 0:
        raise AssertionError(f"IPHC batch call: status {rc}")  # the buffers are sized so this cannot happen
    del src, ends
    words = memoryview(records).toreadonly()[: 4 * _ITEM_WORDS * n].cast("I")
    end = words[-5] + words[-4] if n else 0  # the last item's offset + length
    failures: list[tuple[int, int, int]] = []
    if rc:  # rc failed items: read their status and error offset
        status = words.cast("B").cast("i")[0::_ITEM_WORDS].tolist()
        errs = words[4::_ITEM_WORDS].tolist()
        failures = [(i, st, errs[i]) for i, st in enumerate(status) if st < 0]
    return Batch.from_records(memoryview(out).toreadonly()[:end], words, failures)


def compress(items: FramesLike, links: LinksLike, contexts: ContextsLike | None, flags: int) -> Batch:
    return _batch(lib.dm_iphc_compress, items, links, contexts, flags, _COMPRESS_GROWTH)


def decompress(items: FramesLike, links: LinksLike, contexts: ContextsLike | None, datagram_size: int) -> Batch:
    return _batch(lib.dm_iphc_decompress, items, links, contexts, datagram_size, _DECOMPRESS_GROWTH)


# --------------------------------------------------------------------------
# single items: no joining, no lists
# --------------------------------------------------------------------------


def _one(
    fn: Any, item: bytes, links: LinksLike, contexts: ContextsLike | None, arg: int, growth: int
) -> tuple[bytes, int, int]:
    sc = _scratch
    n = len(item)
    sc.reserve(n + growth)
    sc.end[0] = n
    ll, ll_count = pack_links(links)
    if ll_count > 1:
        raise ValueError(f"{ll_count} link-layer address pairs for 1 item")
    rc = fn(ffi.from_buffer(item), sc.end, 1, ll, ll_count, context_table(contexts), arg, sc.out, sc.out_cap, sc.items)
    it = sc.items[0]
    if rc < 0:
        raise AssertionError(f"IPHC batch call: status {rc}")
    if it.status < 0:
        raise Fail(it.status, it.err_offset)
    return ffi.buffer(sc.out, it.length)[:], it.header_length, it.info


def compress_one(item: bytes, links: LinksLike, contexts: ContextsLike | None, flags: int) -> tuple[bytes, int, int]:
    return _one(lib.dm_iphc_compress, item, links, contexts, flags, _COMPRESS_GROWTH)


def decompress_one(
    frame: bytes, links: LinksLike, contexts: ContextsLike | None, datagram_size: int
) -> tuple[bytes, int, int]:
    return _one(lib.dm_iphc_decompress, frame, links, contexts, datagram_size, _DECOMPRESS_GROWTH)
