"""What one encode call is asked to do, checked once and handed to the
backend as plain data (:class:`~dlmsmesh._common.pipeline_plan.EncodePlan`):
which security context seals each request and with which counter (reserved
from the counter store before anything is sealed, so a counter is never
used twice even if the batch fails), where each frame goes, and the
transport fields.  :class:`Sender` is the plan's view of one context."""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._common import pipeline_items as I
from .._common.pipeline_plan import EncodePlan
from ..errors import EncodeError

if TYPE_CHECKING:
    from ..security._batch_access import BatchContext
    from ..security.tags import KeySet

__all__ = ["Sender", "EncodePlan", "reserve", "check_service_form"]


@dataclass(frozen=True, eq=False)
class Sender:
    """One key we send under: the context, its key set, the security
    control byte and the framing (``FRAME_*`` of the secure backends)."""

    ctx: BatchContext
    key_set: KeySet
    sc: int
    framing: int

    def key(self, secure: Any) -> Any:
        """The backend key object (built once per context)."""
        return self.ctx.send_key(secure, self.key_set)

    @property
    def title(self) -> bytes:
        title = self.ctx.system_title
        assert title is not None
        return title


def reserve(
    contexts: Sequence[BatchContext | None],
    peer: Sequence[int],
    *,
    dedicated: bool,
    general: bool,
    broadcast: bool,
    protection: Any,
) -> tuple[list[Sender], array[int], array[int]]:
    """(senders, per-request sender index, per-request counter): each
    context's counters for this batch reserved at once, in request order."""
    n = len(peer)
    senders: list[Sender] = []
    index: dict[int, int] = {}
    sender = array("I", [I.NONE]) * n
    counts: list[int] = []
    for i, p in enumerate(peer):
        ctx = contexts[p]
        if ctx is None:
            continue
        s = index.get(id(ctx))
        if s is None:
            sc, key_set, framing = ctx.send_setup(_secure_module(), dedicated, general, broadcast, protection)
            s = index[id(ctx)] = len(senders)
            senders.append(Sender(ctx, key_set, sc, framing))
            counts.append(0)
        sender[i] = s
        counts[s] += 1
    firsts = []
    for snd, count in zip(senders, counts):
        firsts.append(snd.ctx.reserve_counters(snd.key_set, count))
    ic = array("I", bytes(4 * n))
    nxt = list(firsts)
    for i, s in enumerate(sender):
        if s != I.NONE:
            ic[i] = nxt[s]
            nxt[s] += 1
    return senders, sender, ic


def _secure_module() -> Any:
    from .. import _backend

    return _backend.live.secure


def check_service_form(tags: Sequence[int], general: bool) -> None:
    """The single-frame path's refusal of glo-/ded- framing for an APDU that
    has no service-specific ciphered form (checked before any counter is
    reserved)."""
    if general:
        return
    from ..security.tags import PLAIN_NAMES

    for i, tag in enumerate(tags):
        if tag not in PLAIN_NAMES:
            raise EncodeError(f"APDU {i} has no service-specific ciphered form (use general-glo-ciphering)")
