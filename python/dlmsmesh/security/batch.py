"""Types shared by the two backends' batch entry points: the keys of one
sender (:class:`PeerKeys`) and the per-frame outcome of a batch
(:class:`BatchResult`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["PeerKeys", "BatchResult", "DEFERRED", "NO_PEER", "MAX_BATCH_BYTES", "check_ring", "check_offsets"]

#: batch status of a frame left to the Python path (general-signing, a
#: wrapped or agreed key): not an error, not done
DEFERRED = 1
#: BatchResult.peer of a frame whose sender is not known
NO_PEER = -1
#: the most bytes one batch call takes (the C core hands lengths to EVP as int)
MAX_BATCH_BYTES = 0x7FFFFFFF - 64


@dataclass(frozen=True, eq=False)
class PeerKeys:
    """One sender as the batch sees it: its system title (None: not known),
    suite, the SC bits the policy requires (0x10, 0x20), whether
    general-ciphering header fields enter the AAD, whether it accepts the
    title a frame carries (a single peer only), and its keys (backend key
    objects, None when not configured)."""

    title: bytes | None
    suite: int
    required: int = 0
    header_aad: bool = True
    any_title: bool = False
    unicast: Any = None
    broadcast: Any = None
    dedicated: Any = None


@dataclass(eq=False)
class BatchResult:
    """Per-frame outcome of ``open_batch``: parallel lists, one item per frame.

    ``status`` is 0 (ok), :data:`DEFERRED`, or a negative status code of
    :mod:`dlmsmesh._status` with ``err_offset`` the failing byte of the frame;
    ``plaintexts`` holds the APDU of every frame whose status is 0, else None.
    ``peer`` indexes the ring's peers (:data:`NO_PEER` when unknown); ``tag``,
    ``sc`` and ``ic`` are read from the frame (0 when it did not parse) and
    ``key_set`` is a :class:`~dlmsmesh.security.tags.KeySet` value.
    """

    status: list[int]
    err_offset: list[int]
    peer: list[int]
    tag: list[int]
    sc: list[int]
    ic: list[int]
    key_set: list[int]
    plaintexts: list[bytes | None]

    def __len__(self) -> int:
        return len(self.status)


def check_ring(peers: Sequence[PeerKeys], default: int | None, key_type: type) -> list[Any]:
    """Raise ValueError unless ``peers`` can form a ring (sorted unique
    titles; only a single any-title peer may lack one; open keys of
    ``key_type``); return the distinct keys, in a fixed order."""
    keys: dict[int, Any] = {}
    for p in peers:
        if p.title is None and not (len(peers) == 1 and p.any_title):
            raise ValueError("only a single any-title peer may lack a system title")
        if p.title is not None and len(p.title) != 8:
            raise ValueError("a system title is 8 bytes")
        for k in (p.unicast, p.broadcast, p.dedicated):
            if k is None:
                continue
            if not isinstance(k, key_type) or getattr(k, "closed", True):
                raise ValueError("ring keys must be open keys of this backend")
            keys[id(k)] = k
    titles = [p.title or b"" for p in peers]
    if any(a >= b for a, b in zip(titles, titles[1:])):
        raise ValueError("peers must be sorted by system title, without duplicates")
    if default is not None and not 0 <= default < len(peers):
        raise ValueError("default peer out of range")
    return [keys[i] for i in sorted(keys)]


def check_offsets(offsets: Sequence[int], total: int) -> None:
    """Raise ValueError unless ``offsets`` rise from >= 0 to <= ``total`` bytes
    (and within MAX_BATCH_BYTES)."""
    if (
        len(offsets) < 1
        or offsets[0] < 0
        or offsets[-1] > total
        or offsets[-1] > MAX_BATCH_BYTES
        or any(a > b for a, b in zip(offsets, offsets[1:]))
    ):
        raise ValueError("offsets must rise from 0 .. len(data)")
