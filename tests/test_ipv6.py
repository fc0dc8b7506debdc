"""IPv6/UDP headers and the pseudo-header checksum (RFC 8200, RFC 768; T1 and T2 of tests/transport_vectors.py)."""

from __future__ import annotations

import ipaddress
import os

import pytest

from dlmsmesh import DecodeError, EncodeError, ipv6
from dlmsmesh._native import checksum as native_checksum
from dlmsmesh._pure import checksum as pure_checksum
from dlmsmesh.ipv6 import IPv6Header, UDPHeader

from .conftest import BACKENDS
from .transport_vectors import T1_CLIENT, T1_DATAGRAM, T1_SERVER, T1_WPDU, T2_DATAGRAM, T2_WPDU


def test_t1_is_built_byte_for_byte(backend: str) -> None:
    assert ipv6.build(T1_CLIENT, T1_SERVER, T1_WPDU) == T1_DATAGRAM


def test_t2_is_built_byte_for_byte(backend: str) -> None:
    assert ipv6.build(T1_SERVER, T1_CLIENT, T2_WPDU) == T2_DATAGRAM


def test_t1_checksum_by_the_spec_arithmetic(backend: str) -> None:
    segment = T1_DATAGRAM[40:]
    assert ipv6.udp_checksum(T1_CLIENT, T1_SERVER, segment) == 0xAD3F
    # the worked sum: 0x452BC folds to 0x52C0, whose complement is 0xAD3F
    assert (0x452BC & 0xFFFF) + (0x452BC >> 16) == 0x52C0 and ~0x52C0 & 0xFFFF == 0xAD3F
    assert ipv6.verify_udp_checksum(T1_CLIENT, T1_SERVER, segment)
    assert ipv6.udp_checksum(T1_SERVER, T1_CLIENT, T2_DATAGRAM[40:]) == 0x75A4


def test_parse_t1(backend: str) -> None:
    d = ipv6.parse(T1_DATAGRAM)
    assert d.ipv6 == IPv6Header(ipaddress.IPv6Address(T1_CLIENT), ipaddress.IPv6Address(T1_SERVER), 17, 64, 0, 0, 29)
    assert d.udp == UDPHeader(4059, 4059, 29, 0xAD3F)
    assert d.payload == T1_WPDU and d.checksum_ok is True and d.payload_offset == 48
    assert d.ipv6.to_json() == {
        "source": "2001:db8:ffff::10",
        "destination": "2001:db8:1:0:212:4b00:1:203",  # RFC 5952 text
        "next_header": 17,
        "hop_limit": 64,
        "traffic_class": 0,
        "flow_label": 0,
        "payload_length": 29,
    }
    assert d.udp.to_json(True) == {
        "source_port": 4059,
        "destination_port": 4059,
        "length": 29,
        "checksum": 0xAD3F,
        "checksum_ok": True,
    }


def test_header_fields_round_trip(backend: str) -> None:
    head = IPv6Header("fe80::1", "ff02::1", next_header=58, hop_limit=255, traffic_class=0xB8, flow_label=0xFFFFF)
    raw = head.pack()
    assert raw[:4] == bytes.fromhex("6b8fffff")
    assert IPv6Header.unpack(raw) == head


def test_wrong_checksum_is_reported_not_raised(backend: str) -> None:
    bad = T1_DATAGRAM[:46] + b"\xad\x3e" + T1_DATAGRAM[48:]
    d = ipv6.parse(bad)
    assert d.checksum_ok is False and d.udp is not None and d.udp.checksum == 0xAD3E
    zero = T1_DATAGRAM[:46] + b"\x00\x00" + T1_DATAGRAM[48:]
    assert ipv6.parse(zero).checksum_ok is False  # no checksum is not allowed over IPv6


def test_zero_sum_is_sent_as_ffff(backend: str) -> None:
    # choose the last two payload bytes so that the checksum would come out 0
    src, dst = ipaddress.IPv6Address("fe80::1"), ipaddress.IPv6Address("fe80::2")
    head = UDPHeader(1, 2, 10, 0).pack()
    c = ipv6.udp_checksum(src, dst, head + b"\x00\x00")
    # c = ~sum, so one more word c makes the sum 0xFFFF: a checksum of 0
    segment = head + c.to_bytes(2, "big")
    assert ipv6.udp_checksum(src, dst, segment) == 0xFFFF
    assert ipv6.verify_udp_checksum(src, dst, segment[:6] + b"\xff\xff" + segment[8:])


@pytest.mark.single_backend
def test_backends_agree_on_random_segments() -> None:
    if len(BACKENDS) < 2:
        pytest.skip("the native backend is not built")
    for n in list(range(8, 80)) + [1279, 1280, 4097]:
        seg = os.urandom(n)
        src, dst = os.urandom(16), os.urandom(16)
        assert native_checksum.udp_checksum(src, dst, seg) == pure_checksum.udp_checksum(src, dst, seg)


@pytest.mark.parametrize(
    "data, layer, offset, message",
    [
        (T1_DATAGRAM[:39], "ipv6", 0, "truncated input"),
        (b"\x40" + T1_DATAGRAM[1:], "ipv6", 0, "IP version is not 6"),
        (T1_DATAGRAM[:-1], "ipv6", 4, "IPv6 payload length does not match the datagram"),
        (T1_DATAGRAM + b"\x00", "ipv6", 4, "IPv6 payload length does not match the datagram"),
        (T1_DATAGRAM[:5] + b"\x07" + T1_DATAGRAM[6:47], "udp", 40, "truncated input"),
        (T1_DATAGRAM[:44] + b"\x00\x1c" + T1_DATAGRAM[46:], "udp", 44, "UDP length does not match the IPv6 payload"),
    ],
)
def test_parse_errors(backend: str, data: bytes, layer: str, offset: int, message: str) -> None:
    with pytest.raises(DecodeError) as info:
        ipv6.parse(data)
    assert (info.value.layer, info.value.offset, info.value.reason) == (layer, offset, message)


def test_every_truncation_and_mutation_gives_decode_error_only(backend: str) -> None:
    for datagram in (T1_DATAGRAM, T2_DATAGRAM):
        for k in range(len(datagram)):
            with pytest.raises(DecodeError) as info:
                ipv6.parse(datagram[:k])
            assert info.value.layer in ("ipv6", "udp")
        for k in range(len(datagram)):
            for flip in (0x01, 0x80, 0xFF):
                bad = datagram[:k] + bytes((datagram[k] ^ flip,)) + datagram[k + 1 :]
                try:
                    d = ipv6.parse(bad)
                except DecodeError as e:
                    assert e.layer in ("ipv6", "udp")
                    continue
                if k in (0, 1, 2, 3, 7):  # traffic class, flow label, hop limit: not checksummed
                    assert d.checksum_ok is True and d.ipv6 != ipv6.parse(datagram).ipv6
                else:  # the pseudo-header, UDP header and payload are
                    assert d.checksum_ok is not True or d.udp is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"hop_limit": 256},
        {"traffic_class": -1},
        {"flow_label": 1 << 20},
        {"next_header": True},
    ],
)
def test_header_field_ranges(kwargs: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(EncodeError):
        IPv6Header("::1", "::2", **kwargs)


def test_addresses_from_bytes_and_text() -> None:
    raw = bytes(range(16))
    head = IPv6Header(raw, "::1")
    assert head.source.packed == raw and str(head.destination) == "::1"
    with pytest.raises(ValueError):
        IPv6Header(raw[:15], "::1")
