"""Measured: header bytes of a DLMS GET (the APDU of T1 in tests/transport_vectors.py, wrapped)
over IPv6/UDP, uncompressed vs IPHC + NHC-UDP.  README.md quotes these
numbers; this test is where they come from."""

from __future__ import annotations

import pytest

from dlmsmesh import ipv6, lowpan, wrapper

from .transport_vectors import COLLECTOR, METER, T1_APDU

WPDU = wrapper.encode(wrapper.PUBLIC_CLIENT, wrapper.MANAGEMENT, T1_APDU)  # 8 + 13 bytes

# (scenario, source, destination, link-layer source, destination, contexts, port,
#  compressed header bytes)
SCENARIOS = [
    ("link-local, EUI-64 MACs, mesh port 61616", "fe80::212:4b00:4:506", "fe80::212:4b00:1:203", COLLECTOR, METER, None, ipv6.MESH_PORT, 6),
    ("link-local, EUI-64 MACs, port 4059", "fe80::212:4b00:4:506", "fe80::212:4b00:1:203", COLLECTOR, METER, None, ipv6.DLMS_PORT, 9),
    ("link-local, short MACs, mesh port 61616", "fe80::ff:fe00:1", "fe80::ff:fe00:2", b"\x00\x01", b"\x00\x02", None, ipv6.MESH_PORT, 6),
    ("global, both in context 0, mesh port 61616", "2001:db8:1::212:4b00:4:506", "2001:db8:1::212:4b00:1:203", COLLECTOR, METER, {0: "2001:db8:1::/64"}, ipv6.MESH_PORT, 6),
    ("global, head-end outside the PAN, mesh port 61616", "2001:db8:ffff::10", "2001:db8:1::212:4b00:1:203", COLLECTOR, METER, {0: "2001:db8:1::/64"}, ipv6.MESH_PORT, 22),
    ("global, no context, port 4059", "2001:db8:ffff::10", "2001:db8:1::212:4b00:1:203", COLLECTOR, METER, None, ipv6.DLMS_PORT, 41),
]  # fmt: skip


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_get_request_header_bytes(backend: str, scenario: tuple) -> None:  # type: ignore[type-arg]
    _, src, dst, ll_src, ll_dst, contexts, port, compressed = scenario
    datagram = ipv6.build(src, dst, WPDU, source_port=port, destination_port=port)
    frame = lowpan.compress_datagram(datagram, ll_src=ll_src, ll_dst=ll_dst, contexts=contexts)
    assert len(datagram) - len(WPDU) == 48  # IPv6 40 + UDP 8
    assert len(frame) - len(WPDU) == compressed
    assert lowpan.decompress_datagram(frame, ll_src=ll_src, ll_dst=ll_dst, contexts=contexts) == datagram


def test_whole_get_request_fits_one_802154_frame(backend: str) -> None:
    """127-byte PHY frame: MAC header with PAN-ID compression and two EUI-64s
    (2 + 1 + 2 + 8 + 8) and the 2-byte FCS leave 104 bytes for 6LoWPAN."""
    datagram = ipv6.build(
        "fe80::212:4b00:4:506",
        "fe80::212:4b00:1:203",
        WPDU,
        source_port=ipv6.MESH_PORT,
        destination_port=ipv6.MESH_PORT,
    )
    assert len(datagram) == 69 and len(WPDU) == 21
    frames = lowpan.fragment(datagram, mtu=127 - 21 - 2, tag=1, ll_src=COLLECTOR, ll_dst=METER)
    assert [len(f) for f in frames] == [27]  # 6 header bytes + the 21-byte WPDU
