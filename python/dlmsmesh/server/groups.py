"""Group membership of the meters a Server hosts, and the multicast
subscriptions of its endpoint that follow it.

A meter is a member of a group address (DESIGN, see
:mod:`dlmsmesh.cosem.groups`) while the address is in one of its IPv6 setup
objects' attribute 5, or while a condition entry of its group-conditions
object for that group holds.  Conditions are evaluated when a group request
arrives (the value they name may change with no SET: a register counting).

The server's endpoint stands for every hosted meter's IPv6 stack, so it is
subscribed to every group address at least one meter may answer on: the
explicit addresses, both scopes' addresses of every group a condition entry
names, and the all-nodes addresses.  Watchers on the objects keep the
subscription in step with SETs, ACTIONs and code changing them.
"""

from __future__ import annotations

import collections
import functools
import ipaddress
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from typing import Any

from ..cosem import CosemObject, Ipv6Setup
from ..cosem.groups import ALL_NODES, GROUP_SCOPES, Group, GroupConditions, is_all_nodes
from ..errors import DlmsError
from ..transport import Datagram
from ..transport.interface import normalize_host
from .meter import Meter

__all__ = ["GroupStats", "Memberships", "is_multicast", "member_of"]

log = logging.getLogger(__name__)

_MULTICAST_ATTRIBUTE = 5
_CONDITIONS_ATTRIBUTE = 2


@dataclass
class GroupStats:
    """What the server did with group (multicast) requests."""

    #: datagrams that arrived at a multicast address
    received: int = 0
    #: member meters that executed a group request
    executed: int = 0
    #: meters that verified a request but were not members
    not_member: int = 0
    #: meters that ignored a request for its protection (wrong key,
    #: unicast key, replay, unprotected): see each meter's security_log
    ignored: int = 0
    #: executed unconfirmed requests (never answered)
    unconfirmed: int = 0
    #: delayed answers sent
    answered: int = 0
    #: delayed answers dropped: the oldest of a full queue
    dropped: int = 0
    #: delayed answers the response windows left no time for
    no_window: int = 0
    #: delayed answers held past their window's close, moved to the next window
    rescheduled: int = 0
    #: delayed answers held past the close of the request's own window (no
    #: calendar window follows it): not sent, as no answer leaves outside its window
    window_missed: int = 0
    #: multicast joins or leaves the transport refused (logged)
    subscription_failures: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def is_multicast(host: str) -> bool:
    """Whether ``host`` is a multicast address (asked for every datagram:
    most hosts are told apart by their first character)."""
    # IPv6 multicast is ff00::/8, IPv4 224.0.0.0/4: text starting f/F or 2
    if host[:1] not in ("f", "F", "2"):
        return False
    return _multicast(host)


@functools.lru_cache(maxsize=1 << 16)
def _multicast(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.partition("%")[0]).is_multicast
    except ValueError:
        return False


def _objects(meter: Meter) -> Iterable[CosemObject]:
    seen: set[int] = set()
    for device in meter.logical_devices.values():
        for obj in device:
            if id(obj) not in seen:
                seen.add(id(obj))
                yield obj


def _host(packed: bytes) -> str | None:
    if len(packed) != 16:
        return None
    return normalize_host(str(ipaddress.IPv6Address(bytes(packed))))


def explicit_addresses(meter: Meter) -> set[str]:
    """The multicast addresses of the meter's IPv6 setup objects (attribute 5)."""
    found: set[str] = set()
    for obj in _objects(meter):
        if isinstance(obj, Ipv6Setup):
            for packed in obj.multicast_ipv6_addresses:
                host = _host(bytes(packed))
                if host is not None:
                    found.add(host)
    return found


def condition_addresses(meter: Meter) -> set[str]:
    """Both scopes' addresses of every group a condition entry names."""
    found: set[str] = set()
    for obj in _objects(meter):
        if isinstance(obj, GroupConditions):
            for gid in obj.group_ids():
                found.update(normalize_host(Group(gid, scope).address) for scope in GROUP_SCOPES)
    return found


def _find(meter: Meter, class_id: int, logical_name: Any) -> CosemObject | None:
    for device in meter.logical_devices.values():
        obj = device.find(class_id, logical_name)
        if obj is not None:
            return obj
    return None


async def member_of(meter: Meter, host: str) -> bool:
    """Whether ``meter`` acts on a group request sent to ``host`` now."""
    if is_all_nodes(host):
        return True
    host = normalize_host(host)
    if host in explicit_addresses(meter):
        return True
    group = Group.from_address(host)
    if group is None:
        return False
    for obj in _objects(meter):
        if not isinstance(obj, GroupConditions):
            continue
        for condition in obj.conditions:
            if condition.group != group.id:
                continue
            target = _find(meter, condition.class_id, condition.logical_name)
            if target is not None and condition.matches(await target.get(condition.attribute_id)):
                return True
    return False


class Memberships:
    """The endpoint's multicast subscriptions: the union of what every hosted
    meter may answer on, joined once per address and left when the last
    meter goes (reference counts), kept in step by object watchers."""

    def __init__(self, transport: Datagram, stats: GroupStats) -> None:
        self.transport = transport
        self.stats = stats
        self._refs: collections.Counter[str] = collections.Counter()
        self._of: dict[int, frozenset[str]] = {}
        self._stops: dict[int, list[Callable[[], None]]] = {}

    @property
    def addresses(self) -> frozenset[str]:
        """The group addresses the endpoint is subscribed to now."""
        return frozenset(self._refs)

    def of(self, index: int) -> frozenset[str]:
        """The addresses subscribed for the hosted meter ``index``."""
        return self._of.get(index, frozenset())

    def attach(self, index: int, meter: Meter) -> None:
        stops: list[Callable[[], None]] = []
        for obj in _objects(meter):
            if isinstance(obj, Ipv6Setup):
                stops.append(obj.watch(_MULTICAST_ATTRIBUTE, lambda *_: self.refresh(index, meter)))
            elif isinstance(obj, GroupConditions):
                stops.append(obj.watch(_CONDITIONS_ATTRIBUTE, lambda *_: self.refresh(index, meter)))
        if stops:
            self._stops[index] = stops
        self.refresh(index, meter)

    def detach(self, index: int) -> None:
        for stop in self._stops.pop(index, []):
            stop()
        self._update(index, frozenset())

    def detach_all(self) -> None:
        """Stop watching every meter's objects (the server closes)."""
        for index in sorted(set(self._stops) | set(self._of)):
            self.detach(index)

    def refresh(self, index: int, meter: Meter) -> None:
        """Recompute meter ``index``'s addresses and join or leave what changed."""
        wanted = explicit_addresses(meter) | condition_addresses(meter)
        if meter.keys.bk is not None:
            # a meter that can open a broadcast frame hears the all-nodes addresses
            wanted |= {normalize_host(a) for a in ALL_NODES.values()}
        self._update(index, frozenset(wanted))

    def _update(self, index: int, wanted: frozenset[str]) -> None:
        before = self._of.get(index, frozenset())
        if wanted:
            self._of[index] = wanted
        else:
            self._of.pop(index, None)
        for host in sorted(wanted - before):
            self._refs[host] += 1
            if self._refs[host] == 1:
                self._subscribe(host, join=True)
        for host in sorted(before - wanted):
            self._refs[host] -= 1
            if self._refs[host] <= 0:
                del self._refs[host]
                self._subscribe(host, join=False)

    def _subscribe(self, host: str, *, join: bool) -> None:
        if self.transport.closed:
            return
        try:
            if join:
                self.transport.join_group(host)
            else:
                self.transport.leave_group(host)
        except (DlmsError, OSError) as exc:
            # a socket of the other IP version, or a host with no multicast
            # route: the meters still answer unicast requests
            self.stats.subscription_failures += 1
            log.debug("%s multicast group %s: %s", "joining" if join else "leaving", host, exc)
