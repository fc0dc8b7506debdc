"""Small helpers shared by the tests."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import dlmsmesh
from dlmsmesh import _backend


def hexbytes(text: str) -> bytes:
    """Bytes from spaced hex as the spec notes write them."""
    return bytes.fromhex(text.replace(" ", ""))


# --------------------------------------------------------------------------
# backends: the one mechanism the tests use to choose one (tests/conftest.py
# runs every test on each; differential tests pin one with on_backend)
# --------------------------------------------------------------------------

#: the backends this build can run: native first when the C core is built
BACKENDS = ["native", "pure"] if dlmsmesh.native_available() else ["pure"]


@contextlib.contextmanager
def on_backend(name: str) -> Iterator[None]:
    """``name`` live inside the block; the backend before it afterwards."""
    before = _backend.backend()
    _backend.set_backend(name)
    try:
        yield
    finally:
        _backend.set_backend(before)
