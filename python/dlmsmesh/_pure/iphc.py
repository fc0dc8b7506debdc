"""Pure-Python RFC 6282 IPHC + NHC-UDP (the twin of csrc/iphc_compress.c and iphc_decompress.c).

Works on wire bytes both ways, like the C core: an uncompressed IPv6 datagram
on one side, an IPHC frame on the other.  The order of checks, the error
offsets and the choice among equally short encodings are those of the C code:
both backends give the same bytes and the same errors.

``links`` is a :class:`dlmsmesh.lowpan.link.LinkPairs` (any ``LinksLike``): the (source,
destination) link-layer addresses (bytes of length 0, 2 or 8), none, one
pair for every item, or one per item.  ``contexts`` is a :class:`dlmsmesh.lowpan.ContextTable` or None;
only its ``rows`` are read: 16 entries, None or (prefix as a 128-bit int,
prefix length, flags).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .. import _status as S
from .._common.iphc import (
    CONTEXT_COMPRESS,
    CONTEXT_DECOMPRESS,
    ELIDE_CHECKSUM,
    HEADERS_ONLY,
    INFO_DAC,
    INFO_ELIDED,
    INFO_PENDING,
    INFO_SAC,
    INFO_UDP,
    IPV6_HEADER,
    NH_UDP,
    UDP_HEADER,
    Batch,
    Fail,
    Link,
)
from .checksum import udp_checksum

if TYPE_CHECKING:
    from .._protocols.iphc import ContextsLike, LinksLike

__all__ = [
    "Batch",
    "Fail",
    "Link",
    "ELIDE_CHECKSUM",
    "HEADERS_ONLY",
    "INFO_SAC",
    "INFO_DAC",
    "INFO_UDP",
    "INFO_ELIDED",
    "INFO_PENDING",
    "IPV6_HEADER",
    "UDP_HEADER",
    "NH_UDP",
    "compress_header",
    "compress",
    "decompress",
    "compress_one",
    "decompress_one",
]

_USABLE = CONTEXT_DECOMPRESS | CONTEXT_COMPRESS

_LINK_LOCAL = 0xFE80 << 112
_LINK_LOCAL_BYTES = b"\xfe\x80" + bytes(6)
_SHORT_IID = b"\x00\x00\x00\xff\xfe\x00"
_SHORT_IID_INT = 0x000000FFFE000000
_ALL_ONES = (1 << 128) - 1
_HOP_LIMITS = (0, 1, 64, 255)
_TF_BYTES = (4, 3, 1, 0)
_PORT_BYTES = (4, 3, 3, 1)
_UNICAST_INLINE = (16, 8, 2, 0)
_MULTICAST_INLINE = (16, 6, 4, 1)

_ip_head = struct.Struct(">BBHHBB16s16s")
_udp_head = struct.Struct(">HHHH")
_H = struct.Struct(">H")

Rows = Sequence[Any]


def _iid(ll: bytes) -> bytes | None:
    if len(ll) == 8:
        return bytes((ll[0] ^ 0x02,)) + ll[1:]
    if len(ll) == 2:
        return _SHORT_IID + ll
    return None


def _ctx_unicast(row: Any, iid: bytes) -> bytes:
    prefix, plen, _ = row
    plen = min(plen, 128)
    mask = _ALL_ONES ^ ((1 << (128 - plen)) - 1)
    value = (prefix & mask) | (int.from_bytes(iid, "big") & ~mask)
    return value.to_bytes(16, "big")


def _ctx_multicast(row: Any, inl: bytes) -> bytes:
    prefix, plen, _ = row
    p = min(plen, 64)
    top = (prefix >> 64) & ((1 << 64) - 1) & ~((1 << (64 - p)) - 1)
    return b"\xff" + inl[:2] + bytes((plen,)) + top.to_bytes(8, "big") + inl[2:6]


# --------------------------------------------------------------------------
# compression
# --------------------------------------------------------------------------

# a choice: (cost, context id or -1, SAC/DAC bit, SAM/DAM, M bit)
_Choice = tuple[int, int, int, int, int]
_NONE: _Choice = (-1, 0, 1, 0, 0)


def _unicast_stateless(a: bytes, ll: bytes, is_source: bool) -> _Choice:
    if is_source and a == bytes(16):
        return (0, -1, 1, 0, 0)
    if a[:8] != _LINK_LOCAL_BYTES:
        return (16, -1, 0, 0, 0)
    if a[8:] == _iid(ll):
        return (0, -1, 0, 3, 0)
    if a[8:14] == _SHORT_IID:
        return (2, -1, 0, 2, 0)
    return (8, -1, 0, 1, 0)


def _unicast_context(a: bytes, ll: bytes, row: Any, cid: int) -> _Choice:
    iid = _iid(ll)
    if iid is not None and _ctx_unicast(row, iid) == a:
        return (0, cid, 1, 3, 0)
    if _ctx_unicast(row, _SHORT_IID + a[14:]) == a:
        return (2, cid, 1, 2, 0)
    if _ctx_unicast(row, a[8:]) == a:
        return (8, cid, 1, 1, 0)
    return _NONE


def _multicast_stateless(a: bytes) -> _Choice:
    if a[1] == 0x02 and not any(a[2:15]):
        return (1, -1, 0, 3, 1)
    if not any(a[2:13]):
        return (4, -1, 0, 2, 1)
    if not any(a[2:11]):
        return (6, -1, 0, 1, 1)
    return (16, -1, 0, 0, 1)


def _multicast_context(a: bytes, row: Any, cid: int) -> _Choice:
    if _ctx_multicast(row, a[1:3] + a[12:16]) == a:
        return (6, cid, 1, 0, 1)
    return _NONE


def _candidates(a: bytes, ll: bytes, rows: Rows | None, is_source: bool) -> tuple[_Choice, _Choice, _Choice]:
    multicast = not is_source and a[0] == 0xFF
    stateless = _multicast_stateless(a) if multicast else _unicast_stateless(a, ll, is_source)
    zero = other = _NONE
    if stateless[0] == 0 or rows is None:
        return stateless, zero, other
    for cid, row in enumerate(rows):
        if row is None or row[2] & _USABLE != _USABLE:
            continue
        c = _multicast_context(a, row, cid) if multicast else _unicast_context(a, ll, row, cid)
        if c[0] < 0:
            continue
        if cid == 0:
            zero = c
        elif other[0] < 0 or c[0] < other[0]:
            other = c
    return stateless, zero, other


def _put_address(a: bytes, c: _Choice) -> bytes:
    _, _, ac, mode, m = c
    if m:
        if ac:
            return a[1:3] + a[12:16]
        if mode == 0:
            return a
        if mode == 1:
            return a[1:2] + a[11:16]
        if mode == 2:
            return a[1:2] + a[13:16]
        return a[15:16]
    if mode == 0:
        return b"" if ac else a
    if mode == 1:
        return a[8:]
    if mode == 2:
        return a[14:]
    return b""


def compress_header(data: bytes, link: Link, rows: Rows | None, flags: int) -> tuple[bytes, int, int]:
    """(compressed header, uncompressed header bytes it stands for, info) of one datagram."""
    n = len(data)
    if n < IPV6_HEADER:
        raise Fail(S.TRUNCATED, 0)
    b0, b1, fl_low, plen, nh, hop, src, dst = _ip_head.unpack_from(data)
    if b0 >> 4 != 6:
        raise Fail(S.IPV6_VERSION, 0)
    if not flags & HEADERS_ONLY and plen != n - IPV6_HEADER:
        raise Fail(S.IPV6_LENGTH, 4)
    tc = (b0 & 0x0F) << 4 | b1 >> 4
    fl = (b1 & 0x0F) << 16 | fl_low
    udp = nh == NH_UDP and n >= IPV6_HEADER + UDP_HEADER and data[44] << 8 | data[45] == plen
    elide = udp and bool(flags & ELIDE_CHECKSUM)

    cs = _candidates(src, link[0], rows, True)
    cd = _candidates(dst, link[1], rows, False)
    best = -1
    s = d = cs[0]
    for ci in cs:
        if ci[0] < 0:
            continue
        for cj in cd:
            if cj[0] < 0:
                continue
            total = ci[0] + cj[0] + (1 if ci[1] > 0 or cj[1] > 0 else 0)
            if best < 0 or total < best:
                best, s, d = total, ci, cj
    cid = s[1] > 0 or d[1] > 0

    ecn, dscp = tc & 3, tc >> 2
    if tc == 0 and fl == 0:
        tf = 3
    elif fl == 0:
        tf = 2
    elif dscp == 0:
        tf = 1
    else:
        tf = 0
    hlim = 1 if hop == 1 else 2 if hop == 64 else 3 if hop == 255 else 0

    out = bytearray(
        (
            0x60 | tf << 3 | udp << 2 | hlim,
            cid << 7 | s[2] << 6 | s[3] << 4 | d[4] << 3 | d[2] << 2 | d[3],
        )
    )
    if cid:
        out.append(max(s[1], 0) << 4 | max(d[1], 0))
    if tf == 0:
        out += bytes((ecn << 6 | dscp, fl >> 16, (fl >> 8) & 0xFF, fl & 0xFF))
    elif tf == 1:
        out += bytes((ecn << 6 | fl >> 16, (fl >> 8) & 0xFF, fl & 0xFF))
    elif tf == 2:
        out.append(ecn << 6 | dscp)
    if not udp:
        out.append(nh)
    if hlim == 0:
        out.append(hop)
    out += _put_address(src, s)
    out += _put_address(dst, d)
    info = 0
    if udp:
        sp, dp = data[40] << 8 | data[41], data[42] << 8 | data[43]
        if sp & 0xFFF0 == 0xF0B0 and dp & 0xFFF0 == 0xF0B0:
            out += bytes((0xF3 | elide << 2, (sp & 15) << 4 | (dp & 15)))
        elif dp & 0xFF00 == 0xF000:
            out += bytes((0xF1 | elide << 2, sp >> 8, sp & 0xFF, dp & 0xFF))
        elif sp & 0xFF00 == 0xF000:
            out += bytes((0xF2 | elide << 2, sp & 0xFF, dp >> 8, dp & 0xFF))
        else:
            out.append(0xF0 | elide << 2)
            out += data[40:44]
        if not elide:
            out += data[46:48]
        info = INFO_UDP | (INFO_ELIDED if elide else 0)
    if s[1] >= 0:
        info |= INFO_SAC | s[1] << 8
    if d[1] >= 0:
        info |= INFO_DAC | d[1] << 12
    return bytes(out), (IPV6_HEADER + UDP_HEADER if udp else IPV6_HEADER), info


def compress(items: Sequence[bytes], links: LinksLike, contexts: ContextsLike | None, flags: int) -> Batch:
    links.check(len(items))
    rows = contexts.rows if contexts is not None else None
    outputs: list[bytes | None] = []
    header_lengths: list[int] = []
    infos: list[int] = []
    failures: list[tuple[int, int, int]] = []
    for i, data in enumerate(items):
        data = bytes(data)
        try:
            hdr, consumed, info = compress_header(data, links.pair(i), rows, flags)
        except Fail as f:
            outputs.append(None)
            header_lengths.append(0)
            infos.append(0)
            failures.append((i, f.code, f.offset))
            continue
        outputs.append(hdr + data[consumed:])
        header_lengths.append(len(hdr))
        infos.append(info)
    return Batch(outputs, header_lengths, infos, failures)


# --------------------------------------------------------------------------
# decompression
# --------------------------------------------------------------------------


def _usable(rows: Rows | None, cid: int) -> Any:
    if rows is None:
        return None
    row = rows[cid]
    if row is None or not row[2] & CONTEXT_DECOMPRESS:
        return None
    return row


def _unicast(frame: bytes, p: int, ac: int, mode: int, row: Any, ll: bytes) -> tuple[bytes, int]:
    if mode == 0:
        if ac:
            return bytes(16), p
        return frame[p : p + 16], p + 16
    if mode == 1:
        iid, p = frame[p : p + 8], p + 8
    elif mode == 2:
        iid, p = _SHORT_IID + frame[p : p + 2], p + 2
    else:
        iid = _iid(ll)  # type: ignore[assignment]
    if ac:
        return _ctx_unicast(row, iid), p
    return _LINK_LOCAL_BYTES + iid, p


def _decompress(frame: bytes, link: Link, rows: Rows | None, dsize: int) -> tuple[bytes, int, int]:
    """(datagram, compressed header length, info) of one IPHC frame."""
    n = len(frame)
    if n == 0:
        raise Fail(S.TRUNCATED, 0)
    b0 = frame[0]
    if b0 & 0xE0 != 0x60:
        raise Fail(S.LOWPAN_DISPATCH, 0)
    if n < 2:
        raise Fail(S.TRUNCATED, 0)
    b1 = frame[1]
    tf, nhc, hlim = (b0 >> 3) & 3, (b0 >> 2) & 1, b0 & 3
    cid, sac, sam = b1 >> 7, (b1 >> 6) & 1, (b1 >> 4) & 3
    m, dac, dam = (b1 >> 3) & 1, (b1 >> 2) & 1, b1 & 3
    p = 2
    sci = dci = 0
    if cid:
        if n - p < 1:
            raise Fail(S.TRUNCATED, p)
        sci, dci = frame[p] >> 4, frame[p] & 15
        p += 1
    ctx_byte = 2 if cid else 1

    if n - p < _TF_BYTES[tf]:
        raise Fail(S.TRUNCATED, p)
    tc = fl = 0
    if tf == 0:
        b = frame[p]
        tc = (b & 0x3F) << 2 | b >> 6
        fl = (frame[p + 1] & 0x0F) << 16 | frame[p + 2] << 8 | frame[p + 3]
    elif tf == 1:
        b = frame[p]
        tc = b >> 6
        fl = (b & 0x0F) << 16 | frame[p + 1] << 8 | frame[p + 2]
    elif tf == 2:
        b = frame[p]
        tc = (b & 0x3F) << 2 | b >> 6
    p += _TF_BYTES[tf]
    nh = NH_UDP
    hop = _HOP_LIMITS[hlim]
    if not nhc:
        if n - p < 1:
            raise Fail(S.TRUNCATED, p)
        nh = frame[p]
        p += 1
    if hlim == 0:
        if n - p < 1:
            raise Fail(S.TRUNCATED, p)
        hop = frame[p]
        p += 1

    info = 0
    ll_src, ll_dst = link
    row = None
    if sac and sam != 0:
        row = _usable(rows, sci)
        if row is None:
            raise Fail(S.LOWPAN_CONTEXT, ctx_byte)
        info |= INFO_SAC | sci << 8
    if sam == 3 and len(ll_src) not in (2, 8):
        raise Fail(S.LOWPAN_LINK, 1)
    if n - p < (0 if sac and sam == 0 else _UNICAST_INLINE[sam]):
        raise Fail(S.TRUNCATED, p)
    src, p = _unicast(frame, p, sac, sam, row, ll_src)

    if m:
        if dac and dam != 0:
            raise Fail(S.LOWPAN_RESERVED, 1)
        if dac:
            row = _usable(rows, dci)
            if row is None:
                raise Fail(S.LOWPAN_CONTEXT, ctx_byte)
            info |= INFO_DAC | dci << 12
            if n - p < 6:
                raise Fail(S.TRUNCATED, p)
            dst = _ctx_multicast(row, frame[p : p + 6])
            p += 6
        else:
            k = _MULTICAST_INLINE[dam]
            if n - p < k:
                raise Fail(S.TRUNCATED, p)
            if dam == 0:
                dst = frame[p : p + 16]
            elif dam == 1:
                dst = b"\xff" + frame[p : p + 1] + bytes(9) + frame[p + 1 : p + 6]
            elif dam == 2:
                dst = b"\xff" + frame[p : p + 1] + bytes(11) + frame[p + 1 : p + 4]
            else:
                dst = b"\xff\x02" + bytes(13) + frame[p : p + 1]
            p += k
    else:
        row = None
        if dac:
            if dam == 0:
                raise Fail(S.LOWPAN_RESERVED, 1)
            row = _usable(rows, dci)
            if row is None:
                raise Fail(S.LOWPAN_CONTEXT, ctx_byte)
            info |= INFO_DAC | dci << 12
        if dam == 3 and len(ll_dst) not in (2, 8):
            raise Fail(S.LOWPAN_LINK, 1)
        if n - p < _UNICAST_INLINE[dam]:
            raise Fail(S.TRUNCATED, p)
        dst, p = _unicast(frame, p, dac, dam, row, ll_dst)

    sport = dport = check = 0
    elided = 0
    if nhc:
        if n - p < 1:
            raise Fail(S.TRUNCATED, p)
        b = frame[p]
        if b & 0xF8 != 0xF0:
            raise Fail(S.LOWPAN_NHC, p)
        p += 1
        ports = b & 3
        elided = (b >> 2) & 1
        if n - p < _PORT_BYTES[ports]:
            raise Fail(S.TRUNCATED, p)
        if ports == 0:
            sport, dport = frame[p] << 8 | frame[p + 1], frame[p + 2] << 8 | frame[p + 3]
        elif ports == 1:
            sport, dport = frame[p] << 8 | frame[p + 1], 0xF000 | frame[p + 2]
        elif ports == 2:
            sport, dport = 0xF000 | frame[p], frame[p + 1] << 8 | frame[p + 2]
        else:
            sport, dport = 0xF0B0 | frame[p] >> 4, 0xF0B0 | (frame[p] & 15)
        p += _PORT_BYTES[ports]
        if not elided:
            if n - p < 2:
                raise Fail(S.TRUNCATED, p)
            check = frame[p] << 8 | frame[p + 1]
            p += 2
        info |= INFO_UDP | (INFO_ELIDED if elided else 0)

    head = IPV6_HEADER + UDP_HEADER if nhc else IPV6_HEADER
    payload = n - p
    if dsize == 0:
        ip_payload = payload + head - IPV6_HEADER
        if ip_payload > 0xFFFF:
            raise Fail(S.LOWPAN_SIZE, p)
    else:
        if dsize < head or payload > dsize - head or dsize - IPV6_HEADER > 0xFFFF:
            raise Fail(S.LOWPAN_SIZE, p)
        ip_payload = dsize - IPV6_HEADER

    ip = _ip_head.pack(0x60 | tc >> 4, (tc << 4 | fl >> 16) & 0xFF, fl & 0xFFFF, ip_payload, nh, hop, src, dst)
    if not nhc:
        return ip + frame[p:], p, info
    body = frame[p:]
    if elided:
        if dsize == 0:
            check = udp_checksum(src, dst, _udp_head.pack(sport, dport, ip_payload, 0) + body)
        else:
            info |= INFO_PENDING
    return ip + _udp_head.pack(sport, dport, ip_payload, check) + body, p, info


def decompress(items: Sequence[bytes], links: LinksLike, contexts: ContextsLike | None, datagram_size: int) -> Batch:
    links.check(len(items))
    rows = contexts.rows if contexts is not None else None
    outputs: list[bytes | None] = []
    header_lengths: list[int] = []
    infos: list[int] = []
    failures: list[tuple[int, int, int]] = []
    for i, frame in enumerate(items):
        try:
            out, hlen, info = _decompress(bytes(frame), links.pair(i), rows, datagram_size)
        except Fail as f:
            outputs.append(None)
            header_lengths.append(0)
            infos.append(0)
            failures.append((i, f.code, f.offset))
            continue
        outputs.append(out)
        header_lengths.append(hlen)
        infos.append(info)
    return Batch(outputs, header_lengths, infos, failures)


# --------------------------------------------------------------------------
# single items (no batch bookkeeping): raise Fail
# --------------------------------------------------------------------------


def compress_one(item: bytes, links: LinksLike, contexts: ContextsLike | None, flags: int) -> tuple[bytes, int, int]:
    """(frame, compressed header length, info) of one datagram."""
    data = bytes(item)
    hdr, consumed, info = compress_header(data, links.pair(0), contexts.rows if contexts is not None else None, flags)
    return hdr + data[consumed:], len(hdr), info


def decompress_one(
    frame: bytes, links: LinksLike, contexts: ContextsLike | None, datagram_size: int
) -> tuple[bytes, int, int]:
    """(datagram, compressed header length, info) of one frame."""
    rows = contexts.rows if contexts is not None else None
    return _decompress(bytes(frame), links.pair(0), rows, datagram_size)
