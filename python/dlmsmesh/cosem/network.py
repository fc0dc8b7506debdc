"""TCP-UDP setup (class 41, version 0) and IPv6 setup (class 48, version 0),
IEC 62056-6-2: the port a logical device listens on and the IPv6 addresses of
its interface.  In the mesh profile (IEC 62056-8-20) multicast_IPv6_addresses
holds the groups the device answers group requests on.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Union

from ..apdu_model import ActionResult
from ..types import Array, DoubleLongUnsigned, Enum, LongUnsigned, Obis, OctetString, Structure, Unsigned
from .base import READ_WRITE, ActionError, CosemObject, attribute, method
from .typespec import ArrayOf, Octets, StructureOf, TypeMismatch, TypeSpec, octets

__all__ = [
    "TcpUdpSetup",
    "Ipv6Setup",
    "AddressConfigMode",
    "Ipv6AddressType",
    "IPV6_ADDRESS",
    "ADDRESS_CHANGE",
    "NEIGHBOR_DISCOVERY",
]

Address = Union[str, bytes, ipaddress.IPv6Address]

IPV6_ADDRESS = Octets(16)
#: {address_type enum, address octet-string(16)}: the parameter of methods 1 and 2
ADDRESS_CHANGE = StructureOf(Enum, IPV6_ADDRESS)
#: {max_retry unsigned, retry_wait_time long-unsigned, send_period double-long-unsigned}
#: (field names as gurux-dlms has them; their units are not in either peer)
NEIGHBOR_DISCOVERY = StructureOf(Unsigned, LongUnsigned, DoubleLongUnsigned)


def _address(value: Address) -> OctetString:
    if isinstance(value, (bytes, bytearray)) and len(value) == 16:
        return octets(bytes(value))
    return octets(ipaddress.IPv6Address(value).packed)


@dataclass(frozen=True)
class _OptionalAddress(TypeSpec):
    """An octet-string of 16 octets, or empty for none (the DNS addresses)."""

    def check(self, value: Any) -> Any:
        v = Octets().check(value)
        if len(v) not in (0, 16):
            raise TypeMismatch(f"an IPv6 address is 16 octets (or none), got {len(v)}")
        return v


class TcpUdpSetup(CosemObject):
    """TCP-UDP setup (class 41, version 0): the port (4059, or 61616 in the mesh
    profile) and the IP setup object below it."""

    class_id = 41
    version = 0

    tcp_udp_port = attribute(2, LongUnsigned, access=READ_WRITE)
    ip_reference = attribute(3, Octets(6), access=READ_WRITE)
    mss = attribute(4, LongUnsigned, access=READ_WRITE)
    nb_of_sim_conn = attribute(5, Unsigned, access=READ_WRITE)
    inactivity_time_out = attribute(6, LongUnsigned, access=READ_WRITE)

    def __init__(
        self,
        logical_name: Obis | str | bytes = "0.0.25.0.0.255",
        *,
        port: int = 4059,
        ip_reference: Obis | str | bytes = "0.0.25.7.0.255",
        mss: int = 576,
        max_connections: int = 1,
        inactivity_time_out: int = 180,
    ) -> None:
        # mss 576 and time-out 180 s are gurux-dlms's defaults
        super().__init__(logical_name)
        self.tcp_udp_port = LongUnsigned(port)
        self.ip_reference = octets(bytes(Obis(ip_reference)))
        self.mss = LongUnsigned(mss)
        self.nb_of_sim_conn = Unsigned(max_connections)
        self.inactivity_time_out = LongUnsigned(inactivity_time_out)


class AddressConfigMode(enum.IntEnum):
    AUTO_CONFIGURATION = 0
    DHCPV6 = 1
    MANUAL = 2
    NEIGHBOUR_DISCOVERY = 3


class Ipv6AddressType(enum.IntEnum):
    UNICAST = 0
    MULTICAST = 1
    GATEWAY = 2


class Ipv6Setup(CosemObject):
    """IPv6 setup (class 48, version 0).  Addresses may be given as text,
    :class:`ipaddress.IPv6Address` or 16 octets."""

    class_id = 48
    version = 0

    dl_reference = attribute(2, Octets(6), access=READ_WRITE)
    address_config_mode = attribute(3, Enum, access=READ_WRITE)
    unicast_ipv6_addresses = attribute(4, ArrayOf(IPV6_ADDRESS), access=READ_WRITE)
    multicast_ipv6_addresses = attribute(5, ArrayOf(IPV6_ADDRESS), access=READ_WRITE)
    gateway_ipv6_addresses = attribute(6, ArrayOf(IPV6_ADDRESS), access=READ_WRITE)
    primary_dns_address = attribute(7, _OptionalAddress(), access=READ_WRITE, default=octets(b""))
    secondary_dns_address = attribute(8, _OptionalAddress(), access=READ_WRITE, default=octets(b""))
    traffic_class = attribute(9, Unsigned, access=READ_WRITE, default=Unsigned(0))
    neighbor_discovery_setup = attribute(10, ArrayOf(NEIGHBOR_DISCOVERY), access=READ_WRITE, default=Array())

    def __init__(
        self,
        logical_name: Obis | str | bytes = "0.0.25.7.0.255",
        *,
        unicast: Iterable[Address] = (),
        multicast: Iterable[Address] = (),
        gateways: Iterable[Address] = (),
        dl_reference: Obis | str | bytes = bytes(6),
        config_mode: int = AddressConfigMode.AUTO_CONFIGURATION,
    ) -> None:
        super().__init__(logical_name)
        self.dl_reference = octets(bytes(Obis(dl_reference)))
        self.address_config_mode = Enum(int(config_mode))
        self.unicast_ipv6_addresses = Array(_address(a) for a in unicast)
        self.multicast_ipv6_addresses = Array(_address(a) for a in multicast)
        self.gateway_ipv6_addresses = Array(_address(a) for a in gateways)

    def addresses(self, kind: Ipv6AddressType) -> list[ipaddress.IPv6Address]:
        return [ipaddress.IPv6Address(bytes(a)) for a in self._list(kind)]

    def _list(self, kind: Ipv6AddressType) -> Array:
        lists: dict[Ipv6AddressType, Array] = {
            Ipv6AddressType.UNICAST: self.unicast_ipv6_addresses,
            Ipv6AddressType.MULTICAST: self.multicast_ipv6_addresses,
            Ipv6AddressType.GATEWAY: self.gateway_ipv6_addresses,
        }
        return lists[kind]

    def _store(self, kind: Ipv6AddressType, addresses: Array) -> None:
        if kind is Ipv6AddressType.UNICAST:
            self.unicast_ipv6_addresses = addresses
        elif kind is Ipv6AddressType.MULTICAST:
            self.multicast_ipv6_addresses = addresses
        else:
            self.gateway_ipv6_addresses = addresses

    @staticmethod
    def _kind(parameters: Structure) -> Ipv6AddressType:
        try:
            return Ipv6AddressType(int(parameters[0]))
        except ValueError:
            raise ActionError(ActionResult.OTHER_REASON, f"no IPv6 address type {int(parameters[0])}") from None

    @method(1, ADDRESS_CHANGE)
    def add_ipv6_address(self, parameters: Structure) -> None:
        """Append the address to its list (an address already there stays once)."""
        kind = self._kind(parameters)
        current = self._list(kind)
        if parameters[1] not in current:
            self._store(kind, Array([*current, parameters[1]]))

    @method(2, ADDRESS_CHANGE)
    def remove_ipv6_address(self, parameters: Structure) -> None:
        kind = self._kind(parameters)
        current = self._list(kind)
        if parameters[1] not in current:
            raise ActionError(ActionResult.OBJECT_UNAVAILABLE, "the address is not in the list")
        self._store(kind, Array(a for a in current if a != parameters[1]))
