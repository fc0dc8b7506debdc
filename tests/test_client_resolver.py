"""dlmsmesh.client.resolver: system title to address and back, rebinding
on address change, hop counts; MemoryResolver satisfies AddressResolver."""

from __future__ import annotations

import pytest

from dlmsmesh.client import AddressResolver, MemoryResolver, NoAddress
from dlmsmesh.transport import Address

A = bytes.fromhex("4D4D4D0000BC614E")
B = bytes.fromhex("4D4D4D0000BC614F")


def test_memory_resolver_is_an_address_resolver() -> None:
    assert isinstance(MemoryResolver(), AddressResolver)


@pytest.mark.asyncio
async def test_resolve_and_reverse() -> None:
    resolver = MemoryResolver()
    resolver.set(A, Address("2001:db8:0:1::a", 61616), hops=3)
    assert await resolver.resolve(A) == Address("2001:db8:0:1::a", 61616)
    # another spelling of the same IPv6 address finds the meter
    assert await resolver.title_of(Address("2001:DB8:0:1:0:0:0:A", 61616)) == A
    assert await resolver.title_of(Address("2001:db8:0:1::a", 4059)) is None
    assert resolver.hops(A) == 3
    assert resolver.get(A) == Address("2001:db8:0:1::a", 61616)
    assert list(resolver) == [A] and len(resolver) == 1 and A in resolver and B not in resolver


@pytest.mark.asyncio
async def test_unknown_title_raises_no_address() -> None:
    resolver = MemoryResolver()
    with pytest.raises(NoAddress) as caught:
        await resolver.resolve(A)
    assert caught.value.system_title == A
    assert resolver.hops(A) is None and resolver.get(A) is None


@pytest.mark.asyncio
async def test_address_change_rebinds_both_ways() -> None:
    resolver = MemoryResolver()
    old, new = Address("2001:db8:0:1::a", 61616), Address("2001:db8:0:2::a", 61616)
    resolver.set(A, old, hops=2)
    resolver.set(A, new)
    assert await resolver.resolve(A) == new
    assert await resolver.title_of(new) == A
    assert await resolver.title_of(old) is None  # a reply from the old address is no longer this meter's
    assert resolver.hops(A) is None  # the hop count belonged to the old position


@pytest.mark.asyncio
async def test_an_address_taken_by_another_meter_unbinds_the_first() -> None:
    resolver = MemoryResolver()
    shared = Address("fd00::1", 4059)
    resolver.set(A, shared, hops=1)
    resolver.set(B, shared, hops=4)
    assert await resolver.title_of(shared) == B
    assert A not in resolver and resolver.hops(A) is None
    with pytest.raises(NoAddress):
        await resolver.resolve(A)
    assert list(resolver) == [B] and resolver.hops(B) == 4


@pytest.mark.asyncio
async def test_remove() -> None:
    resolver = MemoryResolver()
    resolver.set(A, Address("127.0.0.1", 4059), hops=0)
    resolver.set(B, Address("127.0.0.1", 4060))
    resolver.remove(A)
    assert list(resolver) == [B]
    assert await resolver.title_of(Address("127.0.0.1", 4059)) is None
    assert resolver.hops(A) is None
    with pytest.raises(KeyError):
        resolver.remove(A)


def test_iteration_survives_changes_while_iterating() -> None:
    resolver = MemoryResolver()
    resolver.set(A, Address("::1", 1))
    resolver.set(B, Address("::1", 2))
    for title in resolver:
        resolver.remove(title)
    assert len(resolver) == 0


def test_bad_input() -> None:
    resolver = MemoryResolver()
    with pytest.raises(ValueError, match="8 octets"):
        resolver.set(b"short", Address("::1", 1))
    with pytest.raises(ValueError):
        resolver.set(A, Address("::1", 1), hops=-1)
