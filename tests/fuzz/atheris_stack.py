#!/usr/bin/env python3
"""atheris harness: the whole receive stack as ``dlmsmesh decode`` runs it
(6LoWPAN -> IPv6 -> UDP -> wrapper -> security -> ACSE/xDLMS APDU -> Data),
on both backends, differential.

Input: one frame.  For each layer the command line starts from (auto,
lowpan, ipv6, udp, wrapper, apdu, data), with the keys, titles, link-layer
addresses and IPHC context of the worked examples (tests/vectors/security_examples.json,
tests/transport_vectors.py), the
JSON object (or the error's class, layer and offset, with the layers decoded
before it) agrees between the backends; an ``internal error`` line (an
exception that is not a DlmsError) is a finding.

    python tests/fuzz/atheris_stack.py [libFuzzer flags] [CORPUS_DIR ...]
"""

from __future__ import annotations

import ipaddress
import sys
from typing import Any

if __name__ == "__main__":  # run as a script: fuzz under atheris (instrumenting dlmsmesh first)
    sys.path.insert(0, __file__.rsplit("/", 3)[0])
    from tests.fuzz._atheris_main import run

    run(__file__)
    raise SystemExit(0)

from dlmsmesh import cli  # noqa: E402
from dlmsmesh.errors import DecodeError  # noqa: E402
from tests.fuzz.pyharness import BACKENDS, Failed, agree, backend  # noqa: E402

LAYERS = ("auto", "lowpan", "ipv6", "udp", "wrapper", "apdu", "data")


def _options() -> cli.DecodeOptions:
    return cli.DecodeOptions(
        ek=bytes(range(16)),
        ak=bytes(range(0xD0, 0xE0)),
        bk=b"\xaa" * 16,
        system_title=bytes.fromhex("4D4D4D0000BC614E"),
        ll_src=bytes.fromhex("00124B0000010203"),
        ll_dst=bytes.fromhex("00124B0000040506"),
        contexts={0: ipaddress.IPv6Network("2001:db8:1::/64")},
    )


def _decode(layer: str, data: bytes) -> Any:
    out: dict[str, Any] = {}
    try:
        cli.DECODERS[layer](data, _options(), out)
    except DecodeError as exc:
        return out, Failed.of(exc)
    return out, None


def one(data: bytes) -> None:
    for layer in LAYERS:
        if layer not in cli.DECODERS:
            continue
        results = {}
        for name in BACKENDS:
            with backend(name):
                results[name] = _decode(layer, data)
        agree(results, f"dlmsmesh decode --layer {layer}", data)
