"""Many peers at once: a head-end receives pushes from thousands of meters,
each with its own keys.  :class:`Keyring` holds one
:class:`~dlmsmesh.security.SecurityContext` per peer system title and
verifies a batch of frames from all of them in one backend call (the C core
finds each frame's sender by binary search on the title it carries)."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from .. import _backend
from ..errors import EncodeError
from ._keys import CHANGES
from .context import SecurityContext, unprotect_frames
from .info import BatchUnprotected, Unprotected

__all__ = ["Keyring"]


class Keyring:
    """Security contexts by peer system title (every context must know its
    peer's title; frames must carry the sender's title, as
    general-glo/ded-ciphering and general-ciphering do)."""

    def __init__(self, contexts: Iterable[SecurityContext] = ()) -> None:
        self._lock = threading.Lock()
        self._by_title: dict[bytes, SecurityContext] = {}
        self._rings: dict[str, tuple[tuple[int, ...], Any, list[SecurityContext]]] = {}
        #: the contexts' change epoch each backend's ring was last checked at
        self._seen: dict[str, int] = {}
        for ctx in contexts:
            self.add(ctx)

    def add(self, ctx: SecurityContext) -> None:
        title = ctx.peer_system_title
        if title is None:
            raise EncodeError("a keyring context must know its peer's system title")
        with self._lock:
            self._by_title[title] = ctx
            self._rings.clear()

    def remove(self, title: bytes) -> SecurityContext | None:
        with self._lock:
            self._rings.clear()
            return self._by_title.pop(bytes(title), None)

    def get(self, title: bytes) -> SecurityContext | None:
        return self._by_title.get(bytes(title))

    def __len__(self) -> int:
        return len(self._by_title)

    def __contains__(self, title: object) -> bool:
        return isinstance(title, (bytes, bytearray)) and bytes(title) in self._by_title

    def __iter__(self) -> Iterator[SecurityContext]:
        return iter(list(self._by_title.values()))

    def __repr__(self) -> str:
        return f"Keyring({len(self._by_title)} peers)"

    def batch_ring(self, mod: Any) -> tuple[Any, list[SecurityContext]]:
        """(``mod``'s ring of every peer's keys, the context of each ring peer)."""
        with self._lock:
            cached = self._rings.get(mod.__name__)
            epoch = CHANGES[0]
            if cached is not None and self._seen.get(mod.__name__) == epoch:
                return cached[1], cached[2]  # no context anywhere changed since it was checked
            contexts = cached[2] if cached else [self._by_title[t] for t in sorted(self._by_title)]
            versions = tuple(ctx.version for ctx in contexts)
            if cached is None or cached[0] != versions:
                ring = mod.make_ring([ctx.peer_keys(mod) for ctx in contexts], None)
                # building the keys may bump versions: record them afterwards
                cached = (tuple(ctx.version for ctx in contexts), ring, contexts)
                self._rings[mod.__name__] = cached
            self._seen[mod.__name__] = epoch
            return cached[1], cached[2]

    def unprotect_batch(
        self, frames: Sequence[bytes | bytearray | memoryview], *, replay_check: bool = True
    ) -> BatchUnprotected:
        """Verify and decrypt frames from any of the peers in one backend call."""
        return unprotect_frames(_backend.live.secure, frames, replay_check, self.batch_ring)

    def unprotect(self, frame: bytes | bytearray | memoryview, *, replay_check: bool = True) -> Unprotected:
        """Verify and decrypt one frame from any of the peers."""
        result = self.unprotect_batch([frame], replay_check=replay_check)
        err = result.errors[0]
        if err is not None:
            raise err
        info = result.info(0)
        assert info is not None and result.plaintexts[0] is not None
        return Unprotected(result.plaintexts[0], info)
