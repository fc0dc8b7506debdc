""":func:`encode_batch`: the send side of the pipeline, on the live backend."""

from __future__ import annotations

from array import array
from collections.abc import Mapping, Sequence
from typing import Any, Union

from .. import _backend
from .._common import pipeline_items as I
from ..apdu_model import Apdu
from ..errors import EncodeError
from ..frames import FrameBuffer
from ..ipv6 import DLMS_PORT, AddressLike, address
from ..lowpan.context import ContextTable, PrefixLike
from ..lowpan.link import LinkPairs
from ..security.context import SecurityContext
from ..wrapper import MANAGEMENT, PUBLIC_CLIENT
from .sending import EncodePlan, check_service_form, reserve

__all__ = ["encode_batch", "encode_plan", "ENCODE_LAYERS"]

#: what encode_batch can produce, bottom layer last
ENCODE_LAYERS = ("wrapper", "udp", "ipv6", "lowpan")

Request = Union[Apdu, bytes, bytearray, memoryview]
_LAYER = {"wrapper": I.WRAPPER_LAYER, "udp": I.UDP_LAYER, "ipv6": I.IPV6_LAYER, "lowpan": I.LOWPAN_LAYER}


def encode_batch(requests: Sequence[Request], **options: Any) -> FrameBuffer:
    """Encode N requests (GET/SET/ACTION, data-notifications, any APDU
    object, or APDU bytes) down to ``layer`` in one backend call.

    Each request goes to a peer: ``peers[i]`` indexes ``security`` (one
    context, or one per peer; None: unciphered), ``destinations`` and
    ``links`` (one for all, or one per peer); without ``peers`` every
    request goes to peer 0.  Ciphered requests use consecutive invocation
    counters of their context, reserved from its counter store before
    anything is sealed (a failed batch burns them; none is ever reused), in
    the framing ``general``/``dedicated``/``broadcast``/``protection`` ask
    (as :meth:`SecurityContext.protect`).  Then the wrapper (wPorts), UDP
    with its checksum and IPv6 (``source``/``destinations``, ports, hop
    limit ...), and for ``lowpan`` IPHC compression (``contexts``, ``links``,
    ``elide_checksum``).  The options are those of :func:`encode_plan`.

    The frames come back in one :class:`~dlmsmesh.pipeline.FrameBuffer`
    (frame i is ``result[i]``), byte for byte what the single-frame path
    gives: ``apdu.encode``, ``SecurityContext.protect``, ``wrapper.encode``,
    ``ipv6.build``, ``lowpan.compress_datagram``.
    """
    requests = list(requests)
    plan = encode_plan(requests, **options)
    return _backend.live.pipeline.encode(requests, plan)


def encode_plan(
    requests: Sequence[Request],
    *,
    layer: str = "wrapper",
    security: SecurityContext | Sequence[SecurityContext | None] | None = None,
    peers: Sequence[int] | None = None,
    source_wport: int = PUBLIC_CLIENT,
    destination_wport: int = MANAGEMENT,
    source: AddressLike | None = None,
    destinations: Sequence[AddressLike] | AddressLike | None = None,
    source_port: int = DLMS_PORT,
    destination_port: int = DLMS_PORT,
    hop_limit: int = 64,
    traffic_class: int = 0,
    flow_label: int = 0,
    links: LinkPairs | Sequence[tuple[Any, Any]] | None = None,
    contexts: ContextTable | Mapping[int, PrefixLike] | None = None,
    elide_checksum: bool = False,
    general: bool = False,
    dedicated: bool = False,
    broadcast: bool = False,
    protection: Any = None,
) -> EncodePlan:
    """The checked arguments of :func:`encode_batch` for ``requests``, with
    the invocation counters reserved (so each plan is used once), for
    calling a backend's ``encode(requests, plan)`` directly."""
    if layer not in _LAYER:
        raise ValueError(f"layer must be one of {ENCODE_LAYERS}, not {layer!r}")
    code = _LAYER[layer]
    n = len(requests)
    contexts_of = _contexts(security)
    npeers = max(len(contexts_of), 1)
    dests = b""
    src = b""
    if code != I.WRAPPER_LAYER:
        if source is None or destinations is None:
            raise EncodeError(f"layer {layer} needs source and destinations addresses")
        many: Sequence[Any] = (
            [destinations]
            if isinstance(destinations, (str, bytes, bytearray)) or not isinstance(destinations, Sequence)
            else destinations
        )
        dests = b"".join(address(d).packed for d in many)
        src = address(source).packed
        npeers = max(npeers, len(dests) // 16)
        if len(contexts_of) > 1 and len(dests) // 16 not in (1, len(contexts_of)):
            raise EncodeError("give one destination, or one per security context")
        if len(dests) == 16 and npeers > 1:
            dests = dests * npeers
    peer = _peers(peers, n, npeers)
    if len(contexts_of) == 1 and npeers > 1:
        contexts_of = contexts_of * npeers
    pairs = _links(links, npeers)
    for name, value, bits in (
        ("source_wport", source_wport, 16),
        ("destination_wport", destination_wport, 16),
        ("source_port", source_port, 16),
        ("destination_port", destination_port, 16),
        ("hop_limit", hop_limit, 8),
        ("traffic_class", traffic_class, 8),
        ("flow_label", flow_label, 20),
    ):
        if not isinstance(value, int) or not 0 <= value < 1 << bits:
            raise EncodeError(f"{name} must be in 0..{(1 << bits) - 1}, got {value!r}")
    for i, r in enumerate(requests):
        if not isinstance(r, (Apdu, bytes, bytearray, memoryview)):
            raise EncodeError(f"request {i} is neither an APDU object nor bytes: {type(r).__name__}")
    if any(c is not None for c in contexts_of):
        ciphered = [i for i, p in enumerate(peer) if contexts_of[p] is not None]
        check_service_form([_tag(requests[i]) for i in ciphered], general)
        senders, sender, ic = reserve(
            contexts_of, peer, dedicated=dedicated, general=general, broadcast=broadcast, protection=protection
        )
    else:
        senders, sender, ic = [], array("I", [I.NONE]) * n, array("I", bytes(4 * n))
    return EncodePlan(
        layer=code,
        senders=senders,
        sender=sender,
        ic=ic,
        peer=peer,
        wports=source_wport << 16 | destination_wport,
        source=src,
        destinations=dests,
        links=pairs,
        contexts=ContextTable.of(contexts),
        ports=source_port << 16 | destination_port,
        ip=traffic_class << 24 | hop_limit << 16,
        flow_label=flow_label,
        iphc_flags=1 if elide_checksum else 0,
    )


def _contexts(security: Any) -> list[SecurityContext | None]:
    if security is None:
        return [None]
    if isinstance(security, SecurityContext):
        return [security]
    out = list(security)
    for c in out:
        if c is not None and not isinstance(c, SecurityContext):
            raise EncodeError("security must be a SecurityContext or a sequence of them (or None)")
    return out or [None]


def _peers(peers: Sequence[int] | None, n: int, npeers: int) -> array[int]:
    if peers is None:
        return array("I", bytes(4 * n))
    if len(peers) != n:
        raise EncodeError(f"{len(peers)} peer indexes for {n} requests")
    out = array("I", peers)
    if n and max(out) >= npeers:
        raise EncodeError(f"a peer index is beyond the {npeers} peers given")
    return out


def _links(links: Any, npeers: int) -> LinkPairs | None:
    if links is None:
        return None
    pairs = links if isinstance(links, LinkPairs) else LinkPairs(links)
    if len(pairs) > 1 and len(pairs) != npeers:
        raise EncodeError(f"{len(pairs)} link-layer address pairs for {npeers} peers")
    return pairs if len(pairs) else None


def _tag(r: Request) -> int:
    if isinstance(r, Apdu):
        return int(r.TAG)
    return r[0] if len(r) else -1
