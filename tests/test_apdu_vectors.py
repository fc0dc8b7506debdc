"""The worked examples X1-X31 (checked against gurux-dlms and dlms-cosem), on both backends
and in both directions.

* decode gives the fields the spec states, each checked explicitly (class,
  invoke-id and priority bits, descriptors, selective access, results, block
  fields, long-invoke-id bits, date-time fields);
* encoding the object built by hand from those fields gives the exact bytes.

X15 is written with an ellipsis in the spec and is rebuilt here from X14's
context (a 60-byte octet-string 00..3B whose 62-byte A-XDR encoding is sent in
blocks of 21, 31 and 10 bytes); X28 is checked both as written and as the
first 33 bytes of the set-request-normal of that value.

``VECTORS`` and ``EXPECTED`` are shared with the other test_apdu_* modules.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest

from dlmsmesh import apdu as A
from dlmsmesh import axdr
from dlmsmesh.apdu import (
    ActionResult,
    AttributeDescriptor,
    CaptureObject,
    ConfirmedServiceErrorChoice,
    DataAccessResult,
    MethodDescriptor,
    Priority,
    ServiceClass,
    ServiceError,
    ServiceErrorChoice,
    StateError,
)
from dlmsmesh.types import (
    DateTime,
    DoubleLongUnsigned,
    Integer,
    Long,
    LongUnsigned,
    NullData,
    Obis,
    OctetString,
)

from .helpers import hexbytes

CLOCK = "0.0.1.0.0.255"
REGISTER = "1.0.1.8.0.255"
PROFILE = "1.0.99.1.0.255"
DATA_OBJECT = "0.0.96.1.0.255"

# 2024-03-15 Fri 12:30:45.00, deviation -60 (CET), status 0
TIME_OCTETS = hexbytes("07 E8 03 0F 05 0C 1E 2D 00 FF C4 00")
# the X14 value: a 60-byte octet-string 00..3B, and its A-XDR encoding (62 bytes)
LONG_VALUE = bytes(range(60))
LONG_VALUE_DATA = b"\x09\x3c" + LONG_VALUE
# X14's set-request-normal, sent whole (the APDU X28 cuts into GBT blocks)
LONG_SET_NORMAL = hexbytes("C1 01 C1 00 01 00 00 60 01 00 FF 02 00") + LONG_VALUE_DATA

# X28 exactly as the spec writes it
X28_AS_WRITTEN = hexbytes(
    "E0 01 00 01 00 00 21 C1 01 C1 00 01 00 00 60 01 00 FF 02 00 09 3C 00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E"
    " 0F 10 11"
)

VECTORS: dict[str, bytes] = {
    "X1": hexbytes("C0 01 C1 00 08 00 00 01 00 00 FF 02 00"),
    "X2": hexbytes("C4 01 C1 00 09 0C") + TIME_OCTETS,
    "X3": hexbytes("C4 01 C1 01 04"),
    "X4": hexbytes("C0 03 C1 02 00 08 00 00 01 00 00 FF 02 00 00 03 01 00 01 08 00 FF 02 00"),
    "X5": hexbytes("C4 03 C1 02 00 09 0C 07 E8 03 0F 05 0C 1E 2D 00 FF C4 00 01 04"),
    "X6": hexbytes("C0 02 C1 00 00 00 01"),
    "X7": hexbytes("C4 02 C1 00 00 00 00 01 00 05 01 02 03 04 05"),
    "X8": hexbytes("C4 02 C1 01 00 00 00 02 00 03 01 02 03"),
    "X9": hexbytes("C4 02 C1 00 00 00 00 01 01 0E"),
    "X10": hexbytes(
        "C0 01 C1 00 07 01 00 63 01 00 FF 02 01 01 02 04 02 04 12 00 08 09 06 00 00 01 00 00 FF 0F 02 12 00 00"
        " 09 0C 07 E8 03 0F FF 00 00 00 00 FF C4 00 09 0C 07 E8 03 10 FF 00 00 00 00 FF C4 00 01 00"
    ),
    "X11": hexbytes("C0 01 C1 00 07 01 00 63 01 00 FF 02 01 02 02 04 06 00 00 00 01 06 00 00 00 0A 12 00 01 12 00 00"),
    "X12": hexbytes("C1 01 C1 00 08 00 00 01 00 00 FF 02 00 09 0C 07 E8 03 0F 05 0C 1E 2D 00 FF C4 00"),
    "X13": hexbytes("C5 01 C1 00"),
    "X14": hexbytes(
        "C1 02 C1 00 01 00 00 60 01 00 FF 02 00 00 00 00 00 01 15 09 3C 00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D"
        " 0E 0F 10 11 12"
    ),
    "X15": hexbytes("C1 03 C1 00 00 00 00 02 1F") + bytes(range(0x13, 0x32)),
    "X16": hexbytes("C1 03 C1 01 00 00 00 03 0A 32 33 34 35 36 37 38 39 3A 3B"),
    "X17": hexbytes("C5 02 C1 00 00 00 01"),
    "X18": hexbytes("C5 03 C1 00 00 00 00 03"),
    "X19": hexbytes("C1 04 C1 02 00 01 00 00 60 01 01 FF 02 00 00 08 00 00 01 00 00 FF 03 00 02 12 00 05 10 FF C4"),
    "X20": hexbytes("C5 05 C1 02 00 03"),
    "X21": hexbytes("C3 01 C1 00 03 01 00 01 08 00 FF 01 01 0F 00"),
    "X22": hexbytes("C7 01 C1 00 00"),
    "X23": hexbytes("C7 01 C1 00 01 00 09 02 AA BB"),
    "X24": hexbytes("D8 01 02"),
    "X25": hexbytes("0E 01 06 01"),
    "X26": hexbytes("C2 00 00 03 01 00 01 08 00 FF 02 06 00 00 00 01"),
    "X27": hexbytes("E0 80 00 01 00 00 0D C0 01 C1 00 08 00 00 01 00 00 FF 02 00"),
    "X28": hexbytes("E0 01 00 01 00 00 21") + LONG_SET_NORMAL[:33],
    "X29": hexbytes(
        "0F 00 00 00 01 0C 07 E8 03 0F FF 0C 1E 2D 00 FF C4 00 02 02 09 06 00 00 01 00 00 FF 06 00 00 30 39"
    ),
    "X30": hexbytes("0F 00 00 00 02 00 02 02 09 06 00 00 01 00 00 FF 06 00 00 30 39"),
    "X31": hexbytes("0F C0 00 00 03 00 02 02 09 06 00 00 01 00 00 FF 06 00 00 30 39"),
}

NAMES = list(VECTORS)

# invoke-id-and-priority C1: id 1, confirmed, high priority
C1: dict[str, Any] = {"invoke_id": 1, "priority": Priority.HIGH, "service_class": ServiceClass.CONFIRMED}


def _dt(**fields: Any) -> DateTime:
    return DateTime.from_fields(**fields)


DAY_START = _dt(year=2024, month=3, day=15, hour=0, minute=0, second=0, hundredths=0, deviation=-60, clock_status=0)
NEXT_DAY_START = _dt(
    year=2024, month=3, day=16, hour=0, minute=0, second=0, hundredths=0, deviation=-60, clock_status=0
)
NOTIFICATION_TIME = _dt(
    year=2024, month=3, day=15, hour=12, minute=30, second=45, hundredths=0, deviation=-60, clock_status=0
)
PUSH_BODY = (OctetString(bytes(Obis(CLOCK))), DoubleLongUnsigned(12345))

# the objects a user builds for X1-X31, through the public constructors and helpers
EXPECTED: dict[str, A.Apdu] = {
    "X1": A.GetRequestNormal(AttributeDescriptor(8, CLOCK, 2), **C1),
    "X2": A.GetResponseNormal(OctetString(TIME_OCTETS), **C1),
    "X3": A.GetResponseNormal(DataAccessResult.OBJECT_UNDEFINED, **C1),
    "X4": A.GetRequestWithList((AttributeDescriptor(8, CLOCK, 2), AttributeDescriptor(3, REGISTER, 2)), **C1),
    "X5": A.GetResponseWithList((OctetString(TIME_OCTETS), DataAccessResult.OBJECT_UNDEFINED), **C1),
    "X6": A.GetRequestNext(1, **C1),
    "X7": A.GetResponseWithDatablock(False, 1, bytes([1, 2, 3, 4, 5]), **C1),
    "X8": A.GetResponseWithDatablock(True, 2, bytes([1, 2, 3]), **C1),
    "X9": A.GetResponseWithDatablock(False, 1, DataAccessResult.DATA_BLOCK_UNAVAILABLE, **C1),
    "X10": A.GetRequestNormal(
        AttributeDescriptor(
            7,
            PROFILE,
            2,
            A.range_descriptor(CaptureObject(8, CLOCK, 2, 0), OctetString(DAY_START), OctetString(NEXT_DAY_START)),
        ),
        **C1,
    ),
    "X11": A.GetRequestNormal(AttributeDescriptor(7, PROFILE, 2, A.entry_descriptor(1, 10, 1, 0)), **C1),
    "X12": A.SetRequestNormal(AttributeDescriptor(8, CLOCK, 2), OctetString(TIME_OCTETS), **C1),
    "X13": A.SetResponseNormal(DataAccessResult.SUCCESS, **C1),
    "X14": A.SetRequestWithFirstDatablock(AttributeDescriptor(1, DATA_OBJECT, 2), False, 1, LONG_VALUE_DATA[:21], **C1),
    "X15": A.SetRequestWithDatablock(False, 2, LONG_VALUE_DATA[21:52], **C1),
    "X16": A.SetRequestWithDatablock(True, 3, LONG_VALUE_DATA[52:], **C1),
    "X17": A.SetResponseDatablock(1, **C1),
    "X18": A.SetResponseLastDatablock(DataAccessResult.SUCCESS, 3, **C1),
    "X19": A.SetRequestWithList(
        (AttributeDescriptor(1, "0.0.96.1.1.255", 2), AttributeDescriptor(8, CLOCK, 3)),
        (LongUnsigned(5), Long(-60)),
        **C1,
    ),
    "X20": A.SetResponseWithList((DataAccessResult.SUCCESS, DataAccessResult.READ_WRITE_DENIED), **C1),
    "X21": A.ActionRequestNormal(MethodDescriptor(3, REGISTER, 1), Integer(0), **C1),
    "X22": A.ActionResponseNormal(ActionResult.SUCCESS, **C1),
    "X23": A.ActionResponseNormal(ActionResult.SUCCESS, OctetString(b"\xaa\xbb"), **C1),
    "X24": A.ExceptionResponse(StateError.SERVICE_NOT_ALLOWED, ServiceError.SERVICE_NOT_SUPPORTED),
    "X25": A.ConfirmedServiceError(ConfirmedServiceErrorChoice.INITIATE_ERROR, ServiceErrorChoice.INITIATE, 1),
    "X26": A.EventNotificationRequest(AttributeDescriptor(3, REGISTER, 2), DoubleLongUnsigned(1)),
    "X27": A.GeneralBlockTransfer(
        hexbytes("C0 01 C1 00 08 00 00 01 00 00 FF 02 00"),
        last_block=True,
        streaming=False,
        window=0,
        block_number=1,
        block_number_ack=0,
    ),
    "X28": A.GeneralBlockTransfer(
        LONG_SET_NORMAL[:33], last_block=False, streaming=False, window=1, block_number=1, block_number_ack=0
    ),
    "X29": A.DataNotification(PUSH_BODY, long_invoke_id=1, date_time=NOTIFICATION_TIME),
    "X30": A.DataNotification(PUSH_BODY, long_invoke_id=2),
    "X31": A.DataNotification(
        PUSH_BODY, long_invoke_id=3, priority=Priority.HIGH, service_class=ServiceClass.CONFIRMED
    ),
}


# --------------------------------------------------------------------------
# field checks
# --------------------------------------------------------------------------


def check_iip(
    a: Any, invoke_id: int = 1, priority: Priority = Priority.HIGH, service_class: ServiceClass = ServiceClass.CONFIRMED
) -> None:
    assert a.invoke_id == invoke_id
    assert a.priority is priority
    assert a.service_class is service_class


def check_attribute(d: Any, class_id: int, obis: str, attribute_id: int, access: bool = False) -> None:
    assert type(d) is AttributeDescriptor
    assert d.class_id == class_id
    assert type(d.instance_id) is Obis and str(d.instance_id) == obis
    assert d.attribute_id == attribute_id
    if not access:
        assert d.access is None


def check_method(d: Any, class_id: int, obis: str, method_id: int) -> None:
    assert type(d) is MethodDescriptor
    assert d.class_id == class_id
    assert type(d.instance_id) is Obis and str(d.instance_id) == obis
    assert d.method_id == method_id


def check_clock_time(octets: bytes) -> None:
    """2024-03-15 Fri 12:30:45.00, deviation -60, status 0 (X2, X5, X12)."""
    assert isinstance(octets, bytes) and len(octets) == 12
    t = DateTime(bytes(octets))
    assert (t.year, t.month, t.day, t.day_of_week) == (2024, 3, 15, 5)
    assert (t.hour, t.minute, t.second, t.hundredths) == (12, 30, 45, 0)
    assert t.deviation == -60
    assert t.clock_status == 0


def check_push_body(body: Any) -> None:
    assert type(body) is tuple and len(body) == 2
    assert body[0] == bytes([0, 0, 1, 0, 0, 255]) and isinstance(body[0], bytes)
    assert type(body[1]) is DoubleLongUnsigned and body[1] == 12345


def x1(a: Any) -> None:
    assert type(a) is A.GetRequestNormal
    assert (a.TAG, a.CHOICE) == (0xC0, 1)
    check_iip(a)
    check_attribute(a.descriptor, 8, CLOCK, 2)


def x2(a: Any) -> None:
    assert type(a) is A.GetResponseNormal
    assert (a.TAG, a.CHOICE) == (0xC4, 1)
    check_iip(a)
    assert not isinstance(a.result, DataAccessResult)
    check_clock_time(a.result)


def x3(a: Any) -> None:
    assert type(a) is A.GetResponseNormal
    check_iip(a)
    assert a.result is DataAccessResult.OBJECT_UNDEFINED


def x4(a: Any) -> None:
    assert type(a) is A.GetRequestWithList
    assert (a.TAG, a.CHOICE) == (0xC0, 3)
    check_iip(a)
    assert type(a.descriptors) is tuple and len(a.descriptors) == 2
    check_attribute(a.descriptors[0], 8, CLOCK, 2)
    check_attribute(a.descriptors[1], 3, REGISTER, 2)


def x5(a: Any) -> None:
    assert type(a) is A.GetResponseWithList
    assert (a.TAG, a.CHOICE) == (0xC4, 3)
    check_iip(a)
    assert len(a.results) == 2
    check_clock_time(a.results[0])
    assert a.results[1] is DataAccessResult.OBJECT_UNDEFINED


def x6(a: Any) -> None:
    assert type(a) is A.GetRequestNext
    assert (a.TAG, a.CHOICE) == (0xC0, 2)
    check_iip(a)
    assert a.block_number == 1


def x7(a: Any) -> None:
    assert type(a) is A.GetResponseWithDatablock
    assert (a.TAG, a.CHOICE) == (0xC4, 2)
    check_iip(a)
    assert a.last_block is False
    assert a.block_number == 1
    assert a.raw_data == bytes([1, 2, 3, 4, 5])


def x8(a: Any) -> None:
    assert type(a) is A.GetResponseWithDatablock
    check_iip(a)
    assert a.last_block is True
    assert a.block_number == 2
    assert a.raw_data == bytes([1, 2, 3])


def x9(a: Any) -> None:
    assert type(a) is A.GetResponseWithDatablock
    check_iip(a)
    assert a.last_block is False
    assert a.block_number == 1
    assert a.raw_data is DataAccessResult.DATA_BLOCK_UNAVAILABLE


def _check_day_start(octets: Any, day: int) -> None:
    assert isinstance(octets, bytes) and len(octets) == 12
    t = DateTime(bytes(octets))
    assert (t.year, t.month, t.day, t.day_of_week) == (2024, 3, day, None)
    assert (t.hour, t.minute, t.second, t.hundredths) == (0, 0, 0, 0)
    assert t.deviation == -60 and t.clock_status == 0


def x10(a: Any) -> None:
    assert type(a) is A.GetRequestNormal
    check_iip(a)
    d = a.descriptor
    check_attribute(d, 7, PROFILE, 2, access=True)
    assert type(d.access) is A.SelectiveAccess
    assert d.access.selector == 1  # range_descriptor
    params = d.access.parameters
    assert type(params) is tuple and len(params) == 4
    restricting, from_value, to_value, selected = params
    # capture_object_definition of Clock.time
    assert restricting == (8, bytes(Obis(CLOCK)), 2, 0)
    assert [type(x) for x in restricting] == [LongUnsigned, bytes, Integer, LongUnsigned]
    _check_day_start(from_value, 15)
    _check_day_start(to_value, 16)
    assert selected == [] and type(selected) is list  # all columns


def x11(a: Any) -> None:
    assert type(a) is A.GetRequestNormal
    check_iip(a)
    d = a.descriptor
    check_attribute(d, 7, PROFILE, 2, access=True)
    assert d.access.selector == 2  # entry_descriptor
    params = d.access.parameters
    assert params == (1, 10, 1, 0)
    assert [type(x) for x in params] == [DoubleLongUnsigned, DoubleLongUnsigned, LongUnsigned, LongUnsigned]


def x12(a: Any) -> None:
    assert type(a) is A.SetRequestNormal
    assert (a.TAG, a.CHOICE) == (0xC1, 1)
    check_iip(a)
    check_attribute(a.descriptor, 8, CLOCK, 2)
    check_clock_time(a.value)


def x13(a: Any) -> None:
    assert type(a) is A.SetResponseNormal
    assert (a.TAG, a.CHOICE) == (0xC5, 1)
    check_iip(a)
    assert a.result is DataAccessResult.SUCCESS


def x14(a: Any) -> None:
    assert type(a) is A.SetRequestWithFirstDatablock
    assert (a.TAG, a.CHOICE) == (0xC1, 2)
    check_iip(a)
    check_attribute(a.descriptor, 1, DATA_OBJECT, 2)
    assert a.last_block is False
    assert a.block_number == 1
    assert len(a.raw_data) == 21
    assert a.raw_data == b"\x09\x3c" + bytes(range(19))


def x15(a: Any) -> None:
    assert type(a) is A.SetRequestWithDatablock
    assert (a.TAG, a.CHOICE) == (0xC1, 3)
    check_iip(a)
    assert a.last_block is False
    assert a.block_number == 2
    assert len(a.raw_data) == 31
    assert a.raw_data == bytes(range(0x13, 0x32))


def x16(a: Any) -> None:
    assert type(a) is A.SetRequestWithDatablock
    check_iip(a)
    assert a.last_block is True
    assert a.block_number == 3
    assert a.raw_data == bytes(range(0x32, 0x3C))


def x17(a: Any) -> None:
    assert type(a) is A.SetResponseDatablock
    assert (a.TAG, a.CHOICE) == (0xC5, 2)
    check_iip(a)
    assert a.block_number == 1


def x18(a: Any) -> None:
    assert type(a) is A.SetResponseLastDatablock
    assert (a.TAG, a.CHOICE) == (0xC5, 3)
    check_iip(a)
    assert a.result is DataAccessResult.SUCCESS
    assert a.block_number == 3


def x19(a: Any) -> None:
    assert type(a) is A.SetRequestWithList
    assert (a.TAG, a.CHOICE) == (0xC1, 4)
    check_iip(a)
    assert len(a.descriptors) == 2
    check_attribute(a.descriptors[0], 1, "0.0.96.1.1.255", 2)
    check_attribute(a.descriptors[1], 8, CLOCK, 3)
    assert a.values == (5, -60)
    assert [type(v) for v in a.values] == [LongUnsigned, Long]


def x20(a: Any) -> None:
    assert type(a) is A.SetResponseWithList
    assert (a.TAG, a.CHOICE) == (0xC5, 5)
    check_iip(a)
    assert a.results == (DataAccessResult.SUCCESS, DataAccessResult.READ_WRITE_DENIED)
    assert all(type(r) is DataAccessResult for r in a.results)


def x21(a: Any) -> None:
    assert type(a) is A.ActionRequestNormal
    assert (a.TAG, a.CHOICE) == (0xC3, 1)
    check_iip(a)
    check_method(a.descriptor, 3, REGISTER, 1)
    assert type(a.parameters) is Integer and a.parameters == 0


def x22(a: Any) -> None:
    assert type(a) is A.ActionResponseNormal
    assert (a.TAG, a.CHOICE) == (0xC7, 1)
    check_iip(a)
    assert a.result is ActionResult.SUCCESS
    assert a.return_parameters is None  # absent, not a present null-data


def x23(a: Any) -> None:
    assert type(a) is A.ActionResponseNormal
    check_iip(a)
    assert a.result is ActionResult.SUCCESS
    assert a.return_parameters == b"\xaa\xbb" and isinstance(a.return_parameters, bytes)


def x24(a: Any) -> None:
    assert type(a) is A.ExceptionResponse
    assert a.TAG == 0xD8
    assert a.state_error is StateError.SERVICE_NOT_ALLOWED
    assert a.service_error is ServiceError.SERVICE_NOT_SUPPORTED
    assert a.invocation_counter is None


def x25(a: Any) -> None:
    assert type(a) is A.ConfirmedServiceError
    assert a.TAG == 0x0E
    assert a.service is ConfirmedServiceErrorChoice.INITIATE_ERROR
    assert a.error is ServiceErrorChoice.INITIATE
    assert a.value == 1  # dlms-version-too-low


def x26(a: Any) -> None:
    assert type(a) is A.EventNotificationRequest
    assert a.TAG == 0xC2
    assert a.time is None
    check_attribute(a.descriptor, 3, REGISTER, 2)
    assert type(a.value) is DoubleLongUnsigned and a.value == 1


def x27(a: Any) -> None:
    assert type(a) is A.GeneralBlockTransfer
    assert a.TAG == 0xE0
    assert a.last_block is True and a.streaming is False and a.window == 0
    assert a.block_number == 1 and a.block_number_ack == 0
    assert a.block_data == VECTORS["X1"]
    x1(A.decode(a.block_data))


def x28(a: Any) -> None:
    assert type(a) is A.GeneralBlockTransfer
    assert a.last_block is False and a.streaming is False and a.window == 1
    assert a.block_number == 1 and a.block_number_ack == 0
    assert len(a.block_data) == 33
    assert a.block_data == LONG_SET_NORMAL[:33]


def _check_notification_bits(a: Any, priority: Priority, service_class: ServiceClass) -> None:
    assert a.priority is priority
    assert a.service_class is service_class
    assert a.processing_option is False  # continue on error
    assert a.self_descriptive is False


def x29(a: Any) -> None:
    assert type(a) is A.DataNotification
    assert a.TAG == 0x0F
    assert a.long_invoke_id == 1
    _check_notification_bits(a, Priority.NORMAL, ServiceClass.UNCONFIRMED)
    t = a.date_time
    assert type(t) is DateTime
    assert (t.year, t.month, t.day, t.day_of_week) == (2024, 3, 15, None)
    assert (t.hour, t.minute, t.second, t.hundredths) == (12, 30, 45, 0)
    assert t.deviation == -60 and t.clock_status == 0
    check_push_body(a.body)


def x30(a: Any) -> None:
    assert type(a) is A.DataNotification
    assert a.long_invoke_id == 2
    _check_notification_bits(a, Priority.NORMAL, ServiceClass.UNCONFIRMED)
    assert a.date_time is None
    check_push_body(a.body)


def x31(a: Any) -> None:
    assert type(a) is A.DataNotification
    assert a.long_invoke_id == 3
    _check_notification_bits(a, Priority.HIGH, ServiceClass.CONFIRMED)
    assert a.date_time is None
    check_push_body(a.body)


CHECKS: dict[str, Callable[[Any], None]] = {name: globals()[name.lower()] for name in NAMES}


# --------------------------------------------------------------------------
# the vector table itself
# --------------------------------------------------------------------------


def test_there_are_31_examples() -> None:
    assert NAMES == [f"X{i}" for i in range(1, 32)]
    assert set(EXPECTED) == set(VECTORS) == set(CHECKS)


def test_x14_to_x16_carry_the_60_byte_value_in_blocks_of_21_31_10() -> None:
    pieces = [VECTORS[n][-k:] for n, k in (("X14", 21), ("X15", 31), ("X16", 10))]
    assert [len(p) for p in pieces] == [21, 31, 10]
    assert b"".join(pieces) == LONG_VALUE_DATA
    assert axdr.decode(b"".join(pieces)) == LONG_VALUE
    # the raw-data lengths written in the APDUs
    assert VECTORS["X14"][18] == 21 and VECTORS["X15"][8] == 31 and VECTORS["X16"][8] == 10


def test_x28_as_written_is_the_start_of_the_x14_set_request_normal() -> None:
    assert VECTORS["X28"] == X28_AS_WRITTEN


# --------------------------------------------------------------------------
# both directions, both backends
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_decode_gives_the_stated_fields(backend: str, name: str) -> None:
    CHECKS[name](A.decode(VECTORS[name]))


@pytest.mark.parametrize("name", NAMES)
def test_the_hand_built_object_has_the_stated_fields(name: str) -> None:
    # guards EXPECTED itself: the encode test below is only as good as it
    CHECKS[name](A.decode(A.encode(EXPECTED[name])))


@pytest.mark.parametrize("name", NAMES)
def test_encode_gives_the_spec_bytes(backend: str, name: str) -> None:
    apdu = EXPECTED[name]
    assert A.encode(apdu) == VECTORS[name]
    assert apdu.encode() == VECTORS[name]


@pytest.mark.parametrize("name", NAMES)
def test_decode_equals_the_hand_built_object(backend: str, name: str) -> None:
    got = A.decode(VECTORS[name])
    want = EXPECTED[name]
    assert type(got) is type(want)
    assert got == want
    # JSON keeps the wire types (octet-string vs date-time, absent vs null-data)
    assert A.to_json(got) == A.to_json(want)
    assert A.encode(got) == VECTORS[name]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("kind", [bytearray, memoryview])
def test_decode_takes_any_bytes_like(backend: str, name: str, kind: type) -> None:
    assert A.decode(kind(VECTORS[name])) == EXPECTED[name]


def test_the_live_backend_is_the_one_asked_for(backend: str) -> None:
    from dlmsmesh import _backend

    assert _backend.live.modules["apdu"].__name__ == f"dlmsmesh._{backend}.apdu"


# --------------------------------------------------------------------------
# the header bit fields (spec sections 2 and 3) on the examples' layouts
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("iip", "invoke_id", "priority", "service_class"),
    [
        (0xC1, 1, Priority.HIGH, ServiceClass.CONFIRMED),
        (0x81, 1, Priority.HIGH, ServiceClass.UNCONFIRMED),
        (0x41, 1, Priority.NORMAL, ServiceClass.CONFIRMED),
        (0x00, 0, Priority.NORMAL, ServiceClass.UNCONFIRMED),
        (0xCF, 15, Priority.HIGH, ServiceClass.CONFIRMED),
        (0x07, 7, Priority.NORMAL, ServiceClass.UNCONFIRMED),
    ],
)
@pytest.mark.parametrize("name", ["X1", "X2", "X3", "X13", "X21", "X23"])
def test_invoke_id_and_priority_bits(
    backend: str, name: str, iip: int, invoke_id: int, priority: Priority, service_class: ServiceClass
) -> None:
    data = bytearray(VECTORS[name])
    data[2] = iip
    a = A.decode(bytes(data))
    check_iip(a, invoke_id, priority, service_class)
    assert A.encode(a) == bytes(data)
    rebuilt = EXPECTED[name].__class__(
        **{**EXPECTED[name].__dict__, "invoke_id": invoke_id, "priority": priority, "service_class": service_class}
    )
    assert A.encode(rebuilt) == bytes(data)


@pytest.mark.parametrize(
    ("lip", "fields"),
    [
        (0x00000001, {"long_invoke_id": 1}),
        (0x10000001, {"long_invoke_id": 1, "self_descriptive": True}),
        (0x20000001, {"long_invoke_id": 1, "processing_option": True}),
        (0x40000001, {"long_invoke_id": 1, "service_class": ServiceClass.CONFIRMED}),
        (0x80000001, {"long_invoke_id": 1, "priority": Priority.HIGH}),
        (
            0xF0FFFFFF,
            {
                "long_invoke_id": 0xFFFFFF,
                "priority": Priority.HIGH,
                "service_class": ServiceClass.CONFIRMED,
                "processing_option": True,
                "self_descriptive": True,
            },
        ),
        (0x00ABCDEF, {"long_invoke_id": 0xABCDEF}),
    ],
)
@pytest.mark.parametrize("name", ["X29", "X30"])
def test_long_invoke_id_and_priority_bits(backend: str, name: str, lip: int, fields: dict[str, Any]) -> None:
    data = bytes([0x0F]) + lip.to_bytes(4, "big") + VECTORS[name][5:]
    a = A.decode(data)
    want = {
        "long_invoke_id": 0,
        "priority": Priority.NORMAL,
        "service_class": ServiceClass.UNCONFIRMED,
        "processing_option": False,
        "self_descriptive": False,
        **fields,
    }
    for key, value in want.items():
        got = getattr(a, key)
        assert got == value and type(got) is type(value), key
    assert a.body == EXPECTED[name].body and a.date_time == EXPECTED[name].date_time
    built = A.DataNotification(EXPECTED[name].body, date_time=EXPECTED[name].date_time, **want)
    assert A.encode(built) == data


def test_a_reserved_long_invoke_id_bit_is_read_past(backend: str) -> None:
    # bits 24-27 are reserved: decode ignores them (and encode writes 0)
    data = b"\x0f\x0f\x00\x00\x02" + VECTORS["X30"][5:]
    a = A.decode(data)
    assert a == EXPECTED["X30"]
    assert A.encode(a) == VECTORS["X30"]


@pytest.mark.parametrize(
    ("control", "last", "streaming", "window"),
    [
        (0x80, True, False, 0),
        (0x01, False, False, 1),
        (0xC5, True, True, 5),
        (0x7F, False, True, 63),
        (0x3F, False, False, 63),
    ],
)
def test_general_block_transfer_control_bits(
    backend: str, control: int, last: bool, streaming: bool, window: int
) -> None:
    data = bytearray(VECTORS["X27"])
    data[1] = control
    a = A.decode(bytes(data))
    assert (a.last_block, a.streaming, a.window) == (last, streaming, window)
    assert A.encode(A.GeneralBlockTransfer(a.block_data, last_block=last, streaming=streaming, window=window)) == bytes(
        data
    )


# --------------------------------------------------------------------------
# what the spec says decoders accept beyond the canonical form
# --------------------------------------------------------------------------


def test_data_notification_time_with_an_octet_string_tag_is_accepted(backend: str) -> None:
    # section 8.1: some meters put 09 before the 0C length
    data = VECTORS["X29"][:5] + b"\x09" + VECTORS["X29"][5:]
    assert A.decode(data) == EXPECTED["X29"]
    assert A.encode(A.decode(data)) == VECTORS["X29"]


@pytest.mark.parametrize(
    "time_field",
    [
        b"\x01\x0c" + bytes(NOTIFICATION_TIME),  # presence flag, then the octet-string length
        b"\x09\x0c" + bytes(NOTIFICATION_TIME),  # octet-string tag (what Gurux encodes)
        b"\x01" + bytes(NOTIFICATION_TIME),  # fixed-size 12-octet string
    ],
)
def test_event_notification_time_forms(backend: str, time_field: bytes) -> None:
    # section 8.2: decode all three
    data = b"\xc2" + time_field + VECTORS["X26"][2:]
    a = A.decode(data)
    assert type(a) is A.EventNotificationRequest
    assert a.time == NOTIFICATION_TIME and type(a.time) is DateTime
    check_attribute(a.descriptor, 3, REGISTER, 2)
    assert a.value == 1
    # and encode writes one of them
    assert A.decode(A.encode(a)) == a


def test_a_present_null_data_is_not_an_absent_value(backend: str) -> None:
    present = VECTORS["X21"][:-2] + b"\x00"  # parameters present: null-data
    absent = VECTORS["X21"][:-3] + b"\x00"  # parameters absent
    got_present, got_absent = A.decode(present), A.decode(absent)
    assert type(got_present.parameters) is NullData
    assert got_absent.parameters is None
    assert A.encode(got_present) == present and A.encode(got_absent) == absent
    # the same for return parameters
    assert type(A.decode(b"\xc7\x01\xc1\x00\x01\x00\x00").return_parameters) is NullData
    assert A.decode(b"\xc7\x01\xc1\x00\x00").return_parameters is None
    # and for a Get-Data-Result (the native scalar shortcut included)
    assert type(A.decode(b"\xc4\x01\xc1\x00\x00").result) is NullData
