"""Known-answer vectors of the transport layers (worked examples, computed
independently of this code).

- T1 (GET request) and T2 (its response), whole IPv6/UDP datagrams with
  wrapper and APDU;
- 6LoWPAN examples 1-14 (IPHC + NHC-UDP, mesh header, fragments) and the two
  full 802.15.4 frames;
- the registration push, IPHC-compressed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .helpers import hexbytes

# --------------------------------------------------------------------------
# T1, T2: a GET of the Clock time and its response
# --------------------------------------------------------------------------

T1_DATAGRAM = hexbytes(
    "60000000001D114020010DB8FFFF0000000000000000001020010DB80001000002124B0000010203"
    "0FDB0FDB001DAD3F000100100001000DC001C100080000010000FF0200"
)
T1_CLIENT = "2001:db8:ffff::10"
T1_SERVER = "2001:db8:1:0:212:4b00:1:203"
T1_APDU = hexbytes("C001C100080000010000FF0200")
T1_WPDU = hexbytes("0001 0010 0001 000D") + T1_APDU

T2_APDU = hexbytes("C401C100090C07E80A0F020C1E00FF800000")
T2_WPDU = hexbytes("0001 0001 0010 0012") + T2_APDU
T2_DATAGRAM = (
    hexbytes("60000000 0022 11 40 20010DB80001000002124B0000010203 20010DB8FFFF00000000000000000010")
    + hexbytes("0FDB 0FDB 0022 75A4")
    + T2_WPDU
)

# --------------------------------------------------------------------------
# 6LoWPAN examples 1-14
# --------------------------------------------------------------------------

METER = hexbytes("00124B0000010203")  # EUI-64, canonical order
COLLECTOR = hexbytes("00124B0000040506")
P13 = hexbytes("0001001000010005C001C10008")  # examples 1-11: 13 opaque bytes
WPDU = hexbytes("000100100001000DC001C100080000010000FF0200")  # examples 12-13


@dataclass(frozen=True)
class LowpanVector:
    """One worked example: the IPv6/UDP fields in, the 6LoWPAN bytes out."""

    name: str
    source: str
    destination: str
    source_port: int
    destination_port: int
    header: bytes  # the 6LoWPAN header bytes the spec gives
    ll_src: bytes | None = METER
    ll_dst: bytes | None = COLLECTOR
    hop_limit: int = 64
    traffic_class: int = 0
    flow_label: int = 0
    contexts: dict[int, str] = field(default_factory=dict)
    payload: bytes = P13
    elide_checksum: bool = False

    @property
    def frame(self) -> bytes:
        return self.header + self.payload


LOWPAN_VECTORS = [
    LowpanVector(
        "1-link-local-eui64-ports-f0bx", "fe80::212:4b00:1:203", "fe80::212:4b00:4:506", 61617, 61618,
        hexbytes("7E 33 F3 12 F711"),
    ),
    LowpanVector(
        "2-short-addresses-4059", "fe80::ff:fe00:1234", "fe80::ff:fe00:1", 4059, 4059,
        hexbytes("7E 33 F0 0FDB 0FDB 49BE"), ll_src=hexbytes("1234"), ll_dst=hexbytes("0001"),
    ),
    LowpanVector(
        "3-sam10-dam01-hl255-port-f00a", "fe80::ff:fe00:beef", "fe80::1:2:3:4", 0xF00A, 4059,
        hexbytes("7F 21 BEEF 0001000200030004 F2 0A 0FDB BBC9"), hop_limit=255,
    ),
    LowpanVector(
        "4-tf00-inline-addresses", "2001:db8:1::212:4b00:1:203", "2001:db8:ffff::10", 4059, 4059,
        hexbytes(
            "64 00 2E012345 1E 20010DB80001000002124B0000010203 20010DB8FFFF00000000000000000010 F0 0FDB 0FDB AC5B"
        ),
        hop_limit=30, traffic_class=0xB8, flow_label=0x12345,
    ),
    LowpanVector(
        "5-tf01-ff02-1", "fe80::ff:fe00:1234", "ff02::1", 0xF0BF, 0xF0B0,
        hexbytes("6E 3B 4ABCDE 01 F3 F0 8681"), ll_src=hexbytes("1234"), ll_dst=hexbytes("FFFF"),
        traffic_class=0x01, flow_label=0xABCDE,
    ),
    LowpanVector(
        "6-tf10-dam10-p01", "fe80::212:4b00:1:203", "ff05::1:3", 4059, 0xF0B5,
        hexbytes("76 3A 2E 05010003 F1 0FDB B5 2979"), traffic_class=0xB8,
    ),
    LowpanVector(
        "7-hl1-dam01", "fe80::212:4b00:1:203", "ff0e::12:3456:789a", 4059, 4059,
        hexbytes("7D 39 0E123456789A F0 0FDB 0FDB 5D4C"), hop_limit=1,
    ),
    LowpanVector(
        "8-multicast-inline", "fe80::212:4b00:1:203", "ff12::1:2:3:4", 4059, 4059,
        hexbytes("7E 38 FF120000000000000001000200030004 F0 0FDB 0FDB 0A41"),
    ),
    LowpanVector(
        "9-context0-both", "2001:db8:1::212:4b00:1:203", "2001:db8:1::212:4b00:4:506", 0xF0B3, 0xF0B4,
        hexbytes("7E 77 F3 34 989B"), contexts={0: "2001:db8:1::/64"},
    ),
    LowpanVector(
        "10-context1-source", "2001:db8:2::ff:fe00:1234", "2001:db8:ffff::10", 4059, 4059,
        hexbytes("7E F0 10 20010DB8FFFF00000000000000000010 F0 0FDB 0FDB EA3C"),
        ll_src=hexbytes("1234"), contexts={1: "2001:db8:2::/64"},
    ),
    LowpanVector(
        "11-context1-both-p10", "2001:db8:2::a:b:c:d", "2001:db8:2::ff:fe00:1", 0xF0B0, 4059,
        hexbytes("7E D7 11 000A000B000C000D F2 B0 0FDB 1B7A"), ll_dst=hexbytes("0001"),
        contexts={1: "2001:db8:2::/64"},
    ),
    LowpanVector(
        "12-checksum-elided", "fe80::212:4b00:1:203", "fe80::212:4b00:4:506", 61617, 61618,
        hexbytes("7E 33 F7 12"), payload=WPDU, elide_checksum=True,
    ),
]  # fmt: skip

#: example 12: the checksum the decompressor must insert
EXAMPLE12_CHECKSUM = 0xF7F5

#: example 13: mesh header (V0 F1, hops 14), originator METER, final 0x0001;
#: the MAC hop is 0x0007 -> 0x0005, which must not be used for the IIDs
EXAMPLE13_FRAME = hexbytes("9E 00124B0000010203 0001 7E 33 F0 0FDB 0FDB 0CC0") + WPDU
EXAMPLE13_MAC = (hexbytes("0007"), hexbytes("0005"))

#: example 14: 200-byte payload, three fragments, tag 0x1234, ctx 0
EXAMPLE14_PAYLOAD = hexbytes("00010010000100C0") + bytes((7 * i) % 256 for i in range(192))
EXAMPLE14_FRAGMENTS = [
    hexbytes("C0 F8 1234 7E 70 20010DB8FFFF00000000000000000010 F0 0FDB 0FDB A4FE") + EXAMPLE14_PAYLOAD[:64],
    hexbytes("E0 F8 1234 0E") + EXAMPLE14_PAYLOAD[64:144],
    hexbytes("E0 F8 1234 18") + EXAMPLE14_PAYLOAD[144:200],
]
EXAMPLE14_SOURCE = "2001:db8:1::212:4b00:1:203"
EXAMPLE14_DESTINATION = "2001:db8:ffff::10"
EXAMPLE14_CONTEXTS = {0: "2001:db8:1::/64"}
EXAMPLE14_LL = (METER, hexbytes("0001"))

#: the full 802.15.4 frames (MAC header, 6LoWPAN, payload, FCS) of examples 1 and 13
FULL_FRAME_1 = hexbytes("41CC01CDAB06050400004B120003020100004B12007E33F312F7110001001000010005C001C100089B78")
FULL_FRAME_13 = hexbytes(
    "418801CDAB050007009E00124B000001020300017E33F00FDB0FDB0CC0000100100001000DC001C100080000010000FF02008A21"
)

# --------------------------------------------------------------------------
# the registration push
# --------------------------------------------------------------------------

REGISTRATION_CIPHERED = hexbytes(
    "DB 08 4D4D4D0000BC614E 4E 30 00000010"
    "F29B0D9CF362D1A7FBE21058A446B0D02B6F035A1D1CBBAEA8F91C93DF297395EB7CC888567AABF844116F84A52CFBCD4B14F9AB59D9E0CDE550EFDEDE"
    "3D2915813B790D48BCA293B8"
)
REGISTRATION_WPDU = hexbytes("0001 0001 0066 0059") + REGISTRATION_CIPHERED
REGISTRATION_IPHC = hexbytes("7E 70 20010DB8FFFF00000000000000000010 F3 00 01BD")
REGISTRATION_SOURCE = "2001:db8:1::212:4b00:1:203"
REGISTRATION_DESTINATION = "2001:db8:ffff::10"
REGISTRATION_CONTEXTS = {0: "2001:db8:1::/64"}
REGISTRATION_LL = (METER, hexbytes("0001"))
