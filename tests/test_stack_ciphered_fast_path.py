"""stack.receive opens the common ciphered frames (service-specific and
general-glo/ded) straight through the SecurityContext; every other shape,
and a subclass of the context, takes the full parse.  Both roads give the
same Received, and the same error (class, layer, offset, message, partial
layers) for every frame refused."""

from __future__ import annotations

import os
from typing import Any

from dlmsmesh import apdu as A
from dlmsmesh import stack
from dlmsmesh.apdu_model import AttributeDescriptor
from dlmsmesh.security import SecurityContext
from dlmsmesh.security.policy import Role
from dlmsmesh.types import Obis

EK = bytes(range(16))
AK = bytes(range(16, 32))
BK = b"\x33" * 16
CLIENT = bytes.fromhex("4845530000000001")
METER = bytes.fromhex("4D4D4D0000BC614E")


class FullParse(SecurityContext):
    """The same context, but not exactly a SecurityContext: the full road."""


def _receiver(cls: type[SecurityContext]) -> SecurityContext:
    return cls(METER, peer_system_title=CLIENT, ek=EK, ak=AK, bk=BK, role=Role.SERVER)


def _frames() -> list[bytes]:
    sender = SecurityContext(CLIENT, peer_system_title=METER, ek=EK, ak=AK, bk=BK, policy=0)
    get = A.encode(A.GetRequestNormal(AttributeDescriptor(3, Obis("1.0.1.8.0.255"), 2), invoke_id=5))
    big = A.encode(
        A.SetRequestNormal(AttributeDescriptor(1, Obis("0.0.96.1.0.255"), 2), b"\x09\x82\x01\x2c" + bytes(300))
    )
    frames = []
    for apdu in (get, big):
        frames.append(sender.protect(apdu))
        frames.append(sender.protect(apdu, general=True))
        frames.append(sender.protect(apdu, broadcast=True))
        frames.append(sender.protect(apdu, protection=0x10))
    out = list(frames)
    for frame in frames[:4]:
        out += [frame[:i] for i in range(0, len(frame), 2)]
        out.append(frame + b"\x00")
        for i in range(len(frame)):
            b = bytearray(frame)
            b[i] ^= 0x21
            out.append(bytes(b))
    out += [bytes((tag,)) + os.urandom(n) for tag in (0xC8, 0xDB, 0xDC, 0xD0) for n in (0, 5, 20, 40)]
    out += frames  # again: replays now
    return out


def _outcome(ctx: SecurityContext, frame: bytes) -> Any:
    try:
        r = stack.receive(frame, "apdu", security=ctx)
    except stack.FrameError as err:
        partial = err.partial
        return ("error", type(err).__name__, err.layer, err.offset, str(err), partial.to_json(), partial.layers)
    return ("ok", r.to_json(), r.plaintext, r.layers, r.security)


def test_the_fast_road_and_the_full_road_agree() -> None:
    fast, full = _receiver(SecurityContext), _receiver(FullParse)
    frames = _frames()
    outcomes = [(_outcome(fast, f), _outcome(full, f)) for f in frames]
    for frame, (a, b) in zip(frames, outcomes):
        assert a == b, frame.hex()
    kinds = [a[0] for a, _ in outcomes]
    # each valid frame once, less the two authentication-only ones the
    # receiving policy refuses; the replays at the end refused
    assert kinds.count("ok") == 6
    assert {a[1] for a, _ in outcomes if a[0] == "error"} >= {"FrameReplayError", "FrameError", "FrameSecurityError"}
