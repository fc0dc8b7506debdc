"""Pure-Python send side of the pipeline (twin of csrc/pipeline_encode.c):
frame by frame with the pure layers: ``_pure.apdu``, ``_pure.secure``,
``_pure.wrapper``, ``_pure.checksum``, ``_pure.iphc``."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

from .. import _status as S
from .._common import pipeline_items as I
from .._common.link import LinkPairs
from .._common.pipeline_plan import EncodePlan
from ..errors import EncodeError
from ..frames import FrameBuffer
from . import apdu as pure_apdu
from . import checksum, iphc, secure, wrapper

__all__ = ["encode"]

_UDP = struct.Struct(">HHHH")
_IP = struct.Struct(">IHBB16s16s")


_NO_LINK = LinkPairs()


def _too_long(i: int) -> EncodeError:
    return EncodeError(f"request {i}: {S.MESSAGES[S.PIPE_TOO_LONG]}")


def encode(requests: Sequence[Any], plan: EncodePlan) -> FrameBuffer:
    """Encode a batch request by request (see :func:`dlmsmesh.pipeline.encode_batch`)."""
    keys = [s.key(secure) for s in plan.senders]
    links = plan.links
    sport, dport = plan.ports >> 16, plan.ports & 0xFFFF
    swp, dwp = plan.wports >> 16, plan.wports & 0xFFFF
    tc, hop = plan.ip >> 24, (plan.ip >> 16) & 0xFF
    first = 6 << 28 | tc << 20 | plan.flow_label
    frames: list[bytes] = []
    for i, a in enumerate(requests):
        apdu = bytes(a) if isinstance(a, (bytes, bytearray, memoryview)) else pure_apdu.encode(a)
        s = plan.sender[i]
        if s != I.NONE:
            sender = plan.senders[s]
            apdu = secure.seal_batch(keys[s], sender.sc, sender.title, plan.ic[i], sender.framing, [apdu])[0]
        if len(apdu) > 0xFFFF:
            raise _too_long(i)
        frame = wrapper.header(swp, dwp, len(apdu)) + apdu
        if plan.layer != I.WRAPPER_LAYER:
            p = plan.peer[i]
            dst = plan.destinations[16 * p : 16 * p + 16]
            length = 8 + len(frame)
            if length > 0xFFFF:
                raise _too_long(i)
            segment = _UDP.pack(sport, dport, length, 0) + frame
            check = checksum.udp_checksum(plan.source, dst, segment)
            frame = segment[:6] + check.to_bytes(2, "big") + segment[8:]
            if plan.layer != I.UDP_LAYER:
                frame = _IP.pack(first, length, 17, hop, plan.source, dst) + frame
            if plan.layer == I.LOWPAN_LAYER:
                link = LinkPairs.single(*links.pair(p)) if links is not None else _NO_LINK
                try:
                    frame = iphc.compress_one(frame, link, plan.contexts, plan.iphc_flags)[0]
                except iphc.Fail as f:
                    raise EncodeError(f"request {i}: {S.MESSAGES.get(f.code, f'error {f.code}')}") from None
        frames.append(frame)
    return FrameBuffer.join(frames)
