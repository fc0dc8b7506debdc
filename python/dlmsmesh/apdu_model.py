"""The xDLMS APDUs (logical-name referencing) as frozen dataclasses: the data
model of :mod:`dlmsmesh.apdu`, with the enums and descriptors they carry.

Nothing here encodes or decodes (that is :mod:`dlmsmesh.apdu`, through the
live backend): both backends build and read these classes, so they sit below
the backends, beside :mod:`dlmsmesh.types`.

Optional values: ``None`` means the component is absent; a present null-data
is :class:`~dlmsmesh.types.NullData` (the decoder gives ``NullData()``, which
also compares equal to None).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, ClassVar, Union

from . import _backend
from .types import (
    DateTime,
    DoubleLongUnsigned,
    Integer,
    LongUnsigned,
    Obis,
)

__all__ = [
    "Priority",
    "ServiceClass",
    "DataAccessResult",
    "ActionResult",
    "StateError",
    "ServiceError",
    "ConfirmedServiceErrorChoice",
    "ServiceErrorChoice",
    "AttributeDescriptor",
    "MethodDescriptor",
    "SelectiveAccess",
    "CaptureObject",
    "range_descriptor",
    "entry_descriptor",
    "Apdu",
    "GetRequestNormal",
    "GetRequestNext",
    "GetRequestWithList",
    "GetResponseNormal",
    "GetResponseWithDatablock",
    "GetResponseWithList",
    "SetRequestNormal",
    "SetRequestWithFirstDatablock",
    "SetRequestWithDatablock",
    "SetRequestWithList",
    "SetRequestWithListAndFirstDatablock",
    "SetResponseNormal",
    "SetResponseDatablock",
    "SetResponseLastDatablock",
    "SetResponseLastDatablockWithList",
    "SetResponseWithList",
    "ActionRequestNormal",
    "ActionRequestNextPblock",
    "ActionRequestWithList",
    "ActionRequestWithFirstPblock",
    "ActionRequestWithListAndFirstPblock",
    "ActionRequestWithPblock",
    "ActionResponseNormal",
    "ActionResponseWithPblock",
    "ActionResponseWithList",
    "ActionResponseNextPblock",
    "DataNotification",
    "EventNotificationRequest",
    "ExceptionResponse",
    "ConfirmedServiceError",
    "GeneralBlockTransfer",
    "CLASSES",
]


class _NamedIntEnum(enum.IntEnum):
    """An IntEnum whose members have an ASN.1 name and which keeps unknown
    values (a meter may send codes a later edition defines) as pseudo-members."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, int) or not 0 <= value <= 255:
            return None
        member = int.__new__(cls, value)
        member._name_ = f"UNKNOWN_{value}"
        member._value_ = value
        return member

    @property
    def asn1_name(self) -> str:
        if self.name.startswith("UNKNOWN_"):
            return f"unknown-{self.value}"
        return self.name.lower().replace("_", "-")

    @classmethod
    def from_asn1(cls, name: str) -> Any:
        if name.startswith("unknown-"):
            return cls(int(name[8:]))
        return cls[name.upper().replace("-", "_")]


class Priority(enum.IntEnum):
    NORMAL = 0
    HIGH = 1


class ServiceClass(enum.IntEnum):
    UNCONFIRMED = 0
    CONFIRMED = 1


class DataAccessResult(_NamedIntEnum):
    """Data-Access-Result (IEC 62056-5-3)."""

    SUCCESS = 0
    HARDWARE_FAULT = 1
    TEMPORARY_FAILURE = 2
    READ_WRITE_DENIED = 3
    OBJECT_UNDEFINED = 4
    OBJECT_CLASS_INCONSISTENT = 9
    OBJECT_UNAVAILABLE = 11
    TYPE_UNMATCHED = 12
    SCOPE_OF_ACCESS_VIOLATED = 13
    DATA_BLOCK_UNAVAILABLE = 14
    LONG_GET_ABORTED = 15
    NO_LONG_GET_IN_PROGRESS = 16
    LONG_SET_ABORTED = 17
    NO_LONG_SET_IN_PROGRESS = 18
    DATA_BLOCK_NUMBER_INVALID = 19
    OTHER_REASON = 250


class ActionResult(_NamedIntEnum):
    """Action-Result (IEC 62056-5-3)."""

    SUCCESS = 0
    HARDWARE_FAULT = 1
    TEMPORARY_FAILURE = 2
    READ_WRITE_DENIED = 3
    OBJECT_UNDEFINED = 4
    OBJECT_CLASS_INCONSISTENT = 9
    OBJECT_UNAVAILABLE = 11
    TYPE_UNMATCHED = 12
    SCOPE_OF_ACCESS_VIOLATED = 13
    DATA_BLOCK_UNAVAILABLE = 14
    LONG_ACTION_ABORTED = 15
    NO_LONG_ACTION_IN_PROGRESS = 16
    OTHER_REASON = 250


class StateError(_NamedIntEnum):
    SERVICE_NOT_ALLOWED = 1
    SERVICE_UNKNOWN = 2


class ServiceError(_NamedIntEnum):
    """exception-response service-error (6 carries the expected invocation counter)."""

    OPERATION_NOT_POSSIBLE = 1
    SERVICE_NOT_SUPPORTED = 2
    OTHER_REASON = 3
    PDU_TOO_LONG = 4
    DECIPHERING_ERROR = 5
    INVOCATION_COUNTER_ERROR = 6


class ConfirmedServiceErrorChoice(_NamedIntEnum):
    INITIATE_ERROR = 1
    GET_STATUS = 2
    GET_NAME_LIST = 3
    GET_VARIABLE_ATTRIBUTE = 4
    READ = 5
    WRITE = 6


class ServiceErrorChoice(_NamedIntEnum):
    """The ServiceError CHOICE of confirmedServiceError (xdlms-apdus.md section 9.2)."""

    APPLICATION_REFERENCE = 0
    HARDWARE_RESOURCE = 1
    VDE_STATE_ERROR = 2
    SERVICE = 3
    DEFINITION = 4
    ACCESS = 5
    INITIATE = 6
    LOAD_DATA_SET = 7
    TASK = 9


# --------------------------------------------------------------------------
# descriptors and selective access
# --------------------------------------------------------------------------


def _obis(value: Any) -> Obis:
    return value if type(value) is Obis else Obis(value)


@dataclass(frozen=True)
class SelectiveAccess:
    """Selective-Access-Descriptor: a class-specific selector and its parameters (Data)."""

    selector: int
    parameters: Any

    def __post_init__(self) -> None:
        if not 0 <= self.selector <= 255:
            raise ValueError("access selector is an Unsigned8")


@dataclass(frozen=True)
class AttributeDescriptor:
    """Cosem-Attribute-Descriptor, with the optional selective access of the
    -With-Selection form (GET and SET requests)."""

    class_id: int
    instance_id: Obis
    attribute_id: int
    access: SelectiveAccess | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "instance_id", _obis(self.instance_id))
        if not 0 <= self.class_id <= 0xFFFF:
            raise ValueError("class-id is an Unsigned16")
        if not -128 <= self.attribute_id <= 127:
            raise ValueError("attribute-id is an Integer8")


@dataclass(frozen=True)
class MethodDescriptor:
    """Cosem-Method-Descriptor."""

    class_id: int
    instance_id: Obis
    method_id: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "instance_id", _obis(self.instance_id))
        if not 0 <= self.class_id <= 0xFFFF:
            raise ValueError("class-id is an Unsigned16")
        if not -128 <= self.method_id <= 127:
            raise ValueError("method-id is an Integer8")


@dataclass(frozen=True)
class CaptureObject:
    """capture_object_definition of a Profile generic (class 7)."""

    class_id: int
    logical_name: Obis
    attribute_index: int
    data_index: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "logical_name", _obis(self.logical_name))

    def to_data(self) -> tuple[Any, ...]:
        return (
            int.__new__(LongUnsigned, self.class_id),
            bytes(self.logical_name),
            Integer(self.attribute_index),
            LongUnsigned(self.data_index),
        )


def range_descriptor(
    restricting_object: CaptureObject,
    from_value: Any,
    to_value: Any,
    selected_values: tuple[CaptureObject, ...] = (),
) -> SelectiveAccess:
    """Selector 1 of Profile generic buffer: rows whose restricting column lies in
    [from_value, to_value]; ``selected_values`` empty = all columns."""
    return SelectiveAccess(
        1,
        (restricting_object.to_data(), from_value, to_value, [c.to_data() for c in selected_values]),
    )


def entry_descriptor(
    from_entry: int, to_entry: int = 0, from_selected_value: int = 1, to_selected_value: int = 0
) -> SelectiveAccess:
    """Selector 2 of Profile generic buffer: entries from..to (1-based; 0 = last),
    columns from..to (1-based; 0 = last)."""
    return SelectiveAccess(
        2,
        (
            DoubleLongUnsigned(from_entry),
            DoubleLongUnsigned(to_entry),
            LongUnsigned(from_selected_value),
            LongUnsigned(to_selected_value),
        ),
    )


# --------------------------------------------------------------------------
# APDUs
# --------------------------------------------------------------------------


class Apdu:
    """Base of every xDLMS APDU class. ``TAG`` is the APDU tag, ``CHOICE`` the
    variant byte for GET/SET/ACTION (0 where there is none)."""

    TAG: ClassVar[int]
    CHOICE: ClassVar[int] = 0
    TYPE: ClassVar[str]
    VARIANT: ClassVar[str | None] = None

    def encode(self) -> bytes:
        """The bytes of this APDU (``dlmsmesh.apdu.encode``), through the live backend."""
        return _backend.live.apdu.encode(self)


@dataclass(frozen=True)
class _Invoked(Apdu):
    """invoke-id-and-priority of GET/SET/ACTION (defaults give the usual C1)."""

    invoke_id: int = field(default=1, kw_only=True)
    priority: Priority = field(default=Priority.HIGH, kw_only=True)
    service_class: ServiceClass = field(default=ServiceClass.CONFIRMED, kw_only=True)

    def __post_init__(self) -> None:
        if not 0 <= self.invoke_id <= 15:
            raise ValueError("invoke-id is 0..15")


GetDataResult = Union[Any, DataAccessResult]


@dataclass(frozen=True)
class GetRequestNormal(_Invoked):
    TAG, CHOICE, TYPE, VARIANT = 0xC0, 1, "get-request", "normal"
    descriptor: AttributeDescriptor


@dataclass(frozen=True)
class GetRequestNext(_Invoked):
    TAG, CHOICE, TYPE, VARIANT = 0xC0, 2, "get-request", "next"
    block_number: int


@dataclass(frozen=True)
class GetRequestWithList(_Invoked):
    TAG, CHOICE, TYPE, VARIANT = 0xC0, 3, "get-request", "with-list"
    descriptors: tuple[AttributeDescriptor, ...]


@dataclass(frozen=True)
class GetResponseNormal(_Invoked):
    TAG, CHOICE, TYPE, VARIANT = 0xC4, 1, "get-response", "normal"
    result: GetDataResult


@dataclass(frozen=True)
class GetResponseWithDatablock(_Invoked):
    """DataBlock-G: ``raw_data`` is bytes, or a DataAccessResult when the block failed."""

    TAG, CHOICE, TYPE, VARIANT = 0xC4, 2, "get-response", "with-datablock"
    last_block: bool
    block_number: int
    raw_data: Union[bytes, DataAccessResult]


@dataclass(frozen=True)
class GetResponseWithList(_Invoked):
    TAG, CHOICE, TYPE, VARIANT = 0xC4, 3, "get-response", "with-list"
    results: tuple[GetDataResult, ...]


@dataclass(frozen=True)
class SetRequestNormal(_Invoked):
    TAG, CHOICE, TYPE, VARIANT = 0xC1, 1, "set-request", "normal"
    descriptor: AttributeDescriptor
    value: Any


@dataclass(frozen=True)
class SetRequestWithFirstDatablock(_Invoked):
    TAG, CHOICE, TYPE, VARIANT = 0xC1, 2, "set-request", "with-first-datablock"
    descriptor: AttributeDescriptor
    last_block: bool
    block_number: int
    raw_data: bytes


@dataclass(frozen=True)
class SetRequestWithDatablock(_Invoked):
    TAG, CHOICE, TYPE, VARIANT = 0xC1, 3, "set-request", "with-datablock"
    last_block: bool
    block_number: int
    raw_data: bytes


@dataclass(frozen=True)
class SetRequestWithList(_Invoked):
    TAG, CHOICE, TYPE, VARIANT = 0xC1, 4, "set-request", "with-list"
    descriptors: tuple[AttributeDescriptor, ...]
    values: tuple[Any, ...]


@dataclass(frozen=True)
class SetRequestWithListAndFirstDatablock(_Invoked):
    TAG, CHOICE, TYPE, VARIANT = 0xC1, 5, "set-request", "with-list-and-first-datablock"
    descriptors: tuple[AttributeDescriptor, ...]
    last_block: bool
    block_number: int
    raw_data: bytes


@dataclass(frozen=True)
class SetResponseNormal(_Invoked):
    TAG, CHOICE, TYPE, VARIANT = 0xC5, 1, "set-response", "normal"
    result: DataAccessResult


@dataclass(frozen=True)
class SetResponseDatablock(_Invoked):
    TAG, CHOICE, TYPE, VARIANT = 0xC5, 2, "set-response", "datablock"
    block_number: int


@dataclass(frozen=True)
class SetResponseLastDatablock(_Invoked):
    TAG, CHOICE, TYPE, VARIANT = 0xC5, 3, "set-response", "last-datablock"
    result: DataAccessResult
    block_number: int


@dataclass(frozen=True)
class SetResponseLastDatablockWithList(_Invoked):
    TAG, CHOICE, TYPE, VARIANT = 0xC5, 4, "set-response", "last-datablock-with-list"
    results: tuple[DataAccessResult, ...]
    block_number: int


@dataclass(frozen=True)
class SetResponseWithList(_Invoked):
    TAG, CHOICE, TYPE, VARIANT = 0xC5, 5, "set-response", "with-list"
    results: tuple[DataAccessResult, ...]


@dataclass(frozen=True)
class ActionRequestNormal(_Invoked):
    """``parameters`` None = absent; NullData() = a present null-data."""

    TAG, CHOICE, TYPE, VARIANT = 0xC3, 1, "action-request", "normal"
    descriptor: MethodDescriptor
    parameters: Any = None


@dataclass(frozen=True)
class ActionRequestNextPblock(_Invoked):
    TAG, CHOICE, TYPE, VARIANT = 0xC3, 2, "action-request", "next-pblock"
    block_number: int


@dataclass(frozen=True)
class ActionRequestWithList(_Invoked):
    TAG, CHOICE, TYPE, VARIANT = 0xC3, 3, "action-request", "with-list"
    descriptors: tuple[MethodDescriptor, ...]
    parameters: tuple[Any, ...]


@dataclass(frozen=True)
class ActionRequestWithFirstPblock(_Invoked):
    TAG, CHOICE, TYPE, VARIANT = 0xC3, 4, "action-request", "with-first-pblock"
    descriptor: MethodDescriptor
    last_block: bool
    block_number: int
    raw_data: bytes


@dataclass(frozen=True)
class ActionRequestWithListAndFirstPblock(_Invoked):
    TAG, CHOICE, TYPE, VARIANT = 0xC3, 5, "action-request", "with-list-and-first-pblock"
    descriptors: tuple[MethodDescriptor, ...]
    last_block: bool
    block_number: int
    raw_data: bytes


@dataclass(frozen=True)
class ActionRequestWithPblock(_Invoked):
    TAG, CHOICE, TYPE, VARIANT = 0xC3, 6, "action-request", "with-pblock"
    last_block: bool
    block_number: int
    raw_data: bytes


@dataclass(frozen=True)
class ActionResponseNormal(_Invoked):
    """``return_parameters``: None = absent, a value, or a DataAccessResult."""

    TAG, CHOICE, TYPE, VARIANT = 0xC7, 1, "action-response", "normal"
    result: ActionResult
    return_parameters: Any = None


@dataclass(frozen=True)
class ActionResponseWithPblock(_Invoked):
    TAG, CHOICE, TYPE, VARIANT = 0xC7, 2, "action-response", "with-pblock"
    last_block: bool
    block_number: int
    raw_data: bytes


@dataclass(frozen=True)
class ActionResponseWithList(_Invoked):
    """``results``: (ActionResult, return parameters or None) per method."""

    TAG, CHOICE, TYPE, VARIANT = 0xC7, 3, "action-response", "with-list"
    results: tuple[tuple[ActionResult, Any], ...]


@dataclass(frozen=True)
class ActionResponseNextPblock(_Invoked):
    TAG, CHOICE, TYPE, VARIANT = 0xC7, 4, "action-response", "next-pblock"
    block_number: int


@dataclass(frozen=True)
class DataNotification(Apdu):
    """data-notification (0x0F) with its long-invoke-id-and-priority fields."""

    TAG, TYPE = 0x0F, "data-notification"
    body: Any
    long_invoke_id: int = 0
    date_time: DateTime | None = None
    priority: Priority = Priority.NORMAL
    service_class: ServiceClass = ServiceClass.UNCONFIRMED
    processing_option: bool = False
    self_descriptive: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.long_invoke_id <= 0xFFFFFF:
            raise ValueError("long-invoke-id is 24 bits")
        if self.date_time is not None and len(self.date_time) != 12:
            raise ValueError("date-time is 12 octets")


@dataclass(frozen=True)
class EventNotificationRequest(Apdu):
    TAG, TYPE = 0xC2, "event-notification-request"
    descriptor: AttributeDescriptor
    value: Any
    time: DateTime | None = None


@dataclass(frozen=True)
class ExceptionResponse(Apdu):
    TAG, TYPE = 0xD8, "exception-response"
    state_error: StateError
    service_error: ServiceError
    invocation_counter: int | None = None

    def __post_init__(self) -> None:
        # the counter is on the wire exactly when service-error is 6; anything
        # else would not come back from decode(encode(...))
        if self.service_error == ServiceError.INVOCATION_COUNTER_ERROR:
            if self.invocation_counter is None or not 0 <= self.invocation_counter <= 0xFFFFFFFF:
                raise ValueError("invocation-counter-error carries the expected counter (Unsigned32)")
        elif self.invocation_counter is not None:
            raise ValueError("only invocation-counter-error carries an invocation counter")


@dataclass(frozen=True)
class ConfirmedServiceError(Apdu):
    """confirmedServiceError (0x0E): which service, which ServiceError, its enum value."""

    TAG, TYPE = 0x0E, "confirmed-service-error"
    service: ConfirmedServiceErrorChoice
    error: ServiceErrorChoice
    value: int

    def __post_init__(self) -> None:
        if not 0 <= self.value <= 255:
            raise ValueError("the ServiceError value is one octet")


@dataclass(frozen=True)
class GeneralBlockTransfer(Apdu):
    TAG, TYPE = 0xE0, "general-block-transfer"
    block_data: bytes
    last_block: bool = True
    streaming: bool = False
    window: int = 1
    block_number: int = 1
    block_number_ack: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.window <= 63:
            raise ValueError("window is 0..63")
        if not 0 <= self.block_number <= 0xFFFF or not 0 <= self.block_number_ack <= 0xFFFF:
            raise ValueError("block numbers are Unsigned16")


#: every APDU class by (tag, choice)
CLASSES: dict[tuple[int, int], type[Apdu]] = {}
for _c in list(globals().values()):
    if isinstance(_c, type) and issubclass(_c, Apdu) and "TAG" in _c.__dict__:
        CLASSES[(_c.TAG, _c.CHOICE)] = _c
