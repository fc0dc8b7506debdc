"""A simulated datagram network inside one process.

Every datagram goes through a link model (:class:`LinkProfile`: fixed delay
plus uniform jitter, loss, duplication, reordering) drawn from one
``random.Random(seed)`` (a simulation's dice, not for security), and is
delivered by a timer on the network's clock.  With the default
:class:`~dlmsmesh.transport.clock.VirtualClock` nothing moves until the
driver calls :meth:`InProcessNetwork.advance` or
:meth:`InProcessNetwork.run_until_idle`: thousands of meters run faster
than real time, and a run repeats exactly from its seed (as long as the
coroutines it drives are deterministic themselves).  With a
:class:`~dlmsmesh.transport.clock.RealClock` the same network runs on the
event loop's time.
"""

from __future__ import annotations

import functools
import ipaddress
import random
from collections.abc import Iterable
from dataclasses import dataclass

from dlmsmesh.transport._endpoint import InboxEndpoint
from dlmsmesh.transport._inbox import Inbox
from dlmsmesh.transport.clock import Clock, VirtualClock
from dlmsmesh.transport.interface import (
    MAX_DATAGRAM,
    Address,
    AddressError,
    TransportClosed,
    TransportError,
    as_address,
    normalize_host,
)

__all__ = ["LinkProfile", "NetworkStats", "InProcessNetwork", "InProcessEndpoint"]

_EPHEMERAL_FIRST = 49152  # IANA dynamic/private range, as an OS would pick


@dataclass(frozen=True)
class LinkProfile:
    """How one direction of a link treats a datagram.

    ``delay`` + uniform [0, ``jitter``) seconds in flight; lost with
    probability ``loss``; otherwise delivered twice with probability
    ``duplicate`` (each copy with its own delay); each copy held back a
    further ``reorder_delay`` seconds with probability ``reorder``, so that
    datagrams sent after it overtake it.
    """

    delay: float = 0.0
    jitter: float = 0.0
    loss: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    reorder_delay: float = 0.05

    def __post_init__(self) -> None:
        for name in ("delay", "jitter", "reorder_delay"):
            value = getattr(self, name)
            if not value >= 0:
                raise ValueError(f"LinkProfile.{name} must be >= 0 seconds, not {value!r}")
        for name in ("loss", "duplicate", "reorder"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"LinkProfile.{name} is a probability 0..1, not {value!r}")


@dataclass
class NetworkStats:
    """Counts over the network's life (copies: a duplicate counts once more in ``delivered``)."""

    sent: int = 0
    lost: int = 0
    duplicated: int = 0
    reordered: int = 0
    delivered: int = 0
    dropped: int = 0  # arrived at a full receive queue
    unroutable: int = 0  # no open endpoint at the address when it arrived


@functools.lru_cache(maxsize=1 << 16)
def _is_multicast(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_multicast
    except ValueError:
        return False


class InProcessNetwork:
    """Endpoints joined by modelled links; see the module docstring.

    ``link`` is the profile of every link without its own
    (:meth:`set_link`); ``queue_size`` the default receive queue bound.
    """

    def __init__(
        self,
        seed: int | str | bytes = 0,
        *,
        link: LinkProfile | None = None,
        clock: Clock | None = None,
        queue_size: int = 4096,
    ) -> None:
        self.seed = seed
        self.rng = random.Random(seed)  # noqa: S311 - simulation, not security
        self.clock: Clock = clock if clock is not None else VirtualClock()
        self.default_link = link if link is not None else LinkProfile()
        self.queue_size = queue_size
        self.stats = NetworkStats()
        self._links: dict[tuple[str, str], LinkProfile] = {}
        self._endpoints: dict[Address, InProcessEndpoint] = {}
        # group host -> members in join order (a dict is an ordered set): the
        # order copies are scheduled in must not depend on hashing
        self._groups: dict[str, dict[InProcessEndpoint, None]] = {}
        self._next_port: dict[str, int] = {}

    # -- topology --------------------------------------------------------

    def set_link(self, source: str, destination: str, profile: LinkProfile, *, both_ways: bool = True) -> None:
        """Give the link ``source`` -> ``destination`` (hosts) its own profile."""
        a, b = normalize_host(source), normalize_host(destination)
        self._links[(a, b)] = profile
        if both_ways:
            self._links[(b, a)] = profile

    def link(self, source: str, destination: str) -> LinkProfile:
        return self._links.get((normalize_host(source), normalize_host(destination)), self.default_link)

    def endpoint(
        self, host: str, port: int = 0, *, aliases: Iterable[str] = (), queue_size: int | None = None
    ) -> InProcessEndpoint:
        """Open an endpoint at (``host``, ``port``); port 0 picks a free one.

        ``aliases`` are more hosts the endpoint receives on at the same port
        (``Incoming.destination`` tells which): one endpoint, one queue and
        one receiving task for many simulated meters.  It sends from ``host``.
        """
        local = as_address((host, port))
        if local.port == 0:
            local = Address(local.host, self._free_port(local.host))
        bound = [local, *(as_address((alias, local.port)) for alias in aliases)]
        for address in bound:
            if _is_multicast(address.host):
                raise AddressError(f"cannot bind to multicast address {address.host}: join the group instead")
            if address in self._endpoints:
                raise TransportError(f"address in use: {address.host} port {address.port}")
        if len(set(bound)) != len(bound):
            raise AddressError("an alias repeats an address of the endpoint")
        ep = InProcessEndpoint(self, local, self.queue_size if queue_size is None else queue_size)
        ep._bound = tuple(bound)
        ep._bound_set = frozenset(bound)
        for address in bound:
            self._endpoints[address] = ep
        return ep

    def _free_port(self, host: str) -> int:
        port = self._next_port.get(host, _EPHEMERAL_FIRST)
        for _ in range(0x10000 - _EPHEMERAL_FIRST):
            if Address(host, port) not in self._endpoints:
                self._next_port[host] = port + 1 if port < 0xFFFF else _EPHEMERAL_FIRST
                return port
            port = port + 1 if port < 0xFFFF else _EPHEMERAL_FIRST
        raise TransportError(f"no free port left on {host}")

    # -- time ------------------------------------------------------------

    def _virtual(self) -> VirtualClock:
        if not isinstance(self.clock, VirtualClock):
            raise TypeError("only a network on a VirtualClock is advanced by hand")
        return self.clock

    async def advance(self, seconds: float) -> int:
        """Advance the virtual clock, delivering what falls due; returns the events fired."""
        return await self._virtual().advance(seconds)

    async def run_until_idle(self) -> int:
        """Deliver everything in flight and fire every timer (receive timeouts too)."""
        return await self._virtual().run_until_idle()

    # -- carrying datagrams ---------------------------------------------

    def _transmit(self, source: InProcessEndpoint, data: bytes, destination: Address, origin: Address) -> None:
        self.stats.sent += 1
        if _is_multicast(destination.host):
            members = self._groups.get(destination.host, {})
            for member in list(members):
                if member is not source and member.local_address.port == destination.port:
                    self._schedule(origin, data, member.local_address, destination)
        else:
            self._schedule(origin, data, destination, destination)

    def _schedule(self, source: Address, data: bytes, target: Address, sent_to: Address) -> None:
        profile = self.link(source.host, target.host)
        rng = self.rng
        if profile.loss and rng.random() < profile.loss:
            self.stats.lost += 1
            return
        copies = 1
        if profile.duplicate and rng.random() < profile.duplicate:
            copies = 2
            self.stats.duplicated += 1
        for _ in range(copies):
            delay = profile.delay
            if profile.jitter:
                delay += rng.random() * profile.jitter
            if profile.reorder and rng.random() < profile.reorder:
                delay += profile.reorder_delay
                self.stats.reordered += 1
            self.clock.call_later(delay, self._arrive, source, data, target, sent_to)

    def _arrive(self, source: Address, data: bytes, target: Address, sent_to: Address) -> None:
        ep = self._endpoints.get(target)
        if ep is None or (sent_to != target and sent_to.host not in ep._groups):
            self.stats.unroutable += 1  # closed, or left the group while the datagram flew
            return
        if ep._inbox.put(data, source, sent_to):
            self.stats.delivered += 1
        else:
            self.stats.dropped += 1

    def _forget(self, ep: InProcessEndpoint) -> None:
        for address in ep._bound:
            if self._endpoints.get(address) is ep:
                del self._endpoints[address]
        for group in ep._groups:
            self._groups.get(group, {}).pop(ep, None)


class InProcessEndpoint(InboxEndpoint):
    """An endpoint of an :class:`InProcessNetwork` (a :class:`~dlmsmesh.transport.Datagram`)."""

    KIND = "InProcessEndpoint"

    def __init__(self, network: InProcessNetwork, local: Address, queue_size: int) -> None:
        super().__init__(local, Inbox(network.clock, queue_size, f"endpoint {local.host} {local.port}"))
        self.network = network
        self._groups: dict[str, None] = {}
        self._bound: tuple[Address, ...] = (local,)
        self._bound_set: frozenset[Address] = frozenset(self._bound)

    def owns(self, address: Address) -> bool:
        """Whether the endpoint receives on ``address`` (its own or an alias)."""
        return address in self._bound_set

    @property
    def addresses(self) -> tuple[Address, ...]:
        """Every address the endpoint receives on: its own, then its aliases."""
        return self._bound

    async def send(
        self, data: bytes | bytearray | memoryview, address: tuple[str, int], *, source: str | None = None
    ) -> None:
        """Send one datagram; ``source`` picks which of the endpoint's hosts
        (its own or an alias) it comes from, as a multi-homed host answers
        from the address it was asked at (default: its own host)."""
        if self._closed:
            raise TransportClosed(f"endpoint {self._local.host} {self._local.port} is closed")
        origin = self._local
        if source is not None:
            origin = Address(normalize_host(source), self._local.port)
            if origin not in self._bound_set:
                raise AddressError(f"{source} is not an address of this endpoint")
        peer = as_address(address)
        if peer.port == 0:
            raise AddressError("cannot send to port 0")
        if len(data) > MAX_DATAGRAM:
            raise TransportError(f"datagram of {len(data)} bytes exceeds the UDP maximum of {MAX_DATAGRAM}")
        self.sent += 1
        # a copy: the sender may reuse its buffer while the datagram flies
        self.network._transmit(self, bytes(data), peer, origin)

    def join_group(self, group: str) -> None:
        if self._closed:
            raise TransportClosed("endpoint is closed")
        host = normalize_host(group)
        if not _is_multicast(host):
            raise AddressError(f"{group} is not a multicast address")
        self._groups[host] = None
        self.network._groups.setdefault(host, {})[self] = None

    def leave_group(self, group: str) -> None:
        host = normalize_host(group)
        self._groups.pop(host, None)
        self.network._groups.get(host, {}).pop(self, None)

    def _release(self) -> None:
        self.network._forget(self)
