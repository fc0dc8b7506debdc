"""A listener for meter data pushes (data-notifications), batch by batch.

:class:`PushListener` takes datagrams off a transport (``dlmsmesh.transport``:
real UDP or the in-process network), gathers them into one batch until
``max_batch`` datagrams arrived or ``max_delay`` seconds passed since the
first one, whichever comes first, and opens the batch with
:func:`dlmsmesh.pipeline.decode_batch` and the meters' :class:`Keyring` (one
backend call: tags verified, counters checked, plaintexts parsed)::

    async with PushListener(transport, keyring) as listener:
        async for batch in listener:
            table = batch.columns()          # one row per notification
            store(table["system_title"], table["date_time"], table["body.1"])

Each :class:`PushBatch` offers the push values as columns
(:meth:`PushBatch.columns`, the layout learned from the first notification
and kept for the next batches unless given), per-frame access
(:attr:`PushBatch.decoded`, :attr:`PushBatch.sources`) and its failures by
kind (:meth:`PushBatch.failures`).  A frame from a system title without keys
is quarantined as the registration listener does (kept in
:attr:`PushListener.quarantined`, and in the :class:`Registry` when one is
given) for an operator to admit; replays and frames whose tag does not verify
are counted and logged, never delivered.

**Back-pressure.**  At most ``max_pending`` decoded batches wait for the
consumer; while they wait, the receive loop stops taking datagrams, the
transport's bounded queue fills and, once full, drops further datagrams and
counts them (then the kernel's socket buffer does the same, counted by the
kernel).  Memory stays bounded by ``max_pending * max_batch`` datagrams plus
the transport's queue; :attr:`PushListener.stats` reports every drop
(``dropped``: the transport's; :meth:`kernel_drops`: the socket's, where the
system tells it) and a warning is logged when drops begin.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, fields
from typing import Any

from . import _status as S
from .errors import DlmsError, DlmsTimeout
from .pipeline import FrameBuffer, decode_batch
from .pipeline.push_columns import PushLayout, PushTable
from .pipeline.result import DecodedBatch
from .security import Keyring
from .transport import Address, Datagram, Incoming, TransportClosed

__all__ = ["PushListener", "PushBatch", "PushStats", "kernel_drops"]

log = logging.getLogger("dlmsmesh.push")

DEFAULT_MAX_BATCH = 4096
DEFAULT_MAX_DELAY = 0.02
DEFAULT_MAX_PENDING = 4
#: system titles kept in the quarantine (the oldest forgotten beyond)
QUARANTINE_MAX = 65536

_SECURITY_CODES = frozenset(
    (S.SEC_AUTH, S.SEC_SUITE, S.SEC_CONTROL, S.SEC_POLICY, S.SEC_TAG, S.SEC_TITLE, S.SEC_NO_TITLE, S.SEC_MISMATCH)
)
_WRAPPER = 8
_GENERAL_GLO = 0xDB
_END: Any = object()

#: failure kinds of :meth:`PushBatch.failures`
REPLAY, TAMPERED, UNKNOWN, MALFORMED = "replay", "tampered", "unknown", "malformed"


@dataclass
class PushStats:
    """Every datagram counted: ``received`` ends in ``decoded`` or in one of
    the failure counters; ``dropped`` never reached the listener (the
    transport's queue was full while the consumer was slow)."""

    received: int = 0
    batches: int = 0
    decoded: int = 0  # frames that verified and parsed (notifications or other APDUs)
    replays: int = 0  # invocation counter not above the last accepted one
    tampered: int = 0  # the tag did not verify, or the security header is wrong
    unknown: int = 0  # no keys for the sender: quarantined
    malformed: int = 0  # wrapper or APDU not readable
    dropped: int = 0  # taken by the transport but not queued: its queue was full
    waits: int = 0  # times the receive loop waited for the consumer

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class QuarantineEntry:
    """A sender without keys: where it was last heard from, how often."""

    system_title: bytes
    source: str
    first_seen: float
    last_seen: float
    frames: int = 0


def _glo_title(data: bytes) -> bytes | None:
    """The system title of a general-glo-ciphering APDU after the wrapper."""
    a = _WRAPPER
    if len(data) < a + 10 or data[a] != _GENERAL_GLO or data[a + 1] != 8:
        return None
    return bytes(data[a + 2 : a + 10])


def kernel_drops(transport: Any) -> int | None:
    """Datagrams the kernel dropped on ``transport``'s socket (its receive
    buffer was full), or None where the system does not say (Linux: the
    ``drops`` column of /proc/net/udp and udp6 for the socket's inode)."""
    sock = getattr(transport, "_sock", None)
    if sock is None:
        return None
    try:
        inode = str(os.fstat(sock.fileno()).st_ino)
    except (OSError, ValueError):
        return None
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(table) as fh:
                next(fh, None)
                for line in fh:
                    parts = line.split()
                    if len(parts) >= 13 and parts[9] == inode:
                        return int(parts[-1])
        except OSError:
            continue
    return None


class PushBatch:
    """One batch of received datagrams, decoded.

    ``decoded``: the :class:`~dlmsmesh.pipeline.DecodedBatch` (per frame:
    ``apdu(i)``, ``body(i)``, ``security(i)``, ``error(i)``); ``sources``:
    each datagram's source address; ``received_at``: when the first arrived
    (unix seconds)."""

    __slots__ = ("decoded", "sources", "received_at", "_listener", "_kinds", "_strangers")

    def __init__(
        self, decoded: DecodedBatch, sources: list[Address], received_at: float, listener: PushListener | None
    ) -> None:
        self.decoded = decoded
        self.sources = sources
        self.received_at = received_at
        self._listener = listener
        self._kinds: dict[int, str] = {}
        self._strangers: dict[int, bytes] = {}  # frame -> the system title of a sender without keys

    def __len__(self) -> int:
        return len(self.decoded)

    def __repr__(self) -> str:
        return f"PushBatch({len(self)} datagrams, {self.decoded.ok} decoded)"

    def columns(self, layout: PushLayout | Any = None, **kw: Any) -> PushTable:
        """The batch's data-notifications as columns (see
        :meth:`DecodedBatch.columns`).  Without ``layout``, the listener's:
        the one given to it, else the one inferred from the first batch
        with a notification, so every batch gives the same columns."""
        owner = self._listener
        if layout is None and owner is not None:
            layout = owner.layout
        table = self.decoded.columns(layout, **kw)
        if owner is not None and owner.layout is None and table.push_layout.fields:
            owner.layout = table.push_layout
        return table

    def failures(self) -> dict[int, str]:
        """Frame index -> why it was not delivered: ``replay``, ``tampered``,
        ``unknown`` (no keys: quarantined) or ``malformed``."""
        return dict(self._kinds)


class PushListener:
    """Receives data-notifications on ``transport`` and yields them as
    decoded batches (``async for batch in listener``).

    ``keyring``: the meters' keys; ``max_batch``/``max_delay``: a batch is
    decoded when that many datagrams arrived or that many seconds passed
    since its first one; ``max_pending``: decoded batches that may wait for
    the consumer before the receive loop waits too (back-pressure);
    ``layout``: the body layout of the columns (None: learned); ``registry``:
    where unknown senders are quarantined besides :attr:`quarantined`.
    """

    def __init__(
        self,
        transport: Datagram,
        keyring: Keyring,
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        max_delay: float = DEFAULT_MAX_DELAY,
        max_pending: int = DEFAULT_MAX_PENDING,
        layout: PushLayout | Any = None,
        registry: Any = None,
        clock: Any = time.time,
    ) -> None:
        if max_batch < 1 or max_pending < 1:
            raise ValueError("max_batch and max_pending are at least 1")
        if max_delay < 0:
            raise ValueError("max_delay is not negative")
        self.transport = transport
        self.keyring = keyring
        self.max_batch = int(max_batch)
        self.max_delay = float(max_delay)
        self.layout: PushLayout | None = None if layout is None else PushLayout.of(layout)
        self.registry = registry
        self.clock = clock
        self.stats = PushStats()
        self.quarantined: dict[bytes, QuarantineEntry] = {}
        self._queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=int(max_pending))
        self._task: asyncio.Task[None] | None = None
        self._done = False
        self._dropped_base = int(getattr(transport, "dropped", 0) or 0)
        self._kernel_base = kernel_drops(transport) or 0
        self._warned = False

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="dlmsmesh push listener")

    async def close(self) -> None:
        """Close the transport and stop receiving; batches already decoded
        are still yielded to an ``async for`` that goes on."""
        await self.transport.close()
        task, self._task = self._task, None
        if task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(task), 1.0)
            except asyncio.TimeoutError:  # the loop waits on a full queue nobody reads: stop it
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                self._done = True

    async def __aenter__(self) -> PushListener:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __aiter__(self) -> AsyncIterator[PushBatch]:
        return self

    async def __anext__(self) -> PushBatch:
        if self._done and self._queue.empty():
            raise StopAsyncIteration
        await self.start()
        item = await self._queue.get()
        if item is _END:
            self._done = True
            raise StopAsyncIteration
        return item  # type: ignore[no-any-return]

    async def next_batch(self, timeout: float | None = None) -> PushBatch | None:
        """The next batch, or None when the listener ended (or nothing came
        within ``timeout``)."""
        try:
            return await asyncio.wait_for(self.__anext__(), timeout)
        except (StopAsyncIteration, asyncio.TimeoutError):
            return None

    def kernel_drops(self) -> int | None:
        """Datagrams the kernel dropped on the socket since the listener was made."""
        now = kernel_drops(self.transport)
        return None if now is None else now - self._kernel_base

    # ------------------------------------------------------------ receiving

    async def _run(self) -> None:
        transport = self.transport
        loop = asyncio.get_running_loop()
        closed = False
        try:
            while not closed:
                try:
                    batch = await transport.recv_batch_incoming(self.max_batch)
                except TransportClosed:
                    break
                except DlmsError:
                    continue
                received_at = self.clock()
                deadline = loop.time() + self.max_delay
                while len(batch) < self.max_batch:
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        break
                    try:
                        batch += await transport.recv_batch_incoming(self.max_batch - len(batch), timeout=remaining)
                    except DlmsTimeout:
                        break
                    except TransportClosed:
                        closed = True
                        break
                    except DlmsError:
                        break
                pushed = self.handle_batch(batch, received_at)
                self._note_drops()
                if self._queue.full():
                    self.stats.waits += 1
                await self._queue.put(pushed)
                if pushed._strangers:
                    await self._quarantine(pushed)
        finally:
            self._note_drops()
            try:
                self._queue.put_nowait(_END)
            except asyncio.QueueFull:
                self._done = True  # the consumer still drains what is queued, then stops

    def _note_drops(self) -> None:
        dropped = int(getattr(self.transport, "dropped", 0) or 0) - self._dropped_base
        if dropped > self.stats.dropped:
            if not self._warned:
                log.warning("push consumer too slow: the transport's queue is full, datagrams are dropped")
                self._warned = True
            self.stats.dropped = dropped

    def handle_batch(self, batch: Sequence[Incoming], received_at: float | None = None) -> PushBatch:
        """Decode one batch of datagrams (what the receive loop does with each)."""
        stats = self.stats
        stats.received += len(batch)
        stats.batches += 1
        frames = FrameBuffer.join([incoming.data for incoming in batch])
        decoded = decode_batch(frames, layer="wrapper", security=self.keyring)
        sources = [incoming.source for incoming in batch]
        pushed = PushBatch(decoded, sources, self.clock() if received_at is None else received_at, self)
        stats.decoded += decoded.ok
        kinds = pushed._kinds
        for i in decoded.failed_indices():
            code = decoded.status[i]
            if code == S.PIPE_REPLAY:
                kind = REPLAY
                stats.replays += 1
            elif code == S.SEC_NO_KEY:
                kind = UNKNOWN
                stats.unknown += 1
            elif code in _SECURITY_CODES or code == S.PIPE_PLAIN:
                kind = TAMPERED
                stats.tampered += 1
            else:
                kind = MALFORMED
                stats.malformed += 1
            kinds[i] = kind
            if kind == UNKNOWN:
                stranger = _glo_title(batch[i].data)
                if stranger is not None:
                    pushed._strangers[i] = stranger
            elif log.isEnabledFor(logging.INFO):
                title = _glo_title(batch[i].data)
                log.info(
                    "push from %s (system title %s) refused: %s",
                    sources[i].host,
                    "?" if title is None else title.hex().upper(),
                    decoded.error(i),
                )
        return pushed

    async def _quarantine(self, pushed: PushBatch) -> None:
        """Record the senders without keys (never their unverified values)."""
        now = pushed.received_at
        fresh = []
        for i, title in pushed._strangers.items():
            source = pushed.sources[i]
            entry = self.quarantined.get(title)
            if entry is None:
                if len(self.quarantined) >= QUARANTINE_MAX:
                    self.quarantined.pop(next(iter(self.quarantined)))
                entry = self.quarantined[title] = QuarantineEntry(title, source.host, now, now)
                fresh.append((title, source))
                log.info("system title %s at %s has no keys: quarantined", title.hex().upper(), source.host)
            entry.frames += 1
            entry.last_seen = now
            entry.source = source.host
        if fresh and self.registry is not None:
            from .registration.model import Registration

            items = [Registration(t, (s.host,), s.port, 0, "registration", None, None, now, s.host) for t, s in fresh]
            try:
                await asyncio.to_thread(self.registry.quarantine_many, items)
            except Exception:  # the registry's failure must not stop the pushes
                log.exception("could not quarantine %d senders in the registry", len(items))


# --------------------------------------------------------------------------
# push values to a file (``dlmsmesh listen --pushes FILE``)
# --------------------------------------------------------------------------


class PushFileWriter:
    """Writes push rows to ``path``: CSV when it ends in ``.csv`` (a header
    line from the first table's column names), else JSON Lines (one object
    per notification).  Values as :meth:`PushTable.records` gives them."""

    def __init__(self, path: str) -> None:
        self.path = str(path)
        self.csv = self.path.lower().endswith(".csv")
        self.rows = 0
        self.other = 0
        self._fh = open(self.path, "w", newline="" if self.csv else None, encoding="utf-8")  # noqa: SIM115
        self._csv: Any = None
        self._header: list[str] | None = None

    def write(self, table: PushTable) -> None:
        import csv
        import json

        self.other += len(table.other)
        if not table.rows:
            return
        names = [n or f"field{k}" for k, n in enumerate(table.names)]
        if self.csv:
            if self._csv is None:
                self._csv = csv.writer(self._fh)
                self._csv.writerow(names)
                self._header = names
            elif names != self._header:
                raise ValueError("a push table with other columns than the file's")
            for rec in table.records():
                self._csv.writerow(["" if v is None else v for v in rec.values()])
        else:
            dumps = json.dumps
            self._fh.writelines(dumps(rec, separators=(",", ":")) + "\n" for rec in table.records())
        self.rows += table.rows
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


class PushFileSession:
    """A :class:`PushListener` whose batches go to a :class:`PushFileWriter`,
    in the background (``dlmsmesh listen --pushes``)."""

    def __init__(self, listener: PushListener, writer: PushFileWriter) -> None:
        self.listener = listener
        self.writer = writer
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, host: str, port: int, path: str, keyring: Keyring, *, registry: Any = None) -> PushFileSession:
        from .transport import UdpTransport

        writer = PushFileWriter(path)
        try:
            transport = await UdpTransport.open(host, port, queue_size=1 << 16, receive_buffer=1 << 22)
        except BaseException:
            writer.close()
            raise
        session = cls(PushListener(transport, keyring, registry=registry), writer)
        session._task = asyncio.get_running_loop().create_task(session._run(), name="dlmsmesh push file")
        return session

    @property
    def address(self) -> Address:
        return self.listener.transport.local_address

    async def _run(self) -> None:
        async for batch in self.listener:
            try:
                self.writer.write(batch.columns())
            except Exception:  # one bad batch must not end the pushes
                log.exception("push batch of %d datagrams not written", len(batch))

    async def close(self) -> dict[str, Any]:
        """Stop, write what was decoded, close the file; the summary."""
        await self.listener.close()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        self.writer.close()
        out: dict[str, Any] = self.listener.stats.as_dict()
        out["rows"] = self.writer.rows
        out["other"] = self.writer.other
        return out
