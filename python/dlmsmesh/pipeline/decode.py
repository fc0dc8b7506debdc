""":func:`decode_batch`: the receive side of the pipeline.

The one place that runs a decode: the backend walks, opens and checks the
frames and returns an :class:`~dlmsmesh._common.pipeline_outcome.Outcome`;
here the counter table is committed (:func:`~dlmsmesh.pipeline.replay.settle`),
the frames the backend left are settled
(:func:`~dlmsmesh.pipeline.deferred.settle_deferred`) and the
:class:`DecodedBatch` is built, the same code for both backends.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Union

from .. import _backend
from .._common import pipeline_items as I
from .._common.pipeline_outcome import Outcome
from .._common.pipeline_plan import DecodeJob
from ..frames import FramesLike, as_buffer, retired_check
from ..lowpan.context import ContextTable, PrefixLike
from ..lowpan.link import LinkPairs
from ..security.context import SecurityContext
from ..security.keyring import Keyring
from .deferred import settle_deferred
from .plan import DecodePlan, Security
from .replay import settle
from .result import DecodedBatch

if TYPE_CHECKING:
    from .._protocols.pipeline import Backend as PipelineBackend

__all__ = ["decode_batch", "decode_plan", "decode_with", "new_workspace"]

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
    return decode_with(_backend.live.pipeline, frames, plan, out)


def decode_with(backend: PipelineBackend, frames: FramesLike, plan: DecodePlan, out: Any = None) -> DecodedBatch:
    """Run ``plan`` over ``frames`` on ``backend`` (a pipeline backend module,
    ``dlmsmesh._native.pipeline`` or ``dlmsmesh._pure.pipeline``): what
    :func:`decode_batch` does on the live one (benchmarks run both)."""
    fb = as_buffer(frames)
    name, secure, apdu_codec, load_program = backend.codecs()
    if plan.links is not None:
        plan.links.check(len(fb))
    ring, contexts = plan.ring(secure)
    table = plan.table(name, ring, contexts)
    job = DecodeJob(plan.layer, plan.flags, plan.links, plan.contexts, ring, None if table is None else table.words)
    with table.lock if table is not None else contextlib.nullcontext():
        try:
            result: Outcome = backend.decode(fb, job, out)
        except BaseException:
            if table is not None:
                table.forget()  # the backend may have stopped half way through the counters
            raise
        if table is not None:
            settle(table, result, lambda i: _title(secure, result, i))
    if result.deferred:
        settle_deferred(result, contexts, secure, apdu_codec, plan.replay)
    return DecodedBatch(
        result,
        layer=plan.layer,
        contexts=contexts,
        secure=secure,
        apdu_codec=apdu_codec,
        load_program=load_program,
        check=retired_check(fb, result.check),
    )


def _title(secure: Any, out: Outcome, i: int) -> bytes:
    """The system title frame i's ciphered APDU carries."""
    apdu = out.apdu_bytes(i)
    env = secure.parse(apdu)
    return bytes(apdu[env.title : env.title + 8])


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
    return _backend.live.pipeline.Workspace()


def _links(links: Links) -> LinkPairs | None:
    if links is None or isinstance(links, LinkPairs):
        return links if links is None or len(links) else None
    pairs = LinkPairs(links)
    return pairs if len(pairs) else None
