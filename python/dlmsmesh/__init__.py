"""dlmsmesh: DLMS/COSEM over IPv6 mesh neighbourhood networks (IEC 62056-8-20).

A C core (wrapped by cffi) with a pure-Python twin of every hot path;
:func:`backend` says which one is live.
"""

from __future__ import annotations

from ._backend import backend, native_available, set_backend
from ._version import __version__
from .errors import (
    AssociationError,
    AuthenticationError,
    DecodeError,
    DlmsError,
    DlmsTimeout,
    EncodeError,
    ReplayError,
    SecurityError,
)

__all__ = [
    "backend",
    "set_backend",
    "native_available",
    "DlmsError",
    "DecodeError",
    "EncodeError",
    "SecurityError",
    "AuthenticationError",
    "ReplayError",
    "AssociationError",
    "DlmsTimeout",
    "__version__",
    "Server",
    "Meter",
    "MeterKeys",
    "Client",
    "Registry",
    "PushListener",
]

#: names of the layers above the codec, imported on first use (``import
#: dlmsmesh`` stays light for a decoder that never serves)
_LAZY = {"Server": "server", "Meter": "server", "MeterKeys": "server", "Client": "client", "Registry": "registration"}
_LAZY["PushListener"] = "push_listener"


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'dlmsmesh' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f".{module}", __name__), name)
