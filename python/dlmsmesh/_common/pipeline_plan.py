"""What a pipeline backend is handed, as plain data: :class:`DecodeJob` for
one decode call and :class:`EncodePlan` for one encode call.

The orchestration (``dlmsmesh.pipeline``) checks the caller's arguments,
reserves counters, builds the security ring and the counter table, and
fills these; a backend reads them and never reaches back up.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .._protocols.apdu import Backend as ApduBackend
    from .._protocols.secure import Backend as SecureBackend

__all__ = ["Codecs", "DecodeJob", "EncodePlan", "SenderLike"]


class Codecs(NamedTuple):
    """What the orchestration reads a pipeline backend's outcome with: the
    backend's name, its secure module, its APDU codec and (native) the
    loader of the APDU programs it wrote."""

    name: str
    secure: SecureBackend
    apdu: ApduBackend
    load_program: Callable[[memoryview], Any] | None


@dataclass(frozen=True, eq=False)
class DecodeJob:
    """``layer``/``flags``: DM_PIPE_* codes (:mod:`~dlmsmesh._common.pipeline_items`);
    ``links``/``contexts``: the 6LoWPAN link addresses and IPHC contexts (a
    ``LinkPairs`` / ``ContextTable``, or None); ``ring``: the backend ring of
    keys (``make_ring`` of the backend's secure module) or None;
    ``counters``: the ring's ``dm_rx_counter`` words, checked and updated in
    frame order (None: no replay check)."""

    layer: int
    flags: int
    links: Any
    contexts: Any
    ring: Any
    counters: array | None


class SenderLike(Protocol):
    """One key a batch is sealed under, as a backend reads it."""

    @property
    def sc(self) -> int:
        """The security control byte."""

    @property
    def framing(self) -> int:
        """``FRAME_*`` of :mod:`dlmsmesh._common.secure`."""

    @property
    def title(self) -> bytes:
        """The sender's system title (8 bytes)."""

    def key(self, secure: Any) -> Any:
        """The key object of the backend whose secure module is ``secure``."""


@dataclass(frozen=True, eq=False)
class EncodePlan:
    """``sender[i]``/``ic[i]``/``peer[i]``: request i's sender index
    (:data:`~dlmsmesh._common.pipeline_items.NONE`: not ciphered), invocation
    counter and destination index."""

    layer: int
    senders: Sequence[SenderLike]
    sender: array
    ic: array
    peer: array
    wports: int
    source: bytes
    destinations: bytes
    links: Any
    contexts: Any
    ports: int
    ip: int
    flow_label: int
    iphc_flags: int

    @property
    def npeers(self) -> int:
        return len(self.destinations) // 16
