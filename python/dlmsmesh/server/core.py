"""The asyncio Server: meters behind one datagram transport.

Every datagram is a wrapper PDU (IEC 62056-47 UDP wrapper): its destination
host picks the meter (a meter with no ``address`` takes whatever no other
meter claims), its destination wPort the logical device, its source wPort
and source address the association.  One datagram is served by one task
(at most ``max_tasks`` at once; beyond that datagrams wait in the
transport's bounded queue); the datagrams of one association are served in
arrival order.

Nothing a peer sends makes the server raise: a datagram is answered (an
AARE, an RLRE, a response, an exception-response) or dropped, and every
outcome is counted in :attr:`Server.stats`.  A datagram is only ever
answered from the meter, logical device and association it addressed.

Choices the spec notes leave open (standard-like; UNVERIFIED against the
Green Book):

* general-block-transfer blocks travel plain whatever the security policy
  (the APDU is ciphered whole, then cut, as Gurux does); the
  policy is enforced on the APDU the blocks carry once reassembled;
* a refused AARQ leaves the association its client already has (same
  client SAP and address) in place; an accepted one replaces it;
* the pre-established client (0x66) is known by the system title of its
  general-glo/general-ded frames; once one has verified, that peer's glo-
  frames are opened with the same title's keys;
* a key_transfer takes effect after its own reply, and every other
  association of the meter opens its next request with the new keys.
"""

from __future__ import annotations

import asyncio
import collections
import ipaddress
import logging
import random
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, fields
from typing import Any, TypeVar, cast

from .. import acse as _acse
from .. import apdu as A
from .. import stack, wrapper
from ..acse_pdu import AARQ, RLRQ
from ..apdu_model import ServiceError, StateError
from ..errors import DecodeError, DlmsError, DlmsTimeout
from ..security import KeySet, MemoryCounterStore, SecurityPolicy
from ..security.envelope import general_sender_title, security_control_of
from ..security.tags import (
    CIPHERED_TAGS,
    GENERAL_DED_CIPHERING,
    GENERAL_GLO_CIPHERING,
    SC_AUTHENTICATION,
    SC_BROADCAST,
    SERVICE_TAGS,
    FrameKind,
)
from ..transport import Datagram, Incoming, InProcessEndpoint, TransportClosed, UdpHosts, UdpTransport
from ..transport.clock import RealClock
from ..transport.interface import normalize_host
from ..xdlms_initiate import Conformance
from . import eager, express, fastpath, services
from .associate import open_association, release
from .delayed import DEFAULT_MAX_DELAYED
from .group_requests import GroupRequests
from .groups import is_multicast
from .meter import ALL_STATION, Meter
from .offload import off_loop
from .replies import DEFAULT_MAX_PDU_SIZE, Framing, gbt_next, limit_of, shape
from .session import IncomingBlocks, Session, SessionKey

_T = TypeVar("_T")

__all__ = ["Server", "ServerStats", "DEFAULT_IDLE_TIMEOUT", "DEFAULT_MAX_ASSOCIATIONS"]

log = logging.getLogger(__name__)

#: an association nobody used for this long is forgotten (IEC 62056-8-20
#: lets them live for hours over UDP)
DEFAULT_IDLE_TIMEOUT = 24 * 3600.0
#: associations kept at once (the least recently used goes first)
DEFAULT_MAX_ASSOCIATIONS = 100_000
#: the longest the object handlers of one request may take
DEFAULT_REQUEST_TIMEOUT = 30.0
#: an HLS association not through pass 3 after this long is forgotten
PENDING_TIMEOUT = 60.0

_AARQ_TAG, _RLRQ_TAG, _GBT_TAG = 0x60, 0x62, 0xE0
_REQUEST_TYPES = (
    A.GetRequestNormal, A.GetRequestNext, A.GetRequestWithList,
    A.SetRequestNormal, A.SetRequestWithFirstDatablock, A.SetRequestWithDatablock, A.SetRequestWithList,
    A.SetRequestWithListAndFirstDatablock,
    A.ActionRequestNormal, A.ActionRequestNextPblock, A.ActionRequestWithList, A.ActionRequestWithFirstPblock,
    A.ActionRequestWithListAndFirstPblock, A.ActionRequestWithPblock,
)  # fmt: skip


@dataclass
class ServerStats:
    """What the server did with the datagrams it received."""

    received: int = 0
    answered: int = 0
    #: not a wrapper PDU, or an APDU that does not decode
    malformed: int = 0
    #: addressed to no meter or logical device here
    unknown_destination: int = 0
    #: xDLMS requests outside any association
    unassociated: int = 0
    #: ciphered APDUs that failed verification (wrong key, bad tag, policy)
    security_failures: int = 0
    #: ciphered APDUs whose invocation counter did not move forward
    replays: int = 0
    associations_opened: int = 0
    associations_refused: int = 0
    associations_released: int = 0
    associations_expired: int = 0
    #: requests whose object handlers did not finish within ``request_timeout``
    timeouts: int = 0
    #: failures of the server itself (logged): a bug, always 0
    internal_errors: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class Server:
    """Meters served over one :class:`~dlmsmesh.transport.Datagram` endpoint.

    ``max_pdu_size`` caps every APDU the server sends and is the
    max-receive-pdu-size it announces; ``idle_timeout`` and
    ``max_associations`` bound how long and how many associations are kept;
    ``request_timeout`` how long the object handlers of one request may take
    (an async handler that hangs gets the request an exception-response
    other-reason, and the association goes on).
    A datagram sent to a multicast address is a group request
    (:mod:`dlmsmesh.server.group_requests`): the endpoint is subscribed to
    every group address a hosted meter may answer on, and members answer
    after a random delay drawn from ``rng`` (seed it for a repeatable run),
    at most ``max_delayed`` answers waiting per meter.
    Use as ``async with Server(transport) as server:`` (or :meth:`start` and
    :meth:`close`); :meth:`handle` serves one datagram without a transport
    loop (tests, simulators).
    """

    def __init__(
        self,
        transport: Datagram,
        *,
        max_pdu_size: int = DEFAULT_MAX_PDU_SIZE,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        max_associations: int = DEFAULT_MAX_ASSOCIATIONS,
        max_tasks: int = 256,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        max_delayed: int = DEFAULT_MAX_DELAYED,
    ) -> None:
        if not 64 <= max_pdu_size <= 0xFFFF:
            raise ValueError("max_pdu_size is 64..65535")
        if not request_timeout > 0:
            raise ValueError("request_timeout is a number of seconds > 0")
        self.request_timeout = float(request_timeout)
        self.transport = transport
        self.max_pdu_size = max_pdu_size
        self.idle_timeout = float(idle_timeout)
        self.max_associations = int(max_associations)
        self.max_tasks = int(max_tasks)
        self.clock = clock
        self.stats = ServerStats()
        self._meters: list[Meter | None] = []
        self._by_title: dict[bytes, int] = {}
        self._by_address: dict[str, int] = {}
        self._default: int | None = None
        self._readdressed: list[Callable[[bytes, str | None], object]] = []
        self._sessions: collections.OrderedDict[SessionKey, Session] = collections.OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._last_sweep = 0.0
        # an endpoint with an address per meter answers from the one asked
        self._aliased = transport if isinstance(transport, (InProcessEndpoint, UdpHosts)) else None
        self._udp_wildcard = isinstance(transport, UdpTransport) and bool(transport._pktinfo)
        #: datagrams come by the transport's on_receive callback
        self._pushed = False
        #: datagrams that arrived while max_tasks were running
        self._backlog: collections.deque[Incoming] = collections.deque()
        #: object handlers that had to wait (each bounded by request_timeout)
        self._handlers: set[asyncio.Task[Any]] = set()
        #: draws the delays of group answers (seed it for a repeatable run)
        self.rng = rng if rng is not None else random.Random()  # noqa: S311 - spreading load, not security
        self._groups = GroupRequests(self, max_delayed)
        #: what the server did with group (multicast) requests
        self.group_stats = self._groups.stats

    # ------------------------------------------------------------------ meters

    def add_meter(self, meter: Meter) -> Meter:
        """Host ``meter`` (at ``meter.address``, or as the default meter)."""
        if meter.system_title in self._by_title:
            raise ValueError(f"a meter with system title {meter.system_title.hex()} is here already")
        # the transports give canonical hosts (RFC 5952): "FD00:0::1" must match "fd00::1"
        host = None if meter.address is None else normalize_host(meter.address)
        if host is None and self._default is not None:
            raise ValueError("two meters without an address: give each meter the address it answers at")
        if host is not None and host in self._by_address:
            raise ValueError(f"a meter answers at {host} already")
        index = len(self._meters)
        self._meters.append(meter)
        self._by_title[meter.system_title] = index
        if host is None:
            self._default = index
        else:
            self._by_address[host] = index
        self._groups.memberships.attach(index, meter)
        return meter

    def add_meters(self, meters: Iterable[Meter]) -> None:
        for meter in meters:
            self.add_meter(meter)

    def remove_meter(self, system_title: bytes) -> Meter:
        """Stop serving a meter (its associations end)."""
        index = self._by_title.pop(bytes(system_title))
        meter = self._meters[index]
        assert meter is not None
        self._meters[index] = None
        if meter.address is None:
            self._default = None
        else:
            self._by_address.pop(normalize_host(meter.address), None)
        for key in [k for k in self._sessions if k[0] == index]:
            del self._sessions[key]
        self._groups.forget(index)
        return meter

    def readdress(self, system_title: bytes, address: str | None) -> None:
        """The meter now answers at ``address`` (node migration, IEC 62056-8-20:
        a new IPv6 address under a live association); its associations go on."""
        index = self._by_title[bytes(system_title)]
        meter = self._meters[index]
        assert meter is not None
        host = None if address is None else normalize_host(address)
        if host is not None and self._by_address.get(host, index) != index:
            raise ValueError(f"a meter answers at {host} already")
        if host is None and self._default not in (None, index):
            raise ValueError("another meter is the one without an address")
        if meter.address is None:
            self._default = None
        else:
            self._by_address.pop(normalize_host(meter.address), None)
        meter.address = address
        if host is None:
            self._default = index
        else:
            self._by_address[host] = index
        for callback in list(self._readdressed):
            try:
                callback(meter.system_title, address)
            except Exception:
                log.exception("a readdress callback failed for meter %s", meter.system_title.hex())

    def on_readdress(self, callback: Callable[[bytes, str | None], object]) -> Callable[[], None]:
        """Call ``callback(system_title, address)`` after every
        :meth:`readdress` (an announcer sends the address update); returns
        the function that stops it.  A callback must not block; one that
        raises is logged and the move stands."""
        self._readdressed.append(callback)

        def stop() -> None:
            if callback in self._readdressed:
                self._readdressed.remove(callback)

        return stop

    def meter(self, system_title: bytes) -> Meter:
        index = self._by_title[bytes(system_title)]
        found = self._meters[index]
        assert found is not None
        return found

    @property
    def meters(self) -> list[Meter]:
        return [m for m in self._meters if m is not None]

    @property
    def associations(self) -> int:
        """Associations open now (pre-established ones in use included)."""
        return len(self._sessions)

    @property
    def group_addresses(self) -> frozenset[str]:
        """The multicast addresses the endpoint is subscribed to for its meters' groups."""
        return self._groups.memberships.addresses

    @property
    def delayed_answers(self) -> int:
        """Answers to group requests waiting for their time."""
        return len(self._groups.delayed)

    def _meter_at(self, host: str) -> tuple[int, Meter] | None:
        index = self._by_address.get(host, self._default)
        if index is None:
            return None
        meter = self._meters[index]
        return None if meter is None else (index, meter)

    # ------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Serve in the background until :meth:`close`."""
        if self._loop_task is None:
            self._loop_task = asyncio.get_running_loop().create_task(self._run(), name="dlmsmesh server")

    async def close(self) -> None:
        """Stop serving: every task is cancelled and awaited; the transport closes."""
        loop_task, self._loop_task = self._loop_task, None
        if loop_task is not None:
            loop_task.cancel()
        tasks = [*self._tasks, *self._handlers]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*(t for t in [loop_task, *tasks] if t is not None), return_exceptions=True)
        self._tasks.clear()
        self._handlers.clear()
        await self._groups.delayed.close()
        await self.transport.close()
        # no watcher of this server stays on the meters' objects
        self._groups.memberships.detach_all()

    async def __aenter__(self) -> Server:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def serve_forever(self) -> None:
        """Serve until cancelled (then close)."""
        await self.start()
        try:
            assert self._loop_task is not None
            await self._loop_task
        finally:
            await self.close()

    def _sweep_every(self) -> float:
        return min(60.0, max(1.0, self.idle_timeout / 4))

    async def _run(self) -> None:
        on_receive = getattr(self.transport, "on_receive", None)
        if on_receive is None:
            return await self._receive_loop()
        # the library's endpoints hand each datagram over as it arrives, and
        # it is served there and then (a task only for one that must wait);
        # this task keeps the idle sweep and notices a transport closed under it
        clock = getattr(self.transport, "clock", None) or RealClock()
        on_receive(self._on_datagram)
        self._pushed = True
        try:
            while not self.transport.closed:
                await clock.sleep(min(1.0, self._sweep_every()))
                if self.clock() - self._last_sweep > self._sweep_every():
                    self._sweep()
        finally:
            self._pushed = False
            self._backlog.clear()
            if not self.transport.closed:
                on_receive(None)

    def _on_datagram(self, incoming: Incoming) -> None:
        if len(self._tasks) >= self.max_tasks or self._backlog:
            # back-pressure: this datagram waits here and the next ones in the
            # transport's bounded queue (which drops and counts beyond its
            # size) until a task ends
            self._backlog.append(incoming)
            self.transport.on_receive(None)  # type: ignore[attr-defined]
            return
        if not express.serve(self, incoming):
            self._dispatch(incoming)

    def _dispatch(self, incoming: Incoming) -> None:
        self._step(self._serve_one(incoming))

    def _step(self, coro: Coroutine[Any, Any, None]) -> None:
        """Step ``coro`` at once; a task (counted in max_tasks) for the rest when it waits."""
        result, yielded = eager.step(coro)
        if result is not eager.PENDING:
            return
        task = asyncio.get_running_loop().create_task(eager.finish(coro, yielded))
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not self._pushed:
            return
        backlog = self._backlog
        while backlog and len(self._tasks) < self.max_tasks:
            self._dispatch(backlog.popleft())
        if not backlog and not self.transport.closed:
            self.transport.on_receive(self._on_datagram)  # type: ignore[attr-defined]

    async def _receive_loop(self) -> None:
        sweep_every = self._sweep_every()
        while True:
            try:
                batch = await self.transport.recv_batch_incoming(64, timeout=sweep_every)
            except DlmsTimeout:
                self._sweep()
                continue
            except TransportClosed:
                return
            for incoming in batch:
                if len(self._tasks) >= self.max_tasks:
                    # back-pressure: datagrams wait in the transport's bounded
                    # queue (which drops and counts beyond its size)
                    await asyncio.wait(set(self._tasks), return_when=asyncio.FIRST_COMPLETED)
                task = asyncio.get_running_loop().create_task(self._serve_one(incoming))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            if self.clock() - self._last_sweep > sweep_every:
                self._sweep()

    async def _serve_one(self, incoming: Incoming) -> None:
        await self._send_replies(incoming, await self.handle(incoming))

    async def _send_replies(self, incoming: Incoming, replies: list[bytes]) -> None:
        # a meter answers from the address it was asked at, where the
        # transport can choose (the in-process network's aliases)
        source = incoming.destination
        aliased = self._aliased
        if aliased is not None and not aliased.owns(source):
            aliased = None  # a multicast group: answered from the endpoint's own host
        # a UDP socket bound to the wildcard address answers from the unicast
        # address it was asked at (the kernel would pick one of its own)
        udp_from = source.host if self._udp_wildcard and _unicast(source.host) else None
        for reply in replies:
            try:
                if aliased is not None:
                    await aliased.send(reply, incoming.source, source=source.host)
                elif udp_from is not None:
                    await self.transport.send(reply, incoming.source, source=udp_from)  # type: ignore[call-arg]
                else:
                    await self.transport.send(reply, incoming.source)
            except TransportClosed:
                return
            except DlmsError as err:
                log.warning("reply to %s not sent: %s", incoming.source, err)

    def _sweep(self) -> None:
        """Forget associations idle too long (pending HLS ones sooner)."""
        now = self.clock()
        self._last_sweep = now
        for key, session in list(self._sessions.items()):
            if self._expired(session, now):
                del self._sessions[key]
                self.stats.associations_expired += 1

    def _expired(self, session: Session, now: float) -> bool:
        limit = self.idle_timeout if session.authenticated else min(self.idle_timeout, PENDING_TIMEOUT)
        return now - session.last_used > limit

    # ---------------------------------------------------------------- serving

    async def handle(self, incoming: Incoming) -> list[bytes]:
        """Serve one datagram: the datagrams to send back to its source (none
        for a group request: its members answer later, by the transport).
        Never raises (a failure of the server itself is logged and counted)."""
        self.stats.received += 1
        try:
            replies = await self._handle(incoming)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("serving a datagram from %s failed", incoming.source)
            self.stats.internal_errors += 1
            return []
        if replies:
            self.stats.answered += 1
        return replies

    async def _handle(self, incoming: Incoming) -> list[bytes]:
        fields = fastpath.wrapper_fields(incoming.data)
        if fields is None:
            try:
                header, payload = wrapper.decode(incoming.data)
            except DecodeError:
                self.stats.malformed += 1
                return []
            fields = header.source_wport, header.destination_wport, payload
        client_sap, server_sap, payload = fields
        if is_multicast(incoming.destination.host):
            await self._groups.handle(incoming, client_sap, server_sap, payload)
            return []  # a group request is answered later, if at all
        found = self._meter_at(incoming.destination.host)
        if found is None or (server_sap not in found[1].logical_devices and server_sap != ALL_STATION):
            self.stats.unknown_destination += 1
            return []
        index, meter = found
        if not payload:
            self.stats.malformed += 1
            return []
        key = (index, server_sap, client_sap, incoming.source)
        apdus = await self._serve_apdu(meter, index, key, payload)
        reply_from = server_sap if server_sap != ALL_STATION else min(meter.logical_devices)
        return [fastpath.wrap(reply_from, client_sap, out) for out in apdus]

    def _pre_session(self, meter: Meter, index: int, key: SessionKey) -> Session | None:
        """A fresh session of the association the client has without an AARQ (None: it has none)."""
        _, server_sap, client_sap, peer = key
        association = meter.pre_established(client_sap, server_sap)
        if association is None:
            return None
        return Session(
            meter=meter, meter_index=index, association=association, client_sap=client_sap,
            server_sap=server_sap, peer=peer, pre_established=True,
            policy=_pre_established_policy(meter, association),
            conformance=Conformance.from_octets(association.xdlms_context_info[0].to_bytes()),
            client_max_pdu=self.max_pdu_size, keys_version=meter.keys_version,
        )  # fmt: skip

    def _remember(self, session: Session, now: float | None = None) -> None:
        session.last_used = self.clock() if now is None else now
        key = session.key
        sessions = self._sessions
        if sessions.get(key) is not session:
            sessions[key] = session
        sessions.move_to_end(key)
        while len(sessions) > self.max_associations:
            self._sessions.popitem(last=False)
            self.stats.associations_expired += 1

    async def _serve_apdu(self, meter: Meter, index: int, key: SessionKey, payload: bytes) -> list[bytes]:
        _, server_sap, client_sap, peer = key
        tag = payload[0]
        if tag == _AARQ_TAG:
            return await self._associate(meter, index, key, payload)
        if tag == _RLRQ_TAG:
            return await self._release(meter, key, payload)
        group = server_sap == ALL_STATION
        session = self._sessions.get(key)
        now = self.clock()
        if session is not None and self._expired(session, now):
            del self._sessions[key]
            self.stats.associations_expired += 1
            if not session.pre_established:
                return self._unassociated(payload, group)
            session = None  # a pre-established association never ends: it starts afresh
        if session is None:
            session = self._pre_session(meter, index, key)
            if session is None:
                return self._unassociated(payload, group)
        async with session.held():
            if not session.pre_established and self._sessions.get(key) is not session:
                return self._unassociated(payload, group)  # released or replaced while this datagram waited
            self._remember(session, now)
            return await self._serve_in_session(session, payload)

    # -- ACSE ------------------------------------------------------------------

    async def _associate(self, meter: Meter, index: int, key: SessionKey, payload: bytes) -> list[bytes]:
        try:
            received = stack.receive(payload, "apdu")
        except DlmsError:
            self.stats.malformed += 1
            return []
        pdu = received.acse
        if not isinstance(pdu, AARQ):
            self.stats.malformed += 1
            return []
        _, server_sap, client_sap, peer = key
        aare, session = await self._blocking(
            meter, open_association,
            meter=meter, meter_index=index, client_sap=client_sap, server_sap=server_sap, peer=peer,
            pdu=pdu, frame=payload, max_pdu_size=self.max_pdu_size,
        )  # fmt: skip
        if session is None:
            self.stats.associations_refused += 1
        else:
            self.stats.associations_opened += 1
            self._remember(session)
        return [_acse.encode(aare)]

    async def _release(self, meter: Meter, key: SessionKey, payload: bytes) -> list[bytes]:
        try:
            received = stack.receive(payload, "apdu")
        except DlmsError:
            self.stats.malformed += 1
            return []
        if not isinstance(received.acse, RLRQ):
            self.stats.malformed += 1
            return []
        session = self._sessions.pop(key, None)
        if session is not None:
            self.stats.associations_released += 1
        rlre = await self._blocking(meter, release, session, received.acse, payload)
        return [_acse.encode(rlre)]

    def _unassociated(self, payload: bytes, group: bool) -> list[bytes]:
        """A request outside any association: an exception-response when it
        is a confirmed unicast request (or a ciphered APDU, which we cannot
        read, unless its security control says broadcast key).  A group
        request (all-station wPort) nobody here is associated for is
        dropped: every meter of the group answering it would be a storm."""
        self.stats.unassociated += 1
        if group:
            return []
        if payload[0] in CIPHERED_TAGS:
            sc = security_control_of(payload)
            if sc is not None and sc & SC_BROADCAST:
                return []
            return [A.encode(services.not_allowed())]
        try:
            request = A.decode(payload)
        except DecodeError:
            self.stats.malformed += 1
            return []
        if isinstance(request, _REQUEST_TYPES) and request.service_class == A.ServiceClass.CONFIRMED:
            return [A.encode(services.not_allowed())]
        return []

    # -- xDLMS -----------------------------------------------------------------

    async def _blocking(self, meter: Meter, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> _T:
        """``fn(*args, **kwargs)`` kept off the event loop when the meter's
        counters are on disk (:func:`~dlmsmesh.server.offload.off_loop`)."""
        if type(meter.counters) is MemoryCounterStore:
            return fn(*args, **kwargs)
        return await off_loop(meter.counters, fn, *args, **kwargs)

    async def _serve_in_session(self, session: Session, payload: bytes) -> list[bytes]:
        # a key_transfer in another association of this meter: this one's
        # next request is already opened with the new keys
        self._rekey(session)
        framing: Framing | None = None
        authenticated = False
        if payload[0] in CIPHERED_TAGS:
            opened = await self._open(session, payload)
            if isinstance(opened, list):
                return opened
            request, framing, authenticated = opened
        elif payload[0] == _GBT_TAG:
            # GBT blocks travel plain (the APDU is ciphered whole, then cut):
            # the policy is checked on the APDU the blocks carry
            try:
                block = A.decode(payload)
            except DecodeError:
                self.stats.malformed += 1
                return [A.encode(services.not_allowed(ServiceError.OTHER_REASON))]
            assert isinstance(block, A.GeneralBlockTransfer)
            return await self._general_block(session, block, None, False)
        else:
            if session.policy.requests() or session.pre_established and session.meter.keys:
                # the policy asks for protected requests: a plain one is refused
                # unserved (and unanswered when it is unconfirmed)
                self.stats.security_failures += 1
                return [] if _plain_unconfirmed(payload) else [A.encode(services.not_allowed())]
            try:
                received = stack.receive(payload, "apdu")
            except DlmsError:
                self.stats.malformed += 1
                return [A.encode(services.not_allowed(ServiceError.OTHER_REASON))]
            request = received.apdu
        if request is None:
            self.stats.malformed += 1
            return []
        if isinstance(request, A.GeneralBlockTransfer):
            return await self._general_block(session, request, framing, authenticated)
        reply = await self._serve_request(session, request, authenticated)
        out = [] if reply is None else await self._blocking(session.meter, shape, session, reply, framing, self.max_pdu_size)
        self._rekey(session)
        return out

    async def _serve_request(
        self, session: Session, request: A.Apdu, authenticated: bool, answered: Any = None
    ) -> A.Apdu | None:
        """Run one xDLMS request: the reply APDU (None: unconfirmed).
        ``answered``: what :func:`services.answer_at_once` gave for it already."""
        session.gbt_out = None  # a new request: the last long reply was had
        reply: Any
        try:
            # objects that answer at once are served at once; a handler that
            # waits finishes in a task of its own, within request_timeout
            reply = services.answer_at_once(session, request, authenticated) if answered is None else answered
            if reply is services.NOT_AT_ONCE:
                serving = services.serve(session, request, authenticated=authenticated)
                reply, waits_on = eager.step(serving)
            elif type(reply) is services.Continue:
                serving = reply.serving
                reply, waits_on = eager.step(serving)
            if reply is eager.PENDING:
                handler = asyncio.get_running_loop().create_task(eager.finish(serving, waits_on))
                self._handlers.add(handler)
                handler.add_done_callback(self._handlers.discard)
                reply = await eager.within_task(handler, self.request_timeout)
        except asyncio.TimeoutError:
            self.stats.timeouts += 1
            log.warning("a request to meter %s took over %s s: answered other-reason",
                        session.meter.system_title.hex(), self.request_timeout)  # fmt: skip
            reply = None if services.is_unconfirmed(request) else services.not_allowed(ServiceError.OTHER_REASON)
        return cast("A.Apdu | None", reply)

    async def _open(self, session: Session, payload: bytes) -> tuple[A.Apdu | None, Framing, bool] | list[bytes]:
        """Verify and decipher a ciphered request: (request, framing,
        authenticated), or the replies refusing it."""
        meter = session.meter
        ctx = session.context
        if ctx is None and session.pre_established and meter.keys:
            title = general_sender_title(payload)
            if title is None:
                self.stats.security_failures += 1
                return [A.encode(services.not_allowed(ServiceError.DECIPHERING_ERROR))]
            ctx = meter.shared_context(title, session.policy)
            session.client_title = title
        if ctx is None:
            self.stats.security_failures += 1
            return [A.encode(services.not_allowed(ServiceError.DECIPHERING_ERROR))]
        frame, outer = payload, None
        if type(meter.counters) is MemoryCounterStore and stack.opens_at_once(payload):
            # the frames of an association, opened by the context at once: a
            # get-request-normal is served from here; another plaintext is
            # walked as the stack walks it; a refused frame is refused again
            # by the stack below, which says how
            try:
                opened = ctx.unprotect(payload)
            except DlmsError:
                opened = None
            if opened is not None:
                try:
                    request = fastpath.get_request(opened.plaintext)
                except DecodeError:
                    self.stats.malformed += 1
                    return [A.encode(services.not_allowed(ServiceError.OTHER_REASON))]
                if request is not None:
                    return self._opened(session, ctx, opened.info, request)
                frame, outer = opened.plaintext, opened.info
        try:
            received = await self._blocking(meter, stack.receive, frame, "apdu", security=ctx)
        except stack.FrameReplayError as err:
            self.stats.replays += 1
            info = err.partial.security
            if info is not None and info.security_control is not None and info.security_control & 0x40:
                return []  # broadcast: dropped silently
            return [A.encode(await self._blocking(meter, _counter_error, ctx, info))]
        except stack.FrameSecurityError as err:
            self.stats.security_failures += 1
            info = err.partial.security
            if info is not None and info.security_control is not None and info.security_control & 0x40:
                return []
            return [A.encode(services.not_allowed(ServiceError.DECIPHERING_ERROR))]
        except stack.FrameError:
            self.stats.malformed += 1
            return [A.encode(services.not_allowed(ServiceError.OTHER_REASON))]
        info = received.security or outer
        assert info is not None
        return self._opened(session, ctx, info, received.apdu)

    def _opened(
        self, session: Session, ctx: Any, info: Any, request: A.Apdu | None
    ) -> tuple[A.Apdu | None, Framing, bool]:
        if info.key_set == KeySet.UNICAST:
            session.meter.received(info.invocation_counter)
        sc = info.security_control or 0
        framing = _FRAMINGS[
            info.tag in (GENERAL_GLO_CIPHERING, GENERAL_DED_CIPHERING), info.key_set == KeySet.DEDICATED
        ]
        if session.context is None:
            session.context = ctx
        return request, framing, bool(sc & SC_AUTHENTICATION)

    async def _general_block(
        self, session: Session, block: A.GeneralBlockTransfer, framing: Framing | None, authenticated: bool
    ) -> list[bytes]:
        if not session.allows(Conformance.GENERAL_BLOCK_TRANSFER):
            return [A.encode(services.not_supported())]
        session.gbt_window = max(1, block.window)
        if not block.block_data and session.gbt_out is not None:
            return gbt_next(session, block.block_number_ack)
        gathering = session.gbt_in
        if block.block_number == 1:
            gathering = session.gbt_in = IncomingBlocks("gbt", 0, 1, bytearray(block.block_data))
        elif gathering is not None and block.block_number == gathering.block_number + 1:
            gathering.block_number = block.block_number
            gathering.data += block.block_data
        else:
            session.gbt_in = None
            return []
        session.gbt_received = block.block_number
        if len(gathering.data) > services.MAX_BLOCKED_REQUEST:
            session.gbt_in = None
            return [A.encode(services.not_allowed(ServiceError.PDU_TOO_LONG))]
        if not block.last_block:
            if block.streaming:
                return []
            ack = A.GeneralBlockTransfer(b"", last_block=False, window=session.gbt_window, block_number=0,
                                         block_number_ack=block.block_number)  # fmt: skip
            return [A.encode(ack)]
        whole = bytes(gathering.data)
        session.gbt_in = None
        if not whole:
            return []
        if whole[0] in (_AARQ_TAG, _RLRQ_TAG):
            return [A.encode(services.not_supported())]
        return await self._serve_in_session(session, whole)

    def _rekey(self, session: Session) -> None:
        """Take up keys a key_transfer replaced (in this association: after
        its reply, which still goes under the old keys)."""
        meter = session.meter
        if session.keys_version == meter.keys_version:
            return
        session.keys_version = meter.keys_version
        if session.context is not None and not session.pre_established:
            keys = meter.keys
            session.context.set_keys(ek=keys.ek, ak=keys.ak, bk=keys.bk, kek=keys.kek)
        elif session.pre_established:
            session.context = None
        index = session.meter_index
        if 0 <= index < len(self._meters) and self._meters[index] is meter:
            # a broadcast key given (or taken) changes what the meter hears: the all-nodes addresses
            self._groups.memberships.refresh(index, meter)

    def limit(self, session: Session) -> int:
        """The largest APDU the server sends in ``session``."""
        return limit_of(session, self.max_pdu_size)


def _unicast(host: str) -> bool:
    try:
        ip = ipaddress.ip_address(host.partition("%")[0])
    except ValueError:
        return False
    return not (ip.is_multicast or ip.is_unspecified)


_FRAMINGS = {(g, d): Framing(general=g, dedicated=d) for g in (False, True) for d in (False, True)}


def _pre_established_policy(meter: Meter, association: Any) -> SecurityPolicy:
    policy = meter.policy(association)
    if meter.keys and not policy.requests():
        # global keys and no AARQ: only an authenticated request shows who sent it
        policy |= SecurityPolicy.AUTHENTICATED_REQUEST
    return policy


def _counter_error(ctx: Any, info: Any) -> A.ExceptionResponse:
    """exception-response invocation-counter-error with the counter the
    server expects next (the last one accepted, plus one)."""
    expected = 0
    title = ctx.peer_system_title
    if info is not None and info.system_title is not None:
        title = info.system_title
    if title is not None and info is not None:
        key_set = info.key_set
        if key_set is None:  # the header of a refused frame: its key set from tag and control byte
            kind = SERVICE_TAGS.get(info.tag, (None, 0))[0]
            dedicated = info.tag == GENERAL_DED_CIPHERING or kind == FrameKind.SERVICE_DED
            broadcast = bool((info.security_control or 0) & 0x40)
            key_set = KeySet.DEDICATED if dedicated else KeySet.BROADCAST if broadcast else KeySet.UNICAST
        last = ctx.counters.last_accepted(ctx.counter_scope("rx", title, key_set))
        expected = 0 if last is None else min(last + 1, 0xFFFFFFFF)
    return A.ExceptionResponse(
        StateError.SERVICE_NOT_ALLOWED, ServiceError.INVOCATION_COUNTER_ERROR, invocation_counter=expected
    )


def _plain_unconfirmed(payload: bytes) -> bool:
    try:
        return services.is_unconfirmed(A.decode(payload))
    except DecodeError:
        return False
