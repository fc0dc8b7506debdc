"""6LoWPAN interop with scapy's sixlowpan layer, both directions.

scapy is GPL-2.0: it is used here as a test peer only; nothing of it is in
the package.  Modes scapy supports: every TF, HLIM and NH mode, stateless
SAM/DAM (unicast and multicast), NHC-UDP with all four port modes and the
checksum inline or elided; it builds context-based (SAC/DAC = 1) headers
(it just drops the prefix) but cannot decompress them.

Known scapy 2.8 deviations, asserted as such (so a fixed scapy shows up):
- TF: scapy puts the two high bits of the traffic class first; RFC 6282 puts
  ECN (the two low bits) first.  Only TC values unchanged by that rotation
  (0x00, 0x55, 0xAA, 0xFF) agree; for others scapy reads TC rotated.
- a first octet 0x7F (TF=11, NH=1, HLIM=11) is IPHC since RFC 6282 moved ESC
  to 0x40; scapy still dissects it as ESC (it can build it).
- with a mesh header, SAM/DAM = 11 must use the mesh originator/final
  address; scapy uses the MAC addresses of the current hop.
- NHC-UDP ends the NHC chain, but scapy goes on reading NHC headers while
  the next byte looks like one: a UDP payload of 2+ bytes starting 0xE0-0xF7 is
  taken for more NHC headers.
- the mesh header's final-destination size is taken from the V bit (the
  originator's) instead of F.
- reassembly (sixlowpan_defragment) concatenates the fragment payloads in
  arrival order, ignoring datagram_offset and dropping the FRAG1's
  compressed header: it gives our payload back only for in-order fragments.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Iterator
from typing import Any

import pytest

from dlmsmesh import ipv6, lowpan
from dlmsmesh.lowpan import MeshHeader, Reassembler

from .transport_vectors import COLLECTOR, EXAMPLE13_FRAME, LOWPAN_VECTORS, METER

scapy = pytest.importorskip("scapy")

from scapy.config import conf  # noqa: E402
from scapy.layers.dot15d4 import Dot15d4Data, Dot15d4FCS  # noqa: E402
from scapy.layers.inet import UDP  # noqa: E402
from scapy.layers.inet6 import IPv6  # noqa: E402
from scapy.layers.sixlowpan import (  # noqa: E402
    LoWPAN_IPHC,
    LoWPAN_NHC,
    LoWPAN_NHC_UDP,
    LoWPANFragmentationFirst,
    LoWPANFragmentationSubsequent,
    LoWPANMesh,
    SixLoWPAN_ESC,
    sixlowpan_defragment,
)
from scapy.packet import Raw, raw  # noqa: E402

pytestmark = pytest.mark.interop

SHORT = bytes.fromhex("1234")
CONTEXT0 = {0: "2001:db8:1::/64"}


@pytest.fixture(autouse=True)
def dot15d4_carries_sixlowpan() -> Iterator[None]:
    before = conf.dot15d4_protocol
    conf.dot15d4_protocol = "sixlowpan"
    try:
        yield
    finally:
        conf.dot15d4_protocol = before


def mac_header(src: bytes, dst: bytes) -> Any:
    """An 802.15.4 data frame header (PAN 0xABCD, PAN-ID compression) for the
    canonical link-layer addresses ``src`` and ``dst``."""
    return Dot15d4FCS(
        fcf_frametype=1, fcf_panidcompress=1, seqnum=1,
        fcf_srcaddrmode=3 if len(src) == 8 else 2, fcf_destaddrmode=3 if len(dst) == 8 else 2,
    ) / Dot15d4Data(dest_panid=0xABCD, dest_addr=int.from_bytes(dst, "big"), src_addr=int.from_bytes(src, "big"))  # fmt: skip


def lowpan_payload(air: bytes) -> bytes:
    """The 6LoWPAN bytes of an 802.15.4 frame scapy built (without MAC header and FCS)."""
    frame = Dot15d4FCS(air)
    return raw(frame[Dot15d4Data].payload)


def rot_right2(tc: int) -> int:
    return (tc & 3) << 6 | tc >> 2


# --------------------------------------------------------------------------
# scapy compresses, we decompress
# --------------------------------------------------------------------------

BASE: dict[str, Any] = {
    "src": "fe80::212:4b00:1:203", "dst": "fe80::212:4b00:4:506", "hop": 64, "tc": 0, "fl": 0,
    "sport": 4059, "dport": 4059, "udp": True, "ll": (METER, COLLECTOR), "contexts": None,
    "iphc": {"tf": 3, "nh": 1, "hlim": 2, "sam": 3, "dam": 3}, "nhc": None,
}  # fmt: skip


def case(name: str, **changes: Any) -> Any:
    c = dict(BASE)
    iphc = dict(BASE["iphc"])
    iphc.update(changes.pop("iphc", {}))
    c.update(changes)
    c["iphc"] = iphc
    return pytest.param(c, id=name)


SCAPY_BUILT = [
    case("base-sam11-dam11"),
    # TF: with traffic classes scapy and RFC 6282 write alike
    case("tf00", tc=0xFF, fl=0x12345, iphc={"tf": 0}),
    case("tf00-tc0", fl=0xFFFFF, iphc={"tf": 0}),
    case("tf01", fl=0xABCDE, iphc={"tf": 1}),
    case("tf10", tc=0xAA, iphc={"tf": 2}),
    case("tf10-55", tc=0x55, iphc={"tf": 2}),
    # HLIM
    case("hlim-inline", hop=30, iphc={"hlim": 0}),
    case("hlim-1", hop=1, iphc={"hlim": 1}),
    case("hlim-255-first-octet-7f", hop=255, iphc={"hlim": 3}),
    # NH inline: the UDP header follows uncompressed
    case("nh-inline-udp", iphc={"nh": 0}),
    case("nh-inline-no-udp", udp=False, iphc={"nh": 0}),
    # source modes, stateless
    case("sam00", src="2001:db8:ffff::10", iphc={"sam": 0}),
    case("sam01", src="fe80::1:2:3:4", iphc={"sam": 1}),
    case("sam10", src="fe80::ff:fe00:beef", iphc={"sam": 2}),
    case("sam11-short", src="fe80::ff:fe00:1234", ll=(SHORT, COLLECTOR)),
    case("sac1-sam00-unspecified", src="::", iphc={"sam": 0, "sac": 1}),
    # destination modes, stateless unicast and multicast
    case("dam00", dst="2001:db8:1::99", iphc={"dam": 0}),
    case("dam01", dst="fe80::5:6:7:8", iphc={"dam": 1}),
    case("dam10", dst="fe80::ff:fe00:1", iphc={"dam": 2}),
    case("dam11-short", dst="fe80::ff:fe00:1234", ll=(METER, SHORT)),
    case("m-dam00", dst="ff12::1:2:3:4", iphc={"m": 1, "dam": 0}),
    case("m-dam01", dst="ff0e::12:3456:789a", iphc={"m": 1, "dam": 1}),
    case("m-dam10", dst="ff05::1:3", iphc={"m": 1, "dam": 2}),
    case("m-dam11", dst="ff02::1", iphc={"m": 1, "dam": 3}),
    # context-based: scapy builds them (it drops the prefix), we hold the context
    case("sac1-sam01", src="2001:db8:1::a:b:c:d", contexts=CONTEXT0, iphc={"sac": 1, "sam": 1}),
    case("sac1-sam10", src="2001:db8:1::ff:fe00:beef", contexts=CONTEXT0, iphc={"sac": 1, "sam": 2}),
    case("sac1-sam11", src="2001:db8:1::212:4b00:1:203", contexts=CONTEXT0, iphc={"sac": 1, "sam": 3}),
    case("dac1-dam01", dst="2001:db8:1::a:b:c:d", contexts=CONTEXT0, iphc={"dac": 1, "dam": 1}),
    case("dac1-dam10", dst="2001:db8:1::ff:fe00:1", contexts=CONTEXT0, iphc={"dac": 1, "dam": 2}),
    case("dac1-dam11", dst="2001:db8:1::212:4b00:4:506", contexts=CONTEXT0, iphc={"dac": 1, "dam": 3}),
    case("m-dac1-dam00", dst="ff3e:40:2001:db8:1:0:1234:5678", contexts=CONTEXT0, iphc={"m": 1, "dac": 1, "dam": 0}),
    # NHC-UDP ports (scapy picks P from the ports) and checksum elision
    case("nhc-p01", dport=0xF0B5),
    case("nhc-p10", sport=0xF00A),
    case("nhc-p11", sport=0xF0B1, dport=0xF0B2),
    case("nhc-p00-elided", nhc={"C": 1, "P": 0}),
    case("nhc-p11-elided", sport=0xF0BF, dport=0xF0B0, nhc={"C": 1, "P": 3}),
]  # fmt: skip

PAYLOAD = bytes.fromhex("000100100001000DC001C100080000010000FF0200")


def scapy_datagram(c: dict[str, Any]) -> Any:
    ip = IPv6(src=c["src"], dst=c["dst"], hlim=c["hop"], tc=c["tc"], fl=c["fl"])
    if c["udp"]:
        return ip / UDP(sport=c["sport"], dport=c["dport"]) / Raw(PAYLOAD)
    return ip / Raw(PAYLOAD)


@pytest.mark.parametrize("c", SCAPY_BUILT)
def test_scapy_compressed_decompresses_here(backend: str, c: dict[str, Any]) -> None:
    datagram = scapy_datagram(c)
    iphc = LoWPAN_IPHC(**c["iphc"])
    if c["iphc"]["nh"]:
        nhc = LoWPAN_NHC(exts=[LoWPAN_NHC_UDP(**c["nhc"])]) if c["nhc"] else LoWPAN_NHC()
        air = raw(mac_header(*c["ll"]) / iphc / nhc / datagram)
    else:
        air = raw(mac_header(*c["ll"]) / iphc / datagram)
    frame = lowpan_payload(air)
    expected = raw(IPv6(raw(datagram)))  # scapy's own uncompressed bytes (lengths, checksum filled in)
    f = lowpan.decode_frame(frame, ll_src=c["ll"][0], ll_dst=c["ll"][1], contexts=c["contexts"])
    assert f.datagram == expected
    d = ipv6.parse(f.datagram)
    assert (str(d.ipv6.source), str(d.ipv6.destination)) == (
        str(ipaddress.IPv6Address(c["src"])), str(ipaddress.IPv6Address(c["dst"])),
    )  # fmt: skip
    assert (d.ipv6.hop_limit, d.ipv6.traffic_class, d.ipv6.flow_label) == (c["hop"], c["tc"], c["fl"])
    if c["udp"]:
        assert d.udp is not None and (d.udp.source_port, d.udp.destination_port) == (c["sport"], c["dport"])
        assert d.checksum_ok and d.payload == PAYLOAD
    # and our compressor, given the same modes to choose from, is never longer
    ours = lowpan.compress_datagram(expected, ll_src=c["ll"][0], ll_dst=c["ll"][1], contexts=c["contexts"])
    elided = bool(c["nhc"] and c["nhc"].get("C"))
    assert len(ours) <= len(frame) + (2 if elided else 0)


@pytest.mark.parametrize("tc", [0xB8, 0x01, 0x2E])
def test_scapy_tf_puts_the_wrong_bits_first(backend: str, tc: int) -> None:
    """Expected difference: scapy writes TC unrotated, so we read it rotated."""
    c = dict(BASE, tc=tc, fl=0x12345)
    air = raw(
        mac_header(METER, COLLECTOR) / LoWPAN_IPHC(tf=0, nh=1, hlim=2, sam=3, dam=3) / LoWPAN_NHC() / scapy_datagram(c)
    )
    d = lowpan.decompress(lowpan_payload(air), ll_src=METER, ll_dst=COLLECTOR)
    assert d.ipv6.traffic_class == (tc >> 6 | (tc & 0x3F) << 2) != tc
    assert d.ipv6.flow_label == 0x12345


# --------------------------------------------------------------------------
# we compress, scapy decompresses
# --------------------------------------------------------------------------


def _address(prefix: str, tail: int) -> str:
    return str(ipaddress.IPv6Address(int(ipaddress.IPv6Address(prefix)) | tail))


def _random_datagrams(n: int, seed: int) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for _ in range(n):
        ll = (rng.choice([METER, SHORT, rng.randbytes(8)]), rng.choice([COLLECTOR, bytes.fromhex("0001")]))
        src = rng.choice(
            [
                str(lowpan.link_local(ll[0])),
                _address("fe80::ff:fe00:0", rng.randrange(1 << 16)),  # SAM=10
                _address("fe80::", rng.randrange(1 << 64)),  # SAM=01
                _address("2001:db8::", rng.randrange(1 << 80)),  # inline
            ]
        )
        dst = rng.choice(
            [
                str(lowpan.link_local(ll[1])),
                _address("fe80::ff:fe00:0", rng.randrange(1 << 16)),
                _address("ff02::", rng.randrange(1 << 8)),  # DAM=11
                _address("ff05::", rng.randrange(1 << 24)),  # DAM=10
                _address("ff0e::", rng.randrange(1 << 40)),  # DAM=01
                _address("ff12::", rng.randrange(1 << 64)),  # inline
                _address("2001:db8::", rng.randrange(1 << 16)),
            ]
        )
        ports = [0xF0B0 + rng.randrange(16), 0xF000 + rng.randrange(256), 4059, rng.randrange(65536)]
        yield {
            "src": src,
            "dst": dst,
            "ll": ll,
            "hop": rng.choice([1, 64, 255, rng.randrange(256)]),
            "tc": rng.choice([0, 0, 0x55, 0xAA, 0xFF, rng.randrange(256)]),
            "fl": rng.choice([0, 0, rng.randrange(1 << 20)]),
            "sport": rng.choice(ports),
            "dport": rng.choice(ports),
            "elide": rng.random() < 0.2,
            "payload": rng.randbytes(rng.randrange(0, 40)),
        }


OURS = list(_random_datagrams(300, 20241015))


@pytest.mark.parametrize("c", OURS, ids=[f"random-{k}" for k in range(len(OURS))])
def test_ours_decompress_in_scapy(backend: str, c: dict[str, Any]) -> None:
    datagram = ipv6.build(
        c["src"], c["dst"], c["payload"], source_port=c["sport"], destination_port=c["dport"],
        hop_limit=c["hop"], traffic_class=c["tc"], flow_label=c["fl"],
    )  # fmt: skip
    frame = lowpan.compress_datagram(datagram, ll_src=c["ll"][0], ll_dst=c["ll"][1], elide_checksum=c["elide"])
    air = raw(mac_header(*c["ll"]) / Raw(frame))
    pkt = Dot15d4FCS(air)
    if frame[0] == 0x7F:
        assert SixLoWPAN_ESC in pkt and IPv6 not in pkt  # expected difference (see the module doc)
        return
    if len(c["payload"]) >= 2 and 0xE0 <= c["payload"][0] <= 0xF7:
        assert len(pkt[LoWPAN_NHC].exts) > 1  # expected difference: payload read as more NHC headers
        return
    ip = pkt[IPv6]
    assert ipaddress.IPv6Address(ip.src) == ipaddress.IPv6Address(c["src"])
    assert ipaddress.IPv6Address(ip.dst) == ipaddress.IPv6Address(c["dst"])
    assert (ip.hlim, ip.fl, ip.nh) == (c["hop"], c["fl"], 17)
    assert ip.tc == rot_right2(c["tc"])  # equal to tc exactly for 0x00, 0x55, 0xAA, 0xFF
    udp = pkt[UDP]
    assert (udp.sport, udp.dport, udp.len) == (c["sport"], c["dport"], 8 + len(c["payload"]))
    assert raw(udp.payload) == c["payload"]
    # scapy's uncompressed datagram carries our checksum (recomputed by scapy when elided)
    assert udp.chksum == int.from_bytes(datagram[46:48], "big")


@pytest.mark.parametrize("k", [0, 1, 3, 4, 5, 6, 7, 11])
def test_spec_examples_decompress_in_scapy(backend: str, k: int) -> None:
    v = LOWPAN_VECTORS[k]
    assert v.ll_src is not None and v.ll_dst is not None
    pkt = Dot15d4FCS(raw(mac_header(v.ll_src, v.ll_dst) / Raw(v.frame)))
    ip = pkt[IPv6]
    assert ipaddress.IPv6Address(ip.src) == ipaddress.IPv6Address(v.source)
    assert ipaddress.IPv6Address(ip.dst) == ipaddress.IPv6Address(v.destination)
    assert (pkt[UDP].sport, pkt[UDP].dport, ip.hlim, ip.fl) == (
        v.source_port,
        v.destination_port,
        v.hop_limit,
        v.flow_label,
    )
    assert ip.tc == rot_right2(v.traffic_class)


def test_scapy_ignores_the_mesh_addresses(backend: str) -> None:
    """Expected difference: behind a mesh header scapy derives the IIDs from
    the MAC hop (0x0007 -> 0x0005), not from the originator/final."""
    mesh = MeshHeader(14, bytes.fromhex("0009"), bytes.fromhex("0001"))
    datagram = ipv6.build("fe80::ff:fe00:9", "fe80::ff:fe00:1", PAYLOAD)
    frame = mesh.encode() + lowpan.compress_datagram(datagram, ll_src=mesh.originator, ll_dst=mesh.final_destination)
    assert frame[5:7] == bytes.fromhex("7e33")
    assert lowpan.decode_frame(frame, ll_src=bytes.fromhex("0007"), ll_dst=bytes.fromhex("0005")).datagram == datagram
    pkt = Dot15d4FCS(raw(mac_header(bytes.fromhex("0007"), bytes.fromhex("0005")) / Raw(frame)))
    assert (pkt[IPv6].src, pkt[IPv6].dst) == ("fe80::ff:fe00:7", "fe80::ff:fe00:5")
    assert pkt[UDP].dport == 4059 and raw(pkt[UDP].payload) == PAYLOAD


# --------------------------------------------------------------------------
# fragments
# --------------------------------------------------------------------------


def _our_fragments(mtu: int, size: int) -> tuple[bytes, list[bytes]]:
    payload = bytes((7 * i) % 256 for i in range(size))
    d = ipv6.build("fe80::212:4b00:1:203", "fe80::212:4b00:4:506", payload)
    return d, lowpan.fragment(d, mtu=mtu, tag=0x1234, ll_src=METER, ll_dst=COLLECTOR)


@pytest.mark.parametrize("mtu", [64, 81, 100, 127])
def test_scapy_reads_our_fragment_headers(backend: str, mtu: int) -> None:
    d, frames = _our_fragments(mtu, 700)
    pkts = [Dot15d4FCS(raw(mac_header(METER, COLLECTOR) / Raw(f))) for f in frames]
    first = pkts[0][LoWPANFragmentationFirst]
    assert (first.datagramSize, first.datagramTag) == (len(d), 0x1234)
    assert pkts[0][LoWPAN_IPHC].sam == 3 and pkts[0][LoWPAN_IPHC].dam == 3
    offsets = [p[LoWPANFragmentationSubsequent].datagramOffset * 8 for p in pkts[1:]]
    ours = [lowpan.decode_frame(f, ll_src=METER, ll_dst=COLLECTOR).fragment for f in frames[1:]]
    assert offsets == [x.offset for x in ours if x is not None]
    assert all(p[LoWPANFragmentationSubsequent].datagramSize == len(d) for p in pkts[1:])


@pytest.mark.parametrize("mtu", [64, 100, 127])
def test_scapy_reassembles_our_payload_in_order(backend: str, mtu: int) -> None:
    """Where scapy can: in arrival order its sixlowpan_defragment gives the
    datagram's payload back (it drops the FRAG1's compressed header)."""
    d, frames = _our_fragments(mtu, 600)
    pkts = [Dot15d4FCS(raw(mac_header(METER, COLLECTOR) / Raw(f))) for f in frames]
    joined = raw(sixlowpan_defragment(pkts)[0x1234])
    assert joined == d[48:]
    # out of order, scapy gets it wrong and we do not
    shuffled = pkts[1:] + pkts[:1]
    assert raw(sixlowpan_defragment(shuffled)[0x1234]) != d[48:]
    r = Reassembler()
    done = [
        lowpan.decode_frame(f, ll_src=METER, ll_dst=COLLECTOR, reassembler=r).datagram for f in frames[1:] + frames[:1]
    ]
    assert done[-1] == d


@pytest.mark.parametrize(
    "originator, final",
    [(METER, COLLECTOR), (bytes.fromhex("0009"), bytes.fromhex("0001"))],
)
def test_scapy_reads_our_mesh_header(backend: str, originator: bytes, final: bytes) -> None:
    mesh = MeshHeader(14, originator, final)
    frame = mesh.encode() + lowpan.compress_datagram(ipv6.build("fe80::1", "fe80::2", PAYLOAD))
    m = Dot15d4FCS(raw(mac_header(METER, COLLECTOR) / Raw(frame)))[LoWPANMesh]
    assert (m.v, m.f, m.hopsLeft) == (len(originator) == 2, len(final) == 2, 14)
    assert (m.src, m.dst) == (int.from_bytes(originator, "big"), int.from_bytes(final, "big"))


def test_scapy_sizes_the_final_address_by_the_wrong_bit(backend: str) -> None:
    """Expected difference: scapy takes the final destination's size from V
    (the originator's flag) instead of F, so example 13 (V=0, F=1) misparses."""
    m = Dot15d4FCS(raw(mac_header(METER, COLLECTOR) / Raw(EXAMPLE13_FRAME)))[LoWPANMesh]
    assert (m.v, m.f, m.src) == (0, 1, int.from_bytes(METER, "big"))
    assert m.dst != 0x0001 and m.dst == int.from_bytes(EXAMPLE13_FRAME[9:17], "big")
    assert lowpan.decode_frame(EXAMPLE13_FRAME).mesh == MeshHeader(14, METER, bytes.fromhex("0001"))
