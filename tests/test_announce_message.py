"""The registration / address-update message (spec note mesh-profile
§4.2-4.6): the worked example byte for byte through the library's own
encoders (on both backends, as every test here runs), dlms-cosem as a
test-only oracle, round trips, the body's errors at their offsets, and
destinations."""

from __future__ import annotations

import ipaddress

import pytest

from dlmsmesh import apdu, axdr, stack, wrapper
from dlmsmesh.apdu_model import DataNotification, GetRequestNormal
from dlmsmesh.registration.announce import (
    MAX_ADDRESSES,
    PUSH_CLIENT_SAP,
    REGISTRATION_PORT,
    REGISTRATION_PUSH,
    UPDATE_PUSH,
    Announcement,
    AnnouncementKind,
    canonical_address,
    decode_body,
    encode_body,
    format_destination,
    from_notification,
    global_first,
    notification,
    parse_destination,
)
from dlmsmesh.registration.errors import RegistrationError
from dlmsmesh.security import MemoryCounterStore, Role, SecurityContext
from dlmsmesh.types import Array, DateTime, DoubleLongUnsigned, LongUnsigned, Obis, OctetString, Structure

# the worked example (mesh-profile §4.6) and the security.md test keys
TITLE = bytes.fromhex("4D4D4D0000BC614E")
EK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
AK = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
METER = "2001:db8:1::212:4b00:1:203"
TIME = bytes.fromhex("07E80A0F020C1E0000000000")  # 2024-10-15 12:30:00, deviation 0, status 0
NOTIFICATION = bytes.fromhex(
    "0F00000001"
    "0C07E80A0F020C1E0000000000"
    "0204"
    "09060001190900FF"
    "09084D4D4D0000BC614E"
    "0101091020010DB80001000002124B0000010203"
    "12F0B0"
)
BODY = NOTIFICATION[18:]
CIPHERED = bytes.fromhex(
    "DB084D4D4D0000BC614E4E3000000010"
    "F29B0D9CF362D1A7FBE21058A446B0D02B6F035A1D1CBBAEA8F91C93DF297395EB7CC888567AABF844116F84A52CFBCD4B14F9AB59D9E0CDE550EFDEDE"
    "3D2915813B790D48BCA293B8"
)
WRAPPER_HEADER = bytes.fromhex("0001000100660059")
EXAMPLE = Announcement(AnnouncementKind.REGISTRATION, TITLE, (METER,), REGISTRATION_PORT)


def meter_context(first_counter: int = 0x10) -> SecurityContext:
    return SecurityContext(
        TITLE, ek=EK, ak=AK, role=Role.SERVER, counters=MemoryCounterStore(first_counter=first_counter)
    )


def head_end_context() -> SecurityContext:
    return SecurityContext(None, peer_system_title=TITLE, ek=EK, ak=AK)


# ------------------------------------------------------------ known answers


def test_worked_example_sizes_are_the_notes() -> None:
    assert len(NOTIFICATION) == 61 and len(CIPHERED) == 89 and CIPHERED[10] == 0x4E == 78


def test_worked_example_body_and_notification() -> None:
    assert encode_body(EXAMPLE) == BODY
    assert notification(EXAMPLE, invoke_id=1, date_time=TIME) == NOTIFICATION


def test_worked_example_ciphered_and_wrapped_through_the_stack() -> None:
    frame = stack.send(notification(EXAMPLE, date_time=TIME), security=meter_context(), general=True)
    assert frame == CIPHERED
    wrapped = stack.send(
        notification(EXAMPLE, date_time=TIME), security=meter_context(), general=True, wports=(1, PUSH_CLIENT_SAP)
    )
    assert wrapped == WRAPPER_HEADER + CIPHERED
    assert wrapper.encode(1, PUSH_CLIENT_SAP, CIPHERED) == wrapped


def test_worked_example_received_by_a_head_end() -> None:
    received = stack.receive(WRAPPER_HEADER + CIPHERED, "wrapper", security=head_end_context())
    assert received.wrapper is not None and received.wrapper.destination_wport == PUSH_CLIENT_SAP
    assert received.security is not None
    assert received.security.invocation_counter == 0x10 and received.security.system_title == TITLE
    assert received.plaintext == NOTIFICATION
    assert isinstance(received.apdu, DataNotification)
    assert received.apdu.date_time == DateTime(TIME)
    assert from_notification(received.apdu) == EXAMPLE


def test_worked_example_through_dlms_cosem() -> None:
    """dlms-cosem (a test-only oracle) opens our frame and reads our plaintext."""
    pytest.importorskip("dlms_cosem")
    from dlms_cosem import security as dc_security
    from dlms_cosem.protocol.xdlms.data_notification import DataNotification as DcDataNotification
    from dlms_cosem.protocol.xdlms.general_global_cipher import GeneralGlobalCipher

    ours = stack.send(notification(EXAMPLE, date_time=TIME), security=meter_context(), general=True)
    assert isinstance(ours, bytes)
    envelope = GeneralGlobalCipher.from_bytes(ours)
    assert envelope.system_title == TITLE and envelope.invocation_counter == 0x10
    control = envelope.security_control
    assert control.authenticated and control.encrypted and not control.broadcast_key
    plain = dc_security.decrypt(
        control, envelope.system_title, envelope.invocation_counter, EK, envelope.ciphered_text, AK
    )
    assert plain == NOTIFICATION
    theirs = DcDataNotification.from_bytes(plain)
    assert theirs.long_invoke_id_and_priority.long_invoke_id == 1
    assert not theirs.long_invoke_id_and_priority.confirmed
    assert (theirs.date_time.year, theirs.date_time.month, theirs.date_time.day, theirs.date_time.hour) == (
        2024,
        10,
        15,
        12,
    )
    assert bytes(theirs.body) == BODY


def test_canonical_text_of_the_example_address() -> None:
    # RFC 5952: "::" never stands for a single zero group
    assert EXAMPLE.addresses == ("2001:db8:1:0:212:4b00:1:203",)
    assert decode_body(BODY).addresses == ("2001:db8:1:0:212:4b00:1:203",)


# --------------------------------------------------------------- round trips


@pytest.mark.parametrize(
    "announcement",
    [
        EXAMPLE,
        Announcement(AnnouncementKind.UPDATE, TITLE, ("2001:db8:2::1", "fe80::1"), 4059, 0),
        Announcement("update", bytes(8), ("::ffff:192.0.2.1",), 1, DoubleLongUnsigned.MAX),
        Announcement(
            "registration", b"\xff" * 8, tuple(f"2001:db8::{i:x}" for i in range(1, MAX_ADDRESSES + 1)), 65535, 7
        ),
    ],
    ids=["example", "update-with-sequence", "mapped-min", "max-addresses"],
)
def test_round_trips(announcement: Announcement) -> None:
    body = encode_body(announcement)
    assert decode_body(body) == announcement
    note = notification(announcement, invoke_id=0xABCDEF)
    assert from_notification(note) == announcement
    decoded = apdu.decode(note)
    assert isinstance(decoded, DataNotification) and decoded.long_invoke_id == 0xABCDEF
    assert from_notification(decoded) == announcement


def test_the_fifth_element_is_double_long_unsigned() -> None:
    a = Announcement("update", TITLE, (METER,), REGISTRATION_PORT, 0x01020304)
    assert encode_body(a) == bytes.fromhex("0205") + BODY[2:].replace(
        bytes.fromhex("09060001190900FF"), bytes.fromhex("09060002190900FF")
    ) + bytes.fromhex("0601020304")
    assert decode_body(encode_body(a)).push_setup == UPDATE_PUSH


def test_kinds_name_their_push_setups() -> None:
    assert REGISTRATION_PUSH == Obis("0.1.25.9.0.255") and UPDATE_PUSH == Obis("0.2.25.9.0.255")
    assert EXAMPLE.push_setup == REGISTRATION_PUSH
    assert AnnouncementKind("update").push_setup == UPDATE_PUSH


def test_addresses_are_stored_canonical_in_their_order() -> None:
    a = Announcement("update", TITLE, ("FE80::0:1", ipaddress.IPv6Address("2001:DB8::1"), bytes(15) + b"\x02"), 1)
    assert a.addresses == ("fe80::1", "2001:db8::1", "::2")
    assert a.address == "fe80::1"


@pytest.mark.parametrize(
    "text, canonical",
    [
        ("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),  # the first of two equal runs
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),  # one zero group stays
        ("::FFFF:C000:0201", "::ffff:192.0.2.1"),  # RFC 5952 section 5
        ("0:0:0:0:0:0:0:0", "::"),
    ],
)
def test_rfc5952(text: str, canonical: str) -> None:
    assert canonical_address(text) == canonical


def test_global_first_keeps_order_and_drops_repeats() -> None:
    assert global_first(["fe80::1", "2001:db8::2", "fe80::1", "2001:DB8::1", "2001:db8::2"]) == (
        "2001:db8::2",
        "2001:db8::1",
        "fe80::1",
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"system_title": bytes(7)}, "a system title is 8 octets, not 7"),
        ({"addresses": ()}, "an announcement carries at least one address"),
        ({"addresses": "2001:db8::1"}, "addresses is a sequence of addresses, not one address"),
        ({"addresses": ("ff02::1",)}, "ff02::1 is a multicast address, not a meter's address"),
        ({"addresses": ("::",)}, ":: is the unspecified address, not a meter's address"),
        ({"addresses": ("192.0.2.1",)}, "not an IPv6 address: '192.0.2.1'"),
        ({"addresses": ("fe80::1%eth0",)}, "an announced address has no zone: 'fe80::1%eth0'"),
        ({"port": 0}, "the UDP port is 1..65535, not 0"),
        ({"port": True}, "the UDP port is 1..65535, not True"),
        ({"sequence": 2**32}, "the sequence number is 0..4294967295, not 4294967296"),
        ({"kind": "hello"}, "'hello' is not a valid AnnouncementKind"),
    ],
)
def test_invalid_announcements_are_refused(kwargs: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {"kind": "update", "system_title": TITLE, "addresses": (METER,), "port": 1}
    fields.update(kwargs)
    with pytest.raises(ValueError) as info:
        Announcement(**fields)  # type: ignore[arg-type]
    assert str(info.value) == message


# ------------------------------------------------------------ decode errors


def _body(*members: object) -> bytes:
    return axdr.encode(Structure(members))


_LN = OctetString(bytes(REGISTRATION_PUSH))
_ST = OctetString(TITLE)
_ADDRS = Array([OctetString(ipaddress.IPv6Address(METER).packed)])
_PORT = LongUnsigned(61616)


@pytest.mark.parametrize(
    "body, offset, reason",
    [
        (b"", 0, "the body is not one A-XDR value (data at offset 0: "),
        (BODY[:-1], 41, "the body is not one A-XDR value (data at offset 41: "),
        (BODY + b"\x00", 43, "the body is not one A-XDR value (data at offset 43: "),
        (axdr.encode(Array([])), 0, "the body is not a structure"),
        (_body(_LN, _ST, _ADDRS), 0, "the body is a structure of 4 or 5 elements, not 3"),
        (_body(OctetString(b"\x00" * 5), _ST, _ADDRS, _PORT), 2, "element 1 is not a logical name"),
        (
            _body(OctetString(bytes(Obis("0.0.25.9.0.255"))), _ST, _ADDRS, _PORT),
            2,
            "element 1 names Push setup 0.0.25.9.0.255",
        ),
        (_body(_LN, OctetString(TITLE[:7]), _ADDRS, _PORT), 10, "element 2 is not a system title"),
        (_body(_LN, _ST, Structure([]), _PORT), 20, "element 3 is not an array of addresses"),
        (_body(_LN, _ST, Array([]), _PORT), 20, "element 3 carries no address"),
        (
            _body(_LN, _ST, Array([OctetString(bytes(16)), OctetString(bytes(15))]), _PORT),
            22,
            "address 1 is the unspecified",
        ),
        (
            _body(_LN, _ST, Array([OctetString(b"\x20" * 16), OctetString(bytes(15))]), _PORT),
            40,
            "address 2 is not an octet-string of 16",
        ),
        (_body(_LN, _ST, Array([OctetString(b"\xff" + bytes(15))]), _PORT), 22, "address 1 is a multicast address"),
        (
            _body(_LN, _ST, Array([OctetString(b" " * 16)] * (MAX_ADDRESSES + 1)), _PORT),
            20,
            "element 3 carries more than 64",
        ),
        (_body(_LN, _ST, _ADDRS, DoubleLongUnsigned(61616)), 40, "element 4 is not a UDP port"),
        (_body(_LN, _ST, _ADDRS, LongUnsigned(0)), 40, "element 4 is not a UDP port"),
        (_body(_LN, _ST, _ADDRS, _PORT, LongUnsigned(1)), 43, "element 5 is not a sequence number"),
        (
            _body(_LN, _ST, _ADDRS, _PORT, DoubleLongUnsigned(1), DoubleLongUnsigned(2)),
            0,
            "the body is a structure of 4 or 5 elements, not 6",
        ),
    ],
)
def test_bad_bodies_say_where(body: bytes, offset: int, reason: str) -> None:
    with pytest.raises(RegistrationError) as info:
        decode_body(body)
    err = info.value
    assert err.layer == "registration"
    assert err.offset == offset
    assert err.reason.startswith(reason), err.reason


def test_from_notification_offsets_are_in_the_apdu() -> None:
    bad = NOTIFICATION[:18] + _body(_LN, OctetString(TITLE[:7]), _ADDRS, _PORT)
    with pytest.raises(RegistrationError) as info:
        from_notification(bad)
    assert info.value.offset == 18 + 10
    plain_time = bytes.fromhex("0F0000000100") + _body(_LN, _ST, _ADDRS, LongUnsigned(0))
    with pytest.raises(RegistrationError) as info:
        from_notification(plain_time)
    assert info.value.offset == 6 + 40


def test_from_notification_refuses_other_apdus() -> None:
    get = bytes.fromhex("C0010000080000010000FF0200")
    assert isinstance(apdu.decode(get), GetRequestNormal)
    with pytest.raises(RegistrationError) as info:
        from_notification(get)
    assert (info.value.offset, info.value.reason) == (0, "a get-request, not a data-notification")
    with pytest.raises(RegistrationError) as info:
        from_notification(b"\x0f\x00")
    assert info.value.reason.startswith("not an APDU") and info.value.layer == "registration"


def test_from_a_decoded_notification_with_a_foreign_body() -> None:
    with pytest.raises(RegistrationError) as info:
        from_notification(DataNotification(Structure((LongUnsigned(1),)), long_invoke_id=1))
    assert info.value.reason == "the body is a structure of 4 or 5 elements, not 1"


# -------------------------------------------------------------- destinations


@pytest.mark.parametrize(
    "value, expected",
    [
        (b"[2001:db8:ffff::10]:61616", ("2001:db8:ffff::10", 61616)),
        (b"[2001:DB8:FFFF:0:0:0:0:10]:4059", ("2001:db8:ffff::10", 4059)),
        (b"[2001:db8:ffff::10]", ("2001:db8:ffff::10", REGISTRATION_PORT)),
        (b"2001:db8:ffff::10", ("2001:db8:ffff::10", REGISTRATION_PORT)),
        (b"  [fe80::1]:1  ", ("fe80::1", 1)),
        (b"[2001:db8::1]:61616\x00\x00\x00", ("2001:db8::1", 61616)),
        (b"127.0.0.1:4059", ("127.0.0.1", 4059)),
        (b"192.0.2.1", ("192.0.2.1", REGISTRATION_PORT)),
        ("[::1]:61617", ("::1", 61617)),
        (ipaddress.IPv6Address("2001:db8:ffff::10").packed, ("2001:db8:ffff::10", REGISTRATION_PORT)),
        (ipaddress.IPv6Address("2001:db8:ffff::10").packed + b"\x0f\xdb", ("2001:db8:ffff::10", 4059)),
        # 16 octets that read as an address in text are that address
        (b"2001:db8::1:2:34", ("2001:db8::1:2:34", REGISTRATION_PORT)),
    ],
)
def test_destinations(value: bytes, expected: tuple[str, int]) -> None:
    assert parse_destination(value) == expected


@pytest.mark.parametrize(
    "value, offset, reason",
    [
        (b"", 0, "a destination is '[addr]:port', an address, or 16 or 18 octets; got 0 octets"),
        (b"[2001:db8::1:61616", 0, "'[' without ']'"),
        (b"[2001:db8::1]61616", 13, "after ']' comes ':port' or nothing"),
        (b"[2001:db8::1]:0", 14, "port 0 is not 1..65535"),
        (b"[2001:db8::1]:65536", 14, "port 65536 is not 1..65535"),
        (b"[2001:db8::1]:http", 14, "not a port number: 'http'"),
        (b"[192.0.2.1]:1", 1, "not an IPv6 address in brackets: '192.0.2.1'"),
        (b"head-end:61616", 0, "not an IP address: 'head-end'"),
        (b"2001:db8::g", 0, "not an IPv6 address: '2001:db8::g'"),
        (bytes(17), 0, "a destination is '[addr]:port', an address, or 16 or 18 octets; got 17 octets"),
        (bytes(16) + b"\x00\x00", 16, "port 0 in a binary destination"),
        (bytes(16), 0, "the unspecified address is no destination"),
        (b"[::]:61616", 0, "the unspecified address is no destination"),
        (b"0.0.0.0:1", 0, "the unspecified address is no destination"),
    ],
)
def test_bad_destinations(value: bytes, offset: int, reason: str) -> None:
    with pytest.raises(RegistrationError) as info:
        parse_destination(value)
    assert (info.value.offset, info.value.reason) == (offset, reason)


def test_format_destination_round_trips() -> None:
    assert format_destination("2001:DB8:FFFF::10") == b"[2001:db8:ffff::10]:61616"
    assert format_destination("127.0.0.1", 4059) == b"127.0.0.1:4059"
    for host, port in [("2001:db8::1", 1), ("::1", 65535), ("10.0.0.1", 61616)]:
        assert parse_destination(format_destination(host, port)) == (host, port)
    with pytest.raises(ValueError):
        format_destination("2001:db8::1", 0)


def test_registration_error_pickles() -> None:
    import pickle

    err = RegistrationError("bad", offset=3)
    again = pickle.loads(pickle.dumps(err))
    assert (type(again), again.reason, again.offset, again.layer, str(again)) == (
        RegistrationError,
        "bad",
        3,
        "registration",
        "registration at offset 3: bad",
    )
