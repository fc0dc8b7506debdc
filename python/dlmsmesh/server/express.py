"""The express lane: the datagram a head-end sends most, served where it
arrives, in one function.

A head-end reads registers, clocks and names of an open association again
and again: a glo-get-request (a get-request-normal without selective
access, ciphered with the association's unicast key).  :func:`serve` gives
it what the server's general road gives it (the same reply bytes, the same
counters moved, the same statistics: the tests run both roads on the same
datagrams) without the coroutines, the lock and the objects of that road.

Everything it does not take, it leaves untouched for the general road:
another APDU, a session in use or waiting (its requests are served in
order), keys replaced, a counter store on disk, a frame that does not
verify or repeats a counter (the general road opens it again and answers
as it answers), a request that is not a confirmed get-request-normal.  It
commits to a datagram only once its counter is accepted; from there on it
finishes it itself: an object whose getter waits is finished in a task
holding the session, as the general road would.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .. import apdu as A
from ..errors import DecodeError, DlmsError
from ..security import MemoryCounterStore
from ..security.tags import SC_AUTHENTICATION
from ..transport import Incoming, TransportClosed
from ..transport.udp import send_now_of
from . import fastpath, services
from .groups import is_multicast
from .meter import ALL_STATION
from .replies import CIPHER_OVERHEAD, Framing, shape

if TYPE_CHECKING:
    from .core import Server
    from .session import Session

__all__ = ["serve"]

log = logging.getLogger("dlmsmesh.server.core")

_GLO_GET_REQUEST = 0xC8
#: wrapper, tag, length, control byte, counter: the shortest datagram taken
_SHORTEST = 8 + 7
_GLO = Framing(general=False, dedicated=False)
_CONFIRMED = A.ServiceClass.CONFIRMED
#: the first character of every multicast host (IPv6 ff00::/8, IPv4 224.0.0.0/4)
_MULTICAST_FIRST = frozenset("fF2")


def serve(server: Server, incoming: Incoming) -> bool:
    """Serve ``incoming`` now when it is a glo-get-request of an idle open
    association (True); False, with nothing done, for anything else."""
    data = incoming.data
    if len(data) < _SHORTEST or data[8] != _GLO_GET_REQUEST:
        return False
    fields = fastpath.wrapper_fields(data)
    if fields is None:
        return False
    client_sap, server_sap, payload = fields
    if server_sap == ALL_STATION:
        return False
    host = incoming.destination.host
    if host[:1] in _MULTICAST_FIRST and is_multicast(host):
        return False
    index = server._by_address.get(host, server._default)
    if index is None:
        return False
    meter = server._meters[index]
    key = (index, server_sap, client_sap, incoming.source)
    session = server._sessions.get(key)
    # busy: a request of the association is being served or waits (in order); a group request holds it too
    if session is None or session.busy or meter is None or session.keys_version != meter.keys_version:
        return False
    if server_sap not in meter.logical_devices:
        return False
    ctx = session.context
    if ctx is None or type(meter.counters) is not MemoryCounterStore or not session.authenticated:
        return False
    now = server.clock()
    if now - session.last_used > server.idle_timeout:
        return False  # expired: the general road forgets it
    opened = ctx.verify_glo(payload)
    if opened is None:
        return False
    plaintext, sc, ic = opened
    try:
        request = fastpath.get_request(plaintext)
    except DecodeError:
        return False
    if request is None or request.service_class is not _CONFIRMED or not ctx.accept_glo(ic):
        return False
    # committed: the counter is spent, this datagram is served here
    stats = server.stats
    stats.received += 1
    try:
        # what Server._remember does for a session it holds already
        session.last_used = now
        server._sessions.move_to_end(key)
        meter.received(ic)  # the meter's invocation-counter object
        authenticated = bool(sc & SC_AUTHENTICATION)
        session.gbt_out = None  # a new request: the last long reply was had
        result = services.get_normal_at_once(session, request, authenticated)
        if type(result) is services.Continue:
            _later(server, incoming, session, request, result, authenticated)
            return True
        plain = None
        if result is not services.NO_GET:
            plain = fastpath.get_response_bytes(result, request.invoke_id, request.priority)
        limit = min(session.client_max_pdu or 0xFFFF, server.max_pdu_size)  # replies.limit_of
        if plain is not None and len(plain) + CIPHER_OVERHEAD <= limit:
            replies = [ctx.protect(plain)]
        else:
            # too long for one APDU (blocks), or GET not negotiated: as the general road shapes it
            answer = (
                services.not_supported()
                if result is services.NO_GET
                else A.GetResponseNormal(result, invoke_id=request.invoke_id, priority=request.priority)
            )
            replies = shape(session, answer, _GLO, server.max_pdu_size)
        if session.keys_version != meter.keys_version:
            server._rekey(session)
    except Exception:
        log.exception("serving a datagram from %s failed", incoming.source)
        stats.internal_errors += 1
        return True
    stats.answered += 1
    _send(server, incoming, [fastpath.wrap(server_sap, client_sap, out) for out in replies])
    return True


def _send(server: Server, incoming: Incoming, datagrams: list[bytes]) -> None:
    send_now = send_now_of(server.transport)
    if send_now is not None and not server._udp_wildcard:
        for datagram in datagrams:
            try:
                send_now(datagram, incoming.source)
            except TransportClosed:
                return
            except DlmsError as err:
                log.warning("reply to %s not sent: %s", incoming.source, err)
        return
    server._step(server._send_replies(incoming, datagrams))


def _later(server: Server, incoming: Incoming, session: Session, request: A.Apdu, answered: Any, auth: bool) -> None:
    """The rest of a request whose object's getter waits: in a task that
    holds the session, as the general road serves it."""

    async def rest() -> None:
        try:
            async with session.held():
                reply = await server._serve_request(session, request, auth, answered)
                replies = [] if reply is None else shape(session, reply, _GLO, server.max_pdu_size)
                server._rekey(session)
        except Exception:
            log.exception("serving a datagram from %s failed", incoming.source)
            server.stats.internal_errors += 1
            return
        if replies:
            server.stats.answered += 1
            await server._send_replies(
                incoming, [fastpath.wrap(session.server_sap, session.client_sap, out) for out in replies]
            )

    server._step(rest())
