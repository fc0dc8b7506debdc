"""Properties of the registration message: every announcement comes back
from its body and its notification; the decoders are total (any bytes give
an Announcement or a RegistrationError, never another exception), on
random input and on valid bodies with bytes changed, inserted or removed;
and the two backends agree on every outcome."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlmsmesh.registration.announce import (
    MAX_ADDRESSES,
    Announcement,
    AnnouncementKind,
    _decode_canonical,
    _decode_general,
    _rfc5952,
    canonical_address,
    decode_body,
    encode_body,
    from_notification,
    notification,
    parse_destination,
)
from dlmsmesh.registration.errors import RegistrationError

from .helpers import BACKENDS, on_backend

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _unicast(value: int) -> bool:
    ip = ipaddress.IPv6Address(value)
    return not ip.is_multicast and not ip.is_unspecified


addresses = st.integers(min_value=0, max_value=2**128 - 1).filter(_unicast).map(ipaddress.IPv6Address)
announcements = st.builds(
    Announcement,
    kind=st.sampled_from(list(AnnouncementKind)),
    system_title=st.binary(min_size=8, max_size=8),
    addresses=st.lists(addresses, min_size=1, max_size=6).map(tuple),
    port=st.integers(min_value=1, max_value=0xFFFF),
    sequence=st.none() | st.integers(min_value=0, max_value=2**32 - 1),
)


def _outcome(fn: object, data: bytes) -> tuple[str, object]:
    """('ok', value) or ('error', (offset, reason)); anything else fails the test."""
    try:
        return "ok", fn(data)  # type: ignore[operator]
    except RegistrationError as err:
        assert err.layer == "registration"
        assert 0 <= err.offset <= len(data)
        return "error", (err.offset, err.reason)


@SETTINGS
@given(announcements)
def test_round_trip(a: Announcement) -> None:
    assert decode_body(encode_body(a)) == a
    assert from_notification(notification(a, invoke_id=7)) == a


@SETTINGS
@given(st.binary(max_size=300))
def test_decode_body_is_total(data: bytes) -> None:
    _outcome(decode_body, data)
    _outcome(from_notification, data)
    _outcome(parse_destination, data)


@st.composite
def mutated_bodies(draw: st.DrawFn) -> bytes:
    body = bytearray(encode_body(draw(announcements)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        where = draw(st.integers(min_value=0, max_value=len(body)))
        action = draw(st.sampled_from(["flip", "insert", "delete"]))
        if action == "insert" or not body:
            body[where:where] = draw(st.binary(min_size=1, max_size=3))
        elif action == "delete":
            del body[min(where, len(body) - 1)]
        else:
            body[min(where, len(body) - 1)] = draw(st.integers(min_value=0, max_value=255))
    return bytes(body)


@SETTINGS
@given(mutated_bodies())
def test_decode_body_is_total_on_near_misses(data: bytes) -> None:
    kind, value = _outcome(decode_body, data)
    if kind == "ok":
        # whatever decodes is a valid announcement, and encodes back to a body
        # that decodes to the same announcement
        assert isinstance(value, Announcement)
        assert decode_body(encode_body(value)) == value


@pytest.mark.single_backend
@SETTINGS
@given(mutated_bodies() | st.binary(max_size=120))
def test_backends_agree(data: bytes) -> None:
    outcomes = set()
    for name in BACKENDS:
        with on_backend(name):
            outcomes.add(repr(_outcome(decode_body, data)))
    assert len(outcomes) == 1, outcomes


def test_many_addresses_are_bounded() -> None:
    many = Announcement("update", bytes(8), tuple(f"2001:db8::{i + 1:x}" for i in range(MAX_ADDRESSES)), 1)
    body = bytearray(encode_body(many))
    # one address more than the bound, by editing the count and appending one
    body[21] += 1
    body[-3:-3] = b"\x09\x10" + ipaddress.IPv6Address("2001:db8::ffff").packed
    kind, value = _outcome(decode_body, bytes(body))
    assert kind == "error" and value == (20, f"element 3 carries more than {MAX_ADDRESSES} addresses")


# the listener decodes every body through the fast path for the canonical
# encoding: it must agree with the general decoder on everything it accepts

zero_heavy = st.lists(st.sampled_from([0, 0, 0, 1, 0xFFFF, 0xDB8]), min_size=8, max_size=8).map(
    lambda groups: ipaddress.IPv6Address(b"".join(g.to_bytes(2, "big") for g in groups))
)


@SETTINGS
@given(st.integers(min_value=0, max_value=2**128 - 1).map(ipaddress.IPv6Address) | zero_heavy)
def test_the_fast_address_text_is_rfc5952(ip: ipaddress.IPv6Address) -> None:
    assert _rfc5952(ip.packed) == canonical_address(ip)


@SETTINGS
@given(announcements | mutated_bodies())
def test_the_fast_path_agrees_with_the_general_decoder(item: Announcement | bytes) -> None:
    data = encode_body(item) if isinstance(item, Announcement) else item
    fast = _decode_canonical(data)
    if isinstance(item, Announcement):
        assert fast == item
    if fast is not None:
        assert _decode_general(data) == fast
