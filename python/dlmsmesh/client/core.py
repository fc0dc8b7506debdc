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
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, fields
from typing import Any

from .. import acse as _acse
from .. import apdu as A
from .. import wrapper
from ..acse_pdu import AARE, RLRQ
from ..apdu_model import ActionResult, MethodDescriptor
from ..errors import AuthenticationError, DecodeError, DlmsError, DlmsTimeout
from ..security import InvocationCounterStore, MemoryCounterStore
from ..security.tags import GENERAL_DED_CIPHERING, GENERAL_GLO_CIPHERING
from ..transport import Address, Datagram, Incoming, TransportClosed
from ..transport.interface import as_address
from ..types import Obis, OctetString
from ..xdlms_initiate import ConfirmedServiceError
from .association import Association
from .errors import HlsFailed, NoAddress, association_refused
from .opening import PROPOSED_CONFORMANCE, Credentials, Opening
from .resolver import AddressResolver, MemoryResolver

__all__ = ["Client", "ClientStats", "DEFAULT_TIMEOUT", "DEFAULT_RETRIES", "DEFAULT_MAX_PDU_SIZE"]

log = logging.getLogger(__name__)

#: seconds to wait for a reply before asking again (a meter a few hops away
#: answers in under a second: Wi-SUN measurements, 0.4 to 0.9 s at 1 to 5 hops)
DEFAULT_TIMEOUT = 3.0
#: times a request is asked again after silence (each with a fresh counter)
DEFAULT_RETRIES = 2
#: the largest APDU the client receives (one 1280-byte IPv6 datagram's worth)
DEFAULT_MAX_PDU_SIZE = 1224
#: the largest long message (blocks or general-block-transfer) gathered
DEFAULT_MAX_MESSAGE = 16 << 20
_CURRENT_ASSOCIATION_HLS = MethodDescriptor(15, Obis("0.0.40.0.0.255"), 1)
_GENERAL = (bytes((GENERAL_GLO_CIPHERING,)), bytes((GENERAL_DED_CIPHERING,)))


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

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class Client:
    """A head-end over one datagram endpoint.

    ``system_title`` is the client's own; ``resolver`` gives a meter's
    address from its system title (a :class:`MemoryResolver` by default;
    the registry implements the same interface); ``counters`` keeps the
    client's invocation counters (give a
    :class:`~dlmsmesh.security.SqliteCounterStore` so that they survive a
    crash).  ``timeout`` and ``retries`` bound every request.
    """

    def __init__(
        self,
        transport: Datagram,
        *,
        system_title: bytes,
        resolver: AddressResolver | None = None,
        counters: InvocationCounterStore | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        max_pdu_size: int = DEFAULT_MAX_PDU_SIZE,
        max_message: int = DEFAULT_MAX_MESSAGE,
    ) -> None:
        if len(bytes(system_title)) != 8:
            raise ValueError("a system title is 8 octets")
        if not timeout > 0 or retries < 0:
            raise ValueError("timeout is > 0 seconds and retries >= 0")
        self.transport = transport
        self.system_title = bytes(system_title)
        self.resolver: AddressResolver = resolver if resolver is not None else MemoryResolver()
        self.counters = counters if counters is not None else MemoryCounterStore()
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.max_pdu_size = int(max_pdu_size)
        self.max_message = int(max_message)
        self.stats = ClientStats()
        #: (client SAP, server SAP, meter address) -> association; and by meter system title
        self._by_peer: dict[tuple[int, int, Address], Association] = {}
        self._by_title: dict[tuple[int, int, bytes], Association] = {}
        self._loop_task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        if self._loop_task is None:
            self._loop_task = asyncio.get_running_loop().create_task(self._receive_loop(), name="dlmsmesh client")

    async def close(self) -> None:
        """Stop receiving and close the transport (open associations are
        not released: use ``async with client.associate(...)`` for that)."""
        task, self._loop_task = self._loop_task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
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
        try:
            header, payload = wrapper.decode(incoming.data)
        except DecodeError:
            self.stats.strays += 1
            return
        saps = (header.destination_wport, header.source_wport)
        target = self._by_peer.get((*saps, incoming.source))
        if target is None and payload[:1] in _GENERAL and len(payload) >= 10 and payload[1] == 8:
            # a meter that moved: known by the system title its frame carries
            target = self._by_title.get((*saps, payload[2:10]))
        if target is None or not payload:
            self.stats.strays += 1
            return
        try:
            target.inbox.put_nowait((payload, incoming.source))
        except asyncio.QueueFull:
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
        return address

    def timeouts(self, association: Association) -> Iterator[float]:
        """The wait before each attempt: the first, then each retry (doubling)."""
        timeout = self.timeout
        for _ in range(self.retries + 1):
            yield timeout
            timeout *= 2

    def round_trip(self, association: Association, seconds: float, attempt: int) -> None:
        """A reply came after ``seconds`` (on attempt ``attempt``)."""

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
    ) -> AsyncIterator[Association]:
        """``async with client.associate(meter_title, ...) as meter:``: COSEM-OPEN
        (AARQ/AARE, HLS pass 3/4; none for a pre-established association),
        then COSEM-RELEASE (RLRQ/RLRE) on leaving the block."""
        association = await self.open(
            system_title, address=address, auth=auth, security=security, client_sap=client_sap,
            server_sap=server_sap, ek=ek, ak=ak, bk=bk, password=password, secret=secret, suite=suite,
            signing_key=signing_key, peer_signing_key=peer_signing_key, dedicated=dedicated,
            pre_established=pre_established,
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
        security = settings.pop("security", "none")
        if pre and security == "none":
            security = "auth"
        opening = Opening(
            client_title=self.system_title, meter_title=title, auth=settings.pop("auth", "none"), security=security,
            credentials=credentials, counters=self.counters, max_pdu_size=self.max_pdu_size,
            conformance=PROPOSED_CONFORMANCE, dedicated=bool(settings.pop("dedicated", False)),
        )  # fmt: skip
        association = Association(
            self, meter_title=title, client_sap=settings.pop("client_sap", 16), server_sap=settings.pop("server_sap", 1),
            opening=opening, address=settings.pop("address", None), pre_established=pre,
        )  # fmt: skip
        if settings:
            raise TypeError(f"unknown settings: {', '.join(settings)}")
        if self._loop_task is None:
            await self.start()
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
            raise association_refused(aare.result, aare.diagnostic, info if isinstance(info, ConfirmedServiceError) else None)
        response = opening.response(aare)
        association.conformance = response.conformance
        association.send_limit = response.max_receive_pdu_size or 0xFFFF
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

    async def _acse_exchange(self, association: Association, apdu: bytes | Callable[[], bytes], tag: int) -> bytes:
        for timeout in self.timeouts(association):
            await association.send_apdu(apdu() if callable(apdu) else apdu)
            deadline = asyncio.get_running_loop().time() + timeout
            while (left := deadline - asyncio.get_running_loop().time()) > 0:
                try:
                    payload, _ = await asyncio.wait_for(association.inbox.get(), left)
                except asyncio.TimeoutError:
                    break
                if payload[:1] == bytes((tag,)):
                    return payload
                association.duplicates += 1
            self.stats.retries += 1
        self.stats.timeouts += 1
        raise DlmsTimeout(f"meter {association.meter_title.hex()} did not answer the {'AARQ' if tag == 0x61 else 'RLRQ'}")

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
