"""Addresses: one spelling per IP address, and bad ones refused as DlmsErrors."""

from __future__ import annotations

import pytest

from dlmsmesh.transport import Address, AddressError
from dlmsmesh.transport.interface import as_address, normalize_host

pytestmark = pytest.mark.single_backend


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("2001:db8:1:0:212:4b00:1:203", "2001:db8:1:0:212:4b00:1:203"),  # RFC 5952: no :: for one zero group
        ("0:0:0:0:0:0:0:1", "::1"),
        ("FF03::D1:1", "ff03::d1:1"),
        ("127.0.0.1", "127.0.0.1"),
        ("fe80::0001%lo", "fe80::1%lo"),
        ("meter-17", "meter-17"),  # a simulated node's name stays as given
    ],
)
def test_hosts_normalise(given: str, canonical: str) -> None:
    assert normalize_host(given) == canonical


def test_as_address_checks_and_normalises() -> None:
    assert as_address(("2001:DB8::1", 61616)) == Address("2001:db8::1", 61616)
    assert isinstance(as_address(("::1", 1)), Address)
    for bad in [
        ("::1", -1),
        ("::1", 65536),
        ("::1", "4059"),
        ("::1", True),
        ("", 1),
        (1, 1),
        ("::1",),
        "::1:4059",
        None,
    ]:
        with pytest.raises(AddressError):
            as_address(bad)  # type: ignore[arg-type]
    assert issubclass(AddressError, ValueError)


def test_an_ipv4_mapped_address_is_the_ipv4_address() -> None:
    from dlmsmesh.transport.interface import normalize_host

    assert normalize_host("::ffff:127.0.0.1") == "127.0.0.1"
    assert normalize_host("::FFFF:7f00:1") == "127.0.0.1"
    assert normalize_host("2001:DB8::1") == "2001:db8::1"
