"""Bad 6LoWPAN input: specific errors, and truncations and mutations of every
vector giving DecodeError only (never another exception), with the same code
and offset on both backends."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

import dlmsmesh
from dlmsmesh import DecodeError, _backend, ipv6, lowpan, wrapper
from dlmsmesh.lowpan import ContextTable, Reassembler

from .conftest import BACKENDS
from .transport_vectors import (
    EXAMPLE13_FRAME,
    EXAMPLE14_CONTEXTS,
    EXAMPLE14_FRAGMENTS,
    EXAMPLE14_LL,
    LOWPAN_VECTORS,
    METER,
    T1_DATAGRAM,
)

TRANSPORT_LAYERS = {"lowpan", "ipv6", "udp", "wrapper"}


def error_of(fn: Any, *args: Any, **kwargs: Any) -> tuple[str, int, str]:
    with pytest.raises(DecodeError) as info:
        fn(*args, **kwargs)
    return info.value.layer, info.value.offset, info.value.reason


@pytest.mark.parametrize(
    "frame, kwargs, expected",
    [
        (b"", {}, (0, "truncated input")),
        (b"\x7e", {}, (0, "truncated input")),
        (b"\x41\x00", {}, (0, "not a 6LoWPAN dispatch this decoder handles")),
        # CID byte missing, then TF bytes missing
        (bytes.fromhex("7eb3"), {}, (2, "truncated input")),
        (bytes.fromhex("6033"), {}, (2, "truncated input")),
        # NH inline missing; hop limit missing
        (bytes.fromhex("7a33"), {}, (2, "truncated input")),
        (bytes.fromhex("7c33"), {}, (2, "truncated input")),
        # M=0 DAC=1 DAM=00 and M=1 DAC=1 DAM!=00 are reserved (source: the unspecified address)
        (bytes.fromhex("7e44"), {}, (1, "reserved IPHC address mode")),
        (bytes.fromhex("7e4d"), {}, (1, "reserved IPHC address mode")),
        # a source inline before the destination is looked at
        (bytes.fromhex("7e04"), {}, (2, "truncated input")),
        # context-based source with no such context (CID=0: the base byte; CID=1: the CID byte)
        (bytes.fromhex("7e70"), {}, (1, "IPHC context is not in the context table")),
        (bytes.fromhex("7ef05f"), {"contexts": {0: "2001:db8::/64"}}, (2, "IPHC context is not in the context table")),
        # SAM=11 / DAM=11 without the link-layer address
        (bytes.fromhex("7e33"), {}, (1, "address derived from a link-layer address that is not known")),
        (bytes.fromhex("7e33"), {"ll_src": METER}, (1, "address derived from a link-layer address that is not known")),
        # NHC for an IPv6 extension header (EID 0, hop-by-hop) and an unknown NHC
        (bytes.fromhex("7e33e0"), {"ll_src": METER, "ll_dst": METER}, (2, "next-header compression other than NHC-UDP is not supported")),
        (bytes.fromhex("7e33f8"), {"ll_src": METER, "ll_dst": METER}, (2, "next-header compression other than NHC-UDP is not supported")),
        # NHC-UDP without its ports, without its checksum
        (bytes.fromhex("7e33f0"), {"ll_src": METER, "ll_dst": METER}, (3, "truncated input")),
        (bytes.fromhex("7e33f312"), {"ll_src": METER, "ll_dst": METER}, (4, "truncated input")),
    ],
)  # fmt: skip
def test_decompress_errors(backend: str, frame: bytes, kwargs: dict[str, Any], expected: tuple[int, str]) -> None:
    assert error_of(lowpan.decompress, frame, **kwargs) == ("lowpan", *expected)


def test_context_that_may_not_compress_still_decompresses(backend: str) -> None:
    table = ContextTable()
    table.set(0, "2001:db8:1::/64", compress=False)
    v = LOWPAN_VECTORS[8]
    d = lowpan.decompress(v.frame, ll_src=v.ll_src, ll_dst=v.ll_dst, contexts=table)
    assert d.ipv6.source == ipaddress.IPv6Address(v.source)
    # but the compressor does not use it: both addresses go inline
    assert len(lowpan.compress(d.ipv6, d.udp, ll_src=v.ll_src, ll_dst=v.ll_dst, contexts=table)) == 2 + 32 + 4


def test_frag1_size_smaller_than_the_headers(backend: str) -> None:
    frag1 = bytes.fromhex("c0 10 0001".replace(" ", "")) + LOWPAN_VECTORS[0].frame  # datagram_size 16
    assert error_of(lowpan.decode_frame, frag1, ll_src=METER, ll_dst=METER) == (
        "lowpan", 4 + 6, "datagram size inconsistent with the headers",
    )  # fmt: skip


def test_fragment_beyond_the_datagram(backend: str) -> None:
    fragn = bytes.fromhex("e0 30 0001 05".replace(" ", "")) + bytes(16)  # size 48, offset 40, 16 bytes
    assert error_of(lowpan.decode_frame, fragn, reassembler=Reassembler()) == (
        "lowpan", 0, "fragment reaches beyond the datagram size",
    )  # fmt: skip
    empty = bytes.fromhex("e0 30 0001 00".replace(" ", ""))
    assert error_of(lowpan.decode_frame, empty, reassembler=Reassembler()) == ("lowpan", 0, "fragment carries no data")


def test_compress_rejects_a_bad_datagram(backend: str) -> None:
    assert error_of(lowpan.compress_datagram, T1_DATAGRAM[:39]) == ("ipv6", 0, "truncated input")
    assert error_of(lowpan.compress_datagram, b"\x40" + T1_DATAGRAM[1:]) == ("ipv6", 0, "IP version is not 6")
    assert error_of(lowpan.compress_datagram, T1_DATAGRAM + b"!") == (
        "ipv6", 4, "IPv6 payload length does not match the datagram",
    )  # fmt: skip
    with pytest.raises(DecodeError, match="datagram 1: IP version is not 6"):
        lowpan.compress_batch([T1_DATAGRAM, b"\x40" + T1_DATAGRAM[1:]])


def test_decompress_batch_keeps_going_past_a_bad_frame(backend: str) -> None:
    good = LOWPAN_VECTORS[0]
    out = lowpan.decompress_batch([good.frame, b"\x7e", good.frame], ll_src=good.ll_src, ll_dst=good.ll_dst)
    assert isinstance(out[1], DecodeError) and (out[1].offset, out[1].reason) == (0, "truncated input")
    assert out[0] == out[2] == lowpan.decompress_datagram(good.frame, ll_src=good.ll_src, ll_dst=good.ll_dst)


# --------------------------------------------------------------------------
# truncations and mutations of every vector
# --------------------------------------------------------------------------


def _frames() -> list[tuple[str, bytes, dict[str, Any]]]:
    out = []
    for v in LOWPAN_VECTORS:
        out.append((v.name, v.frame, {"ll_src": v.ll_src, "ll_dst": v.ll_dst, "contexts": v.contexts}))
    out.append(("13-mesh", EXAMPLE13_FRAME, {}))
    for k, f in enumerate(EXAMPLE14_FRAGMENTS):
        out.append(
            (
                f"14-fragment-{k}",
                f,
                {"ll_src": EXAMPLE14_LL[0], "ll_dst": EXAMPLE14_LL[1], "contexts": EXAMPLE14_CONTEXTS},
            )
        )
    return out


FRAMES = _frames()


def _outcome(frame: bytes, kwargs: dict[str, Any]) -> Any:
    """What decoding ``frame`` up to the wrapper gives: the datagram fields,
    or the error (layer, offset, reason).  Anything but DecodeError propagates."""
    try:
        f = lowpan.decode_frame(frame, reassembler=Reassembler(), **kwargs)
        if f.datagram is None:
            return ("pending", f.to_json())
        d = ipv6.parse(f.datagram)
        header = wrapper.decode(d.payload)[0] if d.udp is not None else None
        return (d.ipv6, d.udp, d.payload, d.checksum_ok, header)
    except DecodeError as e:
        assert e.layer in TRANSPORT_LAYERS, e.layer
        return (e.layer, e.offset, e.reason)


def _mutations(frame: bytes) -> list[bytes]:
    out = [frame[:k] for k in range(len(frame))]
    for k in range(min(len(frame), 48)):  # every header byte, some payload bytes
        for flip in (0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xFF):
            out.append(frame[:k] + bytes((frame[k] ^ flip,)) + frame[k + 1 :])
    return out


@pytest.mark.parametrize("name, frame, kwargs", FRAMES, ids=[f[0] for f in FRAMES])
def test_truncations_and_mutations_give_decode_error_only(
    backend: str, name: str, frame: bytes, kwargs: dict[str, Any]
) -> None:
    for bad in _mutations(frame):
        _outcome(bad, kwargs)
    for k in range(len(frame)):
        outcome = _outcome(frame[:k], kwargs)
        # a cut frame either fails or (fragments, payload cuts) decodes to a shorter datagram
        assert outcome[0] in TRANSPORT_LAYERS or outcome[0] == "pending" or isinstance(outcome[0], ipv6.IPv6Header)


@pytest.mark.single_backend
@pytest.mark.parametrize("name, frame, kwargs", FRAMES, ids=[f[0] for f in FRAMES])
def test_backends_agree_on_every_mutation(name: str, frame: bytes, kwargs: dict[str, Any]) -> None:
    if len(BACKENDS) < 2:
        pytest.skip("the native backend is not built")
    before = _backend.backend()
    try:
        results = {}
        for b in BACKENDS:
            dlmsmesh.set_backend(b)
            results[b] = [_outcome(bad, kwargs) for bad in _mutations(frame)]
        assert results["native"] == results["pure"]
    finally:
        dlmsmesh.set_backend(before)
