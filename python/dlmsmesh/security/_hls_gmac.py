"""HLS mechanism 5 (GMAC) of a security context: f(challenge) and its check."""

from __future__ import annotations

from .. import _backend
from ..errors import AuthenticationError, DlmsError, EncodeError, SecurityError
from ._keys import KeyMaterial
from .tags import SC_AUTHENTICATION, TAG_LENGTH, KeySet

__all__ = ["HlsGmac"]


class HlsGmac(KeyMaterial):
    """HLS-GMAC of a :class:`~dlmsmesh.security.SecurityContext`."""

    def hls_gmac_response(self, challenge: bytes) -> bytes:
        """f(challenge) = ``SC | IC | GMAC(EK, IV = our title || IC, AAD = SC || AK || challenge)``
        (17 bytes) with SC = 0x10 | suite; consumes one unicast counter."""
        challenge = bytes(challenge)
        with self._lock:
            if "ak" not in self._secrets:
                raise EncodeError("HLS-GMAC needs the authentication key (ak)")
            mod = _backend.live.secure
            key = self.send_key(mod, KeySet.UNICAST)
            ic = self.reserve_counters(KeySet.UNICAST)
            title = self._system_title
            assert title is not None  # reserve_counters refuses a context without one
            content = mod.seal(key, SC_AUTHENTICATION | int(self._suite), title, ic, challenge)
        return content[:5] + content[-TAG_LENGTH:]

    def verify_hls_gmac(self, challenge: bytes, response: bytes) -> None:
        """Check the peer's f(challenge) for our ``challenge``; raises
        AuthenticationError when it does not verify.  The counter inside is
        not replay-checked: the fresh challenge already makes the reply
        single-use."""
        challenge = bytes(challenge)
        response = bytes(response)
        if self._peer_system_title is None:
            raise SecurityError("HLS-GMAC verification needs the peer's system title")
        if len(response) != 5 + TAG_LENGTH or response[0] != SC_AUTHENTICATION | int(self._suite):
            raise AuthenticationError("HLS-GMAC reply is not SC(0x10|suite) | IC | 12-byte tag")
        mod = _backend.live.secure
        with self._lock:
            key = self._key(mod, "ek")
            if key is None or "ak" not in self._secrets:
                raise SecurityError("HLS-GMAC verification needs ek and ak")
        try:
            mod.unseal(key, self._peer_system_title, response[:5] + challenge + response[5:])
        except DlmsError:
            raise AuthenticationError("HLS-GMAC reply did not verify") from None
