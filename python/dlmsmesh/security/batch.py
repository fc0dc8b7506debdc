"""The batch entry points' shared types (:class:`PeerKeys`, :class:`BatchResult`
and the ring checks) under their public name; they live in
:mod:`dlmsmesh._common.secure`, below both backends."""

from __future__ import annotations

from .._common.secure import (
    DEFERRED,
    MAX_BATCH_BYTES,
    NO_PEER,
    BatchResult,
    PeerKeys,
    check_offsets,
    check_ring,
)

__all__ = ["PeerKeys", "BatchResult", "DEFERRED", "NO_PEER", "MAX_BATCH_BYTES", "check_ring", "check_offsets"]
