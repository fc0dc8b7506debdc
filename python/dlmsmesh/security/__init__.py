"""DLMS/COSEM security (IEC 62056-5-3): ciphered APDUs of suites 0, 1 and
2, HLS authentication, key wrap and invocation counters.

The hot paths (AES-GCM protect/unprotect, batches) run on the live backend:
``dlmsmesh._native.secure`` (OpenSSL EVP through the C core) or
``dlmsmesh._pure.secure`` (``cryptography``), with the same results.

Start with :class:`SecurityContext`::

    ctx = SecurityContext(client_title, peer_system_title=meter_title,
                          ek=guek, ak=ak, counters=SqliteCounterStore())
    frame = ctx.protect(get_request_bytes)          # glo-get-request
    reply = ctx.unprotect(frame_from_meter)         # .plaintext, .info
"""

from __future__ import annotations

from .context import DEFAULT_POLICY, SecurityContext
from .counters import InvocationCounterStore, MemoryCounterStore
from .envelope import Envelope
from .hls import (
    ecdsa_reply,
    gmac_reply,
    lls_password_matches,
    new_challenge,
    sha256_reply,
    verify_ecdsa_reply,
    verify_gmac_reply,
    verify_lls_password,
    verify_sha256_reply,
)
from .info import BatchUnprotected, SecurityInfo, Unprotected
from .keyring import Keyring
from .keywrap import KeyId, key_transfer_parameter, parse_key_transfer, unwrap_key, wrap_key
from .policy import GeneralCipheringAad, GeneralSigningRange, Role, SecurityPolicy
from .postgres_store import PostgresCounterStore
from .sqlite_store import SqliteCounterStore
from .stores import open_counter_store
from .tags import CIPHERED_TAGS, TAG_NAMES, FrameKind, KeyInfoKind, KeySet, Protection, SecuritySuite

__all__ = [
    "SecurityContext",
    "DEFAULT_POLICY",
    "Keyring",
    "SecurityInfo",
    "Unprotected",
    "BatchUnprotected",
    "Envelope",
    "parse",
    "SecuritySuite",
    "Protection",
    "KeySet",
    "FrameKind",
    "KeyInfoKind",
    "SecurityPolicy",
    "Role",
    "GeneralCipheringAad",
    "GeneralSigningRange",
    "CIPHERED_TAGS",
    "TAG_NAMES",
    "InvocationCounterStore",
    "MemoryCounterStore",
    "SqliteCounterStore",
    "PostgresCounterStore",
    "open_counter_store",
    "KeyId",
    "wrap_key",
    "unwrap_key",
    "key_transfer_parameter",
    "parse_key_transfer",
    "new_challenge",
    "gmac_reply",
    "verify_gmac_reply",
    "sha256_reply",
    "verify_sha256_reply",
    "ecdsa_reply",
    "verify_ecdsa_reply",
    "lls_password_matches",
    "verify_lls_password",
]


def parse(frame: bytes | bytearray | memoryview) -> Envelope:
    """Where the parts of a ciphered APDU lie (no keys needed); DecodeError
    (layer ``security``) when the frame is malformed."""
    from .. import _backend

    return _backend.live.secure.parse(frame)
