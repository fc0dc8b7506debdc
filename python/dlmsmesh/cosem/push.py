"""Push setup (class 40, version 0), IEC 62056-6-2: what a push sends
(push_object_list), where and how (send_destination_and_method), and when
(communication_window, randomisation_start_interval, number_of_retries,
repetition_delay).

Method 1 ``push`` reads every listed attribute through the objects' own
``get`` and hands a data-notification whose body is the structure of those
values, in list order, to the injected ``sender`` (IEC 62056-8-20 sends it
from the logical device's wPort to the push client SAP).  Waiting for a
window, the random start delay and the retries are the sender's or the
scheduler's (:meth:`PushSetup.retry_delays` gives the configured retries).

:class:`PushSetup` is version 0, what every client reads alike;
:class:`PushSetupV1` and :class:`PushSetupV2` add the later attributes.
UNVERIFIED: the version 1 and 2 layouts are taken from gurux-dlms 1.0.203's
``GXDLMSPushSetup`` (its getValue/setValue/getDataType), not from the Blue
Book:

* version 1 adds 8 port_reference (octet-string, a logical name), 9
  push_client_SAP (integer), 10 push_protection_parameters (array of
  {protection_type enum, protection_options {transaction_id,
  originator_system_title, recipient_system_title, other_information
  (octet-strings), key_info {data_protection_key_type enum, key data
  structure}}}); each push_object_list element gets a fifth member,
  restriction_element {restriction_type enum (0 none, 1 by date, 2 by
  entry), null-data / {from_date, to_date} octet-strings / {from_entry,
  to_entry} long-unsigned}.  (gurux-dlms writes the fifth member in version
  1 but reads it only in version 2; elements of 4 members are accepted on
  SET and read back with the version's layout.)
* version 2 makes 7 repetition_delay a structure {repetition_delay_min,
  repetition_delay_exponent, repetition_delay_max} (long-unsigned each) and
  adds 11 push_operation_method (enum 0..2), 12 confirmation_parameters
  {confirmation_start_date date-time, confirmation_interval
  double-long-unsigned}, 13 last_confirmation_date_time (date-time), method
  2 reset, and a sixth element member, columns (array of capture object
  definitions).  Date-times are octet-string(12) here as in every other
  attribute; the date-time type (tag 25, what gurux-dlms writes) is
  accepted on SET.
"""

from __future__ import annotations

import enum
import inspect
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Union

from ..apdu_model import CaptureObject, DataAccessResult, DataNotification
from ..types import (
    Array,
    CosemValue,
    DateTime,
    DoubleLongUnsigned,
    Enum,
    Integer,
    LongUnsigned,
    NullData,
    Obis,
    OctetString,
    Structure,
    Unsigned,
)
from .base import READ_ONLY, READ_WRITE, CosemObject, DataAccessError, attribute, method
from .container import ObjectList
from .profile import CAPTURE_OBJECT, Column
from .registers import Now
from .typespec import DATE_TIME, ArrayOf, Is, Octets, OneOf, StructureOf, octets

__all__ = [
    "PushSetup",
    "PushSetupV1",
    "PushSetupV2",
    "PushSender",
    "TransportService",
    "MessageType",
    "PushOperationMethod",
    "RestrictionType",
    "Restriction",
    "DESTINATION_AND_METHOD",
    "WINDOW",
    "PROTECTION_PARAMETERS",
]

PushSender = Callable[[DataNotification, "PushSetup"], Union[None, Awaitable[None]]]

#: {transport_service enum, destination octet-string, message enum}
DESTINATION_AND_METHOD = StructureOf(Enum, Octets(), Enum)
#: {start_time date-time, end_time date-time} as octet-string(12) patterns
WINDOW = StructureOf(DATE_TIME, DATE_TIME)


class TransportService(enum.IntEnum):
    TCP = 0
    UDP = 1
    FTP = 2
    SMTP = 3
    SMS = 4
    HDLC = 5
    M_BUS = 6
    ZIGBEE = 7
    DLMS_GATEWAY = 8
    RELIABLE_COAP = 9
    UNRELIABLE_COAP = 10


class MessageType(enum.IntEnum):
    AXDR_APDU = 0
    XML_APDU = 1


class PushOperationMethod(enum.IntEnum):
    """push_operation_method (version 2)."""

    UNCONFIRMED_RETRY_ON_FAILURE = 0
    UNCONFIRMED_RETRY_ON_MISSING_CONFIRMATION = 1
    CONFIRMED = 2


class RestrictionType(enum.IntEnum):
    NONE = 0
    BY_DATE = 1
    BY_ENTRY = 2


#: a date-time attribute: octet-string(12), or the date-time type gurux-dlms writes
_DATE = OneOf(DATE_TIME, Is(DateTime))
#: an entry number: long-unsigned as gurux-dlms writes it, or double-long-unsigned
_ENTRY = OneOf(Is(LongUnsigned), Is(DoubleLongUnsigned))
#: restriction_element {restriction_type, restriction_value}
_RESTRICTION = StructureOf(Enum, OneOf(Is(NullData), StructureOf(_DATE, _DATE), StructureOf(_ENTRY, _ENTRY)))
_ELEMENT_V1 = StructureOf(LongUnsigned, Octets(6), Integer, LongUnsigned, _RESTRICTION)
_ELEMENT_V2 = StructureOf(LongUnsigned, Octets(6), Integer, LongUnsigned, _RESTRICTION, ArrayOf(CAPTURE_OBJECT))
#: push_protection_parameters element: {protection_type, protection_options}
PROTECTION_PARAMETERS = StructureOf(
    Enum, StructureOf(Octets(), Octets(), Octets(), Octets(), StructureOf(Enum, Structure))
)
#: "not specified" in every field: the date-time of a confirmation that never happened
_NO_DATE = octets(bytes.fromhex("FFFFFFFFFFFFFFFFFF8000FF"))


@dataclass(frozen=True)
class Restriction:
    """What part of a Profile generic buffer a version 1/2 push carries:
    everything (``NONE``), the rows whose first column (the capture time)
    is within ``low``..``high`` (``BY_DATE``, date-time values), or the rows
    ``low``..``high`` counted from 1 (``BY_ENTRY``)."""

    kind: RestrictionType = RestrictionType.NONE
    low: Any = None
    high: Any = None

    def to_data(self) -> Structure:
        if self.kind is RestrictionType.NONE:
            return Structure((Enum(0), NullData()))
        return Structure((Enum(int(self.kind)), Structure((self.low, self.high))))

    @classmethod
    def from_data(cls, value: Structure) -> Restriction:
        kind, bounds = value
        try:
            restriction = RestrictionType(int(kind))
        except ValueError:
            raise DataAccessError(DataAccessResult.OTHER_REASON, f"no restriction type {int(kind)}") from None
        if restriction is RestrictionType.NONE:
            if not isinstance(bounds, NullData):
                raise DataAccessError(DataAccessResult.TYPE_UNMATCHED, "restriction none carries null-data")
            return cls()
        dates = isinstance(bounds, Structure) and isinstance(bounds[0], (OctetString, DateTime))
        if not isinstance(bounds, Structure) or dates != (restriction is RestrictionType.BY_DATE):
            raise DataAccessError(
                DataAccessResult.TYPE_UNMATCHED, f"a {restriction.name} restriction with other bounds"
            )
        return cls(restriction, bounds[0], bounds[1])


def _cod(definition: CaptureObject) -> Structure:
    return tuple.__new__(Structure, definition.to_data())


class PushSetup(CosemObject):
    """Push setup (class 40, version 0).

    ``push_objects`` lists what a push carries: (object, attribute[, data_index])
    or a :class:`CaptureObject` resolved in ``objects`` at push time (as is
    every entry written by a SET of push_object_list); attribute 0 is the whole
    object as a structure of all its attributes.  A value that cannot be read
    is pushed as null-data, as a Profile generic captures it.

    ``client_sap`` is the destination wPort (push_client_SAP, attribute 9 from
    version 1; the pre-established push client 0x66 of IEC 62056-8-20);
    ``now``, when given, stamps each notification with its date-time.
    """

    class_id = 40
    version = 0

    send_destination_and_method = attribute(3, DESTINATION_AND_METHOD, access=READ_WRITE)
    communication_window = attribute(4, ArrayOf(WINDOW), access=READ_WRITE, default=Array())
    randomisation_start_interval = attribute(5, LongUnsigned, access=READ_WRITE, default=LongUnsigned(0))
    number_of_retries = attribute(6, Unsigned, access=READ_WRITE, default=Unsigned(0))
    repetition_delay = attribute(7, LongUnsigned, access=READ_WRITE, default=LongUnsigned(0))

    def __init__(
        self,
        logical_name: Obis | str | bytes = "0.0.25.9.0.255",
        push_objects: Iterable[Column] = (),
        *,
        objects: ObjectList | None = None,
        destination: str | bytes = b"",
        transport: int = TransportService.UDP,
        message: int = MessageType.AXDR_APDU,
        client_sap: int = 0x66,
        sender: PushSender | None = None,
        now: Now | None = None,
    ) -> None:
        super().__init__(logical_name)
        self.objects = objects
        self.sender = sender
        self.client_sap = client_sap
        self._now = now
        self._bound: dict[tuple[int, Obis], CosemObject] = {}
        self._definitions: list[CaptureObject] = []
        for column in push_objects:
            if isinstance(column, CaptureObject):
                self._definitions.append(column)
            else:
                obj, index, *rest = column
                self._bound[obj.key] = obj
                self._definitions.append(CaptureObject(obj.class_id, obj.logical_name, index, rest[0] if rest else 0))
        self._next_invoke_id = 1
        target = destination.encode("ascii") if isinstance(destination, str) else bytes(destination)
        self.send_destination_and_method = Structure((Enum(int(transport)), octets(target), Enum(int(message))))

    # ------------------------------------------------------------ attributes

    def _read_push_object_list(self) -> Array:
        return Array(_cod(definition) for definition in self._definitions)

    def _write_push_object_list(self, value: Array) -> None:
        self._definitions = [
            CaptureObject(int(cid), Obis(bytes(name)), int(index), int(data_index))
            for cid, name, index, data_index in value
        ]

    push_object_list = attribute(2, ArrayOf(CAPTURE_OBJECT), access=READ_WRITE)(_read_push_object_list).setter(
        _write_push_object_list
    )

    # --------------------------------------------------------- Python helpers

    @property
    def push_objects(self) -> list[CaptureObject]:
        return list(self._definitions)

    @property
    def destination(self) -> bytes:
        return bytes(self.send_destination_and_method[1])

    def retry_delays(self) -> list[int]:
        """Seconds to wait before each retry: number_of_retries times repetition_delay."""
        return [int(self.repetition_delay)] * int(self.number_of_retries)

    async def notification(self) -> DataNotification:
        """The data-notification a push sends now (and advance the invoke id)."""
        values: list[CosemValue] = []
        for position, definition in enumerate(self._definitions):
            values.append(await self._pushed_value(position, definition))
        invoke_id = self._next_invoke_id
        self._next_invoke_id = invoke_id % 0xFFFFFF + 1
        stamp = None if self._now is None else DateTime.from_datetime(self._now())
        return DataNotification(Structure(values), long_invoke_id=invoke_id, date_time=stamp)

    async def _pushed_value(self, position: int, definition: CaptureObject) -> CosemValue:
        return await self._value_of(definition)

    def _object_of(self, definition: CaptureObject) -> CosemObject | None:
        key = (definition.class_id, definition.logical_name)
        obj = self._bound.get(key)
        if obj is None and self.objects is not None:
            obj = self.objects.find(*key)
        return obj

    async def _value_of(self, definition: CaptureObject) -> CosemValue:
        obj = self._object_of(definition)
        if obj is None:
            return NullData()
        if definition.attribute_index == 0:
            members = [await obj.get(index) for index in obj.attribute_specs()]
            return Structure(NullData() if isinstance(v, DataAccessResult) else v for v in members)
        value: Any = await obj.get(definition.attribute_index)
        return _element(value, definition.data_index)

    # --------------------------------------------------------------- methods

    @method(1, Integer)
    async def push(self, parameters: Any) -> None:
        note = await self.notification()
        if self.sender is not None:
            sent = self.sender(note, self)
            if inspect.isawaitable(sent):
                await sent


def _element(value: Any, data_index: int) -> CosemValue:
    """A read value, or the element data_index selects; null-data when there is none."""
    if isinstance(value, DataAccessResult):
        return NullData()
    if data_index:
        # data_index picks one element of an array or structure attribute
        if not isinstance(value, (list, tuple)) or data_index > len(value):
            return NullData()
        return value[data_index - 1]  # type: ignore[no-any-return]
    return value  # type: ignore[no-any-return]


class PushSetupV1(PushSetup):
    """Push setup (class 40, version 1): adds port_reference, push_client_SAP
    (:attr:`client_sap`) and push_protection_parameters, and a restriction
    per push_object_list element (see the module text; UNVERIFIED layout).

    A restriction applies to an attribute with selective access (a Profile
    generic buffer): by date it reads the rows whose first capture column
    is within the bounds (selective access 1), by entry the rows in the
    range (selective access 2); on any other attribute it is ignored.
    """

    version = 1

    port_reference = attribute(8, OneOf(Octets(6), Octets(0)), access=READ_WRITE, default=octets(b""))
    push_protection_parameters = attribute(10, ArrayOf(PROTECTION_PARAMETERS), access=READ_WRITE, default=Array())

    def __init__(
        self,
        logical_name: Obis | str | bytes = "0.0.25.9.0.255",
        push_objects: Iterable[Column] = (),
        *,
        objects: ObjectList | None = None,
        destination: str | bytes = b"",
        transport: int = TransportService.UDP,
        message: int = MessageType.AXDR_APDU,
        client_sap: int = 0x66,
        sender: PushSender | None = None,
        now: Now | None = None,
        port_reference: Obis | str | bytes | None = None,
    ) -> None:
        super().__init__(
            logical_name,
            push_objects,
            objects=objects,
            destination=destination,
            transport=transport,
            message=message,
            client_sap=client_sap,
            sender=sender,
            now=now,
        )
        self._restrictions: list[tuple[Restriction, tuple[CaptureObject, ...]]] = [
            (Restriction(), ()) for _ in self._definitions
        ]
        if port_reference is not None:
            self.port_reference = octets(bytes(Obis(port_reference)))

    # ------------------------------------------------------------ attributes

    def _element_data(self, position: int) -> Structure:
        restriction, _columns = self._restrictions[position]
        return Structure((*_cod(self._definitions[position]), restriction.to_data()))

    def _read_push_object_list(self) -> Array:
        return Array(self._element_data(i) for i in range(len(self._definitions)))

    def _write_push_object_list(self, value: Array) -> None:
        definitions: list[CaptureObject] = []
        restrictions: list[tuple[Restriction, tuple[CaptureObject, ...]]] = []
        for element in value:
            cid, name, index, data_index, *extra = element
            definitions.append(CaptureObject(int(cid), Obis(bytes(name)), int(index), int(data_index)))
            restriction = Restriction.from_data(extra[0]) if extra else Restriction()
            columns = tuple(_capture_object(cod) for cod in extra[1]) if len(extra) > 1 else ()
            restrictions.append((restriction, columns))
        self._definitions = definitions
        self._restrictions = restrictions

    push_object_list = attribute(2, ArrayOf(OneOf(_ELEMENT_V1, CAPTURE_OBJECT)), access=READ_WRITE)(
        _read_push_object_list
    ).setter(_write_push_object_list)

    def _read_client_sap(self) -> Integer:
        return Integer(self.client_sap)

    def _write_client_sap(self, value: Integer) -> None:
        self.client_sap = int(value)

    push_client_sap = attribute(9, Integer, access=READ_WRITE)(_read_client_sap).setter(_write_client_sap)

    # --------------------------------------------------------- Python helpers

    def restrict(self, position: int, restriction: Restriction, columns: Sequence[CaptureObject] = ()) -> None:
        """Restrict what element ``position`` of push_object_list pushes
        (``columns``, the columns to push, is version 2's)."""
        if not 0 <= position < len(self._definitions):
            raise IndexError(f"push_object_list has no element {position}")
        self._restrictions = list(self._restrictions)
        self._restrictions[position] = (restriction, tuple(columns))

    def restriction(self, position: int) -> tuple[Restriction, tuple[CaptureObject, ...]]:
        return self._restrictions[position]

    async def _pushed_value(self, position: int, definition: CaptureObject) -> CosemValue:
        restriction, columns = self._restrictions[position]
        obj = self._object_of(definition)
        spec = obj.attribute_specs().get(definition.attribute_index) if obj is not None else None
        if obj is None or spec is None or not spec.selectors:
            return await self._value_of(definition)
        selected = Array(_cod(c) for c in columns)
        if restriction.kind is RestrictionType.BY_DATE:
            capture_objects: Any = await obj.get(3)
            if isinstance(capture_objects, DataAccessResult) or not capture_objects:
                return NullData()
            parameters: Any = Structure((capture_objects[0], restriction.low, restriction.high, selected))
            value = await obj.get(definition.attribute_index, 1, parameters)
        elif restriction.kind is RestrictionType.BY_ENTRY:
            entries = Structure(
                (
                    DoubleLongUnsigned(int(restriction.low)),
                    DoubleLongUnsigned(int(restriction.high)),
                    LongUnsigned(1),
                    LongUnsigned(0),
                )
            )
            value = await obj.get(definition.attribute_index, 2, entries)
            if columns and not isinstance(value, DataAccessResult):
                value = await self._columns_only(obj, value, columns)
        elif columns:
            value = await obj.get(definition.attribute_index)
            if not isinstance(value, DataAccessResult):
                value = await self._columns_only(obj, value, columns)
        else:
            value = await obj.get(definition.attribute_index)
        return _element(value, definition.data_index)

    async def _columns_only(self, obj: CosemObject, rows: Any, columns: Sequence[CaptureObject]) -> Any:
        """The rows with only ``columns`` (capture objects of ``obj``), in that order."""
        capture_objects: Any = await obj.get(3)
        if isinstance(capture_objects, DataAccessResult):
            return DataAccessResult.OTHER_REASON
        known = [_capture_object(cod) for cod in capture_objects]
        if any(c not in known for c in columns):
            return DataAccessResult.OTHER_REASON
        picks = [known.index(c) for c in columns]
        return Array(Structure(row[i] for i in picks) for row in rows)


class PushSetupV2(PushSetupV1):
    """Push setup (class 40, version 2): repetition_delay as {min, exponent,
    max}, push_operation_method, confirmation_parameters,
    last_confirmation_date_time and method 2 reset; push_object_list
    elements carry the columns to push (see the module text; UNVERIFIED
    layout).  :meth:`confirmed` records a confirmation the Server received.
    """

    version = 2

    repetition_delay = attribute(
        7,
        StructureOf(LongUnsigned, LongUnsigned, LongUnsigned),
        access=READ_WRITE,
        default=Structure((LongUnsigned(0), LongUnsigned(0), LongUnsigned(0))),
    )
    confirmation_parameters = attribute(
        12,
        StructureOf(_DATE, DoubleLongUnsigned),
        access=READ_WRITE,
        default=Structure((_NO_DATE, DoubleLongUnsigned(0))),
    )
    last_confirmation_date_time = attribute(13, _DATE, access=READ_ONLY, default=_NO_DATE)

    def _element_data(self, position: int) -> Structure:
        _restriction, columns = self._restrictions[position]
        return Structure((*super()._element_data(position), Array(_cod(c) for c in columns)))

    push_object_list = attribute(2, ArrayOf(OneOf(_ELEMENT_V2, _ELEMENT_V1, CAPTURE_OBJECT)), access=READ_WRITE)(
        PushSetupV1._read_push_object_list
    ).setter(PushSetupV1._write_push_object_list)

    #: a class-level default each object shadows when written
    _operation_method = PushOperationMethod.UNCONFIRMED_RETRY_ON_FAILURE

    def _read_operation_method(self) -> Enum:
        return Enum(int(self._operation_method))

    def _write_operation_method(self, value: Enum) -> None:
        try:
            self._operation_method = PushOperationMethod(int(value))
        except ValueError:
            raise DataAccessError(DataAccessResult.OTHER_REASON, f"no push operation method {int(value)}") from None

    push_operation_method = attribute(11, Enum, access=READ_WRITE)(_read_operation_method).setter(
        _write_operation_method
    )

    def retry_delays(self) -> list[int]:
        """Seconds before each retry: min × exponent^(retry − 1), capped at max
        (max 0: no cap).  UNVERIFIED: inferred from the field names."""
        low, exponent, high = (int(v) for v in self.repetition_delay)
        delays = []
        for retry in range(int(self.number_of_retries)):
            delay = low * exponent**retry if exponent else low
            delays.append(min(delay, high) if high else delay)
        return delays

    def confirmed(self, moment: DateTime | bytes) -> None:
        """Record a confirmation of the push (last_confirmation_date_time)."""
        self.last_confirmation_date_time = octets(bytes(moment))

    @method(2, Integer)
    def reset(self, parameters: Any) -> None:
        """Forget the confirmations and restart the invoke ids (UNVERIFIED:
        the Blue Book's exact reset semantics are not in the notes)."""
        self.last_confirmation_date_time = _NO_DATE
        self._next_invoke_id = 1


def _capture_object(cod: Any) -> CaptureObject:
    cid, name, index, data_index = cod
    return CaptureObject(int(cid), Obis(bytes(name)), int(index), int(data_index))
