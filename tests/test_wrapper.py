"""The DLMS/COSEM wrapper (IEC 62056-4-7; T1 and T2 of tests/transport_vectors.py), both backends."""

from __future__ import annotations

import pytest

from dlmsmesh import DecodeError, EncodeError, wrapper
from dlmsmesh.wrapper import WrapperHeader

from .transport_vectors import T1_APDU, T1_WPDU, T2_APDU, T2_WPDU


@pytest.mark.parametrize(
    "wpdu, header, apdu",
    [
        (T1_WPDU, WrapperHeader(16, 1, 13), T1_APDU),  # public client -> management LD
        (T2_WPDU, WrapperHeader(1, 16, 18), T2_APDU),  # and the response, wPorts swapped
    ],
)
def test_spec_examples_both_ways(backend: str, wpdu: bytes, header: WrapperHeader, apdu: bytes) -> None:
    assert wrapper.decode(wpdu) == (header, apdu)
    assert wrapper.encode(header.source_wport, header.destination_wport, apdu) == wpdu


def test_json_keys(backend: str) -> None:
    header, _ = wrapper.decode(T1_WPDU)
    assert wrapper.to_json(header) == {"version": 1, "source_wport": 16, "destination_wport": 1, "length": 13}


def test_empty_apdu_and_largest_ports(backend: str) -> None:
    wpdu = wrapper.encode(0xFFFF, wrapper.ALL_STATION, b"")
    assert wpdu == bytes.fromhex("0001ffff007f0000")
    assert wrapper.decode(wpdu) == (WrapperHeader(0xFFFF, 0x7F, 0), b"")


@pytest.mark.parametrize(
    "data, offset, message",
    [
        (b"", 0, "truncated input"),
        (T1_WPDU[:7], 0, "truncated input"),
        (bytes.fromhex("0002") + T1_WPDU[2:], 0, "wrapper version is not 1"),
        (bytes.fromhex("0000") + T1_WPDU[2:], 0, "wrapper version is not 1"),
        (T1_WPDU[:-1], 6, "wrapper length does not match the datagram"),  # length says 13, 12 follow
        (T1_WPDU + b"\x00", 6, "wrapper length does not match the datagram"),  # one WPDU per datagram
    ],
)
def test_validation(backend: str, data: bytes, offset: int, message: str) -> None:
    with pytest.raises(DecodeError) as info:
        wrapper.decode(data)
    assert (info.value.layer, info.value.offset, info.value.reason) == ("wrapper", offset, message)


def test_every_truncation_and_byte_mutation_is_a_decode_error_or_consistent(backend: str) -> None:
    for wpdu in (T1_WPDU, T2_WPDU):
        for k in range(len(wpdu)):
            with pytest.raises(DecodeError) as info:
                wrapper.decode(wpdu[:k])
            assert info.value.layer == "wrapper"
        for k in range(8):
            for value in (0x00, 0x01, 0x7F, 0xFF):
                bad = wpdu[:k] + bytes((value,)) + wpdu[k + 1 :]
                try:
                    header, apdu = wrapper.decode(bad)
                except DecodeError as e:
                    assert e.layer == "wrapper"
                else:
                    assert header.version == 1 and header.length == len(apdu) == len(bad) - 8


@pytest.mark.parametrize(
    "args",
    [(-1, 1, b""), (1, 0x10000, b""), (1, 1, bytes(0x10000)), ("1", 1, b"")],
)
def test_encode_rejects_out_of_range(backend: str, args: tuple) -> None:  # type: ignore[type-arg]
    with pytest.raises(EncodeError):
        wrapper.encode(*args)
