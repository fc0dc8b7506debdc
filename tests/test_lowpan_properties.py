"""Property tests of IPHC: compress -> decompress is the identity for
generated headers, link-layer addresses and context tables; compression is
the shortest legal encoding (checked against every address, TF, HLIM and
port mode the format has); and both backends give the same bytes."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dlmsmesh
from dlmsmesh import _backend, ipv6, lowpan
from dlmsmesh._native import iphc as native_iphc
from dlmsmesh._pure import iphc as pure_iphc
from dlmsmesh.lowpan import ContextTable

from .conftest import BACKENDS

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# --------------------------------------------------------------------------
# strategies
# --------------------------------------------------------------------------

links = st.one_of(st.none(), st.binary(min_size=2, max_size=2), st.binary(min_size=8, max_size=8))
prefix_lengths = st.one_of(st.sampled_from([0, 16, 32, 48, 56, 64, 64, 64, 72, 96, 112, 128]), st.integers(0, 128))


@st.composite
def context_tables(draw: Any) -> ContextTable:
    table = ContextTable()
    for cid in draw(st.lists(st.integers(0, 15), max_size=4, unique=True)):
        net = ipaddress.IPv6Network(
            (int.from_bytes(draw(st.binary(min_size=16, max_size=16)), "big"), draw(prefix_lengths)), strict=False
        )
        table.set(cid, net, compress=draw(st.booleans()) or draw(st.booleans()))
    return table


def _iid(ll: bytes | None) -> bytes:
    if ll is None:
        return bytes(8)
    return lowpan.iid(ll)


@st.composite
def unicast(draw: Any, ll: bytes | None, table: ContextTable) -> bytes:
    rand = draw(st.binary(min_size=16, max_size=16))
    kind = draw(st.sampled_from(["ll", "short", "iid", "random", "ctx-ll", "ctx-short", "ctx-iid", "zero"]))
    short = b"\x00\x00\x00\xff\xfe\x00" + rand[:2]
    iid = {"ll": _iid(ll), "short": short, "iid": rand[8:]}.get(kind[4:] if kind.startswith("ctx") else kind)
    if kind == "zero":
        return bytes(16)
    if kind == "random":
        return rand
    contexts = list(table)
    if kind.startswith("ctx") and contexts:
        c = draw(st.sampled_from(contexts))
        plen = c.prefix.prefixlen
        mask = ((1 << plen) - 1) << (128 - plen)
        value = int(c.prefix.network_address) & mask | int.from_bytes(bytes(8) + (iid or rand[8:]), "big") & ~mask
        return value.to_bytes(16, "big")
    return b"\xfe\x80" + bytes(6) + (iid or rand[8:])


@st.composite
def multicast(draw: Any, table: ContextTable) -> bytes:
    rand = draw(st.binary(min_size=16, max_size=16))
    kind = draw(st.sampled_from(["8", "32", "48", "full", "ctx"]))
    if kind == "8":
        return b"\xff\x02" + bytes(13) + rand[15:]
    if kind == "32":
        return b"\xff" + rand[1:2] + bytes(11) + rand[13:]
    if kind == "48":
        return b"\xff" + rand[1:2] + bytes(9) + rand[11:]
    contexts = [c for c in table if c.prefix.prefixlen <= 64]
    if kind == "ctx" and contexts:
        c = draw(st.sampled_from(contexts))
        top = c.prefix.network_address.packed[:8]
        return b"\xff" + rand[1:3] + bytes((c.prefix.prefixlen,)) + top + rand[12:]
    return b"\xff" + rand[1:]


ports = st.one_of(st.integers(0xF0B0, 0xF0BF), st.integers(0xF000, 0xF0FF), st.integers(0, 0xFFFF), st.just(4059))


@dataclass
class Case:
    datagram: bytes
    ll_src: bytes | None
    ll_dst: bytes | None
    contexts: ContextTable
    elide: bool


@st.composite
def cases(draw: Any) -> Case:
    table = draw(context_tables())
    ll_src, ll_dst = draw(links), draw(links)
    src = draw(unicast(ll_src, table))
    dst = draw(st.one_of(unicast(ll_dst, table), multicast(table)))
    payload = draw(st.binary(max_size=64))
    hop = draw(st.one_of(st.sampled_from([1, 64, 255]), st.integers(0, 255)))
    tc = draw(st.one_of(st.just(0), st.integers(0, 255)))
    fl = draw(st.one_of(st.just(0), st.integers(0, (1 << 20) - 1)))
    kind = draw(st.sampled_from(["udp", "udp", "udp", "other", "udp-odd-length"]))
    elide = False
    if kind == "other":
        nh = draw(st.sampled_from([0, 6, 58, 59]))
        head = ipv6.IPv6Header(src, dst, nh, hop, tc, fl, len(payload))
        datagram = head.pack() + payload
    else:
        datagram = ipv6.build(
            src, dst, payload, source_port=draw(ports), destination_port=draw(ports),
            hop_limit=hop, traffic_class=tc, flow_label=fl,
        )  # fmt: skip
        if kind == "udp-odd-length":  # UDP length != payload length: no NHC possible
            datagram = datagram[:44] + (len(datagram) - 39).to_bytes(2, "big") + datagram[46:]
        elif draw(st.booleans()):
            datagram = datagram[:46] + draw(st.binary(min_size=2, max_size=2)) + datagram[48:]
        else:
            elide = draw(st.booleans())
    return Case(datagram, ll_src, ll_dst, table, elide)


# --------------------------------------------------------------------------
# identity
# --------------------------------------------------------------------------


@SETTINGS
@given(case=cases())
def test_compress_then_decompress_is_the_identity(backend: str, case: Case) -> None:
    kw: dict[str, Any] = {"ll_src": case.ll_src, "ll_dst": case.ll_dst, "contexts": case.contexts}
    frame = lowpan.compress_datagram(case.datagram, elide_checksum=case.elide, **kw)
    assert lowpan.decompress_datagram(frame, **kw) == case.datagram
    assert len(frame) <= len(case.datagram) + 1
    # the header-only form is the frame minus the payload
    d = lowpan.decompress(frame, **kw)
    header = lowpan.compress(d.ipv6, d.udp, elide_checksum=case.elide, **kw)
    assert frame == header + d.payload
    # and a batch of the same gives the same
    assert lowpan.compress_batch([case.datagram] * 3, elide_checksum=case.elide, **kw) == [frame] * 3
    assert lowpan.decompress_batch([frame] * 2, **kw) == [case.datagram] * 2


@pytest.mark.single_backend
@SETTINGS
@given(case=cases())
def test_backends_give_the_same_bytes(case: Case) -> None:
    if len(BACKENDS) < 2:
        pytest.skip("the native backend is not built")
    links_ = lowpan.iphc.links_of(case.ll_src, case.ll_dst, None)
    flags = 1 if case.elide else 0
    a = native_iphc.compress([case.datagram], links_, case.contexts, flags)
    b = pure_iphc.compress([case.datagram], links_, case.contexts, flags)
    assert a == b
    assert a.outputs[0] is not None
    assert native_iphc.decompress(a.outputs, links_, case.contexts, 0) == pure_iphc.decompress(
        b.outputs, links_, case.contexts, 0
    )


@pytest.mark.single_backend
@settings(max_examples=500, deadline=None)
@given(frame=st.binary(max_size=80), ll=st.tuples(links, links), table=context_tables(), size=st.integers(0, 2047))
def test_backends_agree_on_arbitrary_frames(frame: bytes, ll: tuple[Any, Any], table: ContextTable, size: int) -> None:
    if len(BACKENDS) < 2:
        pytest.skip("the native backend is not built")
    frame = bytes((0x60 | (frame[0] & 0x1F),)) + frame[1:] if frame else frame
    links_ = lowpan.iphc.links_of(ll[0], ll[1], None)
    for dsize in (0, size):
        assert native_iphc.decompress([frame], links_, table, dsize) == pure_iphc.decompress(
            [frame], links_, table, dsize
        )


# --------------------------------------------------------------------------
# shortest encoding
# --------------------------------------------------------------------------


def _source_inline(a: bytes, sac: int, sam: int) -> bytes:
    return [a if not sac else b"", a[8:], a[14:], b""][sam]


def _destination_inline(a: bytes, m: int, dac: int, dam: int) -> bytes | None:
    if not m:
        if dac and dam == 0:
            return None  # reserved
        return [a, a[8:], a[14:], b""][dam]
    if dac:
        return a[1:3] + a[12:] if dam == 0 else None
    return [a, a[1:2] + a[11:], a[1:2] + a[13:], a[15:]][dam]


def _tf_inline(tc: int, fl: int, tf: int) -> bytes:
    ecn, dscp = tc & 3, tc >> 2
    return [
        bytes((ecn << 6 | dscp, fl >> 16, (fl >> 8) & 255, fl & 255)),
        bytes((ecn << 6 | fl >> 16, (fl >> 8) & 255, fl & 255)),
        bytes((ecn << 6 | dscp,)),
        b"",
    ][tf]


def _nhc_udp(sp: int, dp: int, p: int, c: int, check: bytes) -> bytes:
    body = [
        sp.to_bytes(2, "big") + dp.to_bytes(2, "big"),
        sp.to_bytes(2, "big") + bytes((dp & 255,)),
        bytes((sp & 255,)) + dp.to_bytes(2, "big"),
        bytes(((sp & 15) << 4 | (dp & 15),)),
    ][p]
    return bytes((0xF0 | c << 2 | p,)) + body + (b"" if c else check)


def _variants(case: Case) -> tuple[int, dict[str, list[bytes]]]:
    """Every frame the IPHC format can write for ``case``, built plainly from
    the field definitions, one dimension at a time: the addresses with their
    contexts (jointly), TF, HLIM, the NHC-UDP ports and checksum; the other
    dimensions stay in their full inline form.  Returns the length of the
    all-inline frame and the variants per dimension (most of them do not
    decompress to the datagram)."""
    d = case.datagram
    tc = (d[0] & 15) << 4 | d[1] >> 4
    fl = (d[1] & 15) << 16 | d[2] << 8 | d[3]
    nh, hop, src, dst = d[6], d[7], d[8:24], d[24:40]
    udp = int(nh == 17 and len(d) >= 48 and d[44:46] == d[4:6])
    cids = sorted({c.cid for c in case.contexts} | {0})

    def frame(
        tf: int = 0, hlim: int = 0, p: int = 0, c: int = 0, addr: tuple[int, ...] = (0, 0, 0, 0, 0, 0, 0, 0)
    ) -> bytes | None:
        sac, sam, m, dac, dam, cid, sci, dci = addr
        di = _destination_inline(dst, m, dac, dam)
        if di is None:
            return None
        b0 = 0x60 | tf << 3 | udp << 2 | hlim
        b1 = cid << 7 | sac << 6 | sam << 4 | m << 3 | dac << 2 | dam
        out = bytes((b0, b1)) + (bytes((sci << 4 | dci,)) if cid else b"") + _tf_inline(tc, fl, tf)
        out += (b"" if udp else bytes((nh,))) + (bytes((hop,)) if hlim == 0 else b"")
        out += _source_inline(src, sac, sam) + di
        if udp:
            return out + _nhc_udp(d[40] << 8 | d[41], d[42] << 8 | d[43], p, c, d[46:48]) + d[48:]
        return out + d[40:]

    addresses = []
    # M says whether the destination is a multicast address (RFC 6282 3.1.1):
    # an encoding with the other M is not legal even where it would decompress
    for sac in (0, 1):
        for sam in range(4):
            for m in (int(dst[0] == 0xFF),):
                for dac in (0, 1):
                    for dam in range(4):
                        addresses.append(frame(addr=(sac, sam, m, dac, dam, 0, 0, 0)))
                        for sci in cids:
                            for dci in cids:
                                addresses.append(frame(addr=(sac, sam, m, dac, dam, 1, sci, dci)))
    dims = {
        "addresses": [f for f in addresses if f is not None],
        "tf": [frame(tf=t) for t in range(4)],  # type: ignore[misc]
        "hlim": [frame(hlim=h) for h in range(4)],
        "nhc": [frame(p=p, c=c) for p in range(4) for c in ((0, 1) if case.elide else (0,))] if udp else [],
    }
    base = frame()
    assert base is not None
    return len(base), dims  # type: ignore[return-value]


@settings(max_examples=80, deadline=None)
@given(case=cases())
def test_compression_is_the_shortest_legal_encoding(case: Case) -> None:
    kw: dict[str, Any] = {"ll_src": case.ll_src, "ll_dst": case.ll_dst, "contexts": case.contexts}
    ours = lowpan.compress_datagram(case.datagram, elide_checksum=case.elide, **kw)
    base, dims = _variants(case)
    # the compressor may use only the contexts marked for compression
    usable = {c.cid for c in case.contexts if c.compress}
    shortest = base
    before = _backend.backend()
    try:
        dlmsmesh.set_backend(BACKENDS[0])  # native when built: thousands of frames per example
        for frames in dims.values():
            decoded = lowpan.decompress_batch(frames, **kw) if frames else []
            legal = [
                len(f)
                for f, got in zip(frames, decoded)
                if got == case.datagram and not _uses_unusable_context(f, usable)
            ]
            if frames:
                assert legal, "the all-inline form is always legal"
                shortest += min(legal) - base
    finally:
        dlmsmesh.set_backend(before)
    assert len(ours) == shortest


def _uses_unusable_context(frame: bytes, usable: set[int]) -> bool:
    b1 = frame[1]
    sci, dci = (frame[2] >> 4, frame[2] & 15) if b1 & 0x80 else (0, 0)
    src_ctx = b1 & 0x40 and b1 & 0x30
    dst_ctx = b1 & 0x04
    return bool((src_ctx and sci not in usable) or (dst_ctx and dci not in usable))
