"""The DLMS/COSEM wrapper (IEC 62056-4-7, the UDP transport layer).

Over UDP every APDU is preceded by 8 bytes: version (always 1), source wPort,
destination wPort and the APDU length, all big-endian 16-bit.  The wPorts are
the DLMS SAPs: client side 1 = management client, 16 = public client; server
side 1 = management logical device, 0x7F = all-station.

``encode(source_wport, destination_wport, apdu) -> bytes`` and
``decode(datagram) -> (WrapperHeader, apdu)``; decode requires version 1 and
a length equal to the bytes after the header (one WPDU per UDP datagram).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from . import _backend
from .errors import EncodeError

__all__ = [
    "WrapperHeader",
    "encode",
    "decode",
    "split",
    "join",
    "to_json",
    "HEADER_LENGTH",
    "NO_STATION",
    "MANAGEMENT",
    "PUBLIC_CLIENT",
    "ALL_STATION",
]

HEADER_LENGTH = 8
NO_STATION = 0x0000
MANAGEMENT = 0x0001  # management client / management logical device
PUBLIC_CLIENT = 0x0010
ALL_STATION = 0x007F


@dataclass(frozen=True)
class WrapperHeader:
    source_wport: int
    destination_wport: int
    length: int
    version: int = 1

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "source_wport": self.source_wport,
            "destination_wport": self.destination_wport,
            "length": self.length,
        }


def _check_wport(name: str, value: int) -> None:
    if not isinstance(value, int) or not 0 <= value <= 0xFFFF:
        raise EncodeError(f"{name} must be in 0..65535, got {value!r}")


def encode(source_wport: int, destination_wport: int, apdu: bytes | bytearray | memoryview) -> bytes:
    """The WPDU: wrapper header + ``apdu``."""
    _check_wport("source_wport", source_wport)
    _check_wport("destination_wport", destination_wport)
    if len(apdu) > 0xFFFF:
        raise EncodeError(f"APDU of {len(apdu)} bytes does not fit the 16-bit wrapper length")
    return _backend.live.wrapper.header(source_wport, destination_wport, len(apdu)) + bytes(apdu)


def decode(datagram: bytes | bytearray | memoryview) -> tuple[WrapperHeader, bytes]:
    """The header and the APDU of one UDP payload; DecodeError (layer ``wrapper``) otherwise."""
    version, source, destination, length = _backend.live.wrapper.decode(datagram)
    return WrapperHeader(source, destination, length, version), bytes(datagram[HEADER_LENGTH:])


def to_json(header: WrapperHeader) -> dict[str, Any]:
    """The ``wrapper`` object of docs/json.md."""
    return header.to_json()


# -- the datagram's own road ---------------------------------------------------
#
# The server and the client take every datagram through the wrapper; for the
# well-formed ones these two do what decode and encode do with one struct
# call and no header object (the tests hold them to the backends' bytes).

_HEADER = struct.Struct(">HHHH")


def split(datagram: bytes) -> tuple[int, int, bytes] | None:
    """(source wPort, destination wPort, APDU) of a datagram whose header
    :func:`decode` takes; None for any other (:func:`decode` says why)."""
    n = len(datagram)
    if n < HEADER_LENGTH:
        return None
    version, source, destination, length = _HEADER.unpack_from(datagram)
    if version != 1 or length != n - HEADER_LENGTH:
        return None
    return source, destination, bytes(datagram[HEADER_LENGTH:])


def join(source_wport: int, destination_wport: int, apdu: bytes) -> bytes:
    """:func:`encode`, the same bytes and the same errors."""
    n = len(apdu)
    if n > 0xFFFF or type(source_wport) is not int or type(destination_wport) is not int:
        return encode(source_wport, destination_wport, apdu)
    if not (0 <= source_wport <= 0xFFFF and 0 <= destination_wport <= 0xFFFF):
        return encode(source_wport, destination_wport, apdu)
    return _HEADER.pack(1, source_wport, destination_wport, n) + bytes(apdu)
