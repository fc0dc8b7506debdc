"""Seed inputs for the fuzz harnesses, extracted from the test vectors.

Sources: ``tests/vectors/*.json`` (every hex string in them) and the vectors
of ``tests/test_*_vectors.py``, ``tests/transport_vectors.py`` and the other
test modules that define byte strings at module level (every ``bytes`` value
found in their globals, and hex strings of ``test_acse.VECTORS``), plus a
few inputs built with dlmsmesh itself where the vectors have none (profile
buffers, IPHC frames of every address mode, sealed frames of every shape).

Each harness gets every seed (a minimizing merge keeps only those that add
coverage) except the ones whose input has its own framing: ``frag`` (an MTU,
flags and tag in front of an IPv6 datagram) and ``pipeline``/``py_pipeline``
(a layer, options and length-prefixed frames).

    python -m tests.fuzz.seeds OUTDIR      # OUTDIR/<target>/<sha1>
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import re
import struct
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
VECTOR_MODULES = [
    "test_axdr_vectors",
    "test_apdu_vectors",
    "test_security_vectors",
    "test_lowpan_vectors",
    "transport_vectors",
    "test_ber",
    "test_acse",
    "test_wrapper",
    "test_ipv6",
    "test_lowpan_errors",
    "test_interop_acse",
]
HEX = re.compile(r"^[0-9A-Fa-f ]+$")
C_TARGETS = ["axdr", "ber", "apdu", "secure", "wrapper", "iphc", "frag", "columns", "pipeline", "pipe_encode", "push"]
PY_TARGETS = ["py_axdr", "py_apdu", "py_acse", "py_transport", "py_security", "py_stack", "py_pipeline"]


def _walk(obj: Any, depth: int = 0) -> Iterator[bytes]:
    if isinstance(obj, (bytes, bytearray)):
        yield bytes(obj)
    elif isinstance(obj, str):
        s = obj.replace(" ", "")
        if len(s) >= 2 and len(s) % 2 == 0 and HEX.match(s):
            yield bytes.fromhex(s)
    elif depth < 5:
        if isinstance(obj, dict):
            for k, v in obj.items():
                yield from _walk(k, depth + 1)
                yield from _walk(v, depth + 1)
        elif isinstance(obj, (list, tuple, set, frozenset)):
            for v in obj:
                yield from _walk(v, depth + 1)
        elif hasattr(obj, "__dataclass_fields__"):
            for name in obj.__dataclass_fields__:
                yield from _walk(getattr(obj, name), depth + 1)
            if hasattr(type(obj), "frame"):
                yield from _walk(obj.frame, depth + 1)


def vector_bytes() -> list[bytes]:
    """Every byte string of the JSON vectors and the vector modules."""
    out: list[bytes] = []
    for path in sorted((ROOT / "tests" / "vectors").glob("*.json")):
        out += _walk(json.loads(path.read_text()))
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    for name in VECTOR_MODULES:
        try:
            mod = importlib.import_module(f"tests.{name}")
        except Exception as exc:  # a module that cannot import today gives no seeds
            print(f"seeds: skipped tests.{name}: {exc}", file=sys.stderr)
            continue
        for key, value in vars(mod).items():
            if key.startswith("__") or callable(value) or isinstance(value, type):
                continue
            out += _walk(value)
    return out


def built_bytes() -> list[bytes]:
    """Inputs made with dlmsmesh where the vectors have none."""
    out: list[bytes] = []
    try:
        from dlmsmesh import axdr, lowpan
        from dlmsmesh import types as t
        from dlmsmesh._pure import secure as P
    except Exception as exc:
        print(f"seeds: dlmsmesh not importable, no built seeds: {exc}", file=sys.stderr)
        return out
    stamp = t.DateTime(bytes.fromhex("07E8030F050C1E2D00FFC400"))
    rows = [t.Structure((stamp, t.DoubleLongUnsigned(1000 + i), t.Long(-i), t.Unsigned(i), True)) for i in range(3)]
    out.append(axdr.encode(t.Array(rows)))
    out.append(axdr.encode(t.Array([t.Structure((b"\x01\x02", "abc", t.Long64(-5), 1.5, None)) for _ in range(2)])))
    out.append(axdr.encode(t.Array([t.Structure((bytes(stamp), t.Float32(2.5), t.Date(bytes(5)))) for _ in range(2)])))
    out.append(axdr.encode(t.Array([t.LongUnsigned(i) for i in range(4)])))
    out.append(axdr.encode(t.Array([t.Structure((t.Enum(1), t.Time(bytes(4)), t.Long64Unsigned(9)))])))
    try:
        out.append(axdr.encode(t.CompactArray.from_values([t.LongUnsigned(1), t.LongUnsigned(2)])))  # type: ignore[attr-defined]
    except Exception:
        pass
    out.append(bytes.fromhex("1301020212000311020000000100020003"))  # compact-array of structures
    # the delta types 28-33: rows of them, and a compact-array of a base value and deltas
    deltas = (t.DeltaInteger, t.DeltaLong, t.DeltaDoubleLong, t.DeltaUnsigned, t.DeltaLongUnsigned, t.DeltaDoubleLongUnsigned)
    out.append(axdr.encode(t.Array([t.Structure(tuple(c(c.MAX - i) for c in deltas)) for i in range(3)])))
    out.append(bytes.fromhex("13020306" "1d" "1c" "0e" "000003e8" "0002" "ff" "000003f0" "fffe" "05"))
    # IPHC frames of many address modes: datagrams compressed with the harness's addresses and contexts
    contexts = lowpan.ContextTable({0: "2001:db8:1::/64", 1: "2001:db8:2::/64", 15: "2001:db8:2::/72"})
    meter, collector = bytes.fromhex("00124B0000010203"), bytes.fromhex("00124B0000040506")
    addrs = [
        "fe80::212:4b00:1:203",
        "fe80::212:4b00:4:506",
        "fe80::ff:fe00:1234",
        "fe80::1",
        "2001:db8:1::212:4b00:1:203",
        "2001:db8:1::ff:fe00:5",
        "2001:db8:2::abcd:1",
        "2001:db8:ffff::10",
        "ff02::1",
        "ff05::1:3",
        "ff0e::12:3456:789a",
        "ff3e:40:2001:db8:1::1234",
        "::",
    ]
    import ipaddress

    def dgram(src: str, dst: str, udp: bool, tc: int, fl: int, hop: int, ports: tuple[int, int]) -> bytes:
        payload = b"\x00\x01\x00\x10\x00\x01\x00\x05\xc0\x01\xc1\x00\x08"
        if udp:
            body = ports[0].to_bytes(2, "big") + ports[1].to_bytes(2, "big") + (8 + len(payload)).to_bytes(2, "big")
            body += b"\x12\x34" + payload
        else:
            body = payload
        head = ((6 << 28) | (tc << 20) | fl).to_bytes(4, "big") + len(body).to_bytes(2, "big")
        head += bytes([17 if udp else 59, hop])
        return head + ipaddress.IPv6Address(src).packed + ipaddress.IPv6Address(dst).packed + body

    datagrams = []
    for i, src in enumerate(addrs):
        dst = addrs[(i * 5 + 3) % len(addrs)]
        if src.startswith("ff"):
            src, dst = dst, src
        datagrams.append(
            dgram(
                src,
                dst,
                i % 3 != 2,
                (0, 0xB8, 0x01, 0x28)[i % 4],
                (0, 0x12345)[i % 2],
                (64, 1, 255, 9)[i % 4],
                ((4059, 4059), (0xF0B1, 0xF0B2), (0xF012, 4059), (4059, 0xF012))[i % 4],
            )
        )
    for d in datagrams:
        for elide in (False, True):
            try:
                out.append(
                    lowpan.compress_datagram(d, ll_src=meter, ll_dst=collector, contexts=contexts, elide_checksum=elide)
                )
            except Exception:
                pass
    try:
        from tests.test_security_differential import _valid_frames  # sealed frames of every shape

        out += _valid_frames()
    except Exception as exc:
        print(f"seeds: no sealed frames: {exc}", file=sys.stderr)
    key = P.new_key(bytes(range(16)), bytes(range(0xD0, 0xE0)))
    title = bytes.fromhex("4D4D4D0000BC614E")
    for framing in range(5):
        try:
            out += P.seal_batch(key, 0x30, title, 5, framing, [bytes.fromhex("0F000000010009020102")])
        except Exception:
            pass
    return out


def frag_inputs(datagrams: Iterable[bytes]) -> list[bytes]:
    """The frag harness's framing: MTU byte, flags, tag, then a datagram."""
    out = []
    for i, d in enumerate(datagrams):
        if len(d) < 40 or d[0] >> 4 != 6:
            continue
        for mtu, flags in ((0x3F, 0x00), (0x1A, 0x13), (0x57, 0x25), (0x00, 0x31)):
            out.append(bytes([mtu, flags, 0x12, i & 0xFF]) + d)
    big = bytes.fromhex("60000000") + (1200).to_bytes(2, "big") + b"\x11\x40" + bytes(32)
    big += b"\x0f\xdb\x0f\xdb" + (1200).to_bytes(2, "big") + b"\x00\x00" + bytes(range(256)) * 5
    out.append(bytes([0x3F, 0x01, 0xAB, 0xCD]) + big[: 40 + 1200])
    return out


def collect() -> dict[str, list[bytes]]:
    pool = [b for b in vector_bytes() + built_bytes() if b]
    datagrams = [b for b in pool if len(b) >= 40 and b[0] >> 4 == 6]
    try:
        from dlmsmesh import lowpan

        contexts = lowpan.ContextTable({0: "2001:db8:1::/64", 1: "2001:db8:2::/64"})
        meter, collector = bytes.fromhex("00124B0000010203"), bytes.fromhex("00124B0000040506")
        for b in pool:
            if b and b[0] >> 5 == 3:
                try:
                    datagrams.append(lowpan.decompress_datagram(b, ll_src=meter, ll_dst=collector, contexts=contexts))
                except Exception:
                    pass
    except Exception:
        pass
    seeds = {
        t: list(pool) for t in C_TARGETS + PY_TARGETS if t not in ("frag", "pipeline", "py_pipeline", "pipe_encode")
    }
    seeds["pipe_encode"] = pipe_encode_inputs()
    seeds["frag"] = frag_inputs(datagrams)
    seeds["pipeline"] = seeds["py_pipeline"] = pipeline_inputs(pool)
    seeds["py_transport"] += sequences(pool)
    return seeds


def _request(kind: int, **f: int) -> bytes:
    """One request of the pipe_encode harness's framing (31 bytes)."""
    g = {"opts": 0, "head": 0xC1, "cls": 3, "member": 2, "sel": 0, "voff": 0, "vlen": 0, "eoff": 0, "elen": 0}
    g.update({"sender": 2, "ic": 1, "peer": 0, "wports": 0x00100001, "big": 0})
    g.update(f)
    return (
        bytes([kind, g["opts"]])
        + struct.pack(">IH", g["head"], g["cls"])
        + bytes([g["member"], g["sel"], g["voff"], g["vlen"], g["eoff"], g["elen"], g["sender"]])
        + struct.pack(">IB", g["ic"], g["peer"])
        + struct.pack(">I", g["wports"])
        + bytes([1, 0, 1, 8, 0, 255, g["big"]])
    )


def pipe_encode_inputs() -> list[bytes]:
    """The pipe_encode harness's framing: layer, options, count, framings,
    security control, requests, values.  Every request kind at every layer,
    plain and sealed, plus out-of-range and tight-buffer cases."""
    values = bytes.fromhex("0600000001 07E8030F050C1E2D00FFC400 020209060000010000FF0F02") + bytes(range(16))
    batch = [
        _request(1),
        _request(2, vlen=5),
        _request(3, opts=2, vlen=5, member=1, cls=70),
        _request(4, opts=2, head=0x12345678, vlen=5, eoff=5, elen=12),
        _request(1, opts=1, sel=2, eoff=17, elen=12),
        _request(0),
        _request(1, sender=0, ic=0x1234),
        _request(2, sender=1, vlen=5, ic=7, peer=1),
    ]
    out = []
    for layer in range(4):
        for framing in (0x00, 0x0A, 0x05):
            out.append(bytes([layer, 3 if layer == 0 else 0, len(batch), framing, 0]) + b"".join(batch) + values)
    out.append(bytes([3, 8, 2, 0, 0]) + _request(1) + _request(4, vlen=5) + values + b"\x20")
    out.append(bytes([0, 5, 1, 0, 0]) + _request(1, peer=1) + values)
    out.append(bytes([1, 16, 1, 0, 0]) + _request(1))
    out.append(bytes([5, 0, 1, 0, 0]) + _request(1) + values)
    out.append(bytes([1, 0, 2, 0, 0]) + _request(1) + _request(1, peer=4) + values)
    out.append(bytes([2, 0, 1, 0, 0]) + _request(1, big=6) + values)
    return out


def pipeline_inputs(pool: list[bytes]) -> list[bytes]:
    """The pipeline harness's framing: layer, options, then length-prefixed
    frames.  Each vector at the layer it looks like, with and without keys
    and counters, and twice in a batch (a replay when it is ciphered)."""
    out = []
    for b in pool:
        if not 0 < len(b) < 256:
            continue
        if b[0] >> 5 == 3 or b[0] & 0xC0 == 0x80:
            layer = 0
        elif b[0] >> 4 == 6 and len(b) >= 40:
            layer = 1
        elif b[:2] == b"\x00\x01":
            layer = 3
        else:
            layer = 4
        one = bytes([len(b)]) + b
        for opt in (0x00, 0x0B, 0x09, 0x1B):
            out.append(bytes([layer, opt]) + one)
        out.append(bytes([layer, 0x0B]) + one + one)
    return out


def sequences(pool: list[bytes]) -> list[bytes]:
    """The py_transport harness's second reading: frames prefixed by their
    length octet, fed in order to one reassembler (fragments of the vectors,
    in order, shuffled, duplicated and cut short)."""
    try:
        from tests.transport_vectors import EXAMPLE14_FRAGMENTS
    except Exception:
        return []
    frags = [f for f in EXAMPLE14_FRAGMENTS if len(f) < 256]

    def seq(frames: list[bytes]) -> bytes:
        return b"".join(bytes([len(f)]) + f for f in frames)

    out = [seq(frags), seq(frags[::-1]), seq(frags + frags), seq(frags[:-1]), seq([frags[0], frags[0]])]
    out += [seq([b, b]) for b in pool if 0 < len(b) < 128 and b[0] >> 5 == 3][:20]
    return out


def write(outdir: Path) -> dict[str, int]:
    counts = {}
    for target, items in collect().items():
        d = outdir / target
        d.mkdir(parents=True, exist_ok=True)
        for b in items:
            (d / hashlib.sha1(b).hexdigest()).write_bytes(b)
        counts[target] = len(os.listdir(d))
    return counts


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m tests.fuzz.seeds OUTDIR", file=sys.stderr)
        return 2
    for target, n in write(Path(args[0])).items():
        print(f"{target}: {n} seeds")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
