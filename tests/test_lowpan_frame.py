"""The 6LoWPAN dispatch walk (RFC 4944 section 5.1, RFC 6282): mesh header, BC0,
fragment headers, IPHC and uncompressed IPv6, both backends."""

from __future__ import annotations

import pytest

from dlmsmesh import DecodeError, ipv6, lowpan
from dlmsmesh.lowpan import MeshHeader, Reassembler

from .transport_vectors import COLLECTOR, LOWPAN_VECTORS, METER, T1_DATAGRAM


def test_uncompressed_ipv6_dispatch(backend: str) -> None:
    f = lowpan.decode_frame(b"\x41" + T1_DATAGRAM)
    assert (f.dispatch, f.header_length, f.datagram) == ("ipv6", 1, T1_DATAGRAM)
    assert f.to_json() == {"dispatch": "ipv6", "header_length": 1}


def test_broadcast_header_before_iphc(backend: str) -> None:
    v = LOWPAN_VECTORS[4]  # to ff02::1
    f = lowpan.decode_frame(b"\x50\x2a" + v.frame, ll_src=v.ll_src, ll_dst=v.ll_dst)
    assert (f.dispatch, f.broadcast_sequence, f.header_length) == ("iphc", 0x2A, 2 + len(v.header))
    assert f.datagram == lowpan.decompress_datagram(v.frame, ll_src=v.ll_src, ll_dst=v.ll_dst)


def test_mesh_then_broadcast_then_iphc(backend: str) -> None:
    v = LOWPAN_VECTORS[4]
    mesh = MeshHeader(3, bytes.fromhex("1234"), bytes.fromhex("ffff"))  # the MAC addresses of example 5
    f = lowpan.decode_frame(mesh.encode() + b"\x50\x07" + v.frame)
    assert (f.dispatch, f.mesh, f.broadcast_sequence) == ("mesh", mesh, 7)
    assert f.datagram == lowpan.decompress_datagram(v.frame, ll_src=v.ll_src, ll_dst=v.ll_dst)


@pytest.mark.parametrize("hops", [0, 14, 15, 200])
def test_mesh_hops_left_and_deep_hops_left(backend: str, hops: int) -> None:
    mesh = MeshHeader(hops, METER, COLLECTOR)
    raw = mesh.encode()
    assert len(raw) == 17 + (hops >= 15) and (raw[0] & 0x0F) == min(hops, 15)
    assert lowpan.parse_mesh(raw + b"\x41", 0) == (mesh, len(raw))


def test_frag1_carrying_uncompressed_ipv6(backend: str) -> None:
    size = len(T1_DATAGRAM)
    first = bytes((0xC0 | size >> 8, size & 0xFF, 0, 9, 0x41)) + T1_DATAGRAM[:48]
    rest = bytes((0xE0 | size >> 8, size & 0xFF, 0, 9, 6)) + T1_DATAGRAM[48:]
    r = Reassembler()
    assert lowpan.decode_frame(first, reassembler=r).header_length == 5
    assert lowpan.decode_frame(rest, reassembler=r).datagram == T1_DATAGRAM


@pytest.mark.parametrize(
    "frame, offset, message",
    [
        (b"\x00\x01", 0, "not a 6LoWPAN dispatch this decoder handles"),  # NALP
        (b"\x40\x00", 0, "not a 6LoWPAN dispatch this decoder handles"),  # ESC
        (b"\x42\x00", 0, "not a 6LoWPAN dispatch this decoder handles"),  # HC1
        (b"\x50", 0, "truncated input"),
        (b"\x50\x01", 2, "truncated input"),
        (b"\x80" + METER, 9, "truncated input"),  # mesh: the final address is missing
        (b"\x8f", 1, "truncated input"),  # deep hops left without its byte
        (b"\xc0\x30\x00", 0, "truncated input"),
        (b"\xc0\x30\x00\x01", 4, "truncated input"),
        (b"\xc0\x30\x00\x01\x00", 4, "not a 6LoWPAN dispatch this decoder handles"),
        (b"\xe0\x30\x00\x01", 0, "truncated input"),
        (b"\x41", 0, "truncated input"),
    ],
)
def test_dispatch_errors(backend: str, frame: bytes, offset: int, message: str) -> None:
    try:
        f = lowpan.decode_frame(frame, reassembler=Reassembler())
    except DecodeError as e:
        assert (e.layer, e.offset, e.reason) in {("lowpan", offset, message), ("ipv6", offset, message)}
    else:  # 0x41 with nothing after it decodes; the IPv6 layer finds it empty
        assert f.datagram == b""
        with pytest.raises(DecodeError) as info:
            ipv6.parse(f.datagram)
        assert (info.value.layer, info.value.offset, info.value.reason) == ("ipv6", offset, message)
