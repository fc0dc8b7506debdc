"""Native RFC 4944 fragmentation: csrc/frag.c."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._common.iphc import Fail, Link
from .._common.link import LinkPairs
from .._core import ffi, lib
from .iphc import context_table, pack_links

if TYPE_CHECKING:
    from .._protocols.iphc import ContextsLike


def split(
    datagram: bytes, link: Link, contexts: ContextsLike | None, flags: int, mtu: int, tag: int, prefix: bytes
) -> tuple[list[bytes], int]:
    n = len(datagram)
    max_frames = n // 8 + 2
    cap = n + max_frames * (len(prefix) + 5) + 64
    out = ffi.new("uint8_t[]", cap)
    ends = ffi.new("uint32_t[]", max_frames)
    res = ffi.new("dm_lowpan_item *")
    ll, _ = pack_links(LinkPairs([link]))
    rc = lib.dm_frag_split(
        ffi.from_buffer(datagram), n, ll, context_table(contexts), flags, mtu, tag,
        ffi.from_buffer(prefix), len(prefix), out, cap, ends, max_frames, res,
    )  # fmt: skip
    if rc < 0:
        if rc == lib.DM_ERR_NO_SPACE:
            raise AssertionError("dm_frag_split: buffers too small")
        raise Fail(rc, res.err_offset)
    data = ffi.buffer(out, ends[rc - 1])[:]
    starts = [0] + [ends[k] for k in range(rc - 1)]
    return [data[s : ends[k]] for k, s in enumerate(starts)], res.header_length
