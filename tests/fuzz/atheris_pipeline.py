#!/usr/bin/env python3
"""atheris harness: the batch frame pipeline (dlmsmesh.pipeline.decode_batch)
on both backends, differential.

Input: the framing of the C pipeline harness: byte 0 the layer (0 lowpan,
1 ipv6, 2 udp, 3 wrapper, 4 apdu), byte 1 options (bit 0: a security
context with the keys of tests/vectors/security_examples.json, bit 1: plain APDUs allowed, bit 2:
the UDP checksum required, bit 3: replay check), then up to 8 frames, each
after its length octet.  Per frame, the status, the failing layer, the
error (class, layer, offset), the plaintext, the APDU and the JSON object
agree between the backends.

    python tests/fuzz/atheris_pipeline.py [libFuzzer flags] [CORPUS_DIR ...]
"""

from __future__ import annotations

import sys
from typing import Any

if __name__ == "__main__":  # run as a script: fuzz under atheris (instrumenting dlmsmesh first)
    sys.path.insert(0, __file__.rsplit("/", 3)[0])
    from tests.fuzz._atheris_main import run

    run(__file__)
    raise SystemExit(0)

from dlmsmesh import lowpan, pipeline  # noqa: E402
from dlmsmesh.security import SecurityContext  # noqa: E402
from tests.fuzz.pyharness import BACKENDS, Failed, agree, backend, outcome  # noqa: E402

LAYERS = ("lowpan", "ipv6", "udp", "wrapper", "apdu")
SERVER = bytes.fromhex("4D4D4D0000BC614E")
CLIENT = bytes.fromhex("4D4D4D0000000001")
CONTEXTS = lowpan.ContextTable({0: "2001:db8:1::/64", 1: "2001:db8:2::/64"})
LINKS = [(bytes.fromhex("00124B0000010203"), bytes.fromhex("00124B0000040506"))]


def frames_of(data: bytes) -> list[bytes]:
    frames, p = [], 2
    while p < len(data) and len(frames) < 8:
        n = data[p]
        frames.append(data[p + 1 : p + 1 + n])
        p += 1 + n
    return frames


def _decode(data: bytes) -> Any:
    opt = data[1]
    security = None
    if opt & 1:
        security = SecurityContext(CLIENT, peer_system_title=SERVER, ek=bytes(range(16)), ak=bytes(range(0xD0, 0xE0)))
    frames = frames_of(data)
    result = pipeline.decode_batch(
        frames,
        layer=LAYERS[data[0] % 5],
        security=security,
        replay_check=bool(opt & 8),
        allow_plain=bool(opt & 2) if security is not None else None,
        verify_checksum=bool(opt & 4),
        contexts=CONTEXTS,
        links=LINKS,
    )
    out = []
    for i in range(len(result)):
        err = result.error(i)
        row = [result.status[i], result.layer(i), None if err is None else Failed.of(err)]
        if err is None:
            row += [outcome(result.plaintext, i), outcome(result.apdu, i)]
        row.append(outcome(result.to_json, i))
        out.append(row)
    if security is not None:
        security.close()
    return out


def one(data: bytes) -> None:
    if len(data) < 2:
        return
    results = {}
    for name in BACKENDS:
        with backend(name):
            results[name] = outcome(_decode, data)
    agree(results, "pipeline.decode_batch", data)
