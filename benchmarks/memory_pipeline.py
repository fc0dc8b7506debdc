"""Peak memory of decoding 1,000,000 frames in chunks (issue 6: under 200 MB).

    /usr/bin/time -v python benchmarks/memory_pipeline.py      # see "Maximum resident set size"
    python benchmarks/memory_pipeline.py --frames 200000 --chunk 5000 --layer lowpan

First a capture of ``--frames`` ciphered data-notifications is written to a
temporary file, chunk by chunk, as 100 meters would send them (encode_batch:
general-glo-ciphering, wrapper, and for ``--layer ipv6|lowpan`` UDP, IPv6,
IPHC).  Then it is read back ``--chunk`` frames at a time into one reused
FrameBuffer and decoded with decode_batch into one reused workspace, with a
Keyring of the 100 meters' keys and their invocation counters checked, as a
head-end or a capture tool would; one APDU per chunk is built, the rest are
counted.  Nothing holds more than one chunk, so the peak stays flat however
many frames go through.  The last line gives the process's own peak RSS
(getrusage), which /usr/bin/time -v reports too.
"""

from __future__ import annotations

import argparse
import os
import resource
import struct
import sys
import tempfile
import time
from array import array
from typing import BinaryIO

from dlmsmesh import apdu, backend, pipeline
from dlmsmesh.security import Keyring, MemoryCounterStore, SecurityContext
from dlmsmesh.types import DoubleLongUnsigned, OctetString, Structure, Unsigned

METERS = 100
HEAD_END = bytes.fromhex("4D4D4D0000000001")
HEAD_END_IP = "2001:db8:ffff::10"
PAN = {0: "2001:db8:1::/64"}
_CHUNK = struct.Struct("<II")  # frames, data bytes; then the offsets (uint32 each) and the data


def _meter(m: int) -> tuple[bytes, bytes, bytes, bytes]:
    """(title, EK, AK, EUI-64) of meter m."""
    title = b"MMM" + (0x00BC0000 + m).to_bytes(5, "big")
    ek = bytes((m + k * 7) & 0xFF for k in range(16))
    ak = bytes((0xD0 + m + k * 3) & 0xFF for k in range(16))
    return title, ek, ak, bytes.fromhex("00124b00") + m.to_bytes(4, "big")


def _meter_ip(mac: bytes) -> bytes:
    return bytes.fromhex("20010db800010000") + bytes((mac[0] ^ 2,)) + mac[1:]


def _notification(i: int) -> apdu.DataNotification:
    body = Structure(
        [
            OctetString(bytes((0, 0, 25, 9, 0, 255))),
            DoubleLongUnsigned(i * 7 & 0xFFFFFFFF),
            DoubleLongUnsigned(i * 13 & 0xFFFFFFFF),
            DoubleLongUnsigned(i * 3 & 0xFFFFFFFF),
            Unsigned(i & 0xFF),
        ]
    )
    return apdu.DataNotification(body, long_invoke_id=i & 0xFFFFFF)


def write_capture(out: BinaryIO, frames: int, chunk: int, layer: str) -> None:
    meters = []
    for m in range(METERS):
        title, ek, ak, _ = _meter(m)
        meters.append(
            SecurityContext(
                title, peer_system_title=HEAD_END, ek=ek, ak=ak, role="server", counters=MemoryCounterStore()
            )
        )
    macs = [_meter(m)[3] for m in range(METERS)]
    for start in range(0, frames, chunk):
        n = min(chunk, frames - start)
        requests = [_notification(start + i) for i in range(n)]
        # the head-end is the one destination; each frame comes from its meter,
        # so encode per meter (source address and keys are the meter's)
        buf = pipeline.FrameBuffer()
        by_meter: list[list[int]] = [[] for _ in range(METERS)]
        for i in range(n):
            by_meter[(start + i) % METERS].append(i)
        encoded = {}
        for m, idx in enumerate(by_meter):
            if not idx:
                continue
            encoded[m] = pipeline.encode_batch(
                [requests[i] for i in idx], layer=layer, security=meters[m], general=True,
                source_wport=1, destination_wport=0x66, source=_meter_ip(macs[m]), destinations=HEAD_END_IP,
                links=[(macs[m], b"\x00\x01")], contexts=PAN,
            )  # fmt: skip
        cursor = dict.fromkeys(encoded, 0)
        for i in range(n):
            m = (start + i) % METERS
            buf.append(encoded[m][cursor[m]])
            cursor[m] += 1
        out.write(_CHUNK.pack(len(buf), len(buf.data)))
        out.write(buf.offsets[1:].tobytes())
        out.write(buf.data)


def read_chunk(src: BinaryIO, buf: pipeline.FrameBuffer) -> bool:
    """The next chunk of the capture into ``buf`` (its memory reused)."""
    head = src.read(_CHUNK.size)
    if not head:
        return False
    n, size = _CHUNK.unpack(head)
    buf.clear()
    ends = array("I")
    ends.frombytes(src.read(4 * n))
    buf.offsets.extend(ends)
    buf.data += src.read(size)
    return True


def decode_capture(src: BinaryIO, layer: str) -> tuple[int, int, float]:
    contexts = []
    for m in range(METERS):
        title, ek, ak, _ = _meter(m)
        contexts.append(SecurityContext(HEAD_END, peer_system_title=title, ek=ek, ak=ak, counters=MemoryCounterStore()))
    ring = Keyring(contexts)
    macs = [(_meter(m)[3], b"\x00\x01") for m in range(METERS)]
    workspace = pipeline.new_workspace()
    buf = pipeline.FrameBuffer(bytearray())
    total = ok = 0
    t0 = time.perf_counter()
    while read_chunk(src, buf):
        n = len(buf)
        links = [macs[(total + i) % METERS] for i in range(n)] if layer == "lowpan" else None
        result = pipeline.decode_batch(buf, layer=layer, security=ring, contexts=PAN, links=links, out=workspace)
        ok += result.ok
        if n:
            first = result.apdu(result.ok_indices()[0])
            assert isinstance(first, apdu.DataNotification)
        total += n
    return total, ok, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=1_000_000)
    ap.add_argument("--chunk", type=int, default=10_000)
    ap.add_argument("--layer", choices=("wrapper", "ipv6", "lowpan"), default="wrapper")
    args = ap.parse_args(argv)
    with tempfile.TemporaryFile() as capture:
        t0 = time.perf_counter()
        write_capture(capture, args.frames, args.chunk, args.layer)
        written = time.perf_counter() - t0
        size = capture.tell()
        capture.seek(0)
        total, ok, elapsed = decode_capture(capture, args.layer)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{backend()} backend: wrote {args.frames:,} frames ({size / 1e6:.1f} MB, layer {args.layer}) in {written:.1f} s; "
        f"decoded {total:,} frames in chunks of {args.chunk:,}: {ok:,} ok in {elapsed:.1f} s "
        f"({total / elapsed:,.0f} frames/s)"
    )
    print(f"peak RSS {peak_mb:.1f} MB (getrusage ru_maxrss; pid {os.getpid()})")
    return 0 if ok == total == args.frames else 1


if __name__ == "__main__":
    sys.exit(main())
