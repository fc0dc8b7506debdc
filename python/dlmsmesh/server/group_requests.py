"""How a :class:`~dlmsmesh.server.Server` serves group requests: datagrams
sent to a multicast address (IEC TS 62056-8-20 8.2 and 8.3).

Every hosted meter sees such a datagram (the endpoint stands for all their
IPv6 stacks).  Each checks the protection first: a group request is taken
only as general-glo-ciphering under the meter's broadcast key with a fresh
counter; anything else is ignored and counted in the meter's
``security_log`` (DESIGN: before the membership, as each meter's stack
would hand it the datagram before DLMS can tell, so a forged or replayed
group request is counted by every meter that saw it).  Then the membership
(:func:`~dlmsmesh.server.groups.member_of`): a non-member counts
``not_member`` and stays silent.  Members execute the request in their
pre-established association; a confirmed one is answered after the delay
:func:`~dlmsmesh.server.delayed.response_delay` draws, ciphered when it
leaves (the meter's unicast key and system title, general-glo-ciphering).
An answer that could not leave before its window closed waits for the next
window, with a new delay.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from .. import apdu as A
from .. import stack, wrapper
from ..errors import DlmsError
from ..security.envelope import general_sender_title, security_control_of
from ..security.tags import CIPHERED_TAGS, SC_AUTHENTICATION, SC_BROADCAST
from ..transport import Address, Incoming, TransportClosed
from ..transport.clock import Clock, RealClock
from . import eager
from .delayed import DelayedAnswers, Pending, response_slot
from .groups import GroupStats, Memberships, member_of
from .meter import ALL_STATION, Meter
from .replies import Framing, shape
from .session import Session

if TYPE_CHECKING:
    from .core import Server

__all__ = ["GroupRequests"]

#: how a group answer is protected: general-glo-ciphering, global unicast key
_ANSWER_FRAMING = Framing(general=True, dedicated=False)


class GroupRequests:
    """The group side of one Server: its meters' multicast subscriptions,
    the requests sent to them and the answers waiting to go."""

    def __init__(self, server: Server, max_delayed: int) -> None:
        self.server = server
        self.stats = GroupStats()
        self.memberships = Memberships(server.transport, self.stats)
        self.delayed = DelayedAnswers(self._clock, max_per_meter=max_delayed, on_drop=self._dropped, on_sent=self._sent)

    def forget(self, index: int) -> None:
        """Meter ``index`` is no longer served: its subscriptions and waiting answers go."""
        self.memberships.detach(index)
        self.delayed.forget(index)

    async def handle(self, incoming: Incoming, client_sap: int, server_sap: int, payload: bytes) -> None:
        """Serve one datagram sent to a multicast address (answers go later)."""
        server = self.server
        self.stats.received += 1
        if not payload or payload[0] not in CIPHERED_TAGS:
            # DESIGN: a group request is only ever taken under the broadcast key
            self._ignore_all("unprotected_on_group")
            return
        sc = security_control_of(payload)
        if sc is None:
            server.stats.malformed += 1
            return
        if not sc & SC_BROADCAST:
            self._ignore_all("unicast_key_on_group")
            return
        title = general_sender_title(payload)
        if title is None:
            # a service-specific glo- frame names no sender: no keys to open it with
            self._ignore_all("unprotected_on_group")
            return
        # the members execute side by side: one whose objects wait (each
        # within request_timeout) holds back neither the others nor their answers
        waiting: list[asyncio.Task[None]] = []
        for index, meter in enumerate(server._meters):
            if meter is None:
                continue
            serving = self._one(index, meter, incoming, client_sap, server_sap, payload, title)
            done, waits_on = eager.step(serving)
            if done is eager.PENDING:
                task = asyncio.get_running_loop().create_task(eager.finish(serving, waits_on))
                server._handlers.add(task)
                task.add_done_callback(server._handlers.discard)
                waiting.append(task)
        if waiting:
            await asyncio.gather(*waiting)

    def _ignore_all(self, reason: str) -> None:
        for meter in self.server._meters:
            if meter is not None:
                meter.security_log[reason] += 1
                self.stats.ignored += 1

    def _ignore(self, meter: Meter, reason: str) -> None:
        meter.security_log[reason] += 1
        self.stats.ignored += 1

    async def _one(
        self, index: int, meter: Meter, incoming: Incoming, client_sap: int, server_sap: int, payload: bytes,
        title: bytes,
    ) -> None:  # fmt: skip
        """Meter ``index``'s part: check, execute, schedule the answer."""
        server = self.server
        if server_sap != ALL_STATION and server_sap not in meter.logical_devices:
            return  # a logical device this meter does not have: not for it
        key = (index, server_sap, client_sap, incoming.source)
        session = server._sessions.get(key)
        if session is None:
            session = server._pre_session(meter, index, key)
            if session is None:
                return  # no pre-established association for that client: not for it
        if meter.keys.bk is None:
            self._ignore(meter, "no_broadcast_key")
            return
        async with session.held():
            server._rekey(session)
            ctx = session.context if session.context is not None and session.client_title == title else None
            if ctx is None:
                ctx = meter.shared_context(title, session.policy)
            try:
                received = await server._blocking(meter, stack.receive, payload, "apdu", security=ctx)
            except stack.FrameReplayError:
                server.stats.replays += 1
                self._ignore(meter, "replay")
                return
            except stack.FrameSecurityError:
                server.stats.security_failures += 1
                self._ignore(meter, "wrong_key")
                return
            except stack.FrameError:
                server.stats.malformed += 1
                return
            request = received.apdu
            if request is None or isinstance(request, A.GeneralBlockTransfer):
                server.stats.malformed += 1  # a group request travels whole
                return
            if not await member_of(meter, incoming.destination.host):
                meter.security_log["not_member"] += 1
                self.stats.not_member += 1
                return
            if session.context is None or session.client_title != title:
                session.context, session.client_title = ctx, title
            server._remember(session)
            info = received.security
            authenticated = info is not None and bool((info.security_control or 0) & SC_AUTHENTICATION)
            reply = await server._serve_request(session, request, authenticated)
            self.stats.executed += 1
        if reply is None:
            self.stats.unconfirmed += 1
            return
        reply_from = server_sap if server_sap != ALL_STATION else min(meter.logical_devices)
        self._schedule(index, session, reply, reply_from, incoming.source)

    def _schedule(self, index: int, session: Session, reply: A.Apdu, reply_from: int, peer: Address) -> None:
        """Draw the answer's delay in the meter's window and let it wait."""
        meter = session.meter
        slot = response_slot(meter, self.server.rng)
        if slot is None:
            meter.security_log["no_window"] += 1
            self.stats.no_window += 1
            return
        closes = self._clock().time() + slot.closes
        calendar = slot.calendar

        async def send() -> bool:
            return await self._send(index, session, reply, reply_from, peer, closes, calendar)

        self.delayed.schedule(index, meter, slot.delay, send)

    async def _send(
        self,
        index: int,
        session: Session,
        reply: A.Apdu,
        reply_from: int,
        peer: Address,
        closes: float,
        calendar: bool = False,
    ) -> bool:
        """Cipher a group answer now (the meter's unicast key and system
        title, general-glo-ciphering, its next counter) and send it; False
        when its window closed first: the answer then waits for the next
        window of the calendar, or (the request's own window, which nothing
        follows) is not sent at all, and counted."""
        server = self.server
        meter = session.meter
        async with session.held():
            server._rekey(session)
            if session.context is None:
                assert session.client_title is not None
                session.context = meter.shared_context(session.client_title, session.policy)
            apdus = await server._blocking(meter, shape, session, reply, _ANSWER_FRAMING, server.max_pdu_size)
        if self._clock().time() >= closes:
            # held past the close (the meter busy with another request, a
            # late loop): never outside the window, so the next one, redrawn;
            # the request's own window has no next one: the head-end finds the
            # meter missing and reads it one by one
            if not calendar:
                meter.security_log["window_missed"] += 1
                self.stats.window_missed += 1
            elif self.server._meters[index] is meter:  # still served
                self.stats.rescheduled += 1
                self._schedule(index, session, reply, reply_from, peer)
            return False
        transport = server.transport
        # answered from the meter's own address where the transport can
        source = meter.address if server._aliased is not None or server._udp_wildcard else None
        for apdu in apdus:
            datagram = wrapper.encode(reply_from, session.client_sap, apdu)
            try:
                if source is not None:
                    try:
                        await transport.send(datagram, peer, source=source)  # type: ignore[call-arg]
                        continue
                    except TransportClosed:
                        raise
                    except DlmsError:
                        source = None  # not an address of the endpoint: from the endpoint's own
                await transport.send(datagram, peer)
            except TransportClosed:
                return True
        return True

    def _clock(self) -> Clock:
        clock = getattr(self.server.transport, "clock", None)
        return clock if clock is not None else RealClock()

    def _dropped(self, pending: Pending) -> None:
        pending.meter.security_log["queue_overflow"] += 1
        self.stats.dropped += 1

    def _sent(self, pending: Pending) -> None:
        self.stats.answered += 1
