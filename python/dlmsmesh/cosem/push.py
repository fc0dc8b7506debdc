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

Version 0 only: gurux-dlms writes 5 (v1) or 6 (v2) members per
push_object_list element but reads the extra ones only for v2, so the v1/v2
layout is unsettled; a version-0 object is what every client reads alike.
"""

from __future__ import annotations

import enum
import inspect
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Union

from ..apdu_model import CaptureObject, DataAccessResult, DataNotification
from ..types import (
    Array,
    CosemValue,
    DateTime,
    Enum,
    Integer,
    LongUnsigned,
    NullData,
    Obis,
    Structure,
    Unsigned,
)
from .base import READ_WRITE, CosemObject, attribute, method
from .container import ObjectList
from .profile import CAPTURE_OBJECT, Column
from .registers import Now
from .typespec import DATE_TIME, ArrayOf, Octets, StructureOf, octets

__all__ = ["PushSetup", "PushSender", "TransportService", "MessageType", "DESTINATION_AND_METHOD", "WINDOW"]

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
        for definition in self._definitions:
            values.append(await self._value_of(definition))
        invoke_id = self._next_invoke_id
        self._next_invoke_id = invoke_id % 0xFFFFFF + 1
        stamp = None if self._now is None else DateTime.from_datetime(self._now())
        return DataNotification(Structure(values), long_invoke_id=invoke_id, date_time=stamp)

    async def _value_of(self, definition: CaptureObject) -> CosemValue:
        key = (definition.class_id, definition.logical_name)
        obj = self._bound.get(key)
        if obj is None and self.objects is not None:
            obj = self.objects.find(*key)
        if obj is None:
            return NullData()
        if definition.attribute_index == 0:
            members = [await obj.get(index) for index in obj.attribute_specs()]
            return Structure(NullData() if isinstance(v, DataAccessResult) else v for v in members)
        value: Any = await obj.get(definition.attribute_index)
        if isinstance(value, DataAccessResult):
            return NullData()
        if definition.data_index:
            # data_index picks one element of an array or structure attribute
            if not isinstance(value, (list, tuple)) or definition.data_index > len(value):
                return NullData()
            return value[definition.data_index - 1]  # type: ignore[no-any-return]
        return value  # type: ignore[no-any-return]

    # --------------------------------------------------------------- methods

    @method(1, Integer)
    async def push(self, parameters: Any) -> None:
        note = await self.notification()
        if self.sender is not None:
            sent = self.sender(note, self)
            if inspect.isawaitable(sent):
                await sent
