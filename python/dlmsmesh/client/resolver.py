"""Where a meter is now: system title to network address, and back.

The client addresses meters by system title (IEC TS 62056-8-20, 7.2.2):
a meter keeps its title while its IPv6 address changes under a live
association (new parent, new PAN, DHCPv6 re-lease).  The association asks an
:class:`AddressResolver` for the address on every send, so a rebinding the
resolver learns (a registration push, an address update) takes effect on
the next datagram with no new AARQ.  :meth:`AddressResolver.title_of` goes
the other way for replies that carry no system title (plain, unciphered
APDUs), which can only be matched by their source address.

:class:`MemoryResolver` is the in-memory implementation; the registry
implements the same protocol over a database.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from ..transport import Address
from ..transport.interface import normalize_host
from .errors import NoAddress

__all__ = ["AddressResolver", "MemoryResolver"]


@runtime_checkable
class AddressResolver(Protocol):
    """Looks meters up by system title (8 octets)."""

    async def resolve(self, system_title: bytes) -> Address:
        """The meter's present address; :class:`~dlmsmesh.client.errors.NoAddress` when none is known."""
        ...

    async def title_of(self, address: Address) -> bytes | None:
        """The system title of the meter at ``address``, or ``None`` when no meter is known there."""
        ...


def _title(system_title: bytes) -> bytes:
    title = bytes(system_title)
    if len(title) != 8:
        raise ValueError(f"a system title is 8 octets, not {len(title)}")
    return title


def _key(address: Address) -> Address:
    # one IPv6 address has many spellings (2001:db8::1, 2001:DB8:0::1); the
    # reverse map must find a reply whatever spelling the socket reports
    return Address(normalize_host(address.host), address.port)


class MemoryResolver:
    """An :class:`AddressResolver` held in two dictionaries, with the hop
    count of each meter when known (the pacing estimates a round trip from it).

    Iterating gives the known system titles; ``len`` counts them.
    """

    def __init__(self) -> None:
        self._addresses: dict[bytes, Address] = {}
        self._titles: dict[Address, bytes] = {}
        self._hops: dict[bytes, int] = {}

    def set(self, system_title: bytes, address: Address, hops: int | None = None) -> None:
        """Bind ``system_title`` to ``address`` (replacing its old address, and
        any other meter's binding to ``address``: two meters never share one)."""
        title = _title(system_title)
        if hops is not None and hops < 0:
            raise ValueError("a hop count is never negative")
        key = _key(address)
        old = self._addresses.get(title)
        if old is not None and self._titles.get(_key(old)) == title:
            del self._titles[_key(old)]
        previous_owner = self._titles.get(key)
        if previous_owner is not None and previous_owner != title:
            del self._addresses[previous_owner]
            self._hops.pop(previous_owner, None)
        self._addresses[title] = Address(address.host, address.port)
        self._titles[key] = title
        if hops is None:
            self._hops.pop(title, None)
        else:
            self._hops[title] = hops

    def remove(self, system_title: bytes) -> None:
        """Forget the meter; ``KeyError`` when it was not known."""
        title = _title(system_title)
        address = self._addresses.pop(title)
        self._titles.pop(_key(address), None)
        self._hops.pop(title, None)

    def hops(self, system_title: bytes) -> int | None:
        """The meter's hop count from its border router, ``None`` when unknown."""
        return self._hops.get(_title(system_title))

    def get(self, system_title: bytes) -> Address | None:
        """The address without waiting (``None`` when unknown)."""
        return self._addresses.get(_title(system_title))

    async def resolve(self, system_title: bytes) -> Address:
        title = _title(system_title)
        address = self._addresses.get(title)
        if address is None:
            raise NoAddress(title)
        return address

    async def title_of(self, address: Address) -> bytes | None:
        return self._titles.get(_key(address))

    def __iter__(self) -> Iterator[bytes]:
        return iter(list(self._addresses))

    def __len__(self) -> int:
        return len(self._addresses)

    def __contains__(self, system_title: object) -> bool:
        return isinstance(system_title, (bytes, bytearray)) and bytes(system_title) in self._addresses
