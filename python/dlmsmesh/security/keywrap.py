"""Key transfer: RFC 3394 AES key wrap with the master key (KEK), and the
A-XDR parameter of Security setup (IEC 62056-6-2) method 2
``key_transfer``: ``array of structure {key_id: enum, key_wrapped: octet-string}``."""

from __future__ import annotations

import enum
from collections.abc import Iterable

from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from .. import axdr, types
from ..errors import AuthenticationError, DecodeError, EncodeError

__all__ = ["KeyId", "wrap_key", "unwrap_key", "key_transfer_parameter", "parse_key_transfer"]


class KeyId(enum.IntEnum):
    """key_id of key_transfer."""

    GLOBAL_UNICAST_ENCRYPTION = 0
    GLOBAL_BROADCAST_ENCRYPTION = 1
    AUTHENTICATION = 2
    MASTER = 3


def _check(name: str, key: bytes, sizes: tuple[int, ...]) -> bytes:
    key = bytes(key)
    if len(key) not in sizes:
        raise EncodeError(f"{name} must be {' or '.join(map(str, sizes))} bytes, not {len(key)}")
    return key


def wrap_key(kek: bytes, key: bytes) -> bytes:
    """RFC 3394 wrap of ``key`` (16 or 32 bytes) under ``kek``: 8 bytes longer."""
    return aes_key_wrap(_check("the KEK", kek, (16, 24, 32)), _check("the key", key, (16, 24, 32)))


def unwrap_key(kek: bytes, wrapped: bytes) -> bytes:
    """The key inside ``wrapped``; AuthenticationError when the RFC 3394
    integrity check fails (wrong KEK or altered data)."""
    wrapped = bytes(wrapped)
    if len(wrapped) not in (24, 32, 40):
        raise DecodeError(f"a wrapped key is 24, 32 or 40 bytes, not {len(wrapped)}", layer="security", offset=0)
    try:
        return aes_key_unwrap(_check("the KEK", kek, (16, 24, 32)), wrapped)
    except InvalidUnwrap:
        raise AuthenticationError("wrapped key failed the RFC 3394 integrity check") from None


def key_transfer_parameter(kek: bytes, keys: Iterable[tuple[KeyId | int, bytes]]) -> bytes:
    """The A-XDR parameter of key_transfer carrying ``keys`` wrapped under ``kek``."""
    items = [(types.Enum(KeyId(key_id)), wrap_key(kek, key)) for key_id, key in keys]
    if not items:
        raise EncodeError("key_transfer carries at least one key")
    return axdr.encode(items)


def parse_key_transfer(kek: bytes, data: bytes) -> list[tuple[KeyId, bytes]]:
    """The (key id, unwrapped key) pairs of a key_transfer parameter; raises
    DecodeError for a malformed parameter, AuthenticationError when a key
    does not unwrap (the call must then fail as a whole)."""
    value = axdr.decode(data)
    if not isinstance(value, list) or not value:
        raise DecodeError("key_transfer parameter is not a non-empty array", layer="security", offset=0)
    out: list[tuple[KeyId, bytes]] = []
    for item in value:
        if (
            not isinstance(item, tuple)
            or len(item) != 2
            or not isinstance(item[0], types.Enum)
            or not isinstance(item[1], bytes)
        ):
            raise DecodeError("key_transfer item is not {enum, octet-string}", layer="security", offset=0)
        try:
            key_id = KeyId(int(item[0]))
        except ValueError:
            raise DecodeError(f"unknown key_id {int(item[0])}", layer="security", offset=0) from None
        out.append((key_id, unwrap_key(kek, item[1])))
    return out
