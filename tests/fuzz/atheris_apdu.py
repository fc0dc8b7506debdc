#!/usr/bin/env python3
"""atheris harness: xDLMS APDUs (dlmsmesh.apdu) on both backends,
differential.

Input: one APDU.  decode agrees between the backends (the APDU object, or
error class, layer and offset), and so do its JSON form and its encoding; the
encoding decodes to the same APDU.

    python tests/fuzz/atheris_apdu.py [libFuzzer flags] [CORPUS_DIR ...]
"""

from __future__ import annotations

import sys

if __name__ == "__main__":  # run as a script: fuzz under atheris (instrumenting dlmsmesh first)
    sys.path.insert(0, __file__.rsplit("/", 3)[0])
    from tests.fuzz._atheris_main import run

    run(__file__)
    raise SystemExit(0)

from dlmsmesh import apdu  # noqa: E402
from tests.fuzz.pyharness import Disagreement, Failed, agree, on_each, same  # noqa: E402


def one(data: bytes) -> None:
    pdu = agree(on_each(apdu.decode, data), "apdu.decode", data)
    if isinstance(pdu, Failed):
        return
    agree(on_each(apdu.to_json, pdu), "apdu.to_json", data)
    encoded = agree(on_each(apdu.encode, pdu), "apdu.encode", data)
    if isinstance(encoded, Failed):
        return
    back = agree(on_each(apdu.decode, encoded), "apdu.decode(encode(decode))", data)
    if not same(back, pdu):
        raise Disagreement(f"decode(encode(decode(x))) != decode(x) for {data.hex()}: {back!r} != {pdu!r}")
