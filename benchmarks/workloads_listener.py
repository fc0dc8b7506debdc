"""The registration listener's batch path: 100,000 registrations decoded,
checked and recorded into SQLite (issue 14's target: >= 50,000
registrations/s recorded).

Input: a registration storm of 100,000 meters (each its own keys), each
announcing itself once: a general-glo-ciphered data-notification
(authenticated encryption, suite 0) in the UDP wrapper, as the Announcer
sends it (about 100 bytes), handed to the listener in batches of 16,384 as
its receive loop drains them from the socket.  (:func:`main` also prints,
for information, the rate of 10,000 meters announcing 10 times each: every
registration after the first is then an update of a known binding, which
the registry records more slowly.)

Before the op the start-up's garbage is collected and the long-lived state
(the keyring) frozen (``gc.freeze``), as ``dlmsmesh listen`` does once it has
loaded its keys.  The op runs :meth:`Listener.handle_batch` over every batch, then waits until
the last transaction committed: per batch one ``pipeline.decode_batch`` (verify,
decrypt, the replay check against the registry's counters), the checks of
spec note §4.5 rule 1 and the announcement body of each frame, and one
``Registry.record_many`` transaction (WAL, ``synchronous=FULL``: fsynced
before it returns) in a worker thread while the next batch is decoded.  Each
op records into a new registry file (deleted after), so every registration
is RECORDED; the keyring's counter store is pointed at it and forgets what
it knew.  The backend is switched for the op: pure runs the same path with
the pure codecs.  The figure that matters is absolute:
``python benchmarks/workloads_listener.py`` prints registrations/s.
"""

from __future__ import annotations

import asyncio
import gc
import ipaddress
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import cache
from typing import Any, Callable, List, Tuple

import dlmsmesh
from bench_support import NATIVE, PURE, Workload
from dlmsmesh import wrapper
from dlmsmesh.pipeline import decode_batch
from dlmsmesh.registration.announce import PUSH_CLIENT_SAP, Announcement, AnnouncementKind, notification
from dlmsmesh.registration.keys_file import KeyEntry, keyring_of
from dlmsmesh.registration.listener import Listener, RegistryCounterStore
from dlmsmesh.registration.registry import Outcome, Registry
from dlmsmesh.security import Keyring, SecurityContext
from dlmsmesh.transport import Address, Incoming, InProcessNetwork

REGISTRATIONS = 100_000
BATCH = 16_384
HES = bytes.fromhex("4845530000000001")
LISTENER = Address("2001:db8:ffff::10", 61616)
NAME = "listener: 100,000 registrations decoded and recorded, batches of 16,384"


def _title(i: int) -> bytes:
    return b"MTR" + i.to_bytes(5, "big")


def _keys(i: int) -> Tuple[bytes, bytes]:
    seed = i.to_bytes(4, "big")
    return bytes(range(12)) + seed, bytes(range(16, 28)) + seed


def _address(i: int) -> str:
    return f"2001:db8:{i >> 16:x}:0:212:4b00:{(i >> 8) & 0xFF:x}:{i & 0xFF:x}"


def _notification(kind: AnnouncementKind, title: bytes, host: str, sequence: int) -> bytes:
    """What :func:`~dlmsmesh.registration.announce.notification` gives for
    these fields (no date-time, invoke-id 1), in a tenth of its time: the
    body is the canonical one, written out (the first is checked)."""
    return b"".join(
        (
            b"\x0f\x00\x00\x00\x01\x00\x02\x05\x09\x06",
            bytes(kind.push_setup),
            b"\x09\x08",
            title,
            b"\x01\x01\x09\x10",
            ipaddress.IPv6Address(host).packed,
            b"\x12\xf0\xb0\x06",
            sequence.to_bytes(4, "big"),
        )
    )


#: one datagram as the socket gives it: its bytes and the sender's host
Datagram = Tuple[bytes, str]


@dataclass(frozen=True)
class ListenerInput:
    #: the datagrams of each batch as bytes and host text, made into the
    #: transport's Incoming objects batch by batch inside the op, as a
    #: receive loop makes them (100,000 of them made up front would sit in
    #: the garbage collector's generations as no real storm's datagrams do)
    batches: Tuple[Tuple[Datagram, ...], ...]
    contexts: Tuple[SecurityContext, ...]
    store: RegistryCounterStore


def make_input(meters: int, announcements: int) -> ListenerInput:
    """``meters`` meters announcing ``announcements`` times each, in rounds
    (every meter's first announcement, then every meter's second, ...)."""
    first = Announcement(AnnouncementKind.REGISTRATION, _title(0), (_address(0),), 61616, 1)
    assert _notification(AnnouncementKind.REGISTRATION, _title(0), _address(0), 1) == notification(first)
    frames: List[Datagram] = []
    senders = []
    for i in range(meters):
        ek, ak = _keys(i)
        senders.append(SecurityContext(_title(i), ek=ek, ak=ak, role="server"))
    for n in range(announcements):
        kind = AnnouncementKind.REGISTRATION if n == 0 else AnnouncementKind.UPDATE
        for i, ctx in enumerate(senders):
            host = _address(i)
            apdu = _notification(kind, _title(i), host, n + 1)
            data = wrapper.encode(1, PUSH_CLIENT_SAP, ctx.protect(apdu, general=True))
            frames.append((data, host))
    # the receive side's contexts: one counter store, pointed at each op's new registry
    store = RegistryCounterStore(None)  # type: ignore[arg-type]
    entries = [KeyEntry(_title(i), *_keys(i)) for i in range(meters)]
    contexts = tuple(keyring_of(entries, system_title=HES, counters=store))
    batches = tuple(tuple(frames[s : s + BATCH]) for s in range(0, len(frames), BATCH))
    return ListenerInput(batches, contexts, store)


@cache
def listener_input() -> ListenerInput:
    return make_input(REGISTRATIONS, 1)


@cache
def updates_input() -> ListenerInput:
    return make_input(REGISTRATIONS // 10, 10)


async def _listen(inp: ListenerInput, registry: Registry) -> Tuple[List[Outcome], float]:
    outcomes: List[Outcome] = []
    # what a listener does once when it starts, outside the time measured:
    # the counter store reads the (new, empty) registry, a new Keyring (a new
    # replay table) builds its ring of 100,000 meters' keys
    inp.store.registry = registry
    inp.store.forget()
    inp.store.preload()
    keyring = Keyring(inp.contexts)
    decode_batch([bytes(8)], security=keyring)
    network = InProcessNetwork(seed=0)
    # the start-up's own garbage (the keyring's and the counter table's
    # building) collected before the storm, as a listener that has been
    # up for a while has it collected: the op is the batch path only; and
    # the long-lived state frozen, as `dlmsmesh listen` freezes it once it
    # has loaded its keys (without that, one full pass of the collector
    # over the 100,000 meters' keys costs about a sixth of the op)
    gc.collect()
    gc.freeze()
    listener = Listener(
        network.endpoint(*LISTENER), registry, keyring, system_title=HES, on_commit=lambda r, o: outcomes.extend(o)
    )
    try:
        start = time.perf_counter()
        for batch in inp.batches:
            await listener.handle_batch([Incoming(data, Address(host, 61616), LISTENER) for data, host in batch])
        await listener.drain()
        return outcomes, time.perf_counter() - start
    finally:
        gc.unfreeze()


#: seconds from the first batch to the last commit of the last run (the
#: op's own timing: compare.py times the workload with it, not with the
#: op's set-up of a new registry file and keyring)
_LAST_RUN = [0.0]


def run(impl: str, inp: ListenerInput) -> Tuple[List[Outcome], float]:
    """(the outcomes, seconds from the first batch to the last commit) on a new registry file."""
    previous = dlmsmesh.backend()
    dlmsmesh.set_backend(impl)
    directory = tempfile.mkdtemp(prefix="dlmsmesh-bench-listener-")
    try:
        with Registry.open(os.path.join(directory, "listener.sqlite")) as registry:
            outcomes, seconds = asyncio.run(_listen(inp, registry))
            _LAST_RUN[0] = seconds
            return outcomes, seconds
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        dlmsmesh.set_backend(previous)


def _op(impl: str) -> Callable[[ListenerInput], List[Outcome]]:
    def op(inp: ListenerInput) -> List[Outcome]:
        return run(impl, inp)[0]

    return op


def _check(inp: ListenerInput, result: Any) -> None:
    assert len(result) == sum(len(b) for b in inp.batches) == REGISTRATIONS
    assert all(o is Outcome.RECORDED for o in result), "a fresh announcement was not recorded"


WORKLOADS: List[Workload] = [
    Workload(
        name=NAME,
        description="Listener.handle_batch over the general-glo-ciphered registrations of 100,000 meters "
        "(batches of 16,384): decode_batch with the keyring, rule 1 checks, one record_many transaction "
        "per batch into a new SQLite file (WAL, synchronous=FULL)",
        setup=listener_input,
        ops={NATIVE: lambda: _op(NATIVE), PURE: lambda: _op(PURE)},
        check=_check,
        suite="listener",
        rate_target=(REGISTRATIONS, 50_000.0),
        op_timer=lambda: _LAST_RUN[0],
    ),
]


def registrations_per_second(impl: str = NATIVE, rounds: int = 3, updates: bool = False) -> float:
    """Registrations/s through the batch path, best of ``rounds`` new registry
    files (``updates``: 10,000 meters x 10 announcements instead of 100,000 meters)."""
    inp = updates_input() if updates else listener_input()
    return REGISTRATIONS / min(run(impl, inp)[1] for _ in range(rounds))


def main() -> None:
    """Print registrations/s through the listener's batch path (the issue's target: 50,000/s)."""
    impls = [NATIVE, PURE] if dlmsmesh.native_available() else [PURE]
    for impl in impls:
        rate = registrations_per_second(impl, rounds=3 if impl == NATIVE else 1)
        print(
            f"{impl:6} {rate:9,.0f} registrations/s decoded, checked and recorded (100,000 meters, batches of 16,384)"
        )
    rate = registrations_per_second(impls[0], rounds=2, updates=True)
    print(f"{impls[0]:6} {rate:9,.0f} registrations/s when 9 in 10 update a known meter (10,000 meters x 10)")


if __name__ == "__main__":
    sys.exit(main())
