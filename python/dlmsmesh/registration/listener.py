"""The head-end's registration listener (IEC TS 62056-8-20 5.5.3; spec note
mesh-profile §4.5): announcements in, bindings recorded, lookups answered.

Everything that arrived on the registration port is drained as one batch
(``transport.recv_batch_incoming``) and opened through
:func:`dlmsmesh.pipeline.decode_batch` with the :class:`~dlmsmesh.security.Keyring`
of the meters' keys: a storm of 10,000 registrations is a handful of backend
calls, not 10,000 Python round trips; while one batch's transaction runs
in a worker thread, the next batch is decoded.  Each frame then meets rule 1 of §4.5:

* it arrives in general-glo-ciphering with A and E set (the only framing
  that carries the sender's system title), and its tag verifies with that
  title's keys (the pipeline);
* the system title in the body equals the one in the ciphering header (a
  meter cannot announce another one's title with its own keys);
* its invocation counter is fresh (security.md §11, strictly greater than
  the last one accepted from that title; the pipeline's replay check);
* the body is a registration or an address update (:mod:`.announce`).

The frames that pass are recorded in ONE transaction per batch
(:meth:`Registry.record_many`, or :meth:`Registry.record_batch` with the
quarantined ones), off the event loop; the registry orders them by
counter (and sequence number) per title, so a late update never overwrites
a newer one.  A frame from a title with no keys cannot be verified: its
title is taken from the general-glo header, its address from the datagram,
and it is quarantined (:meth:`Registry.quarantine_many`, never touching a
registered binding) for an operator to admit.  Anything else is rejected,
counted in :class:`ListenerStats` and logged with the source address, the
title and the reason, never with key material or the plaintext of a frame
whose tag failed (the pipeline wipes it).

**Counters across restarts (DESIGN).**  The registry is the one durable
record of the last counter accepted per title: it is written in the same
transaction as the binding, and it is checked there again (equal:
DUPLICATE, lower: STALE).  The pipeline's replay check reads it through a
:class:`RegistryCounterStore` (give it to :func:`~.keys_file.load_keys` as
``counters=``; ``dlmsmesh listen`` does): the listener reads every
registered title's counter in one pass when it starts (a title met later
is read once), so a restarted listener rejects a replay of any frame its
predecessor recorded.  A keyring with any other counter store is seeded
from the registry when the listener starts (one lookup per key).  The
pipeline's check runs before the transaction, so its state may run ahead
of the registry only by a transaction that failed: the titles of a batch
given up are read from the registry again.

**Acknowledged.**  A registration counts as acknowledged once the
transaction holding it committed (``record_many`` returned): then, and only
then, ``on_commit`` is called with the batch and its outcomes (``dlmsmesh
listen --print-commits`` prints them), and a SIGKILL afterwards cannot lose
it.  Announcements carry no acknowledgement on the wire (the meter repeats
them as its Push setup says).

The same port answers address lookups (rule 3, the Annex A equivalent):
see :mod:`.lookup`.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from .. import _status as S
from ..errors import DlmsError, ReplayError
from ..pipeline import decode_batch
from ..security import InvocationCounterStore, Keyring, KeySet, MemoryCounterStore
from ..transport import Datagram, Incoming, TransportClosed
from .announce import PUSH_CLIENT_SAP, REGISTRATION_PUSH, UPDATE_PUSH, AnnouncementKind, decode_body
from .lookup import LookupService, is_lookup
from .registry import Outcome, Registration, Registry, Status

__all__ = ["Listener", "ListenerStats", "RegistryCounterStore", "DEFAULT_MAX_BATCH", "CommitCallback"]

log = logging.getLogger("dlmsmesh.registration.listener")

#: the most datagrams decoded and recorded as one batch (one transaction)
DEFAULT_MAX_BATCH = 16384
#: attempts at a batch's transaction before its registrations are given up
COMMIT_ATTEMPTS = 5

CommitCallback = Callable[[Sequence[Registration], Sequence[Outcome]], None]

_WRAPPER = 8
_AE = 0x30  # security control: authenticated (0x10) and encrypted (0x20)
_GENERAL_GLO = 0xDB
_DATA_NOTIFICATION = 0x0F
_KINDS = {
    bytes(REGISTRATION_PUSH): AnnouncementKind.REGISTRATION.value,
    bytes(UPDATE_PUSH): AnnouncementKind.UPDATE.value,
}
_MAX_ADDRESSES = 64
#: the canonical body with one address: structure, size, the push setup's
#: logical name, the system title, an array of one IPv6 address, the port
#: (then, in a five-element body, the sequence number)
_ONE_ADDRESS = struct.Struct(">BBH6sH8sHH16sBH")
_ONE_ADDRESS_FIXED = (0x02, 0x0906, 0x0908, 0x0101, 0x0910, 0x12)
_SECURITY_CODES = frozenset(
    (S.SEC_AUTH, S.SEC_SUITE, S.SEC_CONTROL, S.SEC_POLICY, S.SEC_TAG, S.SEC_TITLE, S.SEC_NO_TITLE, S.SEC_MISMATCH)
)


@dataclass
class ListenerStats:
    """Every outcome, counted (``received``: datagrams taken off the port;
    each one ends in exactly one of the other counters but ``batches``)."""

    received: int = 0
    batches: int = 0
    recorded: int = 0  # committed: the binding is the announced one now
    duplicates: int = 0  # the counter was already accepted (a repetition)
    stale: int = 0  # older than the binding held (lower counter or sequence)
    replays: int = 0  # counter below the last accepted one: refused before the registry
    security_failures: int = 0  # not general-glo with A+E, tag failed, title mismatch
    malformed: int = 0  # not a registration (wrapper, APDU or body)
    quarantined: int = 0  # no keys for the title: recorded for an operator
    lookups: int = 0  # address lookups answered
    store_errors: int = 0  # registrations lost because the registry kept failing

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class RegistryCounterStore(InvocationCounterStore):
    """The receive counters of the listener's keyring, read from the registry.

    ``last_accepted`` of a title's unicast scope is the counter of its last
    recorded registration: read from the registry once per title and
    process (:meth:`preload` reads them all at once), then kept here as the
    pipeline accepts newer ones; the registry's transaction is what makes it
    durable, and checks it again (so a title another process recorded since
    is still ordered right).  Send counters are in memory: the listener
    sends nothing ciphered."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._rx: dict[str, int | None] = {}
        self._known: dict[bytes, int | None] | None = None
        self._reread: set[bytes] = set()  # forgotten since the preload: ask the registry
        self._tx = MemoryCounterStore()

    @staticmethod
    def title_of(scope: str) -> bytes | None:
        """The peer title of an ``rx:<title>:<key set>:<key>`` scope."""
        parts = scope.split(":")
        if len(parts) < 3 or parts[0] != "rx":
            return None
        try:
            title = bytes.fromhex(parts[1])
        except ValueError:
            return None
        return title if len(title) == 8 else None

    def preload(self) -> int:
        """Read every registered title's counter in one pass (a listener
        starting on a registry of many meters, before a storm); returns how
        many.  Titles not in the registry then need no read either."""
        known: dict[bytes, int | None] = {}
        for binding in self.registry.list():
            if binding.status is Status.REGISTERED:
                known[binding.system_title] = binding.invocation_counter
        self._known = known
        self._reread.clear()
        return len(known)

    def _stored(self, scope: str) -> int | None:
        try:
            return self._rx[scope]
        except KeyError:
            pass
        title = self.title_of(scope)
        last = None
        # only unicast-key counters are the registration's; other scopes start empty
        if title is not None and ":unicast:" in scope:
            if self._known is not None and title not in self._reread:
                last = self._known.get(title)
            else:
                binding = self.registry.lookup(title)
                if binding is not None and binding.status is Status.REGISTERED:
                    last = binding.invocation_counter
        self._rx[scope] = last
        return last

    def last_accepted(self, scope: str) -> int | None:
        return self._stored(scope)

    def last_accepted_many(self, scopes: Sequence[str]) -> list[int | None]:
        """Many at once: the pipeline's counter table loads every meter's
        entry with this when it is built (one pass over what the registry
        held at preload), so no first frame of a storm waits on Python."""
        stored = self._stored
        return [stored(scope) for scope in scopes]

    def accept_many(self, scopes: Sequence[str], counters: Sequence[int], window: int = 0) -> list[bool]:
        out = []
        for scope, ic in zip(scopes, counters):
            last = self._stored(scope)
            if last is not None and ic <= last or not 0 <= ic <= 0xFFFFFFFF:
                out.append(False)
            else:
                self._rx[scope] = ic
                out.append(True)
        return out

    def forget(self, titles: Sequence[bytes] | None = None) -> None:
        """Read these titles' counters (None: all) from the registry again
        (after a transaction that failed: the registry is the truth)."""
        if titles is None:
            self._rx.clear()
            self._known = None
            self._reread.clear()
            return
        wanted = {t.hex() for t in titles}
        for scope in [s for s in self._rx if s.split(":")[1] in wanted]:
            del self._rx[scope]
        self._reread.update(titles)

    def reserve(self, scope: str, count: int = 1) -> int:
        return self._tx.reserve(scope, count)

    def peek(self, scope: str) -> int:
        return self._tx.peek(scope)

    def __repr__(self) -> str:
        return f"RegistryCounterStore({len(self._rx)} titles loaded)"


# ---------------------------------------------------------------- parsing


def _glo_header(data: bytes) -> tuple[bytes, int, int] | None:
    """(system title, security control, invocation counter) of the
    general-glo-ciphering APDU after the wrapper of ``data``, or None."""
    a = _WRAPPER
    if len(data) < a + 16 or data[a] != _GENERAL_GLO or data[a + 1] != 8:
        return None
    length = data[a + 10]
    pos = a + 11
    if length & 0x80:
        extra = length & 0x7F
        if not 1 <= extra <= 4:
            return None
        pos += extra
    if len(data) < pos + 5:
        return None
    return data[a + 2 : a + 10], data[pos], int.from_bytes(data[pos + 1 : pos + 5], "big")


#: a general-glo-ciphering APDU after the wrapper, as a meter's announcer
#: writes it: version, source and destination wPort, length, tag, title
#: length, title, content length (short form), security control, counter
_GLO_FRAME = struct.Struct(">HHHHBB8sBBI")
#: a data-notification (long-invoke-id, no date-time) of a canonical
#: one-address announcement body: four elements, and five with the sequence
_NOTIFY_ONE = struct.Struct(">BIB" + _ONE_ADDRESS.format[1:])
_NOTIFY_ONE_SEQ = struct.Struct(">BIB" + _ONE_ADDRESS.format[1:] + "BI")
_NOTIFY_FIXED = (_DATA_NOTIFICATION, 0x00) + _ONE_ADDRESS_FIXED


def _canonical(
    data: bytes, plaintext: bytes, wport: int
) -> tuple[bytes, tuple[str, ...], int, int, str, int, int | None] | None:
    """(title, addresses, port, source wPort, kind, counter, sequence) of a
    verified frame in the exact form a meter's announcer writes (one
    address, no date-time), read with two unpacks; None for anything else,
    which :meth:`Listener._verified` then reads field by field and judges."""
    n = len(plaintext)
    if len(data) < _GLO_FRAME.size or (n != _NOTIFY_ONE.size and n != _NOTIFY_ONE_SEQ.size):
        return None
    _version, source_wport, destination_wport, _length, tag, title_length, title, content, sc, ic = (
        _GLO_FRAME.unpack_from(data)
    )
    if tag != _GENERAL_GLO or title_length != 8 or content & 0x80 or sc & _AE != _AE or destination_wport != wport:
        return None
    if n == _NOTIFY_ONE.size:
        tag, _invoke, date, head, size, pair1, kind_ln, pair2, body_title, pair3, pair4, raw, port_tag, port = (
            _NOTIFY_ONE.unpack(plaintext)
        )
        sequence: int | None = None
        if size != 4:
            return None
    else:
        (tag, _invoke, date, head, size, pair1, kind_ln, pair2, body_title, pair3, pair4, raw, port_tag, port,
         sequence_tag, sequence) = _NOTIFY_ONE_SEQ.unpack(plaintext)  # fmt: skip
        if size != 5 or sequence_tag != 0x06:
            return None
    if (tag, date, head, pair1, pair2, pair3, pair4, port_tag) != _NOTIFY_FIXED or not port or body_title != title:
        return None
    kind = _KINDS.get(kind_ln)
    text = _address_text(raw)
    if kind is None or text is None:
        return None
    return title, (text,), port, source_wport, kind, ic, sequence


def _notification_body(plaintext: bytes) -> int | None:
    """Where the body of a data-notification APDU starts in ``plaintext``
    (after its long-invoke-id and date-time), or None for any other APDU."""
    p = plaintext
    if len(p) < 7 or p[0] != _DATA_NOTIFICATION:
        return None
    q = 5
    if p[q] == 0x09:  # date-time written as a tagged octet-string
        q += 1
    q += 13 if p[q] == 12 else 1
    return q if q <= len(p) else None


def _address_text(raw: bytes) -> str | None:
    """RFC 5952 text of a unicast IPv6 address (None: multicast or
    unspecified, which :func:`decode_body` refuses with its offset)."""
    if raw[0] == 0xFF or raw == bytes(16):
        return None
    text = socket.inet_ntop(socket.AF_INET6, raw)
    if "." in text and not text.startswith("::ffff:"):
        return None  # an IPv4-compatible form C writes differently: the slow path decides
    return text


def parse_body(body: memoryview | bytes) -> tuple[str, bytes, tuple[str, ...], int, int | None] | None:
    """(kind, system title, addresses, port, sequence) of an announcement
    body in its canonical encoding (the one :func:`.announce.encode_body`
    writes), or None for anything else, which :func:`.announce.decode_body`
    then decides (with the offset of the fault).  Ten times faster than the
    general decoder: the listener's batch path runs it on every frame."""
    b = bytes(body)
    n = len(b)
    if n == 43 or n == 48:
        # one address (a meter's usual announcement): every field in one unpack
        head, size, pair1, kind_ln, pair2, title, pair3, pair4, raw, port_tag, port = _ONE_ADDRESS.unpack_from(b)
        if (head, pair1, pair2, pair3, pair4, port_tag) == _ONE_ADDRESS_FIXED and port:
            kind = _KINDS.get(kind_ln)
            text = _address_text(raw)
            if kind is not None and text is not None:
                if size == 4 and n == 43:
                    return kind, title, (text,), port, None
                if size == 5 and n == 48 and b[43] == 0x06:
                    return kind, title, (text,), port, int.from_bytes(b[44:48], "big")
    if n < 43 or b[1] not in (4, 5) or b[0] != 0x02 or b[2:4] != b"\x09\x06":
        return None
    kind = _KINDS.get(b[4:10])
    if kind is None or b[10:12] != b"\x09\x08" or b[20] != 0x01:
        return None
    count = b[21]
    if not 1 <= count <= _MAX_ADDRESSES:
        return None
    end = 22 + 18 * count
    if end + 3 > n:
        return None
    addresses = []
    for pos in range(22, end, 18):
        if b[pos : pos + 2] != b"\x09\x10":
            return None
        text = _address_text(b[pos + 2 : pos + 18])
        if text is None:
            return None
        addresses.append(text)
    if b[end] != 0x12:
        return None
    port = b[end + 1] << 8 | b[end + 2]
    pos = end + 3
    sequence = None
    if b[1] == 5:
        if pos + 5 != n or b[pos] != 0x06:
            return None
        sequence = int.from_bytes(b[pos + 1 : n], "big")
    elif pos != n:
        return None
    if port == 0:
        return None
    return kind, b[12:20], tuple(addresses), port, sequence


def _announcement(body: bytes) -> tuple[str, bytes, tuple[str, ...], int, int | None]:
    fast = parse_body(body)
    if fast is not None:
        return fast
    a = decode_body(body)  # RegistrationError for what is not an announcement
    return a.kind.value, a.system_title, a.addresses, a.port, a.sequence


# ---------------------------------------------------------------- listener


class Listener:
    """Receives registrations and address updates on ``transport`` (bound to
    the registration port, 61616 by default) and records them in
    ``registry``; verifies them with ``keyring`` (the meters' keys by system
    title).  ``system_title`` is the head-end's own.

    ``max_batch`` bounds the datagrams decoded and committed together;
    ``wport`` is the wPort registrations are addressed to (the push client
    SAP); ``on_commit(registrations, outcomes)`` is called after each
    committed transaction (the acknowledgement point); ``clock`` gives the
    receive time recorded (unix seconds).

    Use as ``async with Listener(...)`` or :meth:`start` / :meth:`close`;
    :meth:`drain` waits until what has arrived is committed.

    A process holding the keys of many meters should call
    ``gc.collect(); gc.freeze()`` once they are loaded, as ``dlmsmesh
    listen`` does: otherwise each full pass of Python's garbage collector
    scans every meter's key objects (0.35 s for 100,000 meters) in the
    middle of a storm.
    """

    def __init__(
        self,
        transport: Datagram,
        registry: Registry,
        keyring: Keyring,
        *,
        system_title: bytes,
        max_batch: int = DEFAULT_MAX_BATCH,
        wport: int = PUSH_CLIENT_SAP,
        on_commit: CommitCallback | None = None,
        clock: Callable[[], float] = time.time,
        lookups: bool = True,
    ) -> None:
        title = bytes(system_title)
        if len(title) != 8:
            raise ValueError(f"a system title is 8 octets, not {len(title)}")
        if max_batch < 1:
            raise ValueError("max_batch is at least 1")
        self.transport = transport
        self.registry = registry
        self.keyring = keyring
        self.system_title = title
        self.max_batch = int(max_batch)
        self.wport = int(wport)
        self.on_commit = on_commit
        self.clock = clock
        self.stats = ListenerStats()
        self.lookup = LookupService(registry, self.stats) if lookups else None
        self._task: asyncio.Task[None] | None = None
        self._commit: asyncio.Task[None] | None = None
        self._busy = False
        self._idle = asyncio.Event()
        self._idle.set()

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Seed the replay state from the registry, then receive in the background."""
        if self._task is not None:
            return
        await asyncio.to_thread(self._seed_counters)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="dlmsmesh registration listener")

    async def close(self) -> None:
        """Close the transport and stop: the batch in hand is still checked
        and committed (what was decoded is never left half done), what was
        still queued is dropped, as a datagram network may."""
        await self.transport.close()  # the receive loop's next wait ends with TransportClosed
        task, self._task = self._task, None
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)
        pending, self._commit = self._commit, None
        if pending is not None:
            await asyncio.gather(pending, return_exceptions=True)

    async def __aenter__(self) -> Listener:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def drain(self, timeout: float | None = None) -> None:
        """Wait until nothing received is left undecoded or uncommitted."""

        async def settle() -> None:
            while True:
                await asyncio.sleep(0)
                pending = self._commit
                if pending is not None:
                    await asyncio.gather(pending, return_exceptions=True)
                if not self._busy and self._commit is None and not _queued(self.transport):
                    return
                await self._idle.wait()
                await asyncio.sleep(0)

        await asyncio.wait_for(settle(), timeout)

    def _seed_counters(self) -> None:
        """Bring each context's receive counter up to the registry's (a
        :class:`RegistryCounterStore` reads them all in one pass)."""
        preloaded: set[int] = set()
        for ctx in self.keyring:
            store = ctx.counters
            if isinstance(store, RegistryCounterStore) and store.registry is self.registry:
                if id(store) not in preloaded:
                    store.preload()
                    preloaded.add(id(store))
                continue
            title = ctx.peer_system_title
            if title is None or not ctx.has_key("ek"):
                continue
            binding = self.registry.lookup(title)
            if binding is None or binding.status is not Status.REGISTERED or binding.invocation_counter is None:
                continue
            scope = ctx.counter_scope("rx", title, KeySet.UNICAST)
            last = store.last_accepted(scope)
            if last is None or last < binding.invocation_counter:
                store.accept_many([scope], [binding.invocation_counter])

    # ------------------------------------------------------------ receiving

    async def _run(self) -> None:
        transport = self.transport
        while True:
            try:
                batch = await transport.recv_batch_incoming(self.max_batch)
            except TransportClosed:
                break
            except DlmsError:
                continue
            self._busy = True
            self._idle.clear()
            try:
                await self.handle_batch(batch)
            except Exception:  # the listener outlives a bug in one batch
                log.exception("registration batch of %d datagrams failed", len(batch))
            finally:
                self._busy = False
                if self._commit is None:
                    self._idle.set()
        pending = self._commit
        if pending is not None:
            await asyncio.gather(pending, return_exceptions=True)

    async def handle_batch(self, batch: Sequence[Incoming]) -> None:
        """Decode, check and record one batch of datagrams (what the receive
        loop does with each; the commit of the batch before it is awaited
        before this one's starts, so transactions stay in arrival order)."""
        self.stats.received += len(batch)
        self.stats.batches += 1
        frames: list[bytes] = []
        sources: list[Incoming] = []
        for incoming in batch:
            data = incoming.data
            if self.lookup is not None and is_lookup(data):
                await self.lookup.answer(self.transport, incoming)
            else:
                frames.append(data)
                sources.append(incoming)
        if not frames:
            return
        records, unknown = self._check(frames, sources)
        previous = self._commit
        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)
        if records or unknown:
            loop = asyncio.get_running_loop()
            # the worker thread starts now, not when the loop next runs the
            # task: in a storm the next batch is decoded without a pause, and
            # it is that decode the transaction must overlap
            transaction = loop.run_in_executor(None, self._transaction, records, unknown)
            self._commit = loop.create_task(self._record(transaction, records, unknown))
            self._commit.add_done_callback(self._committed)

    def _committed(self, task: asyncio.Task[None]) -> None:
        if self._commit is task:
            self._commit = None
            if not self._busy:
                self._idle.set()

    def _check(self, frames: list[bytes], sources: list[Incoming]) -> tuple[list[Registration], list[Registration]]:
        """Rule 1 of spec note §4.5 over a batch: (registrations to record,
        frames of titles without keys to quarantine)."""
        result = decode_batch(frames, layer="wrapper", security=self.keyring)
        status = result.status
        plaintexts = result.plaintexts()
        now = self.clock()
        stats = self.stats
        records: list[Registration] = []
        unknown: dict[bytes, Registration] = {}
        wport_wanted = self.wport
        for i, code in enumerate(status):
            data = frames[i]
            source = sources[i].source
            if code == 0:
                plaintext = plaintexts[i]
                assert plaintext is not None
                fast = _canonical(data, plaintext, wport_wanted)
                if fast is not None:
                    title, addresses, port, wport, kind, ic, sequence = fast
                    records.append(Registration(title, addresses, port, wport, kind, ic, sequence, now, source.host))
                    continue
                record = self._verified(data, plaintext, source, now)
                if record is not None:
                    records.append(record)
            elif code == S.PIPE_REPLAY:
                replay = result.error(i)
                header = _glo_header(data)
                sender = None if header is None else header[0]
                if isinstance(replay, ReplayError) and getattr(replay, "counter", -1) + 1 == getattr(
                    replay, "expected", -2
                ):
                    stats.duplicates += 1  # the same frame again (a copy the network made): not logged loudly
                    log.debug("repetition from %s (system title %s) ignored", source.host, _hex(sender))
                else:
                    stats.replays += 1
                    self._reject(source, sender, str(replay))
            elif code == S.SEC_NO_KEY:
                header = _glo_header(data)
                if header is None:
                    stats.security_failures += 1
                    self._reject(source, None, "no keys, and no system title to quarantine")
                    continue
                stranger = bytes(header[0])
                wport = data[2] << 8 | data[3]
                # unverified: the title and the datagram's source are all there is
                unknown[stranger] = Registration(
                    stranger, (source.host,), source.port, wport, AnnouncementKind.REGISTRATION.value, None, None,
                    now, source.host,
                )  # fmt: skip
            elif code in _SECURITY_CODES or code == S.PIPE_PLAIN:
                stats.security_failures += 1
                header = _glo_header(data)
                self._reject(source, None if header is None else header[0], str(result.error(i)))
            else:
                stats.malformed += 1
                self._reject(source, None, str(result.error(i)))
        return records, list(unknown.values())

    def _verified(self, data: bytes, plaintext: bytes, source: Any, now: float) -> Registration | None:
        """The registration a verified frame carries, or None (rejected,
        counted and logged with the reason): every case the canonical
        reading (:func:`_canonical`) does not take."""
        stats = self.stats
        header = _glo_header(data)
        if header is None or header[1] & _AE != _AE:
            stats.security_failures += 1
            self._reject(source, None, "not general-glo-ciphering with authentication and encryption")
            return None
        title, _sc, ic = header
        wport = data[2] << 8 | data[3]
        if data[4] << 8 | data[5] != self.wport:
            stats.malformed += 1
            self._reject(source, title, f"addressed to wPort {data[4] << 8 | data[5]}, not {self.wport}")
            return None
        at = _notification_body(plaintext)
        if at is None:
            stats.malformed += 1
            self._reject(source, title, "not a data-notification")
            return None
        try:
            kind, body_title, addresses, port, sequence = _announcement(plaintext[at:])
        except DlmsError as err:
            stats.malformed += 1
            self._reject(source, title, f"not an announcement ({err})")
            return None
        if body_title != title:
            stats.security_failures += 1
            self._reject(source, title, f"announces system title {body_title.hex().upper()}")
            return None
        return Registration(title, addresses, port, wport, kind, ic, sequence, now, source.host)

    def _reject(self, source: Any, title: bytes | None, reason: str) -> None:
        if log.isEnabledFor(logging.WARNING):
            log.warning("registration from %s (system title %s) rejected: %s", source.host, _hex(title), reason)

    # ------------------------------------------------------------ recording

    async def _record(
        self,
        transaction: asyncio.Future[tuple[list[Outcome], list[Outcome]]],
        records: list[Registration],
        unknown: list[Registration],
    ) -> None:
        try:
            outcomes, quarantined = await transaction
        except Exception as err:
            self.stats.store_errors += len(records) + len(unknown)
            log.error("registry failed %d times; %d registrations not recorded: %s", COMMIT_ATTEMPTS, len(records), err)
            self._forget(records)
            return
        stats = self.stats
        for outcome in outcomes:
            if outcome is Outcome.RECORDED:
                stats.recorded += 1
            elif outcome is Outcome.DUPLICATE:
                stats.duplicates += 1
            else:
                stats.stale += 1
        for outcome in quarantined:
            if outcome is Outcome.QUARANTINED:
                stats.quarantined += 1
            else:
                stats.stale += 1
        for item in unknown:
            log.info("system title %s at %s has no keys: quarantined", _hex(item.system_title), item.source)
        if self.on_commit is not None:
            try:
                self.on_commit(records + unknown, list(outcomes) + list(quarantined))
            except Exception:
                log.exception("on_commit callback failed")

    def _transaction(
        self, records: list[Registration], unknown: list[Registration]
    ) -> tuple[list[Outcome], list[Outcome]]:
        delay = 0.05
        for attempt in range(COMMIT_ATTEMPTS):
            try:
                if not unknown:
                    return self.registry.record_many(records), []
                # both in one transaction: a retry never finds half of the batch written
                return self.registry.record_batch(records, unknown)
            except Exception as err:
                if attempt == COMMIT_ATTEMPTS - 1:
                    raise
                log.warning("registry transaction failed (%s); trying again in %.2f s", err, delay)
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    def _forget(self, records: list[Registration]) -> None:
        titles = [r.system_title for r in records]
        for ctx in self.keyring:
            store = ctx.counters
            if isinstance(store, RegistryCounterStore):
                store.forget(titles)
                break


def _hex(title: bytes | None) -> str:
    return "?" if title is None else title.hex().upper()


def _queued(transport: Datagram) -> int:
    inbox = getattr(transport, "_inbox", None)
    return len(inbox) if inbox is not None else 0
