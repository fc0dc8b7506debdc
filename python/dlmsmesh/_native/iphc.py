"""Native RFC 6282 IPHC + NHC-UDP: csrc/iphc.c, a whole batch per C call.

The items are joined into one buffer with an array of end offsets, the
link-layer addresses and the context table are passed as packed structs, and
C writes every output into one reused buffer plus one dm_lowpan_item per
item; Python only slices the answers out.
"""

from __future__ import annotations

import threading
from array import array
from collections.abc import Sequence
from itertools import accumulate
from typing import TYPE_CHECKING, Any

from .._core import ffi, lib
from .._pure.iphc import Batch, Fail

if TYPE_CHECKING:
    from ..lowpan.context import ContextTable
    from ..lowpan.link import LinkPairs

_ITEM_WORDS = 6  # dm_lowpan_item: six 32-bit fields
assert ffi.sizeof("dm_ll_pair") == 18
assert ffi.sizeof("dm_lowpan_item") == 4 * _ITEM_WORDS
assert ffi.sizeof("dm_lowpan_context") == 18

# bytes of output per item beyond its input that always suffice
_COMPRESS_GROWTH = 1
_DECOMPRESS_GROWTH = 48


class _Scratch(threading.local):
    def __init__(self) -> None:
        self.out_cap = 1 << 16
        self.out = ffi.new("uint8_t[]", self.out_cap)
        self.item_cap = 64
        self.items = ffi.new("dm_lowpan_item[]", self.item_cap)
        self.end = ffi.new("uint32_t[1]")

    def reserve(self, out_cap: int, n: int) -> None:
        if out_cap > self.out_cap:
            self.out_cap = max(out_cap, 2 * self.out_cap)
            self.out = ffi.new("uint8_t[]", self.out_cap)
        if n > self.item_cap:
            self.item_cap = max(n, 2 * self.item_cap)
            self.items = ffi.new("dm_lowpan_item[]", self.item_cap)


_scratch = _Scratch()


def pack_links(links: LinkPairs) -> tuple[Any, int]:
    """(dm_ll_pair array or NULL, count) for ``links``."""
    if not len(links):
        return ffi.NULL, 0
    return ffi.from_buffer("dm_ll_pair[]", links.packed), len(links)


def context_table(contexts: ContextTable | None) -> Any:
    if contexts is None:
        return ffi.NULL
    return ffi.from_buffer("dm_lowpan_context[]", contexts.packed)


def _collect(n: int, failed: int) -> Batch:
    sc = _scratch
    words = memoryview(ffi.buffer(sc.items, 4 * _ITEM_WORDS * n)).cast("I")
    offsets = words[1::_ITEM_WORDS].tolist()
    lengths = words[2::_ITEM_WORDS].tolist()
    header_lengths = words[3::_ITEM_WORDS].tolist()
    infos = words[5::_ITEM_WORDS].tolist()
    end = offsets[-1] + lengths[-1] if n else 0
    data = ffi.buffer(sc.out, end)[:]
    outputs: list[bytes | None] = [data[o : o + k] for o, k in zip(offsets, lengths)]
    failures: list[tuple[int, int, int]] = []
    if failed:
        status = memoryview(ffi.buffer(sc.items, 4 * _ITEM_WORDS * n)).cast("i")[0::_ITEM_WORDS].tolist()
        errs = words[4::_ITEM_WORDS].tolist()
        for i, st in enumerate(status):
            if st < 0:
                outputs[i] = None
                failures.append((i, st, errs[i]))
    return Batch(outputs, header_lengths, infos, failures)


def _prepare(items: Sequence[bytes], links: LinkPairs, growth: int) -> tuple[Any, Any, Any, int, int]:
    n = len(items)
    links.check(n)
    blob = b"".join(items)
    ends = array("I", accumulate(map(len, items)))
    _scratch.reserve(len(blob) + growth * n + 1, n)
    ll, ll_count = pack_links(links)
    return ffi.from_buffer(blob), ffi.from_buffer("uint32_t[]", ends), ll, ll_count, n


def compress(items: Sequence[bytes], links: LinkPairs, contexts: ContextTable | None, flags: int) -> Batch:
    src, ends, ll, ll_count, n = _prepare(items, links, _COMPRESS_GROWTH)
    sc = _scratch
    rc = lib.dm_iphc_compress(src, ends, n, ll, ll_count, context_table(contexts), flags, sc.out, sc.out_cap, sc.items)
    if rc < 0:
        raise AssertionError(f"dm_iphc_compress: status {rc}")  # the buffers are sized so this cannot happen
    return _collect(n, rc)


def decompress(items: Sequence[bytes], links: LinkPairs, contexts: ContextTable | None, datagram_size: int) -> Batch:
    src, ends, ll, ll_count, n = _prepare(items, links, _DECOMPRESS_GROWTH)
    sc = _scratch
    rc = lib.dm_iphc_decompress(
        src, ends, n, ll, ll_count, context_table(contexts), datagram_size, sc.out, sc.out_cap, sc.items
    )
    if rc < 0:
        raise AssertionError(f"dm_iphc_decompress: status {rc}")
    return _collect(n, rc)


# --------------------------------------------------------------------------
# single items: no joining, no lists
# --------------------------------------------------------------------------


def _one(
    fn: Any, item: bytes, links: LinkPairs, contexts: ContextTable | None, arg: int, growth: int
) -> tuple[bytes, int, int]:
    sc = _scratch
    n = len(item)
    sc.reserve(n + growth, 1)
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


def compress_one(item: bytes, links: LinkPairs, contexts: ContextTable | None, flags: int) -> tuple[bytes, int, int]:
    return _one(lib.dm_iphc_compress, item, links, contexts, flags, _COMPRESS_GROWTH)


def decompress_one(
    frame: bytes, links: LinkPairs, contexts: ContextTable | None, datagram_size: int
) -> tuple[bytes, int, int]:
    return _one(lib.dm_iphc_decompress, frame, links, contexts, datagram_size, _DECOMPRESS_GROWTH)
