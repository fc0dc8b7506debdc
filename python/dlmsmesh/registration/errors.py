"""Errors of the registration layer (IEC TS 62056-8-20 registration and
address-update notifications, their keys and their senders).

A :class:`RegistrationError` is a :class:`~dlmsmesh.errors.DecodeError` of
layer ``"registration"``: a notification whose body is not an announcement
says where (the byte offset in the body, or in the APDU when the APDU was
given) and why, like every other decoder of the library.
"""

from __future__ import annotations

from ..errors import DecodeError, DlmsError

__all__ = ["RegistrationError", "KeysFileError", "LAYER"]

#: the ``layer`` of every RegistrationError
LAYER = "registration"


class RegistrationError(DecodeError):
    """A registration or address-update message that is not one: ``offset``
    is the failing byte, ``layer`` is always ``"registration"`` (when the
    A-XDR or APDU decoder below failed first, ``reason`` says so)."""

    def __init__(self, message: str, *, offset: int) -> None:
        super().__init__(message, layer=LAYER, offset=offset)

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (_rebuild, (self.reason, self.offset))


def _rebuild(reason: str, offset: int) -> RegistrationError:
    return RegistrationError(reason, offset=offset)


class KeysFileError(DlmsError, ValueError):
    """A keys file (JSON Lines, one meter a line) that cannot be used:
    ``line`` is the 1-based line number (0 when the whole file is at fault).
    The message never contains key material."""

    def __init__(self, message: str, *, line: int = 0, source: str = "") -> None:
        where = f"{source}:" if source else "line "
        super().__init__(f"{where}{line}: {message}" if line else (f"{source}: {message}" if source else message))
        self.reason = message
        self.line = line
        self.source = source
