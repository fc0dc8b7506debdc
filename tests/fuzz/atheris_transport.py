#!/usr/bin/env python3
"""atheris harness: the transport layers (dlmsmesh.wrapper, dlmsmesh.ipv6,
dlmsmesh.lowpan: IPHC decompression, the frame dispatch walk, fragment
reassembly) on both backends, differential.

Input: one frame, decoded as a wrapper PDU, an IPv6 datagram and a 6LoWPAN
frame under four link-layer/context configurations; then the same bytes as a
sequence of frames (each prefixed by its length octet) fed to
lowpan.decode_frame with one Reassembler per backend (a fake clock advancing
one second per frame, so timeouts happen too).  Every result (value, or
error class, layer and offset) agrees between the backends, and so do the
reassembler's statistics and memory after the sequence.

    python tests/fuzz/atheris_transport.py [libFuzzer flags] [CORPUS_DIR ...]
"""

from __future__ import annotations

import sys
from typing import Any

if __name__ == "__main__":  # run as a script: fuzz under atheris (instrumenting dlmsmesh first)
    sys.path.insert(0, __file__.rsplit("/", 3)[0])
    from tests.fuzz._atheris_main import run

    run(__file__)
    raise SystemExit(0)

from dlmsmesh import _backend, ipv6, lowpan, wrapper  # noqa: E402
from tests.fuzz.pyharness import BACKENDS, agree, backend, on_each, outcome  # noqa: E402

METER = bytes.fromhex("00124B0000010203")
COLLECTOR = bytes.fromhex("00124B0000040506")
CONTEXTS = lowpan.ContextTable({0: "2001:db8:1::/64", 1: "2001:db8:2::/64", 2: "2001:db8:a55a::/37", 15: "fd00::/72"})
CONFIGS: list[dict[str, Any]] = [
    {"ll_src": METER, "ll_dst": COLLECTOR, "contexts": CONTEXTS},
    {"ll_src": bytes.fromhex("1234"), "ll_dst": bytes.fromhex("5678"), "contexts": CONTEXTS},
    {"ll_src": METER, "ll_dst": bytes.fromhex("ABCD"), "contexts": None},
    {},
]


def frames_of(data: bytes) -> list[bytes]:
    frames, p = [], 0
    while p < len(data) and len(frames) < 16:
        n = data[p]
        frames.append(data[p + 1 : p + 1 + n])
        p += 1 + n
    return frames


def _reassemble(frames: list[bytes]) -> Any:
    now = [0.0]
    r = lowpan.Reassembler(max_bytes=4096, max_datagrams=4, timeout=5.0, clock=lambda: now[0])
    out = []
    for f in frames:
        now[0] += 1.0
        out.append(outcome(lowpan.decode_frame, f, ll_src=METER, ll_dst=COLLECTOR, contexts=CONTEXTS, reassembler=r))
    return out, r.stats, r.memory, r.pending


def one(data: bytes) -> None:
    agree(on_each(wrapper.decode, data), "wrapper.decode", data)
    agree(on_each(ipv6.parse, data), "ipv6.parse", data)
    for kw in CONFIGS:
        agree(on_each(lowpan.decode_frame, data, **kw), f"lowpan.decode_frame {sorted(kw)}", data)
        agree(on_each(lowpan.decompress, data, **kw), f"lowpan.decompress {sorted(kw)}", data)
    frames = frames_of(data)
    if len(frames) > 1:
        results = {}
        for name in BACKENDS:
            with backend(name):
                assert _backend.backend() == name
                results[name] = _reassemble(frames)
        agree(results, "reassembly", data)
