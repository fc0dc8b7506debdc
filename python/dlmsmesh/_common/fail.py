"""``Fail``: a status code and the offset it happened at, raised inside a
codec and turned into the layer's ``DecodeError`` by the caller."""

from __future__ import annotations


class Fail(Exception):
    """A failed item: the status code (``dlmsmesh._status``) and the offset in the item."""

    def __init__(self, code: int, offset: int) -> None:
        super().__init__(code, offset)
        self.code = code
        self.offset = offset
