"""AES-GCM protection of ciphered APDUs in a backend (``dlmsmesh.security``
and ``dlmsmesh.pipeline`` call it).

Key and ring objects belong to the backend that made them (``new_key``,
``make_ring``) and go back only to it; their types are the backend's own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .._common.secure import BatchResult, Envelope, OpenedFrame, PeerKeys


class Backend(Protocol):
    # a backend module's name: the key objects a context keeps are per backend
    __name__: str

    def new_key(self, ek: bytes, ak: bytes | None = None) -> Any:
        """A key object for ``ek`` (16 or 32 bytes) and its authentication key."""

    def parse(self, frame: bytes | bytearray | memoryview) -> Envelope:
        """Where the parts of one ciphered APDU lie; DecodeError (layer
        "security") for a malformed one."""

    def seal(self, key: Any, sc: int, title: bytes, ic: int, plaintext: bytes, header: bytes = b"") -> bytes:
        """``SC | IC | ciphertext-or-plaintext | [tag]`` under IV = title || IC."""

    def unseal(self, key: Any, title: bytes, content: bytes | bytearray | memoryview, header: bytes = b"") -> bytes:
        """The plaintext of one ``SC | IC | body | [tag]``; raises when it does not verify."""

    def make_ring(self, peers: Sequence[PeerKeys], default: int | None = None) -> Any:
        """The senders a batch is opened against (sorted by title)."""

    def open_batch(self, ring: Any, data: bytes | bytearray | memoryview, offsets: Sequence[int]) -> BatchResult:
        """Verify and open every frame ``data[offsets[i]:offsets[i + 1]]``."""

    def seal_batch(
        self, key: Any, sc: int, title: bytes, first_ic: int, framing: int, apdus: Sequence[bytes]
    ) -> list[bytes]:
        """Seal ``apdus`` under consecutive counters from ``first_ic``, each
        framed as ``framing`` (``FRAME_*`` of :mod:`dlmsmesh._common.secure`)."""

    def open_frame(self, ring: Any, frame: bytes) -> OpenedFrame:
        """``open_batch`` of one frame, without the batch's arrays: what one
        request or reply of an association takes."""

    def seal_frame(self, key: Any, sc: int, title: bytes, ic: int, framing: int, apdu: bytes) -> bytes:
        """``seal_batch`` of one APDU under counter ``ic``."""

    def sealer(self, key: Any, sc: int, title: bytes, framing: int) -> Callable[[int, bytes], bytes]:
        """``seal_frame`` with its key, control byte, title and framing
        checked once: a function of the counter and the APDU."""

    def open_glo(self, ring: Any, frame: bytes) -> tuple[bytes, int, int] | None:
        """(plaintext, security control, counter) of a service-specific
        glo- frame from the ring's only peer under its unicast key, as
        ``open_frame`` gives them; None for anything else."""
