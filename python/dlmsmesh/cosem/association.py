"""Association LN (class 15, version 2), IEC 62056-6-2: what one association
(one client SAP to one logical device) sees of the logical device.

The object_list is computed on every GET from the logical device's
:class:`ObjectList` and this association's :class:`AccessRights`, so it
always shows what the client may do.  The HLS computation is the Server's:
``hls_responder`` receives the client's f(StoC) (method 1's parameter),
checks it and returns the server's f(CtoS), or raises
:class:`~dlmsmesh.errors.AuthenticationError`
(:mod:`dlmsmesh.security.hls` computes both for every mechanism).

Methods 3 ``add_object`` and 4 ``remove_object`` change what this
association sees: add_object finds the element's object in the logical
device (``logical_device``) and puts it in this association's ``objects``
with the element's access rights; remove_object takes it out of
``objects`` (the logical device keeps it).
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from typing import Union

from ..apdu_model import ActionResult, DataAccessResult
from ..errors import AuthenticationError
from ..security.hls import lls_password_matches
from ..types import (
    Array,
    BitString,
    Boolean,
    Enum,
    Integer,
    LongUnsigned,
    NullData,
    Obis,
    OctetString,
    Structure,
    Unsigned,
    VisibleString,
)
from .access import AccessRights, AttributeAccess, MethodAccess
from .base import READ_ONLY, WRITE_ONLY, ActionError, CosemObject, DataAccessError, attribute, method, settle
from .container import ObjectList
from .typespec import ArrayOf, Octets, OneOf, StructureOf, octets

__all__ = [
    "AssociationLN",
    "AssociationStatus",
    "HlsResponder",
    "SecretChanged",
    "context_name",
    "mechanism_name",
    "CURRENT_ASSOCIATION",
    "USER",
    "OBJECT_LIST_ELEMENT",
]

#: the logical name that always reaches the association a request arrives in
CURRENT_ASSOCIATION = Obis("0.0.40.0.0.255")

HlsResponder = Callable[[bytes], Union[bytes, Awaitable[bytes]]]
SecretChanged = Callable[[bytes], Union[None, Awaitable[None]]]

#: an OID 2.16.756.5.8.x.n as the structure of 7 arcs gurux-dlms writes and reads
#: (Gurux.NET also reads an octet-string holding the BER OID body, so both are
#: accepted on SET; UNVERIFIED which form each class version mandates)
_OID = StructureOf(Unsigned, Unsigned, LongUnsigned, Unsigned, Unsigned, Unsigned, Unsigned)
_OID_OR_OCTETS = OneOf(_OID, Octets())
#: {user_id unsigned, user_name visible-string}
USER = StructureOf(Unsigned, VisibleString)
#: {class_id, version, logical_name, access_rights {attribute_access, method_access}}:
#: one object_list element, the parameter of add_object and remove_object;
#: method access_mode is a boolean in version 0 and an enum from version 1, both accepted
OBJECT_LIST_ELEMENT = StructureOf(
    LongUnsigned,
    Unsigned,
    Octets(6),
    StructureOf(
        ArrayOf(StructureOf(Integer, Enum, OneOf(NullData, ArrayOf(Integer)))),
        ArrayOf(StructureOf(Integer, OneOf(Enum, Boolean))),
    ),
)


def _dlms_ua_oid(kind: int, value: int) -> Structure:
    return Structure(
        (Unsigned(2), Unsigned(16), LongUnsigned(756), Unsigned(5), Unsigned(8), Unsigned(kind), Unsigned(value))
    )


def context_name(context_id: int) -> Structure:
    """application_context_name 2.16.756.5.8.1.``context_id`` (1: LN, 3: LN with ciphering)."""
    return _dlms_ua_oid(1, context_id)


def mechanism_name(mechanism_id: int) -> Structure:
    """authentication_mechanism_name 2.16.756.5.8.2.``mechanism_id`` (0 none, 1 LLS, 5 HLS-GMAC ...)."""
    return _dlms_ua_oid(2, mechanism_id)


class AssociationStatus(enum.IntEnum):
    NON_ASSOCIATED = 0
    ASSOCIATION_PENDING = 1
    ASSOCIATED = 2


class AssociationLN(CosemObject):
    """Association LN (class 15, version 2).

    ``objects`` is the logical device's object list (the association usually
    belongs to it as well) and ``rights`` what this association may do with
    each object.  ``logical_device`` is every object of the logical device,
    where add_object looks the element up (without it, add_object only
    changes the rights of an object ``objects`` already holds).  ``secret`` is the LLS password or the HLS secret: writable,
    never readable (GET answers read-write-denied whatever the access
    rights say); :meth:`secret_matches` compares in constant time.
    """

    class_id = 15
    version = 2

    def __init__(
        self,
        logical_name: Obis | str | bytes = CURRENT_ASSOCIATION,
        *,
        objects: ObjectList,
        rights: AccessRights | None = None,
        logical_device: ObjectList | None = None,
        client_sap: int = 16,
        server_sap: int = 1,
        context_id: int = 1,
        mechanism_id: int = 0,
        conformance: int = 0,
        max_receive_pdu_size: int = 0xFFFF,
        max_send_pdu_size: int = 0xFFFF,
        dlms_version: int = 6,
        secret: bytes = b"",
        security_setup: Obis | str | bytes = "0.0.43.0.0.255",
        hls_responder: HlsResponder | None = None,
        on_secret_changed: SecretChanged | None = None,
    ) -> None:
        super().__init__(logical_name)
        if not 0 <= conformance < 1 << 24:
            raise ValueError("the conformance block is 24 bits")
        self.objects = objects
        self.logical_device = logical_device
        self.rights = rights if rights is not None else AccessRights()
        self.hls_responder = hls_responder
        self.on_secret_changed = on_secret_changed
        self._secret = bytes(secret)
        self.associated_partners_id = Structure((Integer(client_sap), LongUnsigned(server_sap)))
        self.application_context_name = context_name(context_id)
        self.xdlms_context_info = Structure(
            (
                BitString.from_bytes(conformance.to_bytes(3, "big")),
                LongUnsigned(max_receive_pdu_size),
                LongUnsigned(max_send_pdu_size),
                Unsigned(dlms_version),
                Integer(0),
                octets(b""),
            )
        )
        self.authentication_mechanism_name = mechanism_name(mechanism_id)
        self.security_setup_reference = octets(bytes(Obis(security_setup)))

    # ------------------------------------------------------------ attributes

    @attribute(2, ArrayOf(Structure), access=READ_ONLY)
    def object_list(self) -> Array:
        return self.objects.to_data(self.rights, association_version=self.version)

    associated_partners_id = attribute(3, StructureOf(Integer, LongUnsigned), access=READ_ONLY)
    application_context_name = attribute(4, _OID_OR_OCTETS, access=READ_ONLY)
    #: {conformance bit-string(24), max_receive_pdu_size, max_send_pdu_size,
    #: dlms_version_number, quality_of_service, cyphering_info}
    xdlms_context_info = attribute(
        5, StructureOf(BitString, LongUnsigned, LongUnsigned, Unsigned, Integer, Octets()), access=READ_ONLY
    )
    authentication_mechanism_name = attribute(6, _OID_OR_OCTETS, access=READ_ONLY)

    def _read_secret(self) -> OctetString:
        raise DataAccessError(DataAccessResult.READ_WRITE_DENIED, "the secret is never read back")

    def _write_secret(self, value: OctetString) -> None:
        self._secret = bytes(value)

    secret = attribute(7, Octets(), access=WRITE_ONLY)(_read_secret).setter(_write_secret)
    association_status = attribute(8, Enum, access=READ_ONLY, default=Enum(AssociationStatus.NON_ASSOCIATED))
    security_setup_reference = attribute(9, Octets(6), access=READ_ONLY)
    user_list = attribute(10, ArrayOf(USER), access=READ_ONLY, default=Array())
    current_user = attribute(11, USER, access=READ_ONLY, default=Structure((Unsigned(0), VisibleString(""))))

    # --------------------------------------------------------- Python helpers

    @property
    def status(self) -> AssociationStatus:
        return AssociationStatus(int(self.association_status))

    @status.setter
    def status(self, value: AssociationStatus) -> None:
        self.association_status = Enum(int(value))

    def secret_matches(self, given: bytes) -> bool:
        """The LLS check: ``given`` equals the secret (constant time)."""
        return lls_password_matches(self._secret, given)

    # --------------------------------------------------------------- methods

    @method(1, Octets())
    async def reply_to_hls_authentication(self, parameters: OctetString) -> OctetString:
        """Pass 3/4 of HLS: check the client's f(StoC), answer f(CtoS).

        On a failed check the association falls back to non-associated and the
        answer is read-write-denied.  (gurux-dlms's server answers success with
        no return value instead; a client fails the association on either.)
        """
        if self.hls_responder is None:
            raise ActionError(ActionResult.READ_WRITE_DENIED, "this association has no HLS")
        try:
            reply = await settle(self.hls_responder(bytes(parameters)))
        except AuthenticationError:
            self.status = AssociationStatus.NON_ASSOCIATED
            raise ActionError(ActionResult.READ_WRITE_DENIED, "f(StoC) does not verify") from None
        self.status = AssociationStatus.ASSOCIATED
        return octets(reply)

    @method(2, Octets())
    async def change_hls_secret(self, parameters: OctetString) -> None:
        # an empty secret is refused as gurux-dlms's server refuses it
        if not parameters:
            raise ActionError(ActionResult.READ_WRITE_DENIED, "an empty HLS secret")
        self._secret = bytes(parameters)
        if self.on_secret_changed is not None:
            await settle(self.on_secret_changed(bytes(parameters)))

    @method(5, USER)
    def add_user(self, parameters: Structure) -> None:
        if any(user[0] == parameters[0] for user in self.user_list):
            raise ActionError(ActionResult.OTHER_REASON, f"user {int(parameters[0])} exists")
        self.user_list = Array([*self.user_list, parameters])

    @method(6, USER)
    def remove_user(self, parameters: Structure) -> None:
        kept = Array(user for user in self.user_list if user != parameters)
        if len(kept) == len(self.user_list):
            raise ActionError(ActionResult.OBJECT_UNAVAILABLE, f"no user {int(parameters[0])}")
        self.user_list = kept

    @method(3, OBJECT_LIST_ELEMENT)
    def add_object(self, parameters: Structure) -> None:
        """Make the logical device's object reachable through this association,
        with the element's access rights (an object already listed keeps its
        place and takes the new rights)."""
        class_id, version, name, (attribute_access, method_access) = parameters
        logical_name = Obis(bytes(name))
        listed = self.objects.get(logical_name)
        source = self.logical_device if self.logical_device is not None else self.objects
        obj = source.get(logical_name)
        if obj is None:
            raise ActionError(ActionResult.OBJECT_UNAVAILABLE, f"the logical device has no object {logical_name}")
        if obj.class_id != int(class_id) or obj.version != int(version):
            raise ActionError(
                ActionResult.OBJECT_CLASS_INCONSISTENT,
                f"{logical_name} is class {obj.class_id} version {obj.version},"
                f" not {int(class_id)} version {int(version)}",
            )
        if listed is not None and listed is not obj:
            # another object (the current-association proxy, say) holds the name in this view
            raise ActionError(ActionResult.OTHER_REASON, f"{logical_name} names another object in this association")
        try:
            attributes = {int(index): AttributeAccess(int(mode)) for index, mode, _selectors in attribute_access}
            methods = {int(index): _method_access(mode) for index, mode in method_access}
        except ValueError:
            raise ActionError(ActionResult.OTHER_REASON, "an access_mode no association version has") from None
        if listed is None:
            self.objects.add(obj)
        self.rights.grant(obj, attributes, methods)

    @method(4, OBJECT_LIST_ELEMENT)
    def remove_object(self, parameters: Structure) -> None:
        """Take the object out of this association's view (the logical device keeps it)."""
        class_id, _version, name, _rights = parameters
        logical_name = Obis(bytes(name))
        obj = self.objects.get(logical_name)
        if obj is None:
            raise ActionError(ActionResult.OBJECT_UNAVAILABLE, f"this association lists no object {logical_name}")
        if obj.class_id != int(class_id):
            raise ActionError(
                ActionResult.OBJECT_CLASS_INCONSISTENT, f"{logical_name} is class {obj.class_id}, not {int(class_id)}"
            )
        if obj is self or logical_name == CURRENT_ASSOCIATION:
            # the client would lose the object it manages its own view with
            raise ActionError(ActionResult.READ_WRITE_DENIED, "an association does not remove itself")
        self.objects.remove(logical_name)


def _method_access(mode: Enum | Boolean) -> MethodAccess:
    if isinstance(mode, Boolean):
        return MethodAccess.ACCESS if mode else MethodAccess.NO_ACCESS
    return MethodAccess(int(mode))
