"""Security setup (class 64), IEC 62056-6-2 / IEC 62056-5-3: the security
policy and suite of the associations that reference it, the two system
titles, and the methods that raise the policy and replace the global keys.

The keys themselves live with the Server: ``key_transfer`` unwraps every
key with the KEK (RFC 3394, :mod:`dlmsmesh.security.keywrap`) and, only when
all of them unwrap, hands each (key id, key) to the injected ``key_store``;
``security_activate`` hands the new policy to ``on_policy``.  Keys never
appear in a log or an error message.  (The standard applies both after the
response has been sent; the callbacks let the Server schedule that.)

``SecuritySetup`` is version 1 (policy as a bit map, as
:class:`dlmsmesh.security.SecurityPolicy`; gurux-dlms's default version);
``SecuritySetupV0`` is version 0 (policy 0..3).  Methods 3 to 8 of version 1
(key agreement, key pairs and certificates) are not offered: ACTION on them
answers object-undefined.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from typing import Union

from ..apdu_model import ActionResult
from ..errors import AuthenticationError, DecodeError
from ..security.keywrap import KeyId, unwrap_key
from ..security.policy import SecurityPolicy
from ..security.tags import SecuritySuite
from ..types import Array, Enum, Obis, Structure
from .base import READ_ONLY, ActionError, CosemObject, attribute, method, settle
from .typespec import ArrayOf, Octets, OneOf, StructureOf, octets

__all__ = [
    "SecuritySetup",
    "SecuritySetupV0",
    "SecurityPolicyV0",
    "KeyStore",
    "PolicyListener",
    "KEY_TRANSFER",
]

#: key_transfer's parameter: array of {key_id enum, key_wrapped octet-string}
KEY_TRANSFER = ArrayOf(StructureOf(Enum, Octets()))
KeyStore = Callable[[KeyId, bytes], Union[None, Awaitable[None]]]
PolicyListener = Callable[[int], Union[None, Awaitable[None]]]
_TITLE = OneOf(Octets(8), Octets(0))


class SecurityPolicyV0(enum.IntEnum):
    """security_policy of version 0: a level, each including the ones below it."""

    NOTHING = 0
    AUTHENTICATED = 1
    ENCRYPTED = 2
    AUTHENTICATED_ENCRYPTED = 3




class _SecuritySetupBase(CosemObject):
    class_id = 64

    security_policy = attribute(2, Enum, access=READ_ONLY)
    security_suite = attribute(3, Enum, access=READ_ONLY)
    client_system_title = attribute(4, _TITLE, access=READ_ONLY)
    server_system_title = attribute(5, _TITLE, access=READ_ONLY)

    def __init__(
        self,
        logical_name: Obis | str | bytes = "0.0.43.0.0.255",
        *,
        server_system_title: bytes,
        client_system_title: bytes = b"",
        policy: int = 0,
        suite: int = SecuritySuite.AES_GCM_128,
        kek: bytes | Callable[[], bytes] | None = None,
        key_store: KeyStore | None = None,
        on_policy: PolicyListener | None = None,
    ) -> None:
        super().__init__(logical_name)
        self.security_policy = Enum(self._valid_policy(int(policy)))
        self.security_suite = Enum(int(SecuritySuite(suite)))
        self.server_system_title = octets(server_system_title)
        self.client_system_title = octets(client_system_title)
        self._kek = kek
        self.key_store = key_store
        self.on_policy = on_policy

    def _valid_policy(self, value: int) -> int:
        raise NotImplementedError

    def _raises(self, current: int, new: int) -> bool:
        raise NotImplementedError

    def _current_kek(self) -> bytes | None:
        return self._kek() if callable(self._kek) else self._kek

    @method(1, Enum)
    async def security_activate(self, parameters: Enum) -> None:
        """Raise the security policy (never lower it: read-write-denied)."""
        try:
            new = self._valid_policy(int(parameters))
        except ValueError:
            raise ActionError(ActionResult.OTHER_REASON, f"{int(parameters)} is no security policy") from None
        if not self._raises(int(self.security_policy), new):
            raise ActionError(ActionResult.READ_WRITE_DENIED, "the security policy may only be raised")
        self.security_policy = Enum(new)
        if self.on_policy is not None:
            await settle(self.on_policy(new))

    @method(2, KEY_TRANSFER)
    async def key_transfer(self, parameters: Array) -> None:
        """Unwrap every key with the KEK, then store them all (none when one fails)."""
        kek = self._current_kek()
        if kek is None or self.key_store is None:
            raise ActionError(ActionResult.READ_WRITE_DENIED, "no master key (KEK) or key store configured")
        if not parameters:
            raise ActionError(ActionResult.OTHER_REASON, "key_transfer carries at least one key")
        keys: list[tuple[KeyId, bytes]] = []
        for key_id, wrapped in parameters:
            try:
                kind = KeyId(int(key_id))
            except ValueError:
                # gurux-dlms's server answers an unknown key id with read-write-denied too
                raise ActionError(ActionResult.READ_WRITE_DENIED, f"no key id {int(key_id)}") from None
            try:
                keys.append((kind, unwrap_key(kek, bytes(wrapped))))
            except (AuthenticationError, DecodeError):
                # a failed RFC 3394 integrity check: a failure result, e.g. other-reason
                raise ActionError(ActionResult.OTHER_REASON, f"the {kind.name} key does not unwrap") from None
        for kind, key in keys:
            await settle(self.key_store(kind, key))


class SecuritySetup(_SecuritySetupBase):
    """Security setup, version 1: ``policy`` is a :class:`SecurityPolicy` bit map.
    ``kek`` (bytes, or a callable giving the current KEK) unwraps key_transfer."""

    version = 1

    certificates = attribute(6, ArrayOf(Structure), access=READ_ONLY, default=Array())

    def _valid_policy(self, value: int) -> int:
        if value & ~0xFC or not 0 <= value <= 0xFF:
            raise ValueError(f"{value:#x} has bits no security policy has")
        return value

    def _raises(self, current: int, new: int) -> bool:
        return new & current == current

    @property
    def policy(self) -> SecurityPolicy:
        return SecurityPolicy(int(self.security_policy))


class SecuritySetupV0(_SecuritySetupBase):
    """Security setup, version 0: ``policy`` is a :class:`SecurityPolicyV0` level."""

    version = 0

    def _valid_policy(self, value: int) -> int:
        return int(SecurityPolicyV0(value))

    def _raises(self, current: int, new: int) -> bool:
        return new >= current

    @property
    def policy(self) -> SecurityPolicyV0:
        return SecurityPolicyV0(int(self.security_policy))
