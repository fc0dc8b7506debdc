#!/usr/bin/env python3
"""atheris harness: ACSE APDUs in BER (dlmsmesh.acse: decode, user
information, the BER walk) on both backends, differential.

Input: an AARQ/AARE/RLRQ/RLRE (or any BER).  acse.decode, the BER walk
(nodes, or error class and offset) and decode_user_information agree between
the backends; a decoded APDU has the same JSON form on both, and its encoding
decodes back to it.

    python tests/fuzz/atheris_acse.py [libFuzzer flags] [CORPUS_DIR ...]
"""

from __future__ import annotations

import sys

if __name__ == "__main__":  # run as a script: fuzz under atheris (instrumenting dlmsmesh first)
    sys.path.insert(0, __file__.rsplit("/", 3)[0])
    from tests.fuzz._atheris_main import run

    run(__file__)
    raise SystemExit(0)

from dlmsmesh import acse  # noqa: E402
from tests.fuzz.pyharness import Disagreement, Failed, agree, on_each, same  # noqa: E402


def one(data: bytes) -> None:
    agree(on_each(lambda: list(acse.ber_walk(data))), "acse.ber_walk", data)
    agree(on_each(acse.decode_user_information, data), "acse.decode_user_information", data)
    pdu = agree(on_each(acse.decode, data), "acse.decode", data)
    if isinstance(pdu, Failed):
        return
    agree(on_each(acse.to_json, pdu), "acse.to_json", data)
    encoded = agree(on_each(acse.encode, pdu), "acse.encode", data)
    if isinstance(encoded, Failed):
        return
    back = agree(on_each(acse.decode, encoded), "acse.decode(encode(decode))", data)
    if not same(back, pdu):
        raise Disagreement(f"decode(encode(decode(x))) != decode(x) for {data.hex()}: {back!r} != {pdu!r}")
