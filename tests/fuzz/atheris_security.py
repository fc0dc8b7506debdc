#!/usr/bin/env python3
"""atheris harness: the security layer (dlmsmesh.security: parse,
SecurityContext.unprotect, unprotect_batch) on both backends, differential,
with the keys and titles of tests/vectors/security_examples.json.

Input: one ciphered APDU.  parse and unprotect (under the default policy and
under a policy that requires nothing, unicast/broadcast/dedicated keys of
the server, suite 0 and suite 2 contexts) agree between the backends: the
plaintext and security info, or the error class, layer and offset.  A frame
that does not authenticate never gives a plaintext.  The batch of the frame
twice gives the single-frame result twice.

    python tests/fuzz/atheris_security.py [libFuzzer flags] [CORPUS_DIR ...]
"""

from __future__ import annotations

import sys
from typing import Any

if __name__ == "__main__":  # run as a script: fuzz under atheris (instrumenting dlmsmesh first)
    sys.path.insert(0, __file__.rsplit("/", 3)[0])
    from tests.fuzz._atheris_main import run

    run(__file__)
    raise SystemExit(0)

from dlmsmesh.security import SecurityContext, parse  # noqa: E402
from tests.fuzz.pyharness import Disagreement, Failed, agree, on_each, outcome  # noqa: E402

SERVER = bytes.fromhex("4D4D4D0000BC614E")
CLIENT = bytes.fromhex("4D4D4D0000000001")
EK = bytes(range(16))
AK = bytes(range(0xD0, 0xE0))
EK256 = bytes(range(32))
AK256 = bytes(range(0xD0, 0xF0))


def _contexts() -> list[SecurityContext]:
    return [
        SecurityContext(CLIENT, peer_system_title=SERVER, ek=EK, ak=AK, bk=b"\xaa" * 16, dk=b"\x55" * 16),
        SecurityContext(CLIENT, peer_system_title=SERVER, ek=EK, ak=AK, bk=b"\xaa" * 16, dk=b"\x55" * 16, policy=0),
        SecurityContext(SERVER, ek=EK, ak=AK, role="server", policy=0, general_ciphering_aad="plain"),
        SecurityContext(CLIENT, peer_system_title=SERVER, suite=2, ek=EK256, ak=AK256, policy=0),
    ]


def _batch(ctx: SecurityContext, frames: list[bytes]) -> Any:
    r = ctx.unprotect_batch(frames, replay_check=False)
    errors = [None if e is None else Failed.of(e) for e in r.errors]
    return r.plaintexts, errors, [r.info(i) for i in range(len(r))]


def _unprotect(data: bytes) -> Any:
    out = []
    for ctx in _contexts():  # fresh contexts: no counter state carries over
        single = outcome(ctx.unprotect, data, replay_check=False)
        batch = outcome(_batch, ctx, [data, data])
        out.append((single, batch))
        ctx.close()
    return out


def one(data: bytes) -> None:
    agree(on_each(parse, data), "security.parse", data)
    results = agree(on_each(_unprotect, data), "SecurityContext.unprotect", data)
    for single, batch in results:
        if isinstance(batch, Failed):
            continue
        plaintexts, errors, _ = batch
        if isinstance(single, Failed):
            if plaintexts != [None, None]:
                raise Disagreement(f"batch gave a plaintext where unprotect failed ({single}) on {data.hex()}")
        elif plaintexts != [single.plaintext, single.plaintext]:
            raise Disagreement(f"batch and single unprotect differ on {data.hex()}: {plaintexts!r} vs {single!r}")
