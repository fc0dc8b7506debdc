"""Bad input to the xDLMS APDU codec, on both backends.

Decoding is total: any byte string gives an APDU or a DecodeError with layer
'apdu' and an integer offset inside the input, never another exception.  The
cases: every truncation of every spec example, seeded random mutations and
random inputs, trailing bytes, unknown APDU tags (including the ciphered ones,
not handled at this layer yet), unknown GET/SET/ACTION variants, OPTIONAL and
CHOICE bytes other than 0/1, bad date-time lengths, errors inside a Data value
(reason prefixed "in Data: ") and resource limits.  Encoding refuses what it
cannot write with EncodeError, and the constructors refuse out-of-range fields.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from dlmsmesh import apdu as A
from dlmsmesh.apdu import AttributeDescriptor, DataAccessResult, MethodDescriptor, SelectiveAccess
from dlmsmesh.errors import DecodeError, EncodeError
from dlmsmesh.types import DateTime, LongUnsigned, NullData, Unsigned

from .test_apdu_vectors import CLOCK, EXPECTED, NAMES, VECTORS

TRUNCATED = "truncated input"
TRAILING = "trailing bytes after the value"
FLAG = "OPTIONAL/CHOICE flag is neither 0 nor 1"
TAG = "unknown APDU tag"
CHOICE = "unknown APDU variant"
BAD_LENGTH = "invalid length form"
TOO_MANY = "element count exceeds the bytes left"


def decode_error(data: bytes) -> DecodeError:
    """The DecodeError decoding ``data`` raises, checked for layer and offset."""
    with pytest.raises(DecodeError) as info:
        A.decode(data)
    err = info.value
    assert err.layer == "apdu"
    assert type(err.offset) is int and 0 <= err.offset <= len(data), (data.hex(), err.offset)
    assert str(err) == f"apdu at offset {err.offset}: {err.reason}"
    return err


def assert_error(data: bytes, reason: str, offset: int) -> None:
    err = decode_error(data)
    assert (err.reason, err.offset) == (reason, offset), data.hex()


def decode_or_error(data: bytes) -> A.Apdu | None:
    """Total decoding: an APDU whose JSON is printable and which re-encodes to
    bytes that decode to it again, or a well-formed DecodeError."""
    try:
        got = A.decode(data)
    except DecodeError as err:
        assert err.layer == "apdu"
        assert type(err.offset) is int and 0 <= err.offset <= len(data), (data.hex(), err.offset)
        assert isinstance(err.reason, str) and err.reason
        return None
    assert isinstance(got, A.Apdu)
    json.dumps(A.to_json(got))
    again = A.encode(got)
    # what encode writes decodes to the same thing (compared as bytes: a NaN equals nothing)
    assert A.encode(A.decode(again)) == again, data.hex()
    return got


# --------------------------------------------------------------------------
# truncation and trailing bytes
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_every_truncation_is_a_decode_error(backend: str, name: str) -> None:
    data = VECTORS[name]
    for n in range(len(data)):
        err = decode_error(data[:n])
        # a truncation reads past the end, or finds a count the bytes left cannot hold
        assert err.reason in (TRUNCATED, TOO_MANY, "in Data: " + TRUNCATED, "in Data: " + TOO_MANY), (n, err)


def test_empty_input_is_truncated_at_0(backend: str) -> None:
    assert_error(b"", TRUNCATED, 0)


@pytest.mark.parametrize(
    ("name", "cut", "offset"),
    [
        ("X1", 1, 1),  # no choice byte
        ("X1", 2, 2),  # no invoke-id-and-priority
        ("X1", 3, 3),  # no descriptor
        ("X1", 11, 3),  # descriptor cut: reported at its start
        ("X1", 12, 12),  # no access-selection flag
        ("X6", 5, 3),  # block number cut
        ("X2", 3, 3),  # get-response-normal (native hot path): no result choice
        ("X2", 4, 4),  # no Data
        ("X2", 6, 6),  # octet-string content cut
        ("X3", 4, 4),  # no data-access-result
        ("X7", 8, 8),  # no DataBlock-G result choice
        ("X7", 12, 10),  # raw-data cut: reported after its length
        ("X13", 3, 3),
        ("X18", 7, 4),
        ("X24", 2, 2),
        ("X25", 3, 3),
        ("X29", 3, 1),  # long-invoke-id-and-priority cut
        ("X29", 5, 5),  # no date-time length
        ("X29", 10, 6),  # date-time cut
        ("X29", 18, 18),  # no body
        ("X27", 1, 1),  # GBT: no block-control
        ("X27", 3, 2),  # block-number cut
        ("X27", 5, 4),  # block-number-ack cut
        ("X27", 6, 6),  # no block-data length
        ("X27", 10, 7),  # block-data cut
    ],
)
def test_truncation_offsets(backend: str, name: str, cut: int, offset: int) -> None:
    err = decode_error(VECTORS[name][:cut])
    assert err.reason.endswith(TRUNCATED)
    assert err.offset == offset


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("extra", [b"\x00", b"\xff", b"\x00\x00\x00", VECTORS["X1"]])
def test_trailing_bytes_are_an_error_at_the_end(backend: str, name: str, extra: bytes) -> None:
    assert_error(VECTORS[name] + extra, TRAILING, len(VECTORS[name]))


# --------------------------------------------------------------------------
# unknown tags and variants
# --------------------------------------------------------------------------

CIPHERED_LN_TAGS = [*range(0xC8, 0xD0), *(t for t in range(0xD0, 0xD8) if t != 0xD6)]


@pytest.mark.parametrize(
    "tag",
    [0x00, 0xFF, 0xC6, 0xDE, 0x05, 0x0C, 0xE1, *CIPHERED_LN_TAGS],
    ids=lambda t: f"{t:02X}",
)
@pytest.mark.parametrize("rest", [b"", VECTORS["X1"][1:], VECTORS["X2"][1:]], ids=["alone", "x1-body", "x2-body"])
def test_unknown_apdu_tag(backend: str, tag: int, rest: bytes) -> None:
    # glo-/ded- ciphered APDUs (C8..D7) belong to the security layer, not here (yet)
    assert_error(bytes([tag]) + rest, TAG, 0)


VARIANTS = {0xC0: 3, 0xC4: 3, 0xC1: 5, 0xC5: 5, 0xC3: 6, 0xC7: 4}


@pytest.mark.parametrize("tag", list(VARIANTS), ids=lambda t: f"{t:02X}")
def test_unknown_variant_is_an_error_at_the_choice_byte(backend: str, tag: int) -> None:
    for choice in (0, VARIANTS[tag] + 1, 0x7F, 0x80, 0xFF):
        for rest in (b"", b"\xc1", b"\xc1" + bytes(20)):
            assert_error(bytes([tag, choice]) + rest, CHOICE, 1)


@pytest.mark.parametrize("tag", list(VARIANTS), ids=lambda t: f"{t:02X}")
def test_every_known_variant_is_not_a_choice_error(backend: str, tag: int) -> None:
    for choice in range(1, VARIANTS[tag] + 1):
        err = decode_error(bytes([tag, choice, 0xC1]))
        assert err.reason != CHOICE


# --------------------------------------------------------------------------
# OPTIONAL / CHOICE bytes other than 0 and 1
# --------------------------------------------------------------------------

# (vector, offset of an OPTIONAL flag or a 0/1 CHOICE byte)
FLAG_BYTES = [
    ("X1", 12),  # get-request-normal: access-selection
    ("X10", 12),  # get-request-normal with selective access present
    ("X4", 13),  # get-request-with-list: first item's access-selection
    ("X4", 23),  # ... second item's
    ("X2", 3),  # get-response-normal: Get-Data-Result choice (native hot path, data)
    ("X3", 3),  # ... (native hot path, data-access-result)
    ("X5", 4),  # get-response-with-list: first Get-Data-Result
    ("X5", 19),  # ... second
    ("X7", 8),  # get-response-with-datablock: DataBlock-G result choice
    ("X9", 8),
    ("X12", 12),  # set-request-normal: access-selection
    ("X14", 12),  # set-request-with-first-datablock: access-selection
    ("X19", 13),  # set-request-with-list: access-selections
    ("X19", 23),
    ("X21", 12),  # action-request-normal: method-invocation-parameters
    ("X22", 4),  # action-response-normal: return-parameters
    ("X23", 4),
    ("X23", 5),  # ... its Get-Data-Result choice
    ("X26", 1),  # event-notification-request: time (00, 01 or 09 accepted)
]


@pytest.mark.parametrize(("name", "offset"), FLAG_BYTES)
@pytest.mark.parametrize("value", [0x02, 0x05, 0x80, 0xFF])
def test_flag_bytes_other_than_0_and_1(backend: str, name: str, offset: int, value: int) -> None:
    data = bytearray(VECTORS[name])
    assert data[offset] in (0, 1)
    data[offset] = value
    assert_error(bytes(data), FLAG, offset)


def test_action_response_with_list_flags(backend: str) -> None:
    # C7 03 C1 | 02 | 00 00 (success, no return) | 00 01 01 04 (success, DAR 4)
    good = bytes.fromhex("c703c1020000000101" + "04")
    a = A.decode(good)
    assert a.results == ((A.ActionResult.SUCCESS, None), (A.ActionResult.SUCCESS, DataAccessResult.OBJECT_UNDEFINED))
    for offset in (5, 7, 8):
        bad = bytearray(good)
        bad[offset] = 2
        assert_error(bytes(bad), FLAG, offset)


# --------------------------------------------------------------------------
# lengths, Data errors, limits
# --------------------------------------------------------------------------


@pytest.mark.parametrize("length", [1, 2, 0x0B, 0x0D, 0x7F, 0x80, 0x81, 0xFF])
def test_data_notification_date_time_is_0_or_12_octets(backend: str, length: int) -> None:
    data = bytearray(VECTORS["X29"])
    data[5] = length
    assert_error(bytes(data), BAD_LENGTH, 5)
    # the lenient 09 prefix does not make any other length acceptable
    assert_error(bytes(data[:5]) + b"\x09" + bytes(data[5:]), BAD_LENGTH, 6)


def test_event_notification_octet_string_time_needs_length_12(backend: str) -> None:
    data = b"\xc2\x09\x0b" + bytes(12) + VECTORS["X26"][2:]
    assert_error(data, BAD_LENGTH, 2)


@pytest.mark.parametrize(
    ("name", "offset"),
    [
        ("X2", 4),  # get-response-normal result (native hot path)
        ("X5", 5),  # get-response-with-list result
        ("X10", 14),  # selective-access parameters
        ("X12", 13),  # set-request-normal value
        ("X19", 25),  # set-request-with-list second list: first value
        ("X21", 13),  # action-request-normal parameters
        ("X23", 6),  # action-response return data
        ("X26", 11),  # event-notification value
        ("X29", 18),  # data-notification body (native hot path)
        ("X30", 6),
    ],
)
@pytest.mark.parametrize("bad_tag", [0x07, 0x08, 0x0B, 0x0E, 0x22, 0xFE])  # 0x1C-0x21: the delta types
def test_an_unknown_data_tag_is_reported_in_data(backend: str, name: str, offset: int, bad_tag: int) -> None:
    data = bytearray(VECTORS[name])
    data[offset] = bad_tag
    assert_error(bytes(data), "in Data: unknown data tag", offset)


@pytest.mark.parametrize("prefix", [b"\xc4\x01\xc1\x00", b"\x0f\x00\x00\x00\x01\x00", b"\xc1\x01\xc1" + bytes(10)])
def test_nesting_deeper_than_the_limit(backend: str, prefix: bytes) -> None:
    ok = prefix + b"\x01\x01" * 64 + b"\x00"
    A.decode(ok)
    too_deep = prefix + b"\x01\x01" * 65 + b"\x00"
    err = decode_error(too_deep)
    assert err.reason == "in Data: nesting deeper than the limit"
    assert err.offset == len(prefix) + 2 * 64
    # far deeper input is refused the same way, not by a RecursionError or a crash
    assert decode_error(prefix + b"\x01\x01" * 100_000 + b"\x00").reason == "in Data: nesting deeper than the limit"


@pytest.mark.parametrize(
    ("data", "reason", "offset"),
    [
        (b"\xc0\x03\xc1\x84\xff\xff\xff\xff", TOO_MANY, 3),  # 4 G descriptors in 0 bytes
        (b"\xc4\x03\xc1\x82\x01\x00\x00\x11", TOO_MANY, 3),
        (b"\xc5\x05\xc1\x05\x00\x00", TOO_MANY, 3),
        (b"\xc3\x03\xc1\x02" + bytes(9), TOO_MANY, 3),
        (b"\xc4\x01\xc1\x00\x01\x84\xff\xff\xff\xff", "in Data: " + TOO_MANY, 5),
        (b"\x0f\x00\x00\x00\x01\x00\x02\x83\xff\xff\xff", "in Data: " + TOO_MANY, 7),
        (b"\xe0\x80\x00\x01\x00\x00\x84\xff\xff\xff\xff", TRUNCATED, 11),  # 4 GB of block data announced
        (b"\xe0\x80\x00\x01\x00\x00\x85\x00\x00\x00\x00\x01", BAD_LENGTH, 6),  # 5 length octets
        (b"\xe0\x80\x00\x01\x00\x00\x80", BAD_LENGTH, 6),
        (b"\xc4\x02\xc1\x00\x00\x00\x00\x01\x00\x84\x7f\xff\xff\xff", TRUNCATED, 14),
        (b"\xc0\x03\xc1\x85\x00\x00\x00\x00\x01", BAD_LENGTH, 3),
    ],
)
def test_counts_and_lengths(backend: str, data: bytes, reason: str, offset: int) -> None:
    assert_error(data, reason, offset)


def test_exception_response_invocation_counter_is_read(backend: str) -> None:
    a = A.decode(b"\xd8\x01\x06\x00\x00\x01\x00")
    assert a.service_error is A.ServiceError.INVOCATION_COUNTER_ERROR and a.invocation_counter == 256
    assert_error(b"\xd8\x01\x06\x00\x00\x01", TRUNCATED, 3)
    assert_error(b"\xd8\x01\x02\x00", TRAILING, 3)


# --------------------------------------------------------------------------
# seeded random mutations and random input
# --------------------------------------------------------------------------

SPECIAL = [0x00, 0x01, 0x02, 0x09, 0x0C, 0x7F, 0x80, 0x81, 0x82, 0x84, 0x85, 0xFF]


def mutate(rng: random.Random, data: bytes) -> bytes:
    s = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(7)
        i = rng.randrange(len(s) + 1)
        if op == 0 and s:
            s[min(i, len(s) - 1)] = rng.randrange(256)
        elif op == 1 and s:
            s[min(i, len(s) - 1)] = rng.choice(SPECIAL)
        elif op == 2 and s:
            s[min(i, len(s) - 1)] ^= 1 << rng.randrange(8)
        elif op == 3:
            s[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 3)))
        elif op == 4 and s:
            del s[i : i + rng.randint(1, 3)]
        elif op == 5:
            s = s[:i]
        else:
            j = rng.randrange(len(s) + 1)
            s[i:i] = s[min(i, j) : max(i, j)][:16]
    return bytes(s)


def random_input(rng: random.Random) -> bytes:
    tag = rng.choice([0xC0, 0xC1, 0xC3, 0xC4, 0xC4, 0xC5, 0xC7, 0x0F, 0x0F, 0xE0, 0xE0, 0xC2, 0xD8, 0x0E])
    head = [tag]
    if tag in VARIANTS:
        head += [rng.choice([1, 1, 2, 3, rng.randrange(256)]), rng.choice([0xC1, rng.randrange(256)])]
    body = bytes(rng.choice([*SPECIAL, rng.randrange(256)]) for _ in range(rng.randint(0, 24)))
    return bytes(head) + body


def test_seeded_mutations_of_the_examples(backend: str) -> None:
    rng = random.Random(0x5EED)
    vectors = list(VECTORS.values())
    decoded = 0
    for _ in range(3000):
        if decode_or_error(mutate(rng, rng.choice(vectors))) is not None:
            decoded += 1
    # the mutations reach past the first bytes: some still decode, most do not
    assert 50 < decoded < 2500


def test_seeded_random_input(backend: str) -> None:
    rng = random.Random(20240315)
    for _ in range(3000):
        decode_or_error(random_input(rng))


def test_unequal_list_counts_are_refused_both_ways(backend: str) -> None:
    # one descriptor, two values: a DecodeError at the value count, and encode says why too
    data = b"\xc1\x04\xc1\x01" + VECTORS["X1"][3:12] + b"\x00\x02\x11\x01\x11\x02"
    with pytest.raises(DecodeError) as info:
        A.decode(data)
    assert info.value.offset == 14
    with pytest.raises(EncodeError, match="one value per descriptor"):
        A.encode(A.SetRequestWithList((D,), (Unsigned(1), Unsigned(2))))


# --------------------------------------------------------------------------
# encode and construct
# --------------------------------------------------------------------------

D = AttributeDescriptor(8, CLOCK, 2)


@pytest.mark.parametrize(
    "apdu",
    [
        A.SetResponseNormal(300),  # type: ignore[arg-type]
        A.SetResponseWithList((DataAccessResult.SUCCESS, -1)),  # type: ignore[arg-type]
        A.GetRequestNext(2**32),
        A.GetRequestNext(-1),
        A.SetRequestWithDatablock(True, 2**32, b""),
        A.GetResponseNormal(5),  # a bare int has no COSEM type
        A.SetRequestWithList((D,), ()),
        A.ActionRequestWithList((MethodDescriptor(3, CLOCK, 1),), (NullData(), NullData())),
        A.EventNotificationRequest(AttributeDescriptor(8, CLOCK, 2, SelectiveAccess(1, NullData())), Unsigned(1)),
        A.ActionResponseNormal(A.ActionResult.SUCCESS, object()),
    ],
    ids=lambda a: type(a).__name__,
)
def test_encode_refuses_with_encode_error(backend: str, apdu: A.Apdu) -> None:
    with pytest.raises(EncodeError):
        A.encode(apdu)


def test_encode_refuses_what_is_not_an_apdu(backend: str) -> None:
    for value in (None, b"\xc0", EXPECTED["X1"].descriptor, LongUnsigned(1)):
        with pytest.raises(EncodeError, match="not an APDU"):
            A.encode(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "build",
    [
        lambda: A.GetRequestNext(1, invoke_id=16),
        lambda: A.GetRequestNext(1, invoke_id=-1),
        lambda: AttributeDescriptor(0x10000, CLOCK, 2),
        lambda: AttributeDescriptor(8, CLOCK, 128),
        lambda: AttributeDescriptor(8, "1.2.3", 2),
        lambda: MethodDescriptor(-1, CLOCK, 1),
        lambda: MethodDescriptor(8, CLOCK, -129),
        lambda: SelectiveAccess(256, None),
        lambda: A.DataNotification(None, long_invoke_id=1 << 24),
        lambda: A.DataNotification(None, date_time=DateTime(bytes(12))[:11]),
        lambda: A.GeneralBlockTransfer(b"", window=64),
        lambda: A.GeneralBlockTransfer(b"", block_number=0x10000),
        lambda: A.GeneralBlockTransfer(b"", block_number_ack=-1),
        lambda: A.ExceptionResponse(A.StateError.SERVICE_NOT_ALLOWED, A.ServiceError.INVOCATION_COUNTER_ERROR),
        lambda: A.ExceptionResponse(A.StateError.SERVICE_NOT_ALLOWED, A.ServiceError.INVOCATION_COUNTER_ERROR, 1 << 32),
        lambda: A.ExceptionResponse(A.StateError.SERVICE_NOT_ALLOWED, A.ServiceError.OTHER_REASON, 5),
        lambda: A.ConfirmedServiceError(
            A.ConfirmedServiceErrorChoice.INITIATE_ERROR, A.ServiceErrorChoice.INITIATE, 256
        ),
    ],
)
def test_constructors_refuse_fields_the_wire_cannot_hold(build: Any) -> None:
    with pytest.raises(ValueError):
        build()


def test_apdus_are_frozen() -> None:
    with pytest.raises(AttributeError):
        EXPECTED["X1"].invoke_id = 2  # type: ignore[misc]


@pytest.mark.parametrize(
    "hexdata, offset",
    [
        # set-request-with-list: two descriptors, one value
        ("C1 04 C1 02 00 01 00 00 60 01 01 FF 02 00 00 08 00 00 01 00 00 FF 03 00 01 12 00 05", 24),
        # action-request-with-list: one method, two parameters
        ("C3 03 C1 01 00 03 01 00 01 08 00 FF 01 02 0F 00 0F 00", 13),
    ],
)
def test_with_list_value_count_must_match_descriptors(backend: str, hexdata: str, offset: int) -> None:
    with pytest.raises(DecodeError) as info:
        A.decode(bytes.fromhex(hexdata.replace(" ", "")))
    assert info.value.layer == "apdu" and info.value.offset == offset
    assert info.value.reason == "the value list does not have one value per descriptor"
