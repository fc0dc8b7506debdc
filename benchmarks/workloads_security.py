"""Security workloads (issue 4; the ciphering of headline workloads 1 and 2,
see benchmarks/README.md): verify + decrypt 10,000 general-glo-ciphered data-notifications
in one batch call, and protect 10,000 GET requests as glo-get-requests in one
batch call, on the native and the pure backend.

The batch decrypt is also held against the machine: OpenSSL's own
AES-128-GCM rate at the same message size (``openssl speed -evp aes-128-gcm
-bytes 128``, 128-byte blocks per second), measured briefly when compare.py
runs or given as a cached figure (``--reference-rate`` or
DLMSMESH_OPENSSL_RATE).  Targets: native >= 5x pure, and native frames/s >=
40% of OpenSSL's blocks/s.
"""

from __future__ import annotations

import functools
import importlib
import itertools
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any, Callable, Dict, List

import workloads_apdu
from bench_support import NATIVE, PURE, ReferencedWorkload, Workload
from dlmsmesh.errors import SecurityError
from dlmsmesh.security.batch import PeerKeys
from dlmsmesh.security.counters import MemoryCounterStore

METERS = 100  # senders of the batch, each with its own keys
HEAD_END = bytes.fromhex("4D4D4D0000000001")
GET_COUNT = 10_000
OPENSSL_COMMAND = ["openssl", "speed", "-seconds", "1", "-evp", "aes-128-gcm", "-bytes", "128"]


def _secure(impl: str) -> Any:
    return importlib.import_module(f"dlmsmesh._{impl}.secure")


def _meter(i: int) -> tuple[bytes, bytes, bytes]:
    """(system title, EK, AK) of meter i: fixed, distinct, not secret."""
    title = b"MMM" + (0x00BC0000 + i).to_bytes(5, "big")
    ek = bytes((i + k * 7) & 0xFF for k in range(16))
    ak = bytes((0xD0 + i + k * 3) & 0xFF for k in range(16))
    return title, ek, ak


# --------------------------------------------------------------------------
# verify + decrypt 10,000 data-notifications
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class CipheredBatch:
    data: bytes  # the frames, concatenated as a receive loop would keep them
    offsets: List[int]  # frame i = data[offsets[i]:offsets[i + 1]]
    plaintexts: List[bytes]  # what each frame must give

    @property
    def count(self) -> int:
        return len(self.plaintexts)


@functools.cache
def notifications_input() -> CipheredBatch:
    """The 10,000 push data-notifications of workloads.py (85 bytes), each sent
    by meter i % 100 as general-glo-ciphering (authenticated encryption,
    suite 0, the meter's own counter): 113-byte frames."""
    apdus = workloads_apdu.data_notifications_input().data
    pure = _secure("pure")
    frames: List[bytes] = [b""] * len(apdus)
    for m in range(METERS):
        title, ek, ak = _meter(m)
        mine = list(range(m, len(apdus), METERS))
        sealed = pure.seal_batch(pure.new_key(ek, ak), 0x30, title, 1, pure.FRAME_GENERAL_GLO, [apdus[i] for i in mine])
        for i, frame in zip(mine, sealed):
            frames[i] = frame
    offsets = [0, *itertools.accumulate(map(len, frames))]
    return CipheredBatch(b"".join(frames), offsets, list(apdus))


def _ring(mod: Any) -> Any:
    peers = []
    for m in range(METERS):
        title, ek, ak = _meter(m)
        peers.append(PeerKeys(title, 0, 0x30, unicast=mod.new_key(ek, ak)))
    peers.sort(key=lambda p: p.title)
    return mod.make_ring(peers, None)


def _open_op(impl: str) -> Callable[[], Callable[[CipheredBatch], Any]]:
    def factory() -> Callable[[CipheredBatch], Any]:
        mod = _secure(impl)
        ring = _ring(mod)  # keys are set up once, outside the timed op
        open_batch = mod.open_batch
        return lambda inp: open_batch(ring, inp.data, inp.offsets)

    return factory


def _check_open(inp: CipheredBatch, result: Any) -> None:
    assert len(result) == inp.count, len(result)
    bad = [i for i, s in enumerate(result.status) if s != 0]
    assert not bad, f"{len(bad)} frames failed, first #{bad[0]}: status {result.status[bad[0]]}"
    assert result.plaintexts == inp.plaintexts
    assert result.ic[:METERS] == [1] * METERS and result.ic[-1] == inp.count // METERS


# --------------------------------------------------------------------------
# protect 10,000 GET requests
# --------------------------------------------------------------------------


@functools.cache
def get_requests_input() -> List[bytes]:
    """10,000 get-request-normal APDUs a head-end sends: register reads
    (class 3, 1.0.x.8.t.255, attribute 2), invoke ids cycling, written by hand."""
    out = []
    for i in range(GET_COUNT):
        obis = bytes((1, 0, 1 + i % 4, 8, i % 5, 255))
        out.append(bytes((0xC0, 0x01, 0xC0 | (i % 16), 0x00, 0x03)) + obis + b"\x02\x00")
    return out


def _seal_op(impl: str) -> Callable[[], Callable[[List[bytes]], Any]]:
    def factory() -> Callable[[List[bytes]], Any]:
        mod = _secure(impl)
        title, ek, ak = HEAD_END, *_meter(0)[1:]
        key = mod.new_key(ek, ak)
        seal_batch = mod.seal_batch
        framing = mod.FRAME_GLO
        store = MemoryCounterStore()
        state = {"scope": 0}

        def op(apdus: List[bytes]) -> Any:
            # counters come from the store as a sender's would (one reservation per batch)
            try:
                first = store.reserve(f"tx:{state['scope']}", len(apdus))
            except SecurityError:  # 2**32 counters used up in a long run: a new scope
                state["scope"] += 1
                first = store.reserve(f"tx:{state['scope']}", len(apdus))
            return first, seal_batch(key, 0x30, title, first, framing, apdus)

        return op

    return factory


def _check_seal(apdus: List[bytes], result: Any) -> None:
    first, frames = result
    assert len(frames) == len(apdus)
    pure = _secure("pure")
    _, ek, ak = _meter(0)
    ring = pure.make_ring([PeerKeys(HEAD_END, 0, 0x30, unicast=pure.new_key(ek, ak))], 0)
    opened = pure.open_batch(ring, b"".join(frames), [0, *itertools.accumulate(map(len, frames))])
    assert opened.status == [0] * len(apdus)
    assert opened.plaintexts == apdus
    assert opened.ic == list(range(first, first + len(apdus)))
    assert all(f[0] == 0xC8 and len(f) == 2 + 5 + len(a) + 12 for f, a in zip(frames, apdus))


# --------------------------------------------------------------------------
# the physical reference: OpenSSL's own AES-128-GCM at 128 bytes
# --------------------------------------------------------------------------


@functools.cache
def openssl_rate(cached: float | None = None) -> Dict[str, Any]:
    """128-byte AES-128-GCM blocks/s of ``openssl speed``: ``cached`` or
    DLMSMESH_OPENSSL_RATE when given, else measured (about 1 s)."""
    name = "openssl speed -evp aes-128-gcm -bytes 128 (blocks/s)"
    given = cached if cached is not None else os.environ.get("DLMSMESH_OPENSSL_RATE")
    if given:
        return {"name": name, "items_per_s": float(given), "source": "cached"}
    if shutil.which("openssl") is None:
        return {"name": name, "items_per_s": None, "source": "openssl not found"}
    try:
        text = subprocess.run(OPENSSL_COMMAND, capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        return {"name": name, "items_per_s": None, "source": f"openssl failed: {exc}"}
    match = re.search(r"^aes-128-gcm\s+([\d.]+)k\s*$", text, re.I | re.M)
    if not match:
        return {"name": name, "items_per_s": None, "source": "openssl output not understood"}
    # 'k' = 1000 bytes/s processed, in 128-byte blocks
    return {"name": name, "items_per_s": float(match.group(1)) * 1000 / 128, "source": "measured"}


WORKLOADS: List[Workload] = [
    ReferencedWorkload(
        name="10,000 ciphered data-notifications: verify+decrypt",
        description="open_batch of 10,000 general-glo-ciphered data-notifications (113-byte frames, "
        "AES-128-GCM authenticated encryption, 100 meters each with its own keys) in one call: "
        "find the sender, check, verify the tag, decrypt",
        setup=notifications_input,
        ops={NATIVE: _open_op(NATIVE), PURE: _open_op(PURE)},
        check=_check_open,
        targets={"native/pure": 5.0},
        suite="security",
        items_per_op=10_000,
        reference=openssl_rate,
        reference_target=0.4,
    ),
    Workload(
        name="10,000 GET requests: protect",
        description="seal_batch of 10,000 get-request-normal APDUs (15 bytes) as glo-get-request "
        "(authenticated encryption, consecutive counters reserved once) in one call",
        setup=get_requests_input,
        ops={NATIVE: _seal_op(NATIVE), PURE: _seal_op(PURE)},
        check=_check_seal,
        suite="security",
    ),
]
