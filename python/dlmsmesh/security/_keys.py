"""Key material of a security context: titles, suite, keys and their
backend key objects, policy, counter store and scopes (the base of
:class:`~dlmsmesh.security.SecurityContext`, which adds the send side, the
receive side and HLS-GMAC)."""

from __future__ import annotations

import hashlib
import secrets
import threading
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from .._common.secure import PeerKeys
from ..errors import EncodeError, SecurityError
from .counters import InvocationCounterStore, MemoryCounterStore, check_window
from .keywrap import unwrap_key, wrap_key
from .policy import GeneralCipheringAad, GeneralSigningRange, Role, SecurityPolicy
from .signing import check_curve
from .tags import KeySet, Protection, SecuritySuite

__all__ = ["DEFAULT_POLICY"]

#: authenticated encryption of requests and responses
DEFAULT_POLICY = SecurityPolicy.both_ways(Protection.AUTHENTICATED_ENCRYPTION)

_KEY_NAMES = ("ek", "ak", "bk", "dk", "kek")
_SET_OF = {"ek": KeySet.UNICAST, "bk": KeySet.BROADCAST, "dk": KeySet.DEDICATED}
_NAME_OF = {KeySet.UNICAST: "ek", KeySet.BROADCAST: "bk", KeySet.DEDICATED: "dk"}
_SCOPE_NAMES = {KeySet.UNICAST: "unicast", KeySet.BROADCAST: "broadcast", KeySet.DEDICATED: "dedicated"}
_KEEP: Any = object()
#: bumped by every change of any context's keys, titles or policy
CHANGES = [0]


def _title(value: Any, name: str) -> bytes:
    value = bytes(value)
    if len(value) != 8:
        raise EncodeError(f"{name} is 8 bytes, not {len(value)}")
    return value


def _fingerprint(key: bytes) -> str:
    """A public name for a key in counter scopes: a 64-bit SHA-256 prefix,
    domain-separated (it reveals nothing usable about a 128/256-bit key)."""
    return hashlib.sha256(b"dlmsmesh invocation counter scope\x00" + key).hexdigest()[:16]


class KeyMaterial:
    """The state of a :class:`~dlmsmesh.security.SecurityContext` and what
    every side of it reads: keys, titles, policy, counters."""

    def __init__(
        self,
        system_title: bytes | None = None,
        *,
        peer_system_title: bytes | None = None,
        suite: int = SecuritySuite.AES_GCM_128,
        ek: bytes | None = None,
        ak: bytes | None = None,
        bk: bytes | None = None,
        dk: bytes | None = None,
        kek: bytes | None = None,
        policy: SecurityPolicy | int = DEFAULT_POLICY,
        role: Role | str = Role.CLIENT,
        counters: InvocationCounterStore | None = None,
        replay_window: int = 0,
        general_ciphering_aad: GeneralCipheringAad | str = GeneralCipheringAad.HEADER,
        general_signing_range: GeneralSigningRange | str = GeneralSigningRange.STANDARD,
        signing_key: ec.EllipticCurvePrivateKey | None = None,
        peer_signing_key: ec.EllipticCurvePublicKey | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self._system_title = None if system_title is None else _title(system_title, "system_title")
        self._peer_system_title = None if peer_system_title is None else _title(peer_system_title, "peer_system_title")
        try:
            self._suite = SecuritySuite(suite)
        except ValueError:
            raise EncodeError(f"security suite must be 0, 1 or 2, not {suite!r}") from None
        self._policy = SecurityPolicy(policy)
        self._role = Role(role)
        self._counters = counters if counters is not None else MemoryCounterStore()
        self._window = check_window(replay_window)
        self._gc_aad = GeneralCipheringAad(general_ciphering_aad)
        self._signed_range = GeneralSigningRange(general_signing_range)
        self._secrets: dict[str, bytes] = {}
        self._fingerprints: dict[str, str] = {}
        # backend module name -> {key name: backend key object}, and rings
        self._backend_keys: dict[str, dict[str, Any]] = {}
        self._rings: dict[str, Any] = {}
        #: (backend, dedicated, general, broadcast, protection) -> what protect() seals with
        self._plans: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        self._scopes: dict[tuple[str, bytes, KeySet], str] = {}
        #: bumped whenever what a batch ring holds changes (keys, titles, policy)
        self.version = 0
        self.set_keys(ek=ek, ak=ak, bk=bk, dk=dk, kek=kek)
        for key in (signing_key, peer_signing_key):
            if key is not None:
                check_curve(key, self._suite)
        self._signing_key = signing_key
        self._peer_signing_key = peer_signing_key

    # ------------------------------------------------------------------
    # configuration
    # ------------------------------------------------------------------

    def _changed(self) -> None:
        """What a batch ring holds of this context changed: its version, and
        every context's epoch (a keyring skips checking each of its contexts
        while no context anywhere changed)."""
        self.version += 1
        CHANGES[0] += 1

    @property
    def system_title(self) -> bytes | None:
        return self._system_title

    @property
    def peer_system_title(self) -> bytes | None:
        return self._peer_system_title

    @peer_system_title.setter
    def peer_system_title(self, value: bytes | None) -> None:
        with self._lock:
            self._peer_system_title = None if value is None else _title(value, "peer_system_title")
            self._rings.clear()
            self._plans.clear()
            self._changed()

    @property
    def suite(self) -> SecuritySuite:
        return self._suite

    @property
    def policy(self) -> SecurityPolicy:
        return self._policy

    @policy.setter
    def policy(self, value: SecurityPolicy | int) -> None:
        with self._lock:
            self._policy = SecurityPolicy(value)
            self._rings.clear()
            self._plans.clear()
            self._changed()

    @property
    def role(self) -> Role:
        return self._role

    @property
    def counters(self) -> InvocationCounterStore:
        return self._counters

    @property
    def replay_window(self) -> int:
        return self._window

    @property
    def general_ciphering_aad(self) -> GeneralCipheringAad:
        return self._gc_aad

    @property
    def general_signing_range(self) -> GeneralSigningRange:
        return self._signed_range

    def has_key(self, name: str) -> bool:
        """Whether key ``name`` (ek, ak, bk, dk, kek) is configured."""
        if name not in _KEY_NAMES:
            raise ValueError(f"key names are {_KEY_NAMES}")
        return name in self._secrets

    def set_keys(
        self,
        *,
        ek: bytes | None = _KEEP,
        ak: bytes | None = _KEEP,
        bk: bytes | None = _KEEP,
        dk: bytes | None = _KEEP,
        kek: bytes | None = _KEEP,
    ) -> None:
        """Replace keys (None removes one; omitted ones stay).  A new key
        starts its own invocation counters (spec section 11)."""
        size = self._suite.key_size
        given = {"ek": ek, "ak": ak, "bk": bk, "dk": dk, "kek": kek}
        checked: dict[str, bytes | None] = {}
        for name, value in given.items():
            if value is _KEEP:
                continue
            if value is not None:
                value = bytes(value)
                # an empty AK is the GB smart-metering profile's (SC alone
                # before the header fields in the AAD), not a missing one
                if len(value) != size and not (name == "ak" and not value):
                    raise EncodeError(f"{name} must be {size} bytes for suite {int(self._suite)}, not {len(value)}")
            checked[name] = value
        with self._lock:
            for name, value in checked.items():
                if value is None:
                    self._secrets.pop(name, None)
                    self._fingerprints.pop(name, None)
                else:
                    self._secrets[name] = value
                    self._fingerprints[name] = _fingerprint(value)
            if checked:
                self._drop_backend_keys()

    def new_dedicated_key(self) -> bytes:
        """Generate a fresh random dedicated key (to send in the
        InitiateRequest), install it and return it."""
        key = secrets.token_bytes(self._suite.key_size)
        self.set_keys(dk=key)
        return key

    def drop_dedicated_key(self) -> None:
        """Forget the dedicated key (the association ended)."""
        self.set_keys(dk=None)

    def close(self) -> None:
        """Free the backend key contexts now (they are rebuilt if used again)."""
        with self._lock:
            self._drop_backend_keys()

    def _drop_backend_keys(self) -> None:
        self._changed()
        self._rings.clear()
        self._plans.clear()
        self._scopes.clear()
        for keys in self._backend_keys.values():
            for key in keys.values():
                key.close()
        self._backend_keys.clear()

    def __repr__(self) -> str:
        def hx(v: bytes | None) -> str:
            return "None" if v is None else v.hex()

        keys = ",".join(n for n in _KEY_NAMES if n in self._secrets) or "none"
        return (
            f"SecurityContext(system_title={hx(self._system_title)}, peer_system_title={hx(self._peer_system_title)}, "
            f"suite={int(self._suite)}, role={self._role.value}, policy={self._policy!r}, keys set: {keys})"
        )

    def __reduce__(self) -> Any:
        raise TypeError("a SecurityContext holds keys and is not picklable")

    # ------------------------------------------------------------------
    # backend plumbing
    # ------------------------------------------------------------------

    def _key(self, mod: Any, name: str) -> Any:
        """The live backend's key object for key ``name`` (built once)."""
        keys = self._backend_keys.setdefault(mod.__name__, {})
        key = keys.get(name)
        if key is None:
            secret = self._secrets.get(name)
            if secret is None:
                return None
            key = keys[name] = mod.new_key(secret, self._secrets.get("ak"))
        return key

    def _receive_protection(self) -> Protection:
        return self._policy.responses() if self._role is Role.CLIENT else self._policy.requests()

    def _send_protection_default(self) -> Protection:
        return self._policy.requests() if self._role is Role.CLIENT else self._policy.responses()

    def _ring(self, mod: Any) -> Any:
        ring = self._rings.get(mod.__name__)
        if ring is None:
            ring = self._rings[mod.__name__] = mod.make_ring([self.peer_keys(mod)], 0)
        return ring

    def peer_keys(self, mod: Any) -> PeerKeys:
        """This context as one sender of a batch, with ``mod``'s key objects."""
        return PeerKeys(
            title=self._peer_system_title,
            suite=int(self._suite),
            required=int(self._receive_protection()),
            header_aad=self._gc_aad is GeneralCipheringAad.HEADER,
            any_title=self._peer_system_title is None,
            unicast=self._key(mod, "ek"),
            broadcast=self._key(mod, "bk"),
            dedicated=self._key(mod, "dk"),
        )

    # ------------------------------------------------------------------
    # batch access (dlmsmesh.security._batch_access): for the pipeline
    # ------------------------------------------------------------------

    def batch_ring(self, mod: Any) -> tuple[Any, list[Any]]:
        """(``mod``'s ring of this context's keys, [this context]): the batch
        entry points open frames with the ring; ring peer 0 is this context."""
        with self._lock:
            return self._ring(mod), [self]

    def counter_scope(self, direction: str, title: bytes, key_set: KeySet | str) -> str:
        """The counter-store scope of ``direction`` (``rx``/``tx``) under
        ``title`` and ``key_set`` (``"wrapped"``: per-frame wrapped keys): the
        key's fingerprint is part of it, so a new key starts new counters."""
        cache_key = (direction, title, key_set)
        scope = self._scopes.get(cache_key)  # type: ignore[arg-type]
        if scope is None:
            if key_set == "wrapped":
                name, fp_name = "wrapped", "kek"
            else:
                name, fp_name = _SCOPE_NAMES[key_set], _NAME_OF[key_set]  # type: ignore[index]
            scope = f"{direction}:{title.hex()}:{name}:{self._fingerprints[fp_name]}"
            self._scopes[cache_key] = scope  # type: ignore[index]
        return scope

    def reserve_counters(self, key_set: KeySet | str, count: int = 1) -> int:
        """The first of ``count`` consecutive send counters of ``key_set``,
        reserved in the counter store (never handed out again)."""
        with self._lock:
            if self._system_title is None:
                raise EncodeError("this context has no system title of its own: it cannot send")
            return self._counters.reserve(self.counter_scope("tx", self._system_title, key_set), count)

    def send_key(self, mod: Any, key_set: KeySet) -> Any:
        """``mod``'s key object that seals under ``key_set`` (EncodeError when
        that key is not configured)."""
        key = self._key(mod, _NAME_OF[key_set])
        if key is None:
            raise EncodeError(f"no {_SCOPE_NAMES[key_set]} key configured")
        return key

    def next_invocation_counter(self, key_set: KeySet = KeySet.UNICAST) -> int:
        """The counter the next frame under ``key_set`` will carry (what a
        server exposes for resynchronisation)."""
        if self._system_title is None:
            raise EncodeError("this context has no system title of its own")
        return self._counters.peek(self.counter_scope("tx", self._system_title, key_set))

    # ------------------------------------------------------------------
    # key transfer
    # ------------------------------------------------------------------

    def wrap(self, key: bytes) -> bytes:
        """``key`` wrapped under our master key (RFC 3394)."""
        kek = self._secrets.get("kek")
        if kek is None:
            raise EncodeError("no master key (kek) configured")
        return wrap_key(kek, key)

    def unwrap(self, wrapped: bytes) -> bytes:
        """The key inside ``wrapped`` (AuthenticationError on a failed integrity check)."""
        kek = self._secrets.get("kek")
        if kek is None:
            raise SecurityError("no master key (kek) configured")
        return unwrap_key(kek, wrapped)
