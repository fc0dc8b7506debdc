#!/usr/bin/env python3
"""atheris harness: A-XDR Data (dlmsmesh.axdr, dlmsmesh.types JSON) on both
backends, differential.

Input: the bytes to decode.  decode, decode_prefix and decode with a small
depth limit agree between the backends (value and types, or error class,
layer and offset); a decoded value encodes alike on both backends, and that
encoding decodes to the same value; its JSON form comes back to the same
encoding.

    python tests/fuzz/atheris_axdr.py [libFuzzer flags] [CORPUS_DIR ...]
"""

from __future__ import annotations

import sys

if __name__ == "__main__":  # run as a script: fuzz under atheris (instrumenting dlmsmesh first)
    sys.path.insert(0, __file__.rsplit("/", 3)[0])
    from tests.fuzz._atheris_main import run

    run(__file__)
    raise SystemExit(0)

from dlmsmesh import axdr, types  # noqa: E402
from tests.fuzz.pyharness import Disagreement, Failed, agree, on_each, outcome, same  # noqa: E402


def one(data: bytes) -> None:
    value = agree(on_each(axdr.decode, data), "axdr.decode", data)
    agree(on_each(axdr.decode_prefix, data, 0), "axdr.decode_prefix", data)
    agree(on_each(axdr.decode, data, max_depth=2), "axdr.decode max_depth=2", data)
    if isinstance(value, Failed):
        return
    encoded = agree(on_each(axdr.encode, value), "axdr.encode", data)
    if isinstance(encoded, Failed):
        return  # e.g. a compact-array described as an array: decoded, never emitted
    back = agree(on_each(axdr.decode, encoded), "axdr.decode(encode(decode))", data)
    if not same(back, value):
        raise Disagreement(f"decode(encode(decode(x))) != decode(x) for {data.hex()}: {back!r} != {value!r}")
    j = outcome(types.to_json, value)
    if not isinstance(j, Failed):
        again = outcome(lambda: axdr.encode(types.from_json(j)))
        if again != encoded:
            raise Disagreement(f"JSON round trip changed {data.hex()}: {j!r} -> {again!r}, not {encoded.hex()}")
