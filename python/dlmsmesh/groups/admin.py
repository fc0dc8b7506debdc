"""Group administration from the head-end: put a meter into a group and take
it out again through an open association, and keep the Registry's record of
memberships in step (what a group request's summary expects).

Explicit membership is the group's multicast address in the meter's IPv6
setup (class 48) attribute 5 ``multicast_ipv6_addresses``, changed by the
methods add_ipv6_address / remove_ipv6_address (the default: one request,
no read-modify-write race with another head-end) or by SET of the whole
attribute.  Condition-based membership is an entry of the meter's
group-conditions object (:data:`~dlmsmesh.cosem.groups.GROUP_CONDITIONS_OBIS`),
written by SET of its value.

DESIGN: a condition entry is recorded in the Registry as a membership when
the named attribute holds the entry's value at the time it is written (the
head-end reads it then); a later change of that value on the meter is not
seen by the Registry until the head-end writes or reads again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from ..client.association import Association
from ..cosem.groups import GROUP_CONDITIONS_CLASS_ID, GROUP_CONDITIONS_OBIS, Group, GroupCondition
from ..cosem.network import Ipv6AddressType
from ..cosem.typespec import octets
from ..types import Array, Enum, Structure

__all__ = [
    "IPV6_SETUP_OBIS",
    "IPV6_SETUP_CLASS_ID",
    "MULTICAST_ADDRESSES",
    "ADD_IPV6_ADDRESS",
    "REMOVE_IPV6_ADDRESS",
    "Memberships",
    "join",
    "leave",
    "groups_of",
    "set_groups",
    "conditions_of",
    "add_condition",
    "remove_condition",
]

#: the meter's IPv6 setup object (the default instance)
IPV6_SETUP_OBIS = "0.0.25.7.0.255"
IPV6_SETUP_CLASS_ID = 48
#: IPv6 setup attribute 5, multicast_ipv6_addresses
MULTICAST_ADDRESSES = 5
#: IPv6 setup methods 1 add_ipv6_address and 2 remove_ipv6_address
ADD_IPV6_ADDRESS, REMOVE_IPV6_ADDRESS = 1, 2
_METHODS = ("action", "set")


class Memberships(Protocol):
    """Where memberships are recorded (a :class:`~dlmsmesh.registration.Registry`)."""

    def add_members(self, group_id: int, system_titles: Iterable[bytes]) -> int: ...

    def remove_members(self, group_id: int, system_titles: Iterable[bytes]) -> int: ...

    def set_groups(self, system_title: bytes, group_ids: Iterable[int]) -> bool: ...


def _address_change(group: Group) -> Structure:
    return Structure((Enum(Ipv6AddressType.MULTICAST), octets(group.packed)))


def _check_method(method: str) -> None:
    if method not in _METHODS:
        raise ValueError(f"membership is changed by {' or '.join(_METHODS)}, not {method!r}")


async def _multicast(meter: Association, ipv6_setup: str) -> list[bytes]:
    value = await meter.get((IPV6_SETUP_CLASS_ID, ipv6_setup, MULTICAST_ADDRESSES))
    return [bytes(a) for a in value]


async def _write_multicast(meter: Association, ipv6_setup: str, addresses: list[bytes]) -> None:
    await meter.set((IPV6_SETUP_CLASS_ID, ipv6_setup, MULTICAST_ADDRESSES), Array(octets(a) for a in addresses))


async def join(
    meter: Association,
    group: Group,
    *,
    method: str = "action",
    ipv6_setup: str = IPV6_SETUP_OBIS,
    registry: Memberships | None = None,
) -> None:
    """Make the meter an explicit member of ``group`` (a no-op when it is one
    already); raises the meter's refusal (:mod:`dlmsmesh.client.errors`).
    ``registry`` records the membership once the meter took it."""
    _check_method(method)
    if method == "action":
        await meter.action((IPV6_SETUP_CLASS_ID, ipv6_setup, ADD_IPV6_ADDRESS), _address_change(group))
    else:
        held = await _multicast(meter, ipv6_setup)
        if group.packed not in held:
            await _write_multicast(meter, ipv6_setup, [*held, group.packed])
    if registry is not None:
        registry.add_members(group.id, [meter.meter_title])


async def leave(
    meter: Association,
    group: Group,
    *,
    method: str = "action",
    ipv6_setup: str = IPV6_SETUP_OBIS,
    registry: Memberships | None = None,
) -> None:
    """Take the meter out of ``group`` (explicit membership).  By ACTION the
    meter refuses an address it does not hold (object-unavailable, raised);
    by SET leaving a group it is not in is a no-op."""
    _check_method(method)
    if method == "action":
        await meter.action((IPV6_SETUP_CLASS_ID, ipv6_setup, REMOVE_IPV6_ADDRESS), _address_change(group))
    else:
        held = await _multicast(meter, ipv6_setup)
        if group.packed in held:
            await _write_multicast(meter, ipv6_setup, [a for a in held if a != group.packed])
    if registry is not None:
        registry.remove_members(group.id, [meter.meter_title])


async def groups_of(meter: Association, *, ipv6_setup: str = IPV6_SETUP_OBIS) -> list[Group]:
    """The groups the meter is an explicit member of, as its IPv6 setup lists them."""
    found = (Group.from_address(a) for a in await _multicast(meter, ipv6_setup))
    return [g for g in found if g is not None]


async def set_groups(
    meter: Association,
    groups: Iterable[Group],
    *,
    ipv6_setup: str = IPV6_SETUP_OBIS,
    registry: Memberships | None = None,
) -> None:
    """Make ``groups`` the meter's explicit groups, by one SET of attribute 5
    (other multicast addresses it holds, not groups', stay).  ``registry``
    records exactly these groups for the meter."""
    wanted = list(dict.fromkeys(groups))
    held = await _multicast(meter, ipv6_setup)
    others = [a for a in held if Group.from_address(a) is None]
    await _write_multicast(meter, ipv6_setup, [*others, *(g.packed for g in wanted)])
    if registry is not None:
        registry.set_groups(meter.meter_title, [g.id for g in wanted])


async def conditions_of(meter: Association, *, conditions: str = GROUP_CONDITIONS_OBIS) -> list[GroupCondition]:
    """The meter's condition entries."""
    value = await meter.get((GROUP_CONDITIONS_CLASS_ID, conditions, 2))
    return [GroupCondition.from_cosem(entry) for entry in value]


async def _write_conditions(meter: Association, conditions: str, entries: list[GroupCondition]) -> None:
    await meter.set((GROUP_CONDITIONS_CLASS_ID, conditions, 2), Array(e.to_cosem() for e in entries))


async def add_condition(
    meter: Association,
    condition: GroupCondition,
    *,
    conditions: str = GROUP_CONDITIONS_OBIS,
    registry: Memberships | None = None,
) -> bool:
    """Append a condition entry (an equal entry stays once); True when the
    named attribute holds the value now, so the meter is a member (and
    ``registry`` records it)."""
    entries = await conditions_of(meter, conditions=conditions)
    if condition not in entries:
        await _write_conditions(meter, conditions, [*entries, condition])
    current: Any = await meter.get((condition.class_id, condition.logical_name, condition.attribute_id))
    member = condition.matches(current)
    if registry is not None and member:
        registry.add_members(condition.group, [meter.meter_title])
    return member


async def remove_condition(
    meter: Association,
    condition: GroupCondition,
    *,
    conditions: str = GROUP_CONDITIONS_OBIS,
    registry: Memberships | None = None,
    ipv6_setup: str = IPV6_SETUP_OBIS,
) -> None:
    """Drop a condition entry.  ``registry`` forgets the membership unless
    the meter stays a member of that group explicitly or by another entry
    that holds now."""
    entries = await conditions_of(meter, conditions=conditions)
    kept = [e for e in entries if e != condition]
    if len(kept) != len(entries):
        await _write_conditions(meter, conditions, kept)
    if registry is None:
        return
    group = Group(condition.group)
    if group in await groups_of(meter, ipv6_setup=ipv6_setup):
        return
    for other in kept:
        if other.group == condition.group:
            current = await meter.get((other.class_id, other.logical_name, other.attribute_id))
            if other.matches(current):
                return
    registry.remove_members(condition.group, [meter.meter_title])
