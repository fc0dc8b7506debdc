"""HLS authentication (IEC 62056-5-3) and the LLS password check.

Mechanism 5 (GMAC) needs the invocation counters and keys of a
:class:`~dlmsmesh.security.SecurityContext`: :func:`gmac_reply` /
:func:`verify_gmac_reply` call its methods.  Mechanisms 6 (SHA-256) and 7
(ECDSA) are plain functions of the titles and challenges.  Naming: the
*sender* computes a reply to the *challenge* the receiver issued, and
``sender_challenge`` is the one the sender issued; so a client answers StoC
with ``sender=client, challenge=StoC, sender_challenge=CtoS``, a server
answers CtoS with ``sender=server, challenge=CtoS, sender_challenge=StoC``.
The concatenation orders come from Gurux (UNVERIFIED against the standard).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from cryptography.hazmat.primitives.asymmetric import ec

from ..errors import AuthenticationError, EncodeError
from .context import SecurityContext
from .signing import sign_raw, verify_raw

__all__ = [
    "MECHANISM_LLS",
    "MECHANISM_GMAC",
    "MECHANISM_SHA256",
    "MECHANISM_ECDSA",
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

MECHANISM_LLS = 1
MECHANISM_GMAC = 5
MECHANISM_SHA256 = 6
MECHANISM_ECDSA = 7


def new_challenge(length: int = 16) -> bytes:
    """A fresh random CtoS/StoC challenge (8..64 bytes) from the OS CSPRNG."""
    if not 8 <= length <= 64:
        raise EncodeError("HLS challenges are 8 to 64 bytes long")
    return secrets.token_bytes(length)


def gmac_reply(ctx: SecurityContext, challenge: bytes) -> bytes:
    """Mechanism 5: f(challenge) computed by ``ctx``'s owner (17 bytes)."""
    return ctx.hls_gmac_response(challenge)


def verify_gmac_reply(ctx: SecurityContext, challenge: bytes, reply: bytes) -> None:
    """Mechanism 5: check the peer's f(challenge) for the challenge we sent."""
    ctx.verify_hls_gmac(challenge, reply)


def _titles(sender_title: bytes, receiver_title: bytes) -> bytes:
    if len(sender_title) != 8 or len(receiver_title) != 8:
        raise EncodeError("system titles are 8 bytes")
    return bytes(sender_title) + bytes(receiver_title)


def sha256_reply(
    secret: bytes, sender_title: bytes, receiver_title: bytes, challenge: bytes, sender_challenge: bytes
) -> bytes:
    """Mechanism 6: SHA-256(secret | sender title | receiver title | challenge | sender's challenge)."""
    return hashlib.sha256(
        bytes(secret) + _titles(sender_title, receiver_title) + bytes(challenge) + bytes(sender_challenge)
    ).digest()


def verify_sha256_reply(
    reply: bytes,
    secret: bytes,
    sender_title: bytes,
    receiver_title: bytes,
    challenge: bytes,
    sender_challenge: bytes,
) -> None:
    """Check a mechanism 6 reply (constant-time comparison)."""
    want = sha256_reply(secret, sender_title, receiver_title, challenge, sender_challenge)
    if not hmac.compare_digest(want, bytes(reply)):
        raise AuthenticationError("HLS-SHA256 reply did not verify")


def ecdsa_reply(
    key: ec.EllipticCurvePrivateKey,
    sender_title: bytes,
    receiver_title: bytes,
    challenge: bytes,
    sender_challenge: bytes,
) -> bytes:
    """Mechanism 7: ECDSA (r | s) over sender title | receiver title | challenge | sender's challenge."""
    return sign_raw(key, _titles(sender_title, receiver_title) + bytes(challenge) + bytes(sender_challenge))


def verify_ecdsa_reply(
    reply: bytes,
    key: ec.EllipticCurvePublicKey,
    sender_title: bytes,
    receiver_title: bytes,
    challenge: bytes,
    sender_challenge: bytes,
) -> None:
    """Check a mechanism 7 reply with the sender's public key."""
    data = _titles(sender_title, receiver_title) + bytes(challenge) + bytes(sender_challenge)
    if not verify_raw(key, data, bytes(reply)):
        raise AuthenticationError("HLS-ECDSA reply did not verify")


def lls_password_matches(expected: bytes, given: bytes) -> bool:
    """LLS (mechanism 1): whether ``given`` is the password, in constant time
    (no early exit on the first differing byte)."""
    return hmac.compare_digest(bytes(expected), bytes(given))


def verify_lls_password(expected: bytes, given: bytes) -> None:
    if not lls_password_matches(expected, given):
        raise AuthenticationError("LLS password does not match")
