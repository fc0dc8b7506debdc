"""``dlmsmesh.apdu.to_json``: the ``apdu`` object of docs/json.md, for
representative APDUs decoded on both backends (the native hot path builds its
objects differently, the JSON must not show it)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dlmsmesh import apdu as A
from dlmsmesh.apdu import ActionResult, AttributeDescriptor, DataAccessResult, MethodDescriptor, Priority, ServiceClass
from dlmsmesh.types import DateTime, DoubleLongUnsigned, Long64, NullData, Unsigned, VisibleString

from .test_apdu_vectors import CLOCK, REGISTER, VECTORS

HEADER_C1 = {"invoke_id": 1, "priority": "high", "service_class": "confirmed"}
CLOCK_TIME = {"type": "octet-string", "value": "07e8030f050c1e2d00ffc400"}
PUSH_BODY = {
    "type": "structure",
    "value": [
        {"type": "octet-string", "value": "0000010000ff"},
        {"type": "double-long-unsigned", "value": 12345},
    ],
}


def capture_object(class_id: int, obis: str, attribute: int, data_index: int) -> dict[str, Any]:
    return {
        "type": "structure",
        "value": [
            {"type": "long-unsigned", "value": class_id},
            {"type": "octet-string", "value": bytes(int(x) for x in obis.split(".")).hex()},
            {"type": "integer", "value": attribute},
            {"type": "long-unsigned", "value": data_index},
        ],
    }


EXAMPLES: dict[str, dict[str, Any]] = {
    "X1": {
        "type": "get-request",
        "variant": "normal",
        **HEADER_C1,
        "class_id": 8,
        "obis": "0.0.1.0.0.255",
        "attribute_id": 2,
    },
    "X10": {
        "type": "get-request",
        "variant": "normal",
        **HEADER_C1,
        "class_id": 7,
        "obis": "1.0.99.1.0.255",
        "attribute_id": 2,
        "access_selector": 1,
        "access_parameters": {
            "type": "structure",
            "value": [
                capture_object(8, "0.0.1.0.0.255", 2, 0),
                {"type": "octet-string", "value": "07e8030fff00000000ffc400"},
                {"type": "octet-string", "value": "07e80310ff00000000ffc400"},
                {"type": "array", "value": []},
            ],
        },
    },
    "X11": {
        "type": "get-request",
        "variant": "normal",
        **HEADER_C1,
        "class_id": 7,
        "obis": "1.0.99.1.0.255",
        "attribute_id": 2,
        "access_selector": 2,
        "access_parameters": {
            "type": "structure",
            "value": [
                {"type": "double-long-unsigned", "value": 1},
                {"type": "double-long-unsigned", "value": 10},
                {"type": "long-unsigned", "value": 1},
                {"type": "long-unsigned", "value": 0},
            ],
        },
    },
    "X4": {
        "type": "get-request",
        "variant": "with-list",
        **HEADER_C1,
        "items": [
            {"class_id": 8, "obis": "0.0.1.0.0.255", "attribute_id": 2},
            {"class_id": 3, "obis": "1.0.1.8.0.255", "attribute_id": 2},
        ],
    },
    "X6": {"type": "get-request", "variant": "next", **HEADER_C1, "block_number": 1},
    "X2": {"type": "get-response", "variant": "normal", **HEADER_C1, "result": CLOCK_TIME},
    "X3": {"type": "get-response", "variant": "normal", **HEADER_C1, "result": {"error": "object-undefined"}},
    "X5": {
        "type": "get-response",
        "variant": "with-list",
        **HEADER_C1,
        "results": [CLOCK_TIME, {"error": "object-undefined"}],
    },
    "X7": {
        "type": "get-response",
        "variant": "with-datablock",
        **HEADER_C1,
        "last_block": False,
        "block_number": 1,
        "raw_data": "0102030405",
    },
    "X8": {
        "type": "get-response",
        "variant": "with-datablock",
        **HEADER_C1,
        "last_block": True,
        "block_number": 2,
        "raw_data": "010203",
    },
    "X9": {
        "type": "get-response",
        "variant": "with-datablock",
        **HEADER_C1,
        "last_block": False,
        "block_number": 1,
        "result": {"error": "data-block-unavailable"},
    },
    "X12": {
        "type": "set-request",
        "variant": "normal",
        **HEADER_C1,
        "class_id": 8,
        "obis": "0.0.1.0.0.255",
        "attribute_id": 2,
        "value": CLOCK_TIME,
    },
    "X14": {
        "type": "set-request",
        "variant": "with-first-datablock",
        **HEADER_C1,
        "class_id": 1,
        "obis": "0.0.96.1.0.255",
        "attribute_id": 2,
        "last_block": False,
        "block_number": 1,
        "raw_data": "093c" + bytes(range(19)).hex(),
    },
    "X16": {
        "type": "set-request",
        "variant": "with-datablock",
        **HEADER_C1,
        "last_block": True,
        "block_number": 3,
        "raw_data": bytes(range(0x32, 0x3C)).hex(),
    },
    "X19": {
        "type": "set-request",
        "variant": "with-list",
        **HEADER_C1,
        "items": [
            {"class_id": 1, "obis": "0.0.96.1.1.255", "attribute_id": 2},
            {"class_id": 8, "obis": "0.0.1.0.0.255", "attribute_id": 3},
        ],
        "values": [{"type": "long-unsigned", "value": 5}, {"type": "long", "value": -60}],
    },
    "X13": {"type": "set-response", "variant": "normal", **HEADER_C1, "result": "success"},
    "X17": {"type": "set-response", "variant": "datablock", **HEADER_C1, "block_number": 1},
    "X18": {"type": "set-response", "variant": "last-datablock", **HEADER_C1, "result": "success", "block_number": 3},
    "X20": {"type": "set-response", "variant": "with-list", **HEADER_C1, "results": ["success", "read-write-denied"]},
    "X21": {
        "type": "action-request",
        "variant": "normal",
        **HEADER_C1,
        "class_id": 3,
        "obis": "1.0.1.8.0.255",
        "method_id": 1,
        "value": {"type": "integer", "value": 0},
    },
    "X22": {
        "type": "action-response",
        "variant": "normal",
        **HEADER_C1,
        "result": "success",
        "return_parameters": None,
    },
    "X23": {
        "type": "action-response",
        "variant": "normal",
        **HEADER_C1,
        "result": "success",
        "return_parameters": {"type": "octet-string", "value": "aabb"},
    },
    "X24": {
        "type": "exception-response",
        "state_error": "service-not-allowed",
        "service_error": "service-not-supported",
    },
    "X25": {"type": "confirmed-service-error", "service": "initiate-error", "error": "initiate", "value": 1},
    "X26": {
        "type": "event-notification-request",
        "class_id": 3,
        "obis": "1.0.1.8.0.255",
        "attribute_id": 2,
        "time": None,
        "value": {"type": "double-long-unsigned", "value": 1},
    },
    "X27": {
        "type": "general-block-transfer",
        "last_block": True,
        "streaming": False,
        "window": 0,
        "block_number": 1,
        "block_number_ack": 0,
        "block_data": "c001c100080000010000ff0200",
    },
    "X28": {
        "type": "general-block-transfer",
        "last_block": False,
        "streaming": False,
        "window": 1,
        "block_number": 1,
        "block_number_ack": 0,
        "block_data": VECTORS["X28"][7:].hex(),
    },
    "X29": {
        "type": "data-notification",
        "long_invoke_id": 1,
        "priority": "normal",
        "service_class": "unconfirmed",
        "processing_option": "continue-on-error",
        "self_descriptive": False,
        "date_time": "07e8030fff0c1e2d00ffc400",
        "body": PUSH_BODY,
    },
    "X30": {
        "type": "data-notification",
        "long_invoke_id": 2,
        "priority": "normal",
        "service_class": "unconfirmed",
        "processing_option": "continue-on-error",
        "self_descriptive": False,
        "date_time": None,
        "body": PUSH_BODY,
    },
    "X31": {
        "type": "data-notification",
        "long_invoke_id": 3,
        "priority": "high",
        "service_class": "confirmed",
        "processing_option": "continue-on-error",
        "self_descriptive": False,
        "date_time": None,
        "body": PUSH_BODY,
    },
}


def round_trip_json(data: bytes) -> dict[str, Any]:
    """to_json of the decoded APDU, through a JSON text (what the CLI prints)."""
    obj = A.to_json(A.decode(data))
    return json.loads(json.dumps(obj))  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_examples(backend: str, name: str) -> None:
    assert round_trip_json(VECTORS[name]) == EXAMPLES[name]


def test_keys_are_lowercase_snake_case(backend: str) -> None:
    def keys(obj: Any) -> set[str]:
        if isinstance(obj, dict):
            return set(obj) | {k for v in obj.values() for k in keys(v)}
        if isinstance(obj, list):
            return {k for v in obj for k in keys(v)}
        return set()

    for data in VECTORS.values():
        for key in keys(round_trip_json(data)):
            assert key == key.lower() and "-" not in key and " " not in key, key


def test_header_values_of_every_iip(backend: str) -> None:
    for iip in range(256):
        data = bytes([0xC4, 0x01, iip, 0x01, 0x04])  # the native hot path
        j = round_trip_json(data)
        assert j["invoke_id"] == iip & 0x0F
        assert j["priority"] == ("high" if iip & 0x80 else "normal")
        assert j["service_class"] == ("confirmed" if iip & 0x40 else "unconfirmed")


@pytest.mark.parametrize(
    ("lip", "want"),
    [
        (0x10000005, {"long_invoke_id": 5, "self_descriptive": True}),
        (0x20000005, {"long_invoke_id": 5, "processing_option": "break-on-error"}),
        (
            0xF0ABCDEF,
            {
                "long_invoke_id": 0xABCDEF,
                "priority": "high",
                "service_class": "confirmed",
                "processing_option": "break-on-error",
                "self_descriptive": True,
            },
        ),
    ],
)
def test_data_notification_long_invoke_id_bits(backend: str, lip: int, want: dict[str, Any]) -> None:
    data = b"\x0f" + lip.to_bytes(4, "big") + VECTORS["X29"][5:]
    assert round_trip_json(data) == {**EXAMPLES["X29"], **want}


def test_selective_access_in_with_list_items(backend: str) -> None:
    profile = AttributeDescriptor(7, "1.0.99.1.0.255", 2, A.entry_descriptor(1, 0))
    apdu = A.GetRequestWithList((AttributeDescriptor(8, CLOCK, 2), profile), invoke_id=3, priority=Priority.NORMAL)
    j = round_trip_json(A.encode(apdu))
    assert j == {
        "type": "get-request",
        "variant": "with-list",
        "invoke_id": 3,
        "priority": "normal",
        "service_class": "confirmed",
        "items": [
            {"class_id": 8, "obis": "0.0.1.0.0.255", "attribute_id": 2},
            {
                "class_id": 7,
                "obis": "1.0.99.1.0.255",
                "attribute_id": 2,
                "access_selector": 2,
                "access_parameters": {
                    "type": "structure",
                    "value": [
                        {"type": "double-long-unsigned", "value": 1},
                        {"type": "double-long-unsigned", "value": 0},
                        {"type": "long-unsigned", "value": 1},
                        {"type": "long-unsigned", "value": 0},
                    ],
                },
            },
        ],
    }


def test_results_present_null_and_errors(backend: str) -> None:
    # get-response-normal with a present null-data, and an unassigned result code
    assert round_trip_json(b"\xc4\x01\xc1\x00\x00")["result"] == {"type": "null-data", "value": None}
    assert round_trip_json(b"\xc4\x01\xc1\x01\x07")["result"] == {"error": "unknown-7"}
    assert round_trip_json(b"\xc5\x01\xc1\xfa")["result"] == "other-reason"
    # action-response return parameters: absent, present null-data, data-access-result
    ret = [
        (A.ActionResponseNormal(ActionResult.SUCCESS), None),
        (A.ActionResponseNormal(ActionResult.SUCCESS, NullData()), {"type": "null-data", "value": None}),
        (
            A.ActionResponseNormal(ActionResult.TYPE_UNMATCHED, DataAccessResult.READ_WRITE_DENIED),
            {"error": "read-write-denied"},
        ),
    ]
    for apdu, want in ret:
        j = round_trip_json(A.encode(apdu))
        assert j["return_parameters"] == want
        assert j["result"] == apdu.result.asn1_name
    assert round_trip_json(A.encode(A.ActionResponseNormal(ActionResult.LONG_ACTION_ABORTED)))["result"] == (
        "long-action-aborted"
    )


def test_action_with_lists(backend: str) -> None:
    m = MethodDescriptor(70, "0.0.96.3.10.255", 1)
    request = A.ActionRequestWithList((m, m), (Unsigned(1), NullData()), service_class=ServiceClass.UNCONFIRMED)
    assert round_trip_json(A.encode(request)) == {
        "type": "action-request",
        "variant": "with-list",
        "invoke_id": 1,
        "priority": "high",
        "service_class": "unconfirmed",
        "items": [{"class_id": 70, "obis": "0.0.96.3.10.255", "method_id": 1}] * 2,
        "values": [{"type": "unsigned", "value": 1}, {"type": "null-data", "value": None}],
    }
    response = A.ActionResponseWithList(
        (
            (ActionResult.SUCCESS, None),
            (ActionResult.SUCCESS, Long64(-1)),
            (ActionResult.OTHER_REASON, DataAccessResult.HARDWARE_FAULT),
        )
    )
    j = round_trip_json(A.encode(response))
    assert (j["type"], j["variant"]) == ("action-response", "with-list")
    assert j["results"] == [
        {"result": "success", "return_parameters": None},
        {"result": "success", "return_parameters": {"type": "long64", "value": -1}},
        {"result": "other-reason", "return_parameters": {"error": "hardware-fault"}},
    ]
    absent = round_trip_json(A.encode(A.ActionRequestNormal(m)))
    assert absent["value"] is None and absent["method_id"] == 1


def test_block_variants(backend: str) -> None:
    blocks = [
        A.SetRequestWithListAndFirstDatablock((AttributeDescriptor(1, REGISTER, 2),), False, 1, b"\x01\x02"),
        A.ActionRequestWithFirstPblock(MethodDescriptor(9, CLOCK, 1), True, 1, b""),
        A.ActionRequestWithListAndFirstPblock((MethodDescriptor(9, CLOCK, 1),), False, 4, b"\xff" * 200),
        A.ActionRequestWithPblock(True, 2**32 - 1, b"\x00"),
        A.ActionResponseWithPblock(False, 2, b"\xab"),
    ]
    for apdu in blocks:
        j = round_trip_json(A.encode(apdu))
        assert j["variant"] == apdu.VARIANT
        assert j["last_block"] is apdu.last_block
        assert j["block_number"] == apdu.block_number
        assert j["raw_data"] == apdu.raw_data.hex()
    assert "items" in round_trip_json(A.encode(blocks[0]))
    assert round_trip_json(A.encode(blocks[1]))["method_id"] == 1
    for apdu in (
        A.ActionRequestNextPblock(5),
        A.ActionResponseNextPblock(6),
        A.SetResponseLastDatablockWithList((DataAccessResult.SUCCESS, DataAccessResult.TYPE_UNMATCHED), 7),
    ):
        j = round_trip_json(A.encode(apdu))
        assert j["variant"] == apdu.VARIANT and j["block_number"] == apdu.block_number
    assert round_trip_json(A.encode(A.SetResponseLastDatablockWithList((DataAccessResult.TYPE_UNMATCHED,), 7)))[
        "results"
    ] == ["type-unmatched"]


def test_notifications_and_errors_with_optional_parts(backend: str) -> None:
    t = DateTime.from_fields(2024, 3, 15, 5, 12, 30, 45, 0, -60, 0)
    event = A.EventNotificationRequest(AttributeDescriptor(1, CLOCK, 2), VisibleString("x"), time=t)
    j = round_trip_json(A.encode(event))
    assert j["time"] == bytes(t).hex() and j["value"] == {"type": "visible-string", "value": "x"}
    exc = A.ExceptionResponse(A.StateError.SERVICE_UNKNOWN, A.ServiceError.INVOCATION_COUNTER_ERROR, 0x01020304)
    assert round_trip_json(A.encode(exc)) == {
        "type": "exception-response",
        "state_error": "service-unknown",
        "service_error": "invocation-counter-error",
        "invocation_counter": 0x01020304,
    }
    gbt = A.GeneralBlockTransfer(
        b"", last_block=False, streaming=True, window=63, block_number=0xFFFF, block_number_ack=0xFFFF
    )
    assert round_trip_json(A.encode(gbt)) == {
        "type": "general-block-transfer",
        "last_block": False,
        "streaming": True,
        "window": 63,
        "block_number": 0xFFFF,
        "block_number_ack": 0xFFFF,
        "block_data": "",
    }
    dn = A.DataNotification(DoubleLongUnsigned(7), long_invoke_id=0xFFFFFF, self_descriptive=True)
    assert round_trip_json(A.encode(dn))["body"] == {"type": "double-long-unsigned", "value": 7}
