"""What one decode call is asked to do, checked once and handed to the
backend: the layer the frames start at, 6LoWPAN link addresses and
contexts, the security source (a SecurityContext or a Keyring) with its
ring of keys and counter table, and the flags of dm_pipe_decode."""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union

from .._common import pipeline_items as I
from .replay import CounterTable

if TYPE_CHECKING:
    from ..lowpan.context import ContextTable
    from ..lowpan.link import LinkPairs
    from ..security._batch_access import BatchContext
    from ..security.context import SecurityContext
    from ..security.keyring import Keyring

__all__ = ["DecodePlan", "Security"]

Security = Union["SecurityContext", "Keyring"]

_tables: weakref.WeakKeyDictionary[Any, dict[str, tuple[Any, CounterTable]]] = weakref.WeakKeyDictionary()
_tables_lock = threading.Lock()


@dataclass(frozen=True, eq=False)
class DecodePlan:
    layer: int
    flags: int
    links: LinkPairs | None
    contexts: ContextTable | None
    security: Security | None
    replay: bool

    def ring(self, secure: Any) -> tuple[Any, list[BatchContext]]:
        """(the ring of ``secure``'s keys, the context of each ring peer)."""
        src = self.security
        if src is None:
            return None, []
        ring, contexts = src.batch_ring(secure)
        return ring, list(contexts)

    def table(self, backend: str, ring: Any, contexts: list[BatchContext]) -> CounterTable | None:
        """The counter table of the security source's current ring (a new
        ring, after keys or titles changed, gets a new table)."""
        if not self.replay or self.security is None:
            return None
        with _tables_lock:
            per = _tables.setdefault(self.security, {})
            entry = per.get(backend)
            if entry is None or entry[0] is not ring:
                table = CounterTable(contexts)
                if entry is not None:
                    table.inherit(entry[1])
                table.preload()
                entry = per[backend] = (ring, table)
            return entry[1]

    @property
    def keys(self) -> bool:
        return bool(self.flags & I.KEYS)
