"""A response APDU onto the wire: ciphered as the request was, and cut into
blocks when it exceeds what the client can receive.

The limit is the smaller of the client's max-receive-pdu-size (its
InitiateRequest) and the server's own ``max_pdu_size`` (1224 by default:
one 1280-byte IPv6 datagram after the IPv6, UDP and wrapper headers).  A
reply over the limit goes out, in order of preference, as
general-block-transfer (when negotiated: the whole APDU is ciphered first,
then cut), as service-specific blocks (GET with datablocks, ACTION with
pblocks; each block ciphered on its own), else as an exception-response
pdu-too-long.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import apdu as A
from ..apdu_model import ServiceError
from ..xdlms_initiate import Conformance
from .fastpath import reply_bytes
from .services import not_allowed
from .session import OutgoingBlocks, Session

__all__ = ["Framing", "shape", "gbt_next", "limit_of", "DEFAULT_MAX_PDU_SIZE", "CIPHER_OVERHEAD"]

#: 1280 (the IPv6 minimum MTU) - 40 (IPv6) - 8 (UDP) - 8 (wrapper)
DEFAULT_MAX_PDU_SIZE = 1224
#: the most a ciphered APDU adds to its plaintext: tag, 3-byte length, SC,
#: IC, 12-byte tag (general: + 9 for the system title)
CIPHER_OVERHEAD = 21
_GENERAL_OVERHEAD = 30
#: C4 02 invoke-id last-block block-number(4) choice length(<= 3)
_DATABLOCK_OVERHEAD = 13
#: E0, control, block-number(2), ack(2), length(<= 3)
_GBT_OVERHEAD = 9


@dataclass(frozen=True)
class Framing:
    """How a request was protected, so the reply is protected alike."""

    general: bool = False
    dedicated: bool = False


def _protect(session: Session, framing: Framing | None, plain: bytes, *, general: bool = False) -> bytes:
    if framing is None or session.context is None:
        return plain
    return session.context.protect(plain, general=framing.general or general, dedicated=framing.dedicated)


def _overhead(framing: Framing | None) -> int:
    if framing is None:
        return 0
    return _GENERAL_OVERHEAD if framing.general else CIPHER_OVERHEAD


def _cut(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


def limit_of(session: Session, max_pdu_size: int) -> int:
    client = session.client_max_pdu or 0xFFFF
    # the AARQ refused anything below 64 (associate.MIN_PDU_SIZE)
    return min(client, max_pdu_size)


def shape(session: Session, reply: A.Apdu, framing: Framing | None, max_pdu_size: int) -> list[bytes]:
    """The APDUs to send for ``reply`` (more follow on the client's asking)."""
    plain = reply_bytes(reply)
    general = isinstance(reply, A.ExceptionResponse)  # no service-specific ciphered form
    limit = limit_of(session, max_pdu_size)
    overhead = _overhead(framing)
    if len(plain) + overhead <= limit:
        return [_protect(session, framing, plain, general=general)]
    if session.allows(Conformance.GENERAL_BLOCK_TRANSFER):
        whole = _protect(session, framing, plain)
        session.gbt_out = OutgoingBlocks("gbt", 0, _cut(whole, limit - _GBT_OVERHEAD))
        return gbt_next(session, 0)
    invoke: dict[str, Any] = {
        "invoke_id": getattr(reply, "invoke_id", 1),
        "priority": getattr(reply, "priority", A.Priority.HIGH),
    }
    chunk = limit - overhead - _DATABLOCK_OVERHEAD
    if isinstance(reply, (A.GetResponseNormal, A.GetResponseWithList)) and session.allows(
        Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ
    ):
        raw = plain[4:] if isinstance(reply, A.GetResponseNormal) else plain[3:]
        blocks = _cut(raw, chunk)
        session.outgoing = OutgoingBlocks("get", invoke["invoke_id"], blocks, sent=1)
        first = A.GetResponseWithDatablock(len(blocks) == 1, 1, blocks[0], **invoke)
        return [_protect(session, framing, A.encode(first))]
    if isinstance(reply, (A.ActionResponseNormal, A.ActionResponseWithList)) and session.allows(
        Conformance.BLOCK_TRANSFER_WITH_ACTION
    ):
        # UNVERIFIED: the raw data of action-response-with-pblock taken as the
        # response's encoding after its invoke-id (as for GET with-list)
        blocks = _cut(plain[3:], chunk)
        session.outgoing = OutgoingBlocks("action", invoke["invoke_id"], blocks, sent=1)
        first_action = A.ActionResponseWithPblock(len(blocks) == 1, 1, blocks[0], **invoke)
        return [_protect(session, framing, A.encode(first_action))]
    return [_protect(session, framing, A.encode(not_allowed(ServiceError.PDU_TOO_LONG)), general=True)]


def gbt_next(session: Session, acknowledged: int) -> list[bytes]:
    """The next window of general-block-transfer blocks after the client
    acknowledged block ``acknowledged`` (0: the first window)."""
    out = session.gbt_out
    if out is None:
        return []
    if acknowledged < out.sent:
        out.sent = acknowledged  # the client missed some: send again from there
    frames: list[bytes] = []
    window = max(1, session.gbt_window)
    while not out.done and len(frames) < window:
        number = out.sent + 1
        last = number == len(out.blocks)
        streaming = not last and len(frames) + 1 < window
        block = A.GeneralBlockTransfer(
            out.blocks[out.sent], last_block=last, streaming=streaming, window=window, block_number=number,
            block_number_ack=session.gbt_received,
        )  # fmt: skip
        frames.append(A.encode(block))
        out.sent += 1
    # kept after the last block too (until the next request): a client that
    # lost it acknowledges the block before and gets it again
    return frames
