"""Groups of meters for group requests (IEC TS 62056-8-20 features 5 and 6):
the group value type, its IPv6 multicast address, and the group-conditions
object that makes a meter a member while one of its attributes has a value.

DESIGN: a group is a 16-bit identifier ``G`` (1..65535) whose multicast
address is ``ff03::d1:GGGG`` (realm-local: one mesh) or ``ff05::d1:GGGG``
(site-local: across border routers); the ``00d1:GGGG`` pattern lets 6LoWPAN
header compression carry the destination in 4 octets.  A request sent to an
all-nodes address (:data:`ALL_NODES`) is for every meter.

A meter is a member of group ``G`` (DESIGN):

1. explicitly, while ``G``'s address is in its IPv6 setup (class 48)
   attribute 5 ``multicast_ipv6_addresses``;
2. by condition, while an entry ``{group id, class id, logical name,
   attribute id, value}`` of its :class:`GroupConditions` object names an
   attribute whose current value equals the entry's value.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Union

from ..types import Array, CosemValue, Integer, LongUnsigned, Obis, Structure, natural
from .base import READ_WRITE, CosemObject, attribute
from .meter_set import MeterObjects
from .push import PushSetup
from .typespec import ANY, ArrayOf, Octets, StructureOf, TypeMismatch, TypeSpec, octets

__all__ = [
    "GROUP_SCOPES",
    "ALL_NODES",
    "RESPONSE_WINDOW_OBIS",
    "GROUP_CONDITIONS_OBIS",
    "GROUP_CONDITIONS_CLASS_ID",
    "Group",
    "GroupCondition",
    "GroupConditions",
    "CONDITION_ENTRY",
    "is_all_nodes",
    "add_group_objects",
]

#: the multicast prefix (first 16 bits) of each group scope
GROUP_SCOPES = {"realm": "ff03", "site": "ff05"}
#: the all-nodes address of each scope: a request sent there is for every meter
ALL_NODES = {"realm": "ff03::1", "site": "ff05::1"}
#: DESIGN: the Push setup instance whose attributes 4 (communication_window)
#: and 5 (randomisation_start_interval) bound the delayed answers to group requests
RESPONSE_WINDOW_OBIS = "0.3.25.9.0.255"
#: DESIGN: the group-conditions object's logical name.  Value group C = 128 is
#: in the manufacturer-specific range (128..199); D.E = 25.9 echoes the
#: response-window object of the same feature.
GROUP_CONDITIONS_OBIS = "0.0.128.25.9.255"
#: DESIGN: the group-conditions object is a Data object (class 1): its value
#: is the array of condition entries, so any DLMS client can read and write it
GROUP_CONDITIONS_CLASS_ID = 1

_SCOPE_OF_PREFIX = {int(prefix, 16): scope for scope, prefix in GROUP_SCOPES.items()}
_ALL_NODES_PACKED = frozenset(ipaddress.IPv6Address(a).packed for a in ALL_NODES.values())
_GROUP_MARK = 0x00D1

AddressLike = Union[str, bytes, bytearray, ipaddress.IPv6Address]


def _ipv6(address: AddressLike) -> ipaddress.IPv6Address | None:
    try:
        if isinstance(address, ipaddress.IPv6Address):
            return address
        if isinstance(address, (bytes, bytearray)):
            return ipaddress.IPv6Address(bytes(address)) if len(address) == 16 else None
        return ipaddress.IPv6Address(address.split("%", 1)[0])
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Group:
    """One group: its 16-bit identifier and multicast scope."""

    id: int
    scope: str = "realm"

    def __post_init__(self) -> None:
        if isinstance(self.id, bool) or not isinstance(self.id, int):
            raise TypeError(f"a group id is an int, got {type(self.id).__name__}")
        if not 1 <= self.id <= 0xFFFF:
            raise ValueError(f"a group id is 1..65535 (0 is not a group), got {self.id}")
        if self.scope not in GROUP_SCOPES:
            raise ValueError(f"a group scope is one of {sorted(GROUP_SCOPES)}, got {self.scope!r}")

    @property
    def address(self) -> str:
        """The group's multicast address as RFC 5952 text (``ff03::d1:2a``)."""
        return str(self.ipv6)

    @property
    def ipv6(self) -> ipaddress.IPv6Address:
        prefix = int(GROUP_SCOPES[self.scope], 16)
        return ipaddress.IPv6Address((prefix << 112) | (_GROUP_MARK << 16) | self.id)

    @property
    def packed(self) -> bytes:
        """The address's 16 octets: the form IPv6 setup attribute 5 holds."""
        return self.ipv6.packed

    @classmethod
    def from_address(cls, address: AddressLike) -> Group | None:
        """The group whose address this is; None for any other address
        (including the all-nodes addresses and group id 0)."""
        ip = _ipv6(address)
        if ip is None:
            return None
        value = int(ip)
        scope = _SCOPE_OF_PREFIX.get(value >> 112)
        middle = (value >> 32) & ((1 << 80) - 1)
        if scope is None or middle != 0 or (value >> 16) & 0xFFFF != _GROUP_MARK:
            return None
        gid = value & 0xFFFF
        return cls(gid, scope) if gid else None


def is_all_nodes(address: AddressLike) -> bool:
    """Whether the address is an all-nodes address of one of the group scopes."""
    ip = _ipv6(address)
    return ip is not None and ip.packed in _ALL_NODES_PACKED


#: {group id long-unsigned, class id long-unsigned, logical name octet-string(6),
#: attribute id integer, value any}
CONDITION_ENTRY = StructureOf(LongUnsigned, LongUnsigned, Octets(6), Integer, ANY)


@dataclass(frozen=True)
class GroupCondition:
    """One condition entry: the meter is a member of ``group`` while attribute
    ``attribute_id`` of object (``class_id``, ``logical_name``) equals ``value``."""

    group: int
    class_id: int
    logical_name: Obis
    attribute_id: int
    value: CosemValue

    def __init__(
        self, group: int | Group, class_id: int, logical_name: Obis | str | bytes, attribute_id: int, value: Any
    ) -> None:
        gid = group.id if isinstance(group, Group) else Group(group).id
        object.__setattr__(self, "group", gid)
        object.__setattr__(self, "class_id", int(class_id))
        object.__setattr__(self, "logical_name", Obis(logical_name))
        object.__setattr__(self, "attribute_id", int(attribute_id))
        object.__setattr__(self, "value", natural(value))

    def to_cosem(self) -> Structure:
        return Structure(
            (
                LongUnsigned(self.group),
                LongUnsigned(self.class_id),
                octets(bytes(self.logical_name)),
                Integer(self.attribute_id),
                self.value,
            )
        )

    @classmethod
    def from_cosem(cls, entry: Any) -> GroupCondition:
        checked = CONDITION_ENTRY.check(entry)
        return cls(int(checked[0]), int(checked[1]), bytes(checked[2]), int(checked[3]), checked[4])

    def matches(self, current: Any) -> bool:
        """Whether the attribute's current value satisfies the condition
        (equal COSEM type and equal value: an Unsigned 3 is not a Long 3)."""
        try:
            typed = natural(current)
        except Exception:
            return False
        return type(typed) is type(self.value) and typed == self.value


@dataclass(frozen=True)
class _ConditionList(TypeSpec):
    """An array of condition entries whose group ids are 1..65535."""

    def check(self, value: Any) -> Any:
        entries = ArrayOf(CONDITION_ENTRY).check(value)
        for entry in entries:
            if not 1 <= int(entry[0]) <= 0xFFFF:
                raise TypeMismatch(f"a group id is 1..65535, got {int(entry[0])}")
        return entries


class GroupConditions(CosemObject):
    """The group-conditions object (DESIGN: a Data object, class 1, at
    :data:`GROUP_CONDITIONS_OBIS`): attribute 2 is an array of
    ``{group id, class id, logical name, attribute id, value}`` structures,
    writable with SET.  Empty: no condition-based membership."""

    class_id = GROUP_CONDITIONS_CLASS_ID
    version = 0

    value = attribute(2, _ConditionList(), access=READ_WRITE)

    def __init__(
        self, logical_name: Obis | str | bytes = GROUP_CONDITIONS_OBIS, conditions: Iterable[GroupCondition] = ()
    ) -> None:
        super().__init__(logical_name)
        self.value = Array(c.to_cosem() for c in conditions)

    @property
    def conditions(self) -> list[GroupCondition]:
        return [GroupCondition.from_cosem(entry) for entry in self.value]

    @conditions.setter
    def conditions(self, entries: Iterable[GroupCondition]) -> None:
        self.value = Array(c.to_cosem() for c in entries)

    def add(self, condition: GroupCondition) -> None:
        """Append the entry (an equal entry already there stays once)."""
        entry = condition.to_cosem()
        if entry not in self.value:
            self.value = Array([*self.value, entry])

    def remove(self, condition: GroupCondition) -> None:
        entry = condition.to_cosem()
        self.value = Array(e for e in self.value if e != entry)

    def group_ids(self) -> set[int]:
        """Every group some entry names (a member or not, depending on values)."""
        return {int(entry[0]) for entry in self.value}


def add_group_objects(
    objects: MeterObjects,
    *,
    max_delay: int = 0,
    windows: Iterable[tuple[bytes, bytes]] = (),
    conditions: Iterable[GroupCondition] = (),
    logical_device: int | None = None,
) -> tuple[PushSetup, GroupConditions]:
    """Give a meter of :func:`~dlmsmesh.cosem.default_meter` what group
    requests need: the response-window Push setup (:data:`RESPONSE_WINDOW_OBIS`,
    ``randomisation_start_interval`` = ``max_delay`` seconds,
    ``communication_window`` = ``windows`` as (start, end) date-time octets)
    and the group-conditions object, in the logical device holding the IPv6
    setup (or ``logical_device``) and in the view of every association that
    sees the IPv6 setup.  Add them before the meter goes to a Server (which
    watches the objects it finds then)."""
    ipv6 = objects.ipv6_setup
    if logical_device is None:
        logical_device = next(sap for sap, device in objects.logical_devices.items() if ipv6 in list(device))
    device = objects.logical_devices[logical_device]
    window = PushSetup(RESPONSE_WINDOW_OBIS, objects=device)
    window.randomisation_start_interval = LongUnsigned(max_delay)
    window.communication_window = Array(Structure((octets(bytes(a)), octets(bytes(b)))) for a, b in windows)
    group_conditions = GroupConditions(conditions=conditions)
    for obj in (window, group_conditions):
        device.add(obj)
        for association in objects.associations.values():
            if ipv6.logical_name in association.objects:
                association.objects.add(obj)
    return window, group_conditions
