""":func:`decode_batch`: the receive side of the pipeline, on the live backend."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Union

from .. import _backend
from ..lowpan.context import ContextTable, PrefixLike
from ..lowpan.link import LinkPairs
from ..security.context import SecurityContext
from ..security.keyring import Keyring
from . import items as I
from .frames import FramesLike
from .plan import DecodePlan, Security
from .result import DecodedBatch

__all__ = ["decode_batch", "decode_plan", "new_workspace"]

Links = Union[LinkPairs, Sequence[tuple[Any, Any]], None]


def decode_batch(
    frames: FramesLike,
    *,
    layer: str = "wrapper",
    security: Security | None = None,
    replay_check: bool = True,
    allow_plain: bool | None = None,
    verify_checksum: bool = True,
    contexts: ContextTable | Mapping[int, PrefixLike] | None = None,
    links: Links = None,
    out: Any = None,
) -> DecodedBatch:
    """Decode N frames through every layer in one backend call.

    ``frames``: a :class:`~dlmsmesh.pipeline.FrameBuffer` (frames back to
    back, as a receive loop keeps them) or a sequence of byte strings, each
    starting at ``layer``: ``lowpan`` (a 6LoWPAN frame payload: mesh, BC0,
    IPHC or uncompressed IPv6; fragments must be reassembled first, see
    :class:`~dlmsmesh.lowpan.Reassembler`), ``ipv6`` (a datagram), ``udp``
    (a UDP segment: its checksum cannot be checked without the addresses),
    ``wrapper`` (a UDP payload) or ``apdu``.

    ``security``: a :class:`~dlmsmesh.security.SecurityContext` or a
    :class:`~dlmsmesh.security.Keyring` whose keys verify and decrypt the
    ciphered APDUs; with ``replay_check`` (the default) their invocation
    counters are checked and recorded exactly as
    :meth:`~dlmsmesh.security.SecurityContext.unprotect` does, frame after
    frame, only for frames that verified.  Unciphered APDUs are refused when
    a security source is given unless ``allow_plain``.  ``verify_checksum``:
    a UDP checksum that does not verify fails the frame (else it is only
    reported).  ``contexts``/``links``: the IPHC context table and the
    link-layer addresses (one pair for all frames or one per frame) of
    6LoWPAN frames.  ``out``: a :func:`new_workspace` reused across calls
    (the previous result from it is then retired).

    Nothing is built in Python until asked: the result holds per-frame
    status and header fields, and builds an APDU when :meth:`DecodedBatch.apdu`
    is called.  No plaintext of a frame that failed is ever visible.
    """
    plan = decode_plan(
        layer=layer, security=security, replay_check=replay_check, allow_plain=allow_plain,
        verify_checksum=verify_checksum, contexts=contexts, links=links,
    )  # fmt: skip
    return _backend.module("pipeline").decode(frames, plan, out)  # type: ignore[no-any-return]


def decode_plan(
    *,
    layer: str = "wrapper",
    security: Security | None = None,
    replay_check: bool = True,
    allow_plain: bool | None = None,
    verify_checksum: bool = True,
    contexts: ContextTable | Mapping[int, PrefixLike] | None = None,
    links: Links = None,
) -> DecodePlan:
    """The checked arguments of :func:`decode_batch`, for calling a backend's
    ``decode(frames, plan, out)`` directly (benchmarks, both backends in one
    process)."""
    code = I.layer_code(layer)
    if security is not None and not isinstance(security, (SecurityContext, Keyring)):
        raise TypeError(f"security must be a SecurityContext or a Keyring, not {type(security).__name__}")
    flags = 0
    if security is not None:
        flags |= I.KEYS
        if allow_plain:
            flags |= I.ALLOW_PLAIN
    if verify_checksum:
        flags |= I.CHECKSUM
    return DecodePlan(code, flags, _links(links), ContextTable.of(contexts), security, bool(replay_check))


def new_workspace() -> Any:
    """Reusable buffers for :func:`decode_batch` ``out=`` on the live backend."""
    return _backend.module("pipeline").Workspace()


def _links(links: Links) -> LinkPairs | None:
    if links is None or isinstance(links, LinkPairs):
        return links if links is None or len(links) else None
    pairs = LinkPairs(links)
    return pairs if len(pairs) else None
