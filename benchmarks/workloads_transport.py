"""Transport workloads (headline workload 4, see benchmarks/README.md): IPHC compression and
decompression of 10,000 IPv6/UDP headers, one batch call each.

The datagrams are what a head-end sends to (and receives from) the meters
of one mesh PAN: the head-end's global address 2001:db8:ffff::10, each
meter's global address in the PAN prefix 2001:db8:1::/64 (context 0) with an
IID derived from its EUI-64, or its link-local address; UDP ports 4059 or the
mesh port 0xF0B0; a DLMS GET request (wrapper + get-request-normal) as
payload.  Each datagram has its own link-layer addresses.  Inputs are built
by hand here (struct packing), not with the library under test, and are
deterministic (``random.Random(20240105)``).

Both implementations are called through the backend modules
(``dlmsmesh._native.iphc`` / ``dlmsmesh._pure.iphc``), as ``lowpan.compress_batch``
and ``lowpan.decompress_batch`` call them.
"""

from __future__ import annotations

import functools
import importlib
import random
import struct
from dataclasses import dataclass
from typing import Any, Callable, List, Tuple

from bench_support import NATIVE, PURE, Workload
from dlmsmesh.lowpan import ContextTable, LinkPairs

HEADERS = 10_000
SEED = 20240105
HEAD_END = bytes.fromhex("20010db8ffff00000000000000000010")
PAN_PREFIX = bytes.fromhex("20010db800010000")
LINK_LOCAL = bytes.fromhex("fe80000000000000")
HEAD_END_MAC = bytes.fromhex("0000")  # the border router's short address


def _checksum(src: bytes, dst: bytes, segment: bytes) -> int:
    data = src + dst + struct.pack(">I3xB", len(segment), 17) + segment
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f">{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return (~total & 0xFFFF) or 0xFFFF


def _datagram(rng: random.Random, i: int) -> Tuple[bytes, Tuple[bytes, bytes]]:
    mac = bytes.fromhex("00124b00") + i.to_bytes(4, "big")  # the meter's EUI-64
    iid = bytes((mac[0] ^ 0x02,)) + mac[1:]
    meter = (LINK_LOCAL if rng.random() < 0.2 else PAN_PREFIX) + iid
    head_end = HEAD_END if meter[:8] == PAN_PREFIX else LINK_LOCAL + bytes.fromhex("000000fffe000000")
    port = 0xF0B0 if rng.random() < 0.5 else 4059
    invoke = 0xC0 | (i & 15)
    obis = bytes((1, 0, rng.choice((1, 2, 32, 52)), 8, 0, 255))
    get = bytes((0xC0, 0x01, invoke, 0x00, 0x03)) + obis + b"\x02\x00"
    wpdu = struct.pack(">HHHH", 1, 0x10, 0x01, len(get)) + get
    if rng.random() < 0.5:  # request: head-end -> meter
        src, dst, ll = head_end, meter, (HEAD_END_MAC, mac)
    else:  # the way back (same shape)
        src, dst, ll = meter, head_end, (mac, HEAD_END_MAC)
    udp = struct.pack(">HHHH", port, port, 8 + len(wpdu), 0) + wpdu
    udp = udp[:6] + _checksum(src, dst, udp).to_bytes(2, "big") + udp[8:]
    hop = rng.choice((64, 64, 64, 255, 30))
    ip = struct.pack(">IHBB", 6 << 28, len(udp), 17, hop) + src + dst
    return ip + udp, ll


@dataclass(frozen=True)
class TransportInput:
    datagrams: List[bytes]
    links: LinkPairs
    contexts: ContextTable
    frames: List[bytes]  # the compressed form (pure backend), the decompress input
    total_bytes: int


@functools.cache
def transport_input() -> TransportInput:
    rng = random.Random(SEED)
    pairs = [_datagram(rng, i) for i in range(HEADERS)]
    datagrams = [d for d, _ in pairs]
    links = LinkPairs(ll for _, ll in pairs)  # checked and packed once, as a head-end keeps it
    contexts = ContextTable({0: "2001:db8:1::/64"})
    batch = _pure().compress(datagrams, links, contexts, 0)
    assert not batch.failures
    frames: List[bytes] = batch.outputs  # type: ignore[assignment]
    return TransportInput(datagrams, links, contexts, frames, sum(map(len, datagrams)))


def _native() -> Any:
    return importlib.import_module("dlmsmesh._native.iphc")


def _pure() -> Any:
    return importlib.import_module("dlmsmesh._pure.iphc")


def _compress_op(module: Callable[[], Any]) -> Callable[[], Callable[[TransportInput], Any]]:
    def factory() -> Callable[[TransportInput], Any]:
        compress = module().compress
        return lambda inp: compress(inp.datagrams, inp.links, inp.contexts, 0)

    return factory


def _decompress_op(
    module: Callable[[], Any], every_datagram: bool = False
) -> Callable[[], Callable[[TransportInput], Any]]:
    """One batch call; with ``every_datagram``, then every output read as
    its own bytes object (the native batch builds them only when read)."""

    def factory() -> Callable[[TransportInput], Any]:
        decompress = module().decompress
        if every_datagram:
            return lambda inp: decompress(inp.frames, inp.links, inp.contexts, 0).outputs
        return lambda inp: decompress(inp.frames, inp.links, inp.contexts, 0)

    return factory


def _check_decompress_all(inp: TransportInput, result: Any) -> None:
    assert result == inp.datagrams


def _check_compress(inp: TransportInput, result: Any) -> None:
    assert not result.failures
    assert result.outputs == inp.frames
    # 48 header bytes become 6 (link-local, mesh port) to 26 (head-end address
    # inline, port 4059, hop limit 30)
    saved = sorted({len(d) - len(f) for d, f in zip(inp.datagrams, result.outputs)})
    assert saved[0] == 48 - 26 and saved[-1] == 48 - 6, saved


def _check_decompress(inp: TransportInput, result: Any) -> None:
    assert not result.failures
    assert result.outputs == inp.datagrams


WORKLOADS: List[Workload] = [
    Workload(
        name="10,000 IPv6/UDP headers: IPHC compress",
        description="one batch call compressing 10,000 IPv6/UDP datagrams (a DLMS GET each) to IPHC + NHC-UDP "
        "frames, context 0 = the PAN prefix, per-datagram link-layer addresses",
        setup=transport_input,
        ops={NATIVE: _compress_op(_native), PURE: _compress_op(_pure)},
        check=_check_compress,
        targets={"native/pure": 20.0},
        suite="transport",
    ),
    Workload(
        name="10,000 IPHC frames: decompress",
        description="one batch call decompressing the 10,000 frames above back to IPv6/UDP datagrams",
        setup=transport_input,
        ops={NATIVE: _decompress_op(_native), PURE: _decompress_op(_pure)},
        check=_check_decompress,
        targets={"native/pure": 20.0},
        suite="transport",
    ),
    Workload(
        name="10,000 IPHC frames: decompress, every datagram as bytes",
        description="the same, then every datagram made a bytes object of its own (the native batch builds "
        "them only when read; a pipeline takes the datagrams as one buffer instead)",
        setup=transport_input,
        ops={NATIVE: _decompress_op(_native, True), PURE: _decompress_op(_pure, True)},
        check=_check_decompress_all,
        targets={},
        suite="transport",
    ),
]
