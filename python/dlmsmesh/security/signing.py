"""ECDSA for suites 1 and 2 (general-signing, HLS mechanism 7): P-256 with
SHA-256 or P-384 with SHA-384, signatures as raw ``r || s`` (IEC 62056-5-3:
security suites, general-signing, HLS)."""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from ..errors import EncodeError

__all__ = ["sign_raw", "verify_raw", "signature_size", "check_curve"]

_CURVES: dict[str, tuple[int, type[hashes.HashAlgorithm]]] = {
    "secp256r1": (32, hashes.SHA256),
    "secp384r1": (48, hashes.SHA384),
}
_SUITE_CURVES = {1: "secp256r1", 2: "secp384r1"}


def _params(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> tuple[int, type[hashes.HashAlgorithm]]:
    params = _CURVES.get(key.curve.name)
    if params is None:
        raise EncodeError(f"ECDSA keys must be P-256 or P-384, not {key.curve.name}")
    return params


def check_curve(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey, suite: int) -> None:
    """Suite 1 signs with P-256, suite 2 with P-384; suite 0 does not sign."""
    want = _SUITE_CURVES.get(suite)
    if want is None:
        raise EncodeError("security suite 0 has no digital signatures (use suite 1 or 2)")
    if key.curve.name != want:
        raise EncodeError(f"suite {suite} signs with {want}, not {key.curve.name}")


def signature_size(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> int:
    return 2 * _params(key)[0]


def sign_raw(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """ECDSA signature of ``data`` as ``r || s``."""
    size, hash_cls = _params(key)
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hash_cls())))
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def verify_raw(key: ec.EllipticCurvePublicKey, data: bytes, signature: bytes) -> bool:
    """Whether ``signature`` (``r || s``) signs ``data``."""
    size, hash_cls = _params(key)
    if len(signature) != 2 * size:
        return False
    r = int.from_bytes(signature[:size], "big")
    s = int.from_bytes(signature[size:], "big")
    try:
        key.verify(encode_dss_signature(r, s), data, ec.ECDSA(hash_cls()))
    except (InvalidSignature, ValueError):
        return False
    return True
