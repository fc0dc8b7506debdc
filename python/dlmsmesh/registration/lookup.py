"""Address lookup (spec note mesh-profile §4.5 rule 3, the Annex A
equivalent): where is the meter with this system title now?

Through the API it is :meth:`Registry.lookup` (or :meth:`Registry.resolve`,
the Client's resolver).  Over the network another head-end application asks
the registration listener on its own port with a plain DLMS GET.

**Wire format (DESIGN).**  The TS names Annex A only by its title, so the
request is built from standard xDLMS parts, the way a client reads a meter:

* a GET-Request-Normal (or -With-List, several titles in one datagram) in
  the UDP wrapper, from any client wPort to wPort 0x01, pre-established (no
  AARQ, no ciphering: the answer holds addresses, no secret; keep the
  listener's port inside the head-end network);
* of attribute 2 of the "registration table", a Data object (class 1) at
  ``0.128.25.9.0.255`` (group B 128: a manufacturer-specific instance next
  to the registration and update Push setups 0.1/0.2.25.9.0.255);
* with selective access, selector 1, whose parameter is the meter's system
  title as an octet-string of 8: the table is keyed by title.

The answer is a GET-Response-Normal (-With-List) of::

    structure {
      octet-string[8]            system title
      array of octet-string[16]  addresses, preferred first (IPv4 as ::ffff:a.b.c.d)
      long-unsigned              UDP port
      long-unsigned              the meter's wPort
      enum                       status: 0 registered, 1 quarantined
      double-long-unsigned       last update, unix seconds
      array of octet-string[16]  previous addresses (grace period, rule 2)
    }

or Data-Access-Result object-unavailable (11) for a title the registry does
not know, object-undefined (4) for another object or attribute, and
type-unmatched (12) for a parameter that is not a system title.

:func:`lookup_address` / :func:`lookup_binding` are the asking side, each
bounded by ``timeout`` (split over ``retries`` + 1 attempts).
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import apdu as A
from .. import wrapper
from ..apdu_model import AttributeDescriptor, DataAccessResult, SelectiveAccess
from ..client.errors import NoAddress
from ..errors import DlmsError, DlmsTimeout
from ..transport import Address, Datagram, Incoming
from ..transport.interface import as_address, normalize_host
from ..types import Array, DoubleLongUnsigned, Enum, LongUnsigned, Obis, OctetString, Structure
from .registry import Binding, Registry, Status

if TYPE_CHECKING:
    from .listener import ListenerStats

__all__ = [
    "REGISTRATION_TABLE",
    "LOOKUP_CLASS",
    "LOOKUP_ATTRIBUTE",
    "LOOKUP_SELECTOR",
    "LOOKUP_WPORT",
    "RemoteBinding",
    "LookupService",
    "lookup_request",
    "lookup_address",
    "lookup_binding",
    "is_lookup",
    "RemoteResolver",
]

#: the "registration table" object a lookup reads
REGISTRATION_TABLE = Obis("0.128.25.9.0.255")
LOOKUP_CLASS = 1
LOOKUP_ATTRIBUTE = 2
LOOKUP_SELECTOR = 1
#: the wPort lookups are addressed to (the listener as a management logical device)
LOOKUP_WPORT = 0x01
#: the wPort a lookup client sends from by default (the public client)
LOOKUP_CLIENT_WPORT = 0x10

_GET_REQUEST = 0xC0
_STATUS_CODE = {Status.REGISTERED: 0, Status.QUARANTINED: 1}
_STATUS_OF = {v: k for k, v in _STATUS_CODE.items()}
_invoke_ids = itertools.count(1)


def is_lookup(datagram: bytes) -> bool:
    """Whether a datagram on the registration port is a lookup (a GET
    request), not an announcement."""
    return len(datagram) > 8 and datagram[8] == _GET_REQUEST


@dataclass(frozen=True)
class RemoteBinding:
    """A binding as a lookup answer carries it."""

    system_title: bytes
    addresses: tuple[str, ...]
    port: int
    wport: int
    status: Status
    last_update: int
    previous_addresses: tuple[str, ...]

    @property
    def address(self) -> Address:
        """The preferred address and port (an IPv4-mapped address as IPv4 text)."""
        return Address(normalize_host(self.addresses[0]), self.port)


def _packed(text: str) -> bytes:
    ip = ipaddress.ip_address(normalize_host(text).partition("%")[0])
    if isinstance(ip, ipaddress.IPv4Address):
        return ipaddress.IPv6Address(b"\x00" * 10 + b"\xff\xff" + ip.packed).packed
    return ip.packed


def _text(raw: Any) -> str:
    ip = ipaddress.IPv6Address(bytes(raw))
    mapped = ip.ipv4_mapped
    return f"::ffff:{mapped}" if mapped is not None else ip.compressed


def encode_binding(binding: Binding) -> Structure:
    """The answer's structure for ``binding``."""
    return Structure(
        [
            OctetString(binding.system_title),
            Array(OctetString(_packed(a)) for a in binding.addresses),
            LongUnsigned(binding.port),
            LongUnsigned(binding.wport),
            Enum(_STATUS_CODE.get(binding.status, 0)),
            DoubleLongUnsigned(max(0, min(int(binding.last_update), 0xFFFFFFFF))),
            Array(OctetString(_packed(a)) for a in binding.previous_addresses),
        ]
    )


def decode_binding(value: Any) -> RemoteBinding:
    """The :class:`RemoteBinding` of an answer's structure (DlmsError when it is not one)."""
    try:
        title, addresses, port, wport, status, last, previous = value
        result = RemoteBinding(
            bytes(title),
            tuple(_text(a) for a in addresses),
            int(port),
            int(wport),
            _STATUS_OF[int(status)],
            int(last),
            tuple(_text(a) for a in previous),
        )
    except (TypeError, ValueError, KeyError) as err:
        raise DlmsError(f"not a registration-table entry: {err}") from None
    if len(result.system_title) != 8 or not result.addresses:
        raise DlmsError("not a registration-table entry: bad title or no address")
    return result


def _title_of(descriptor: AttributeDescriptor) -> bytes | DataAccessResult:
    if (
        descriptor.class_id != LOOKUP_CLASS
        or descriptor.instance_id != REGISTRATION_TABLE
        or descriptor.attribute_id != LOOKUP_ATTRIBUTE
    ):
        return DataAccessResult.OBJECT_UNDEFINED
    access = descriptor.access
    if access is None or access.selector != LOOKUP_SELECTOR:
        return DataAccessResult.TYPE_UNMATCHED
    title = access.parameters
    if not isinstance(title, (bytes, OctetString)) or len(title) != 8:
        return DataAccessResult.TYPE_UNMATCHED
    return bytes(title)


class LookupService:
    """The listener's side: answers lookups from the registry."""

    def __init__(self, registry: Registry, stats: ListenerStats | None = None) -> None:
        self.registry = registry
        self.stats = stats

    def result(self, descriptor: AttributeDescriptor) -> Any:
        title = _title_of(descriptor)
        if isinstance(title, DataAccessResult):
            return title
        binding = self.registry.lookup(title)
        if binding is None:
            return DataAccessResult.OBJECT_UNAVAILABLE
        return encode_binding(binding)

    def reply(self, datagram: bytes) -> bytes | None:
        """The answer datagram to a lookup datagram (None: not a lookup it answers)."""
        try:
            header, payload = wrapper.decode(datagram)
            request = A.decode(payload)
        except DlmsError:
            return None
        if isinstance(request, A.GetRequestNormal):
            response: A.Apdu = A.GetResponseNormal(
                self.result(request.descriptor), invoke_id=request.invoke_id, priority=request.priority
            )
        elif isinstance(request, A.GetRequestWithList):
            response = A.GetResponseWithList(
                tuple(self.result(d) for d in request.descriptors),
                invoke_id=request.invoke_id,
                priority=request.priority,
            )
        else:
            return None
        return wrapper.encode(header.destination_wport, header.source_wport, A.encode(response))

    async def answer(self, transport: Datagram, incoming: Incoming) -> None:
        answer = self.reply(incoming.data)
        if answer is None:
            if self.stats is not None:
                self.stats.malformed += 1
            return
        if self.stats is not None:
            self.stats.lookups += 1
        try:
            await transport.send(answer, incoming.source)
        except DlmsError:
            pass  # UDP owes the asker nothing; it asks again


def lookup_request(system_title: bytes, *, invoke_id: int = 1) -> bytes:
    """The GET-Request-Normal APDU asking for ``system_title``."""
    title = bytes(system_title)
    if len(title) != 8:
        raise ValueError(f"a system title is 8 octets, not {len(title)}")
    descriptor = AttributeDescriptor(
        LOOKUP_CLASS, REGISTRATION_TABLE, LOOKUP_ATTRIBUTE, SelectiveAccess(LOOKUP_SELECTOR, OctetString(title))
    )
    return A.encode(A.GetRequestNormal(descriptor, invoke_id=invoke_id))


async def lookup_binding(
    transport: Datagram,
    listener_address: tuple[str, int],
    system_title: bytes,
    *,
    timeout: float = 2.0,
    retries: int = 2,
    client_wport: int = LOOKUP_CLIENT_WPORT,
    max_strays: int = 64,
) -> RemoteBinding | None:
    """Ask the listener at ``listener_address`` where ``system_title`` is:
    its binding, or None when the registry does not know the title.

    ``transport`` should be the caller's own endpoint: datagrams that are not
    the answer are read and dropped (at most ``max_strays`` per attempt).
    Sends at most ``retries`` + 1 times, waiting ``timeout / (retries + 1)``
    seconds each; :class:`~dlmsmesh.errors.DlmsTimeout` when no answer came.
    """
    if not timeout > 0 or retries < 0:
        raise ValueError("timeout is > 0 seconds and retries >= 0")
    target = as_address(listener_address)
    invoke_id = next(_invoke_ids) % 16
    datagram = wrapper.encode(client_wport, LOOKUP_WPORT, lookup_request(system_title, invoke_id=invoke_id))
    wait = timeout / (retries + 1)
    for _ in range(retries + 1):
        await transport.send(datagram, target)
        deadline = time.monotonic() + wait
        for _ in range(max_strays):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                data, source = await transport.recv(timeout=left)
            except DlmsTimeout:
                break
            answer = _answer(data, source, target, client_wport, invoke_id)
            if answer is _NOT_OURS:
                continue
            if isinstance(answer, DataAccessResult):
                if answer is DataAccessResult.OBJECT_UNAVAILABLE:
                    return None
                raise DlmsError(f"the listener refused the lookup: {answer.name.lower().replace('_', '-')}")
            return decode_binding(answer)
    raise DlmsTimeout(f"no lookup answer from {target.host} port {target.port} within {timeout} s")


_NOT_OURS: Any = object()


def _answer(data: bytes, source: Address, target: Address, wport: int, invoke_id: int) -> Any:
    if as_address(source) != target:
        return _NOT_OURS
    try:
        header, payload = wrapper.decode(data)
        response = A.decode(payload)
    except DlmsError:
        return _NOT_OURS
    if (
        header.destination_wport != wport
        or header.source_wport != LOOKUP_WPORT
        or not isinstance(response, A.GetResponseNormal)
        or response.invoke_id != invoke_id
    ):
        return _NOT_OURS
    return response.result


async def lookup_address(
    transport: Datagram,
    listener_address: tuple[str, int],
    system_title: bytes,
    *,
    timeout: float = 2.0,
    retries: int = 2,
) -> Address | None:
    """The meter's preferred address and port, asked of the listener at
    ``listener_address`` (None: unknown title, or quarantined: no verified
    address); see :func:`lookup_binding`."""
    binding = await lookup_binding(transport, listener_address, system_title, timeout=timeout, retries=retries)
    if binding is None or binding.status is not Status.REGISTERED:
        return None
    return binding.address


class RemoteResolver:
    """A Client's :class:`~dlmsmesh.client.AddressResolver` in another
    head-end process: it asks the listener at ``listener_address`` over
    ``transport`` (its own endpoint), one lookup at a time (two at once on
    one endpoint would read each other's answers), and keeps each answer
    ``ttl`` seconds, since the Client asks on every send.  ``title_of`` knows
    only the titles it resolved (a lookup goes by title, not by address)."""

    def __init__(
        self, transport: Datagram, listener_address: tuple[str, int], *, timeout: float = 2.0, ttl: float = 5.0
    ) -> None:
        self.transport = transport
        self.listener_address = as_address(listener_address)
        self.timeout = float(timeout)
        self.ttl = float(ttl)
        self._lock = asyncio.Lock()
        self._cache: dict[bytes, tuple[float, Address | None]] = {}

    async def resolve(self, system_title: bytes) -> Address:
        title = bytes(system_title)
        hit = self._cache.get(title)
        if hit is None or time.monotonic() - hit[0] >= self.ttl:
            async with self._lock:
                hit = self._cache.get(title)
                if hit is None or time.monotonic() - hit[0] >= self.ttl:
                    where = await lookup_address(self.transport, self.listener_address, title, timeout=self.timeout)
                    hit = self._cache[title] = (time.monotonic(), where)
        if hit[1] is None:
            raise NoAddress(title)
        return hit[1]

    async def title_of(self, address: Address) -> bytes | None:
        wanted = Address(normalize_host(address.host), address.port)
        for title, (_, where) in self._cache.items():
            if where is not None and Address(normalize_host(where.host), where.port) == wanted:
                return title
        return None

    def forget(self, system_title: bytes | None = None) -> None:
        """Ask again next time (one title, or every one)."""
        if system_title is None:
            self._cache.clear()
        else:
            self._cache.pop(bytes(system_title), None)
