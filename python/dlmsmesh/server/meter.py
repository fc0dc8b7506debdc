"""What a :class:`~dlmsmesh.server.Server` hosts: one meter, its keys and the
security contexts it opens frames with.

A :class:`Meter` is a system title, its keys (:class:`MeterKeys`, one
security suite), its logical devices by server SAP and the association each
client SAP gets (an :class:`~dlmsmesh.cosem.AssociationLN` naming its
objects, rights, application context, mechanism and secret).  The objects
are the server's store: a SET changes what the next GET reads, whoever
holds the object (a simulator advancing the clock, a test).

Invocation counters live in ``counters`` (an
:class:`~dlmsmesh.security.InvocationCounterStore`: in memory by default, a
:class:`~dlmsmesh.security.SqliteCounterStore` to survive restarts): the
meter's send counter per key, and per client system title the last counter
accepted, so a frame replayed into a new association is still refused.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from ..apdu_model import ActionResult
from ..cosem import AssociationLN, MeterObjects, MeterTemplate, ObjectList
from ..cosem.base import ActionError
from ..cosem.registers import InvocationCounter
from ..cosem.security_setup import CertificateEntity, CertificateType, SecuritySetup, SecuritySetupV0
from ..errors import EncodeError
from ..security import InvocationCounterStore, KeySet, MemoryCounterStore, Role, SecurityContext, SecurityPolicy
from ..security.keywrap import KeyId
from ..security.signing import check_curve
from ..security.tags import SecuritySuite
from ..types import Obis

__all__ = ["Meter", "MeterKeys", "SecurityLog", "SECURITY_LOG_REASONS", "PRE_ESTABLISHED_CLIENT", "ALL_STATION"]

#: the client SAP of the pre-established association (no AARQ): pushes and group requests
PRE_ESTABLISHED_CLIENT = 0x66
#: the server wPort every logical device answers to (group and broadcast requests)
ALL_STATION = 0x7F


#: why a meter ignored a group request (the keys of :class:`SecurityLog`)
SECURITY_LOG_REASONS = (
    "wrong_key",  # under a broadcast key that is not the meter's (or tampered with)
    "unicast_key_on_group",  # to a group address under a unicast key (SC bit 6 clear)
    "replay",  # a broadcast counter the meter accepted already
    "not_member",  # well protected, but the meter is not in the group
    "unprotected_on_group",  # to a group address in plain, or with no system title to pick keys
    "no_broadcast_key",  # the meter has no broadcast key to open it with
    "queue_overflow",  # a delayed answer dropped: the oldest of a full queue
    "no_window",  # a delayed answer dropped: no response window lies ahead
    "window_missed",  # a delayed answer dropped: held past the close of the request's own window
)


class SecurityLog(collections.Counter[str]):
    """A meter's count of the group requests (and group answers) it dropped,
    by reason (:data:`SECURITY_LOG_REASONS`)."""

    def as_dict(self) -> dict[str, int]:
        """Every reason, zeros included (and any other key counted)."""
        return {**{reason: 0 for reason in SECURITY_LOG_REASONS}, **self}


@dataclass(frozen=True)
class MeterKeys:
    """The keys of one meter in ``suite``: the global keys ``ek`` (GUEK),
    ``ak``, ``bk`` (GBEK) and ``kek`` (the master key that unwraps
    key_transfer), all of the suite's size (16 octets, 32 in suite 2), and
    for HLS-ECDSA (suites 1 and 2 only) optionally the meter's
    ``signing_key`` and the clients' public keys by system title
    (``client_signing_keys``), on the suite's curve (P-256, P-384 in suite 2).
    Without them HLS-ECDSA takes the digital-signature key pair and the
    client certificates of the Security setup an association references
    (see :meth:`Meter.signing_key`).  ``repr`` never shows a key."""

    ek: bytes | None = None
    ak: bytes | None = None
    bk: bytes | None = None
    kek: bytes | None = None
    suite: int = SecuritySuite.AES_GCM_128
    signing_key: ec.EllipticCurvePrivateKey | None = field(default=None, compare=False)
    client_signing_keys: Mapping[bytes, ec.EllipticCurvePublicKey] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        try:
            suite = SecuritySuite(self.suite)
        except ValueError:
            raise ValueError(f"the security suite is 0, 1 or 2, not {self.suite!r}") from None
        for name in _KEY_FIELDS:
            value = getattr(self, name)
            if value is not None and len(value) != suite.key_size:
                raise ValueError(f"{name} is {suite.key_size} octets in suite {int(suite)}, not {len(value)}")
        clients: dict[bytes, ec.EllipticCurvePublicKey] = {}
        for title, key in self.client_signing_keys.items():
            if len(bytes(title)) != 8:
                raise ValueError(f"a system title is 8 octets, got {len(bytes(title))}")
            clients[bytes(title)] = key
        keys: list[ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey] = list(clients.values())
        if self.signing_key is not None:
            keys.append(self.signing_key)
        try:
            for each in keys:
                check_curve(each, suite)
        except EncodeError as exc:
            raise ValueError(str(exc)) from None
        # frozen: the caller's mapping may change later, this copy does not
        object.__setattr__(self, "client_signing_keys", MappingProxyType(clients))

    def __repr__(self) -> str:
        held = [name for name in (*_KEY_FIELDS, "signing_key") if getattr(self, name) is not None]
        clients = f", client_signing_keys={len(self.client_signing_keys)}" if self.client_signing_keys else ""
        return f"MeterKeys(suite={int(self.suite)}, keys={'/'.join(held) or 'none'}{clients})"

    def __bool__(self) -> bool:
        return self.ek is not None


_KEY_FIELDS = ("ek", "ak", "bk", "kek")


def _v1_policy(setup: Any) -> SecurityPolicy:
    """The policy of a Security setup as the version-1 bit map."""
    if isinstance(setup, SecuritySetupV0):
        level = int(setup.security_policy)
        policy = SecurityPolicy.NONE
        if level & 1:
            policy |= SecurityPolicy.AUTHENTICATED_REQUEST | SecurityPolicy.AUTHENTICATED_RESPONSE
        if level & 2:
            policy |= SecurityPolicy.ENCRYPTED_REQUEST | SecurityPolicy.ENCRYPTED_RESPONSE
        return policy
    if isinstance(setup, SecuritySetup):
        return setup.policy
    return SecurityPolicy.NONE


class Meter:
    """One meter a Server hosts.

    ``logical_devices`` maps each server SAP to that logical device's
    objects; ``associations`` maps each client SAP to its Association LN
    (the server SAP it belongs to is its ``associated_partners_id``);
    ``pre_established`` maps client SAPs whose association exists without
    an AARQ (IEC 62056-8-20: 0x66) to the Association LN whose view and
    rights they get.  ``address`` is the host this meter answers at (None:
    every datagram the server's transport receives that no other meter's
    address claims).
    """

    def __init__(
        self,
        system_title: bytes,
        logical_devices: Mapping[int, ObjectList],
        associations: Mapping[int, AssociationLN],
        *,
        keys: MeterKeys | None = None,
        counters: InvocationCounterStore | None = None,
        pre_established: Mapping[int, AssociationLN] | None = None,
        address: str | None = None,
    ) -> None:
        title = bytes(system_title)
        if len(title) != 8:
            raise ValueError(f"a system title is 8 octets, got {len(title)}")
        self.system_title = title
        self.logical_devices = dict(logical_devices)
        self.keys = keys if keys is not None else MeterKeys()
        self.counters = counters if counters is not None else MemoryCounterStore()
        self.address = address
        self._associations: dict[tuple[int, int], AssociationLN] = {}
        for client_sap, association in associations.items():
            self._associations[(client_sap, self._server_sap(association))] = association
        self._pre_established: dict[tuple[int, int], AssociationLN] = {}
        for client_sap, association in (pre_established or {}).items():
            self._pre_established[(client_sap, self._server_sap(association))] = association
        # receive contexts of pre-established associations, by client system title
        self._contexts: dict[bytes, SecurityContext] = {}
        self._send: SecurityContext | None = None
        self._highest_received = 0
        #: bumped when key_transfer replaces a key: sessions re-key after their reply
        self.keys_version = 0
        self._bind_objects()

    @staticmethod
    def _server_sap(association: AssociationLN) -> int:
        return int(association.associated_partners_id[1])

    @classmethod
    def from_objects(
        cls,
        objects: MeterObjects,
        *,
        keys: MeterKeys | None = None,
        counters: InvocationCounterStore | None = None,
        pre_established_client: int | None = PRE_ESTABLISHED_CLIENT,
        address: str | None = None,
    ) -> Meter:
        """A meter of :func:`~dlmsmesh.cosem.default_meter`'s objects.  With
        keys, the pre-established client (0x66) gets the management
        association's view, and (whatever the policy says) only ciphered
        requests: it never authenticates otherwise."""
        pre: dict[int, AssociationLN] = {}
        if pre_established_client is not None and keys:
            management = max(objects.associations.items(), key=lambda item: len(item[1].objects))[1]
            pre[pre_established_client] = management
        return cls(
            objects.system_title,
            objects.logical_devices,
            objects.associations,
            keys=keys,
            counters=counters,
            pre_established=pre,
            address=address,
        )

    @classmethod
    def from_template(
        cls,
        template: MeterTemplate,
        system_title: bytes,
        *,
        associations: Mapping[int, Obis | str | bytes],
        server_sap: int = 1,
        keys: MeterKeys | None = None,
        counters: InvocationCounterStore | None = None,
        address: str | None = None,
        pre_established: Mapping[int, Obis | str | bytes] | None = None,
        **params: Any,
    ) -> Meter:
        """One meter instantiated from ``template`` (its objects share the
        template's immutable parts; see :class:`~dlmsmesh.cosem.MeterTemplate`):
        the template is logical device ``server_sap``, ``associations`` names
        the Association LN object each client SAP gets, ``pre_established``
        the one each client SAP that talks without an AARQ gets (the
        pre-established client 0x66 of group requests, say), and ``params``
        (with ``system_title``) go to the template's binders."""
        device = template.instantiate(system_title=bytes(system_title), **params)

        def views(named: Mapping[int, Obis | str | bytes]) -> dict[int, AssociationLN]:
            chosen: dict[int, AssociationLN] = {}
            for client_sap, logical_name in named.items():
                association = device.get(logical_name)
                if not isinstance(association, AssociationLN):
                    raise ValueError(f"the template has no Association LN {Obis(logical_name)}")
                chosen[client_sap] = association
            return chosen

        return cls(
            system_title, {server_sap: device}, views(associations), keys=keys, counters=counters, address=address,
            pre_established=views(pre_established) if pre_established else None,
        )  # fmt: skip

    # ------------------------------------------------------------------ lookups

    def association(self, client_sap: int, server_sap: int) -> AssociationLN | None:
        """The Association LN an AARQ from ``client_sap`` to ``server_sap`` opens."""
        return self._associations.get((client_sap, server_sap))

    def pre_established(self, client_sap: int, server_sap: int) -> AssociationLN | None:
        """The association ``client_sap`` has without an AARQ (``server_sap``
        0x7F, all-station, reaches the management logical device's)."""
        found = self._pre_established.get((client_sap, server_sap))
        if found is None and server_sap == ALL_STATION:
            for (client, _), association in self._pre_established.items():
                if client == client_sap:
                    return association
        return found

    @property
    def client_saps(self) -> tuple[int, ...]:
        return tuple(sorted({c for c, _ in self._associations} | {c for c, _ in self._pre_established}))

    def security_setup(self, association: AssociationLN) -> Any:
        """The Security setup ``association`` references (looked up in its
        view, then in every logical device), or None."""
        reference = Obis(bytes(association.security_setup_reference))
        setup = association.objects.get(reference)
        if setup is None:
            for device in self.logical_devices.values():
                setup = device.get(reference)
                if setup is not None:
                    break
        return setup

    def policy(self, association: AssociationLN) -> SecurityPolicy:
        """The security policy of the Security setup ``association`` references
        (none when its logical device has no such object)."""
        return _v1_policy(self.security_setup(association))

    def signing_key(self, association: AssociationLN) -> ec.EllipticCurvePrivateKey | None:
        """The meter's HLS-ECDSA key in ``association``: ``keys.signing_key``
        when given, else the digital-signature key pair of the Security setup
        the association references (so generate_key_pair 0 replaces it); None
        in suite 0 or when neither is on the suite's curve."""
        suite = int(self.keys.suite)
        key = self.keys.signing_key
        if key is None:
            setup = self.security_setup(association)
            if isinstance(setup, SecuritySetup):
                key = setup.key_pair(CertificateType.DIGITAL_SIGNATURE)
        return key if key is not None and _on_curve(key, suite) else None

    def client_signing_key(self, association: AssociationLN, client_title: bytes) -> ec.EllipticCurvePublicKey | None:
        """The public key HLS-ECDSA checks the client ``client_title`` with:
        ``keys.client_signing_keys[client_title]`` when given, else the key of
        the certificate of entity client and type digital-signature whose
        subject is ``CN=<client_title in hex>`` in the Security setup the
        association references.  None when there is none on the suite's curve."""
        suite = int(self.keys.suite)
        key = self.keys.client_signing_keys.get(bytes(client_title))
        if key is None:
            setup = self.security_setup(association)
            if isinstance(setup, SecuritySetup):
                cert = setup.find_certificate(CertificateEntity.CLIENT, CertificateType.DIGITAL_SIGNATURE, client_title)
                public = cert.public_key() if cert is not None else None
                key = public if isinstance(public, ec.EllipticCurvePublicKey) else None
        return key if key is not None and _on_curve(key, suite) else None

    # ----------------------------------------------------------------- security

    def context(
        self, peer_title: bytes | None, policy: SecurityPolicy, *, dedicated_key: bytes | None = None
    ) -> SecurityContext:
        """A new server-side context of this meter's keys towards ``peer_title``."""
        keys = self.keys
        if not keys:
            raise EncodeError("this meter has no keys")
        return SecurityContext(
            self.system_title,
            peer_system_title=peer_title,
            suite=keys.suite,
            ek=keys.ek,
            ak=keys.ak,
            bk=keys.bk,
            dk=dedicated_key,
            kek=keys.kek,
            policy=policy,
            role=Role.SERVER,
            counters=self.counters,
        )

    def shared_context(self, peer_title: bytes, policy: SecurityPolicy) -> SecurityContext:
        """The context pre-established frames from ``peer_title`` open with (kept)."""
        ctx = self._contexts.get(peer_title)
        if ctx is None or ctx.policy != policy:
            ctx = self.context(peer_title, policy)
            self._contexts[peer_title] = ctx
        return ctx

    def received(self, invocation_counter: int | None) -> None:
        """Note a counter accepted from a client under this meter's unicast key."""
        if invocation_counter is not None and invocation_counter > self._highest_received:
            self._highest_received = invocation_counter

    @property
    def invocation_counter(self) -> int:
        """What 0.0.43.1.0.255 shows: the highest invocation counter accepted
        from a client (the next request must carry a larger one)."""
        return self._highest_received

    def next_send_counter(self) -> int:
        """The invocation counter the meter's next frame under its unicast key carries."""
        if self._send is None:
            self._send = self.context(None, SecurityPolicy.NONE)
        return self._send.next_invocation_counter(KeySet.UNICAST)

    def replace_key(self, kind: KeyId, key: bytes) -> None:
        """key_transfer: a new global key (its counters start afresh)."""
        names = {KeyId.GLOBAL_UNICAST_ENCRYPTION: "ek", KeyId.GLOBAL_BROADCAST_ENCRYPTION: "bk",
                 KeyId.AUTHENTICATION: "ak", KeyId.MASTER: "kek"}  # fmt: skip
        size = SecuritySuite(self.keys.suite).key_size
        if len(key) != size:
            # a key of another suite's size would break every later context
            raise ActionError(ActionResult.OTHER_REASON, f"keys are {size} octets in suite {int(self.keys.suite)}")
        fields: dict[str, Any] = {names[kind]: bytes(key)}
        self.keys = replace(self.keys, **fields)
        self.keys_version += 1
        self._contexts.clear()
        self._send = None

    def _bind_objects(self) -> None:
        """Point the meter's counter objects at this meter and its Security
        setups' key_transfer at :meth:`replace_key`."""
        seen: set[int] = set()
        for device in self.logical_devices.values():
            for obj in _objects(device, seen):
                if isinstance(obj, InvocationCounter):
                    obj.rebind(lambda: self.invocation_counter)
                elif isinstance(obj, (SecuritySetup, SecuritySetupV0)):
                    if obj.key_store is None:
                        obj.key_store = self.replace_key
                    if obj._kek is None:
                        obj._kek = lambda: self.keys.kek  # type: ignore[assignment]

    @property
    def security_log(self) -> SecurityLog:
        """The group requests (and group answers) this meter dropped, by reason."""
        # made on first use: most of a large simulation's meters never need one
        found: SecurityLog | None = self.__dict__.get("_security_log")
        if found is None:
            found = self.__dict__["_security_log"] = SecurityLog()
        return found

    def __repr__(self) -> str:
        return f"Meter({self.system_title.hex()}, saps={sorted(self.logical_devices)}, keys={self.keys!r})"


def _on_curve(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey, suite: int) -> bool:
    try:
        check_curve(key, suite)
    except EncodeError:
        return False
    return True


def _objects(device: ObjectList, seen: set[int]) -> Iterable[Any]:
    for obj in device:
        if id(obj) not in seen:
            seen.add(id(obj))
            yield obj
