"""hypothesis properties of the xDLMS APDU codec, on both backends.

For generated APDUs of every class (all GET/SET/ACTION variants, both
notifications, exception-response, confirmed-service-error, GBT) with
generated descriptors, selective access, typed Data values, block data,
result codes (named and unassigned), invoke ids, priorities and service
classes:

* decode(encode(x)) == x, the same class, the same JSON (so the same wire
  types), and encode(decode(encode(x))) == encode(x);
* both backends write the same bytes;
* the encoding is prefix-free: every proper prefix is a DecodeError inside the
  prefix, and one trailing byte is a DecodeError at the end;
* decode_prefix finds the end of the APDU in a longer buffer.

The strategies are shared with test_apdu_differential.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlmsmesh import apdu as A
from dlmsmesh._pure import apdu as pure_apdu
from dlmsmesh.apdu import (
    ActionResult,
    AttributeDescriptor,
    CaptureObject,
    ConfirmedServiceErrorChoice,
    DataAccessResult,
    MethodDescriptor,
    Priority,
    SelectiveAccess,
    ServiceClass,
    ServiceError,
    ServiceErrorChoice,
    StateError,
)
from dlmsmesh.errors import DecodeError
from dlmsmesh.types import (
    Array,
    Bcd,
    BitString,
    Boolean,
    CompactArray,
    Date,
    DateTime,
    DontCare,
    DoubleLong,
    DoubleLongUnsigned,
    Enum,
    Float32,
    Float64,
    Integer,
    Long,
    Long64,
    Long64Unsigned,
    LongUnsigned,
    NullData,
    Obis,
    OctetString,
    Structure,
    StructureDescription,
    Time,
    Unsigned,
    Utf8String,
    VisibleString,
)

from .conftest import BACKENDS

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    database=None,
    # the backend fixture only selects the live backend; sharing it between
    # examples is what is wanted
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --------------------------------------------------------------------------
# Data values (typed, as a user builds them; NaN left out: it equals nothing)
# --------------------------------------------------------------------------

INT_TYPES = [Integer, Long, DoubleLong, Long64, Unsigned, LongUnsigned, DoubleLongUnsigned, Long64Unsigned, Enum, Bcd]


def ints(cls: Any) -> st.SearchStrategy[Any]:
    return st.one_of(st.sampled_from([cls.MIN, cls.MAX]), st.integers(cls.MIN, cls.MAX)).map(cls)


def sized_binary(max_size: int = 300) -> st.SearchStrategy[bytes]:
    """Sizes around every A-XDR length form boundary (1, 2 and 3 length octets)."""
    sizes = st.one_of(st.integers(0, 20), st.sampled_from([126, 127, 128, 129, 255, 256, 257, 300]))
    return sizes.filter(lambda n: n <= max_size).flatmap(lambda n: st.binary(min_size=n, max_size=n))


simple_values = st.one_of(
    st.just(NullData()),
    st.just(DontCare()),
    st.booleans().map(Boolean),
    st.booleans(),
    *[ints(c) for c in INT_TYPES],
    st.floats(width=32, allow_nan=False).map(Float32),
    st.floats(allow_nan=False).map(Float64),
    st.floats(allow_nan=False),
    sized_binary().map(OctetString),
    st.binary(max_size=20),
    st.text(st.characters(max_codepoint=255), max_size=30).map(VisibleString),
    st.text(max_size=20).map(Utf8String),
    st.text("01", max_size=40).map(BitString),
    st.binary(min_size=12, max_size=12).map(DateTime),
    st.binary(min_size=5, max_size=5).map(Date),
    st.binary(min_size=4, max_size=4).map(Time),
)

compact_arrays = st.one_of(
    st.lists(ints(LongUnsigned), max_size=6).map(lambda items: CompactArray(LongUnsigned, items)),
    st.lists(
        st.tuples(ints(DoubleLongUnsigned), st.binary(max_size=8).map(OctetString)).map(Structure), max_size=4
    ).map(lambda items: CompactArray(StructureDescription((DoubleLongUnsigned, OctetString)), items)),
)

data_values = st.recursive(
    st.one_of(simple_values, compact_arrays),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(Array),
        st.lists(inner, max_size=4).map(Structure),
    ),
    max_leaves=10,
)

# --------------------------------------------------------------------------
# descriptors, results, headers
# --------------------------------------------------------------------------

obis_codes = st.binary(min_size=6, max_size=6).map(Obis)
class_ids = st.integers(0, 0xFFFF)
integer8 = st.integers(-128, 127)

capture_objects = st.builds(CaptureObject, class_ids, obis_codes, integer8, st.integers(0, 0xFFFF))

selective_access = st.one_of(
    st.builds(SelectiveAccess, st.integers(0, 255), data_values),
    st.builds(
        A.range_descriptor,
        capture_objects,
        st.binary(min_size=12, max_size=12).map(OctetString),
        st.binary(min_size=12, max_size=12).map(OctetString),
        st.lists(capture_objects, max_size=3).map(tuple),
    ),
    st.builds(
        A.entry_descriptor,
        st.integers(0, 2**32 - 1),
        st.integers(0, 2**32 - 1),
        st.integers(0, 0xFFFF),
        st.integers(0, 0xFFFF),
    ),
)

plain_attributes = st.builds(AttributeDescriptor, class_ids, obis_codes, integer8)
attributes = st.builds(AttributeDescriptor, class_ids, obis_codes, integer8, st.none() | selective_access)
methods = st.builds(MethodDescriptor, class_ids, obis_codes, integer8)


def codes(cls: Any) -> st.SearchStrategy[Any]:
    """Named members and unassigned octets (kept as pseudo-members)."""
    return st.one_of(st.sampled_from(list(cls)), st.integers(0, 255).map(cls))


dars = codes(DataAccessResult)
action_results = codes(ActionResult)
get_data_results = st.one_of(data_values, dars)
return_parameters = st.one_of(st.none(), data_values, dars)
block_numbers = st.integers(0, 2**32 - 1)
raw_data = sized_binary()
date_times = st.none() | st.binary(min_size=12, max_size=12).map(DateTime)

invoked = st.fixed_dictionaries(
    {
        "invoke_id": st.integers(0, 15),
        "priority": st.sampled_from(list(Priority)),
        "service_class": st.sampled_from(list(ServiceClass)),
    }
)


def _invoked(cls: type, **fields: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.builds(lambda head, body: cls(**body, **head), invoked, st.fixed_dictionaries(fields))


def _tuples(s: st.SearchStrategy[Any], max_size: int = 4) -> st.SearchStrategy[tuple[Any, ...]]:
    return st.lists(s, max_size=max_size).map(tuple)


def _pair_lists(
    a: st.SearchStrategy[Any], b: st.SearchStrategy[Any]
) -> st.SearchStrategy[tuple[tuple[Any, ...], tuple[Any, ...]]]:
    """Two tuples of the same length (descriptors and their values)."""
    return st.lists(st.tuples(a, b), max_size=4).map(
        lambda pairs: (tuple(x for x, _ in pairs), tuple(y for _, y in pairs))
    )


def _block(**extra: st.SearchStrategy[Any]) -> dict[str, st.SearchStrategy[Any]]:
    return {"last_block": st.booleans(), "block_number": block_numbers, "raw_data": raw_data, **extra}


set_with_list = st.builds(
    lambda head, pairs: A.SetRequestWithList(pairs[0], pairs[1], **head), invoked, _pair_lists(attributes, data_values)
)
action_with_list = st.builds(
    lambda head, pairs: A.ActionRequestWithList(pairs[0], pairs[1], **head), invoked, _pair_lists(methods, data_values)
)

exception_responses = st.one_of(
    st.builds(
        A.ExceptionResponse,
        codes(StateError),
        codes(ServiceError).filter(lambda s: s != ServiceError.INVOCATION_COUNTER_ERROR),
    ),
    st.builds(A.ExceptionResponse, codes(StateError), st.just(ServiceError.INVOCATION_COUNTER_ERROR), block_numbers),
)

APDU_STRATEGIES: dict[type, st.SearchStrategy[Any]] = {
    A.GetRequestNormal: _invoked(A.GetRequestNormal, descriptor=attributes),
    A.GetRequestNext: _invoked(A.GetRequestNext, block_number=block_numbers),
    A.GetRequestWithList: _invoked(A.GetRequestWithList, descriptors=_tuples(attributes)),
    A.GetResponseNormal: _invoked(A.GetResponseNormal, result=get_data_results),
    A.GetResponseWithDatablock: _invoked(
        A.GetResponseWithDatablock, last_block=st.booleans(), block_number=block_numbers, raw_data=raw_data | dars
    ),
    A.GetResponseWithList: _invoked(A.GetResponseWithList, results=_tuples(get_data_results)),
    A.SetRequestNormal: _invoked(A.SetRequestNormal, descriptor=attributes, value=data_values),
    A.SetRequestWithFirstDatablock: _invoked(A.SetRequestWithFirstDatablock, **_block(descriptor=attributes)),
    A.SetRequestWithDatablock: _invoked(A.SetRequestWithDatablock, **_block()),
    A.SetRequestWithList: set_with_list,
    A.SetRequestWithListAndFirstDatablock: _invoked(
        A.SetRequestWithListAndFirstDatablock, **_block(descriptors=_tuples(attributes))
    ),
    A.SetResponseNormal: _invoked(A.SetResponseNormal, result=dars),
    A.SetResponseDatablock: _invoked(A.SetResponseDatablock, block_number=block_numbers),
    A.SetResponseLastDatablock: _invoked(A.SetResponseLastDatablock, result=dars, block_number=block_numbers),
    A.SetResponseLastDatablockWithList: _invoked(
        A.SetResponseLastDatablockWithList, results=_tuples(dars, 8), block_number=block_numbers
    ),
    A.SetResponseWithList: _invoked(A.SetResponseWithList, results=_tuples(dars, 8)),
    A.ActionRequestNormal: _invoked(A.ActionRequestNormal, descriptor=methods, parameters=st.none() | data_values),
    A.ActionRequestNextPblock: _invoked(A.ActionRequestNextPblock, block_number=block_numbers),
    A.ActionRequestWithList: action_with_list,
    A.ActionRequestWithFirstPblock: _invoked(A.ActionRequestWithFirstPblock, **_block(descriptor=methods)),
    A.ActionRequestWithListAndFirstPblock: _invoked(
        A.ActionRequestWithListAndFirstPblock, **_block(descriptors=_tuples(methods))
    ),
    A.ActionRequestWithPblock: _invoked(A.ActionRequestWithPblock, **_block()),
    A.ActionResponseNormal: _invoked(
        A.ActionResponseNormal, result=action_results, return_parameters=return_parameters
    ),
    A.ActionResponseWithPblock: _invoked(A.ActionResponseWithPblock, **_block()),
    A.ActionResponseWithList: _invoked(
        A.ActionResponseWithList, results=_tuples(st.tuples(action_results, return_parameters))
    ),
    A.ActionResponseNextPblock: _invoked(A.ActionResponseNextPblock, block_number=block_numbers),
    A.DataNotification: st.builds(
        A.DataNotification,
        body=data_values,
        long_invoke_id=st.integers(0, 0xFFFFFF),
        date_time=date_times,
        priority=st.sampled_from(list(Priority)),
        service_class=st.sampled_from(list(ServiceClass)),
        processing_option=st.booleans(),
        self_descriptive=st.booleans(),
    ),
    A.EventNotificationRequest: st.builds(A.EventNotificationRequest, plain_attributes, data_values, date_times),
    A.ExceptionResponse: exception_responses,
    A.ConfirmedServiceError: st.builds(
        A.ConfirmedServiceError, codes(ConfirmedServiceErrorChoice), codes(ServiceErrorChoice), st.integers(0, 255)
    ),
    A.GeneralBlockTransfer: st.builds(
        A.GeneralBlockTransfer,
        block_data=sized_binary(),
        last_block=st.booleans(),
        streaming=st.booleans(),
        window=st.integers(0, 63),
        block_number=st.integers(0, 0xFFFF),
        block_number_ack=st.integers(0, 0xFFFF),
    ),
}

#: one strategy over every APDU class
apdus = st.one_of(*APDU_STRATEGIES.values())

APDU_CLASSES = sorted(APDU_STRATEGIES, key=lambda c: (c.TAG, c.CHOICE))


def test_every_apdu_class_has_a_strategy() -> None:
    assert set(APDU_STRATEGIES) == set(A.CLASSES.values())
    assert len(APDU_STRATEGIES) == 31


# --------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------


def assert_round_trip(x: A.Apdu) -> bytes:
    data = A.encode(x)
    assert data[0] == x.TAG
    if x.CHOICE:
        assert data[1] == x.CHOICE
    y = A.decode(data)
    assert type(y) is type(x)
    assert y == x
    # equality of values is loose (NullData() == None, OctetString == bytes);
    # the JSON names every wire type
    assert A.to_json(y) == A.to_json(x)
    assert A.encode(y) == data
    return data


@pytest.mark.parametrize("cls", APDU_CLASSES, ids=lambda c: c.__name__)
def test_round_trip_of_each_class(backend: str, cls: type) -> None:
    @settings(SETTINGS, max_examples=60)
    @given(APDU_STRATEGIES[cls])
    def check(x: A.Apdu) -> None:
        assert type(x) is cls
        assert_round_trip(x)

    check()


@SETTINGS
@given(x=apdus)
def test_round_trip_of_any_apdu(backend: str, x: A.Apdu) -> None:
    assert_round_trip(x)


@pytest.mark.single_backend
@pytest.mark.skipif("native" not in BACKENDS, reason="the C core is not built")
@SETTINGS
@given(x=apdus)
def test_both_backends_write_the_same_bytes(x: A.Apdu) -> None:
    from dlmsmesh._native import apdu as native_apdu

    assert native_apdu.encode(x) == pure_apdu.encode(x)


@SETTINGS
@given(x=apdus, data=st.data())
def test_every_proper_prefix_is_a_decode_error(backend: str, x: A.Apdu, data: st.DataObject) -> None:
    encoded = A.encode(x)
    cuts = set(range(min(len(encoded), 12)))
    cuts |= set(data.draw(st.lists(st.integers(0, len(encoded) - 1), max_size=8)))
    for n in sorted(cuts):
        with pytest.raises(DecodeError) as info:
            A.decode(encoded[:n])
        assert info.value.layer == "apdu"
        assert type(info.value.offset) is int and 0 <= info.value.offset <= n


@SETTINGS
@given(x=apdus, extra=st.binary(min_size=1, max_size=4))
def test_trailing_bytes_are_a_decode_error_at_the_end(backend: str, x: A.Apdu, extra: bytes) -> None:
    encoded = A.encode(x)
    with pytest.raises(DecodeError) as info:
        A.decode(encoded + extra)
    assert info.value.layer == "apdu"
    assert info.value.reason == "trailing bytes after the value"
    assert info.value.offset == len(encoded)


@SETTINGS
@given(x=apdus, before=st.binary(max_size=3), after=st.binary(max_size=4))
def test_decode_prefix_finds_the_end(backend: str, x: A.Apdu, before: bytes, after: bytes) -> None:
    from dlmsmesh import _backend

    codec = _backend.live.modules["apdu"]
    encoded = A.encode(x)
    y, end = codec.decode_prefix(before + encoded + after, len(before))
    assert end == len(before) + len(encoded)
    assert type(y) is type(x) and y == x
