"""The one exception hierarchy of dlmsmesh.

Every failure the library reports is a :class:`DlmsError`.  Decoders raise
:class:`DecodeError`, which names the protocol layer and the byte offset at
which the input stopped making sense, so a tool can point at the bad byte.
"""

from __future__ import annotations

__all__ = [
    "DlmsError",
    "DecodeError",
    "EncodeError",
    "SecurityError",
    "AuthenticationError",
    "ReplayError",
    "AssociationError",
    "DlmsTimeout",
]


class DlmsError(Exception):
    """Base class of every error raised by dlmsmesh."""


class DecodeError(DlmsError, ValueError):
    """Input bytes that do not decode at ``layer``; ``offset`` is the failing byte."""

    def __init__(self, message: str, *, layer: str, offset: int) -> None:
        super().__init__(f"{layer} at offset {offset}: {message}")
        self.reason = message
        self.layer = layer
        self.offset = offset

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (_rebuild_decode_error, (self.reason, self.layer, self.offset))


def _rebuild_decode_error(reason: str, layer: str, offset: int) -> DecodeError:
    return DecodeError(reason, layer=layer, offset=offset)


class EncodeError(DlmsError, ValueError):
    """A value that cannot be encoded as asked."""


class SecurityError(DlmsError):
    """A protection, key or security-context failure."""


class AuthenticationError(SecurityError):
    """An authentication tag or HLS challenge did not verify."""


class ReplayError(SecurityError):
    """An invocation counter that does not move forward."""


class AssociationError(DlmsError):
    """An association that was refused, lost or misused."""


class DlmsTimeout(DlmsError, TimeoutError):
    """A peer that did not answer in time."""
