"""The asyncio head-end Client: one datagram endpoint for every association.

Replies are routed to their association by the wrapper's wPorts and the
meter they come from: the address the association sent to, else the system
title (carried by general-glo/ded-ciphering, or the resolver's reverse
lookup of the source address).  An association follows its meter by system
title: the address is asked of the resolver on every send, so a meter that
moved keeps its association (no new AARQ).  Datagrams that belong to no
association are dropped and counted (``stats.strays``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Hashable, Iterator
from dataclasses import dataclass, fields
from typing import Any

from .. import acse as _acse
from .. import apdu as A
from .. import wrapper
from ..acse_pdu import AARE, RLRQ
from ..apdu_model import ActionResult, MethodDescriptor
from ..cosem.groups import Group
from ..errors import AuthenticationError, DlmsError, DlmsTimeout
from ..security import InvocationCounterStore, KeySet, MemoryCounterStore
from ..security.envelope import general_sender_title
from ..transport import Address, Datagram, Incoming, TransportClosed
from ..transport.clock import Clock, RealClock
from ..transport.interface import as_address
from ..types import Obis, OctetString
from ..xdlms_initiate import ConfirmedServiceError, Conformance
from .association import Association
from .broadcast import Broadcast, GroupRequest
from .errors import HlsFailed, InvocationCounterRejected, NoAddress, association_refused
from .opening import PROPOSED_CONFORMANCE, Credentials, Opening
from .pacing import (
    DEFAULT_ASSOCIATIONS_PER_SECOND,
    DEFAULT_IN_FLIGHT_PER_ROUTER,
    DEFAULT_RETRIES,
    Backoff,
    InFlightLimiter,
    RateLimiter,
    RoundTrip,
    RouterPath,
    border_router_key,
)
from .quirks import Quirks
from .resolver import AddressResolver, MemoryResolver

__all__ = ["Client", "ClientStats", "DEFAULT_MAX_PDU_SIZE", "DEFAULT_MAX_MESSAGE"]

log = logging.getLogger(__name__)

#: the largest APDU the client receives (one 1280-byte IPv6 datagram's worth)
DEFAULT_MAX_PDU_SIZE = 1224
#: the largest long message (blocks or general-block-transfer) gathered
DEFAULT_MAX_MESSAGE = 16 << 20
_CURRENT_ASSOCIATION_HLS = MethodDescriptor(15, Obis("0.0.40.0.0.255"), 1)
#: border routers whose shared round trip is kept (the least recently met go first)
_MAX_PATHS = 1 << 16


@dataclass
class ClientStats:
    sent: int = 0
    received: int = 0
    #: datagrams that belong to no open association (late, duplicated, foreign)
    strays: int = 0
    retries: int = 0
    timeouts: int = 0
    associations_opened: int = 0
    associations_released: int = 0
    associations_reopened: int = 0
    #: times the send counter was moved past what a meter expects
    resynchronised: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class Client:
    """A head-end over one datagram endpoint.

    ``system_title`` is the client's own; ``resolver`` gives a meter's
    address from its system title (a :class:`MemoryResolver` by default;
    the registry implements the same interface); ``counters`` keeps the
    client's invocation counters (give a
    :class:`~dlmsmesh.security.SqliteCounterStore` so that they survive a
    crash).

    Pacing (defaults in :mod:`dlmsmesh.client.pacing`): each request waits
    for the meter's round-trip timeout (``timeout`` fixes it instead) and is
    asked again at most ``retries`` times after a jittered backoff; at most
    ``in_flight_per_router`` requests are outstanding per border router
    (IPv6 /64) and ``associations_per_second`` COSEM-OPENs start per second
    (None lifts either cap: a simulation, a test on loopback).
    """

    def __init__(
        self,
        transport: Datagram,
        *,
        system_title: bytes,
        resolver: AddressResolver | None = None,
        counters: InvocationCounterStore | None = None,
        timeout: float | None = None,
        retries: int = DEFAULT_RETRIES,
        in_flight_per_router: int | None = DEFAULT_IN_FLIGHT_PER_ROUTER,
        associations_per_second: float | None = DEFAULT_ASSOCIATIONS_PER_SECOND,
        rng: random.Random | None = None,
        max_pdu_size: int = DEFAULT_MAX_PDU_SIZE,
        max_message: int = DEFAULT_MAX_MESSAGE,
        reopen: bool = False,
        clock: Clock | None = None,
    ) -> None:
        if len(bytes(system_title)) != 8:
            raise ValueError("a system title is 8 octets")
        if (timeout is not None and not timeout > 0) or retries < 0:
            raise ValueError("timeout is > 0 seconds and retries >= 0")
        self.transport = transport
        #: what every wait runs on: the transport's clock (the in-process
        #: network's virtual one in a simulation), else the event loop's
        self.clock: Clock = clock if clock is not None else getattr(transport, "clock", None) or RealClock()
        self.now: Callable[[], float] = time.monotonic if isinstance(self.clock, RealClock) else self.clock.time
        self.system_title = bytes(system_title)
        self.resolver: AddressResolver = resolver if resolver is not None else MemoryResolver()
        self.counters = counters if counters is not None else MemoryCounterStore()
        #: a fixed wait per attempt; None: each meter's round-trip estimate
        self.timeout = None if timeout is None else float(timeout)
        self.retries = int(retries)
        self.backoff = Backoff(retries, rng=rng)
        virtual = None if isinstance(self.clock, RealClock) else self.clock
        self.in_flight = None if in_flight_per_router is None else InFlightLimiter(in_flight_per_router, clock=virtual)
        self.opening_rate = (
            None
            if associations_per_second is None
            else RateLimiter(associations_per_second, clock=self.now, sleep=self.clock.sleep)
        )
        self.max_pdu_size = int(max_pdu_size)
        self.max_message = int(max_message)
        #: re-open an association the meter forgot (once per request)
        self.reopen = bool(reopen)
        self.stats = ClientStats()
        #: (client SAP, server SAP, meter address) -> association; and by meter system title
        self._by_peer: dict[tuple[int, int, Address], Association] = {}
        self._by_title: dict[tuple[int, int, bytes], Association] = {}
        self._loop_task: asyncio.Task[None] | None = None
        #: group requests collecting answers (:class:`~dlmsmesh.client.broadcast.Broadcast`):
        #: offered the datagrams no association takes by its meter's address
        self._collectors: list[Broadcast] = []
        #: datagrams come by the transport's on_receive callback (no receive loop)
        self._pushed = False
        #: border router -> the round trip its meters share (pacing's module text)
        self._paths: collections.OrderedDict[Hashable, RouterPath] = collections.OrderedDict()

    # ------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        if self._loop_task is not None or self._pushed:
            return
        on_receive = getattr(self.transport, "on_receive", None)
        if on_receive is not None:
            # the library's endpoints hand each datagram to the router as it
            # arrives: no receiving task, no queue between them
            on_receive(self._route)
            self._pushed = True
        else:
            self._loop_task = asyncio.get_running_loop().create_task(self._receive_loop(), name="dlmsmesh client")

    async def close(self) -> None:
        """Stop receiving and close the transport (open associations are
        not released: use ``async with client.associate(...)`` for that)."""
        task, self._loop_task = self._loop_task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if self._pushed:
            self._pushed = False
            self.transport.on_receive(None)  # type: ignore[attr-defined]
        await self.transport.close()

    async def __aenter__(self) -> Client:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---------------------------------------------------------------- routing

    async def _receive_loop(self) -> None:
        while True:
            try:
                batch = await self.transport.recv_batch_incoming(64, timeout=60.0)
            except DlmsTimeout:
                continue
            except TransportClosed:
                return
            for incoming in batch:
                self._route(incoming)

    def _route(self, incoming: Incoming) -> None:
        self.stats.received += 1
        fields = wrapper.split(incoming.data)
        if fields is None:
            self.stats.strays += 1  # not a wrapper datagram (wrapper.decode would say why)
            return
        source_wport, destination_wport, payload = fields
        target = self._by_peer.get((destination_wport, source_wport, incoming.source))
        if target is None and self._collectors and payload:
            for collector in self._collectors:
                if collector.offer(destination_wport, payload, incoming):
                    return
        title = general_sender_title(payload) if target is None else None
        if title is not None:
            # a meter that moved: known by the system title its frame carries
            target = self._by_title.get((destination_wport, source_wport, title))
        if target is None or not payload:
            self.stats.strays += 1
            return
        if not target.inbox.put((payload, incoming.source)):
            self.stats.strays += 1

    async def address_of(self, association: Association) -> tuple[str, int]:
        """Where the association's meter is now (asked of the resolver on every send)."""
        if association.fixed_address is not None:
            found = association.fixed_address
        else:
            found = await self.resolver.resolve(association.meter_title)
        address = as_address(found)
        if address != association.address:
            saps = (association.client_sap, association.server_sap)
            if association.address is not None and self._by_peer.get((*saps, association.address)) is association:
                del self._by_peer[(*saps, association.address)]
            self._by_peer[(*saps, address)] = association
            association.address = address
            association.router_key = None if self.in_flight is None else self.in_flight.key_of(address)
            association.path = self._path_of(address)
        return address

    def _path_of(self, address: Address) -> RouterPath:
        if self.in_flight is not None:
            key = self.in_flight.key_of(address)
        else:
            found = border_router_key(address)
            key = found if type(found) is str else (type(found).__name__, str(found))
        paths = self._paths
        path = paths.get(key)
        if path is None:
            path = paths[key] = RouterPath()
            if len(paths) > _MAX_PATHS:
                paths.popitem(last=False)
        else:
            paths.move_to_end(key)
        return path

    def first_timeout(self, association: Association) -> float:
        """The wait for a request's first attempt (what :meth:`timeouts` yields first)."""
        if self.timeout is not None:
            return self.timeout
        own = self._round_trip(association).timeout
        path = association.path
        return own if path is None else max(own, path.timeout())

    def timeouts(self, association: Association) -> Iterator[float]:
        """The wait for each attempt at one request: the larger of the
        meter's round-trip timeout and its border router's (RFC 6298
        estimates, doubled on each expiry) plus the retry's jittered
        backoff, ``retries`` + 1 of them."""
        rtt = self._round_trip(association)
        path = association.path
        pauses = self.backoff.delays()
        for attempt in range(self.retries + 1):
            if self.timeout is not None:
                wait = self.timeout
            else:
                # the meter's own doubles after it is used (its state outlives
                # the request); the router's, shared, is not touched: it doubles
                # here alike, for this request only
                wait = rtt.timeout if path is None else max(rtt.timeout, path.timeout(max(0, attempt - 1)))
            if attempt:
                rtt.expired()
                wait += next(pauses, 0.0)
            yield wait

    def _round_trip(self, association: Association) -> RoundTrip:
        rtt: RoundTrip | None = association.round_trip
        if rtt is None:
            hops = self.resolver.hops(association.meter_title) if isinstance(self.resolver, MemoryResolver) else None
            rtt = association.round_trip = RoundTrip(hops)
        return rtt

    def round_trip(self, association: Association, seconds: float, attempt: int) -> None:
        """A reply came after ``seconds``: sampled when the request went once
        (Karn), for the meter and for its border router."""
        if attempt == 0:
            rtt = association.round_trip
            (rtt if rtt is not None else self._round_trip(association)).observe(seconds)
            path = association.path
            if path is not None:
                path.round_trip.observe(seconds, per_round_trip=path.in_flight + 1)  # RouterPath.observe

    # ------------------------------------------------------------ group requests

    def broadcast(self, group: Group | str | int, request: GroupRequest, **options: Any) -> Broadcast:
        """One group request and its window of answers:
        ``async for title, result in client.broadcast(group, request, window=..., keys=..., bk=..., ak=...)``
        (:class:`~dlmsmesh.client.broadcast.Broadcast` names the options)."""
        return Broadcast(self, group, request, **options)

    # ------------------------------------------------------------ associating

    @contextlib.asynccontextmanager
    async def associate(
        self,
        system_title: bytes,
        *,
        address: tuple[str, int] | None = None,
        auth: str = "none",
        security: str = "none",
        client_sap: int = 16,
        server_sap: int = 1,
        ek: bytes | None = None,
        ak: bytes | None = None,
        bk: bytes | None = None,
        password: bytes | str | None = None,
        secret: bytes | None = None,
        suite: int = 0,
        signing_key: Any = None,
        peer_signing_key: Any = None,
        dedicated: bool = False,
        pre_established: bool = False,
        quirks: Quirks | None = None,
    ) -> AsyncIterator[Association]:
        """``async with client.associate(meter_title, ...) as meter:``: COSEM-OPEN
        (AARQ/AARE, HLS pass 3/4; none for a pre-established association),
        then COSEM-RELEASE (RLRQ/RLRE) on leaving the block.  ``quirks``
        (:class:`~dlmsmesh.client.Quirks`) turns on the tolerances a known
        peer needs.  The RLRQ carries no user-information (which every peer
        met accepts, gurux-dlms sends the same)."""
        association = await self.open(
            system_title, address=address, auth=auth, security=security, client_sap=client_sap,
            server_sap=server_sap, ek=ek, ak=ak, bk=bk, password=password, secret=secret, suite=suite,
            signing_key=signing_key, peer_signing_key=peer_signing_key, dedicated=dedicated,
            pre_established=pre_established, quirks=quirks,
        )  # fmt: skip
        try:
            yield association
        finally:
            await self.release(association)

    async def open(self, system_title: bytes, **settings: Any) -> Association:
        """COSEM-OPEN without the ``async with`` (call :meth:`release` after)."""
        title = bytes(system_title)
        pwd = settings.pop("password", None)
        credentials = Credentials(
            ek=settings.pop("ek", None), ak=settings.pop("ak", None), bk=settings.pop("bk", None),
            password=pwd.encode() if isinstance(pwd, str) else pwd, secret=settings.pop("secret", None),
            suite=settings.pop("suite", 0), signing_key=settings.pop("signing_key", None),
            peer_signing_key=settings.pop("peer_signing_key", None),
        )  # fmt: skip
        pre = bool(settings.pop("pre_established", False))
        quirks = settings.pop("quirks", None) or Quirks()
        security = settings.pop("security", "none")
        if pre and security == "none":
            security = "auth"
        opening = Opening(
            client_title=self.system_title, meter_title=title, auth=settings.pop("auth", "none"), security=security,
            credentials=credentials, counters=self.counters, max_pdu_size=self.max_pdu_size,
            conformance=PROPOSED_CONFORMANCE & ~Conformance.GENERAL_BLOCK_TRANSFER if quirks.no_gbt
            else PROPOSED_CONFORMANCE,
            dedicated=bool(settings.pop("dedicated", False)),
        )  # fmt: skip
        association = Association(
            self, meter_title=title, client_sap=settings.pop("client_sap", 16), server_sap=settings.pop("server_sap", 1),
            opening=opening, address=settings.pop("address", None), pre_established=pre, quirks=quirks,
        )  # fmt: skip
        if settings:
            raise TypeError(f"unknown settings: {', '.join(settings)}")
        await self.start()
        if self.opening_rate is not None and not pre:
            await self.opening_rate.acquire()
        key = (association.client_sap, association.server_sap, title)
        if key in self._by_title:
            raise DlmsError(f"an association {key[0]}->{key[1]} with meter {title.hex()} is open already")
        self._by_title[key] = association
        try:
            if not pre:
                await self._open(association)
        except BaseException:
            self._forget(association)
            raise
        association.open = True
        self.stats.associations_opened += 1
        return association

    async def _open(self, association: Association) -> None:
        for _ in range(self.retries):
            retries = self.stats.retries
            try:
                return await self._open_once(association)
            except HlsFailed as failure:
                # pass 3 was asked again after silence: when its first reply was
                # lost, the meter (authenticated already) refuses the repeat, so
                # the whole COSEM-OPEN goes again; a refusal at once is final
                if failure.pass_number != 3 or self.stats.retries == retries:
                    raise
        await self._open_once(association)

    async def _open_once(self, association: Association) -> None:
        opening = association.opening
        # built afresh for each attempt: a ciphered InitiateRequest sent again
        # with the same invocation counter is a replay the meter refuses
        reply = await self._acse_exchange(association, lambda: _acse.encode(opening.aarq()), 0x61)
        aare = _acse.decode(reply)
        assert isinstance(aare, AARE)
        if not aare.accepted:
            info = aare.user_information
            raise association_refused(
                aare.result, aare.diagnostic, info if isinstance(info, ConfirmedServiceError) else None
            )
        response = opening.response(aare)
        association.conformance = response.conformance
        association.send_limit = association.quirks.pdu_size(response.max_receive_pdu_size or 0xFFFF)
        if opening.needs_pass3:
            await self._pass3(association)

    async def _pass3(self, association: Association) -> None:
        opening = association.opening
        proof = bytes.__new__(OctetString, opening.f_stoc())
        request = A.ActionRequestNormal(_CURRENT_ASSOCIATION_HLS, proof, invoke_id=association._next_invoke())
        reply = await association.exchange(request)
        if not isinstance(reply, A.ActionResponseNormal) or reply.result != ActionResult.SUCCESS:
            raise HlsFailed(3, f"meter {association.meter_title.hex()}")
        if not isinstance(reply.return_parameters, bytes):
            raise HlsFailed(4, f"meter {association.meter_title.hex()} gave no f(CtoS)")
        try:
            opening.check_f_ctos(bytes(reply.return_parameters))
        except AuthenticationError:
            raise HlsFailed(4, f"meter {association.meter_title.hex()}") from None

    async def reopen_association(self, association: Association) -> None:
        """COSEM-OPEN again for an association the meter no longer knows
        (it rebooted or timed it out): same settings, fresh challenge."""
        old = association.opening
        association.opening = Opening(
            client_title=self.system_title, meter_title=association.meter_title, auth=old.auth,
            security=old.security, credentials=old.credentials, counters=self.counters,
            max_pdu_size=self.max_pdu_size, conformance=old.conformance, dedicated=old.dedicated_key is not None,
        )  # fmt: skip
        await self._open(association)
        association.open = True
        self.stats.associations_reopened += 1

    async def resynchronise(self, association: Association, error: InvocationCounterRejected) -> bool:
        """Move the client's send counter past what the meter expects; False
        when there is nothing to move (no counter known, or ours is ahead)."""
        ctx = association.opening.context
        expected = error.invocation_counter
        if ctx is None:
            return False
        if expected is None:
            expected = await self._counter_from_public_client(association)
            if expected is None:
                return False
        key_set = KeySet.DEDICATED if association.opening.dedicated_key is not None else KeySet.UNICAST
        ahead = expected - ctx.next_invocation_counter(key_set)
        if ahead <= 0:
            return False
        ctx.reserve_counters(key_set, ahead)  # skipped, never used: counters only move forward
        self.stats.resynchronised += 1
        return True

    async def _counter_from_public_client(self, association: Association) -> int | None:
        """The meter's invocation counter object (0.0.43.1.0.255), read by the
        public client: the next counter it accepts."""
        try:
            async with self.associate(association.meter_title, address=association.fixed_address,
                                      server_sap=association.server_sap) as public:  # fmt: skip
                value = await public.get((1, "0.0.43.1.0.255", 2))
        except DlmsError:
            return None
        return int(value) + 1

    async def _acse_exchange(self, association: Association, apdu: bytes | Callable[[], bytes], tag: int) -> bytes:
        if association.address is None:
            await self.address_of(association)  # its border router's round trip sets the first wait
        path = association.path
        for attempt, timeout in enumerate(self.timeouts(association)):
            await association.send_apdu(apdu() if callable(apdu) else apdu)
            started = self.now()
            deadline = started + timeout
            if path is not None:
                path.in_flight += 1
            try:
                while (left := deadline - self.now()) > 0:
                    try:
                        payload: bytes
                        payload, _ = await association.inbox.get(left)
                    except asyncio.TimeoutError:
                        break
                    if payload[:1] == bytes((tag,)):
                        self.round_trip(association, self.now() - started, attempt)
                        return payload
                    association.duplicates += 1
            finally:
                if path is not None:
                    path.in_flight -= 1
            self.stats.retries += 1
        self.stats.timeouts += 1
        raise DlmsTimeout(
            f"meter {association.meter_title.hex()} did not answer the {'AARQ' if tag == 0x61 else 'RLRQ'}"
        )

    async def release(self, association: Association) -> None:
        """COSEM-RELEASE (RLRQ/RLRE); a pre-established association just ends here."""
        try:
            if association.open and not association.pre_established:
                with contextlib.suppress(DlmsTimeout, NoAddress, TransportClosed):
                    await self._acse_exchange(association, _acse.encode(RLRQ()), 0x63)
                    self.stats.associations_released += 1
        finally:
            association.open = False
            self._forget(association)

    def _forget(self, association: Association) -> None:
        saps = (association.client_sap, association.server_sap)
        if self._by_title.get((*saps, association.meter_title)) is association:
            del self._by_title[(*saps, association.meter_title)]
        if association.address is not None and self._by_peer.get((*saps, association.address)) is association:
            del self._by_peer[(*saps, association.address)]
