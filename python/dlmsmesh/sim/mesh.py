"""A neighbourhood mesh inside one process: every datagram as real 6LoWPAN
frames over radio hops under border routers, on the network's clock.

:class:`MeshNetwork` is an :class:`~dlmsmesh.transport.InProcessNetwork`
(same endpoints, aliases, groups, receive queues and virtual clock) whose
datagrams travel a topology:

- a host :meth:`~MeshNetwork.place`-d is a meter ``hops`` radio hops under
  border router ``border_router``; any other host is on the backhaul (the
  head-end: wired, behind every border router, no airtime);
- backhaul -> meter: the border router, then ``hops`` radio hops down;
  meter -> backhaul: up; meter -> meter: up to the source's border router
  and down again (through the backhaul when the two border routers differ),
  as RPL's non-storing mode routes;
- on the radio a datagram is the IPv6/UDP datagram built from the real
  addresses and ports, IPHC + NHC-UDP compressed and fragmented to the
  frame size by :mod:`dlmsmesh.lowpan`; the receiver reassembles and
  decompresses the frames and delivers the UDP payload they carry;
- per hop: ``hop_delay`` of routing, then each frame's airtime on the
  border router's one channel, behind the frames queued before it (a
  border router's hops share a single channel); each frame is lost on
  each hop with probability ``loss``, and a lost frame loses its datagram;
- a multicast datagram from the backhaul floods every border router's
  tree level by level, MPL-like: each level costs the frames once; a member
  hears it when the flood reaches its level.

The frames are compressed as on the hop next to the meter (its IID elided
against its EUI-64 link address; the far end carried inline or by
context), and counted alike on every hop: a route-over forwarder's
re-compression and RPL's source-routing header are not modelled.  A meter's
link address is its IID with the universal/local bit inverted.  The /64
prefixes of placed hosts and of backhaul endpoints become IPHC contexts
(the first 16), as a border router distributes them.

Deterministic from ``seed``: one ``random.Random`` draws every loss, and
timers due at one instant fire in the order they were set.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from dlmsmesh import _backend, ipv6
from dlmsmesh.errors import DecodeError, EncodeError
from dlmsmesh.lowpan import ContextTable, LinkPairs, Reassembler, decode_frame, fragment
from dlmsmesh.lowpan.iphc import decompress_raw
from dlmsmesh.sim.air import BorderRouterAir, MeshStats, Radio, uncompressed_frame_sizes
from dlmsmesh.transport.clock import Clock
from dlmsmesh.transport.inprocess import InProcessEndpoint, InProcessNetwork, LinkProfile, _is_multicast
from dlmsmesh.transport.interface import Address, normalize_host

__all__ = ["MeshNetwork", "Placement", "MeshEndpoint", "BACKHAUL_DELAY"]

#: what a mesh endpoint is (the in-process one, carried differently)
MeshEndpoint = InProcessEndpoint

_BACKHAUL = -1
#: link-layer broadcast (the 802.15.4 short address 0xffff), a multicast's MAC destination
_BROADCAST = b"\xff\xff"
#: prefix of the IPv6 addresses made up for hosts that are not IPv6 addresses
_NAMED_PREFIX = ipaddress.IPv6Address("fd00:5e:1::")
#: seconds each way between the head-end and a border router's radio (the
#: wire, and the border router's and the meter's own processing): with it,
#: round trips of a small datagram come within 20% of Texas Instruments'
#: published Wi-SUN figures (373, 471, 574, 760, 899 ms at 1-5 hops)
BACKHAUL_DELAY = 0.1
_MAX_CONTEXTS = 16
_MAX_TAG = 0xFFFF
#: routes remembered before the memo starts again
_MAX_ROUTES = 1 << 17
_PORTS = struct.Struct(">HH")
_LENGTH = struct.Struct(">H")
#: the fewest header bytes IPHC + NHC-UDP leave with the checksum inline
_MIN_COMPRESSED = 5
_IP_FIRST = b"\x60\x00\x00\x00"  # version 6, traffic class 0, flow label 0


@dataclass(frozen=True)
class Placement:
    """Where a meter is: ``hops`` radio hops under border router ``border_router``."""

    border_router: int
    hops: int


class _Host:
    """What the frames need to know of one host, worked out once."""

    __slots__ = ("ip", "link", "placement")

    def __init__(self, ip: ipaddress.IPv6Address, link: bytes, placement: Placement | None) -> None:
        self.ip = ip
        self.link = link
        self.placement = placement


class _Flight:
    """One datagram on its way: its frames and the steps left."""

    __slots__ = ("frames", "payload", "air", "hold", "wire", "uwire", "route", "index", "source", "target",
                 "sent_to", "flood")  # fmt: skip

    def __init__(self, frames: list[bytes], payload: bytes, route: _Route, source: Address, target: Address) -> None:
        self.frames = frames
        self.payload = payload
        self.route = route
        self.index = 0
        self.source = source
        self.target = self.sent_to = target
        self.flood = False
        # per frame: seconds on air and seconds the channel is held; filled by the network
        self.air: list[float] = []
        self.hold: list[float] = []
        self.wire = 0
        self.uwire = (0, 0)


class _Route:
    """What every datagram from one address to another shares, worked out once."""

    __slots__ = ("path", "ll_src", "ll_dst", "links", "src", "dst", "ip_tail", "ports")

    def __init__(self, src: _Host, dst: _Host, source_port: int, destination_port: int) -> None:
        self.path = _path(src.placement, dst.placement)
        self.ll_src = src.link
        self.ll_dst = _BROADCAST if dst.ip.is_multicast else dst.link
        self.links = LinkPairs.single(self.ll_src, self.ll_dst)
        self.src = src.ip.packed
        self.dst = dst.ip.packed
        # next header UDP, hop limit 64 (IPHC carries it in two bits), the addresses
        self.ip_tail = bytes((ipv6.NEXT_HEADER_UDP, 64)) + self.src + self.dst
        self.ports = _PORTS.pack(source_port, destination_port)


class MeshNetwork(InProcessNetwork):
    """The mesh of the module docstring.

    ``border_routers`` channels, numbered from 0; ``backhaul_delay`` seconds
    between the head-end side and a border router (and between two border
    routers); ``bucket`` seconds per bucket of the airtime series;
    ``contexts`` IPHC contexts to use instead of the hosts' prefixes.
    """

    stats: MeshStats

    def __init__(
        self,
        *,
        seed: int | str | bytes = 0,
        radio: Radio | None = None,
        border_routers: int = 1,
        clock: Clock | None = None,
        queue_size: int = 4096,
        backhaul_delay: float = BACKHAUL_DELAY,
        bucket: float = 60.0,
        contexts: ContextTable | None = None,
    ) -> None:
        if border_routers < 1:
            raise ValueError(f"a mesh has at least one border router, not {border_routers!r}")
        if not backhaul_delay >= 0:
            raise ValueError(f"backhaul_delay must be >= 0 seconds, not {backhaul_delay!r}")
        if not bucket > 0:
            raise ValueError(f"bucket must be > 0 seconds, not {bucket!r}")
        super().__init__(seed, link=LinkProfile(delay=backhaul_delay), clock=clock, queue_size=queue_size)
        self.radio = radio if radio is not None else Radio()
        self.border_routers = border_routers
        self.backhaul_delay = backhaul_delay
        self.stats = MeshStats(
            bucket_s=float(bucket), border_routers=[BorderRouterAir() for _ in range(border_routers)]
        )
        self._auto_contexts = contexts is None
        self.contexts = contexts if contexts is not None else ContextTable()
        self._placements: dict[str, Placement] = {}
        self._hosts: dict[str, _Host] = {}
        self._routes: dict[tuple[Address, Address], _Route] = {}
        self._unc: dict[int, tuple[int, int]] = {}
        self._named: dict[str, ipaddress.IPv6Address] = {}
        # the deepest placed meter under each border router: how far a flood goes
        self._depth = [0] * border_routers
        # when each border router's channel is free again
        self._busy = [0.0] * border_routers
        self._tag = 0
        self._reassembler = Reassembler(clock=self.clock.time)
        # the radio members of each multicast flight, until its flood starts
        self._members: dict[int, list[InProcessEndpoint]] = {}

    def snapshot(self) -> dict[str, Any]:
        """A copy of the counters (:meth:`MeshStats.snapshot`) and
        ``simulated_s``, the clock's time: a phase's figures are the
        :func:`~dlmsmesh.sim.snapshot_delta` of two."""
        out = self.stats.snapshot()
        out["simulated_s"] = self.clock.time()
        return out

    # -- topology --------------------------------------------------------

    def place(self, host: str, *, border_router: int, hops: int) -> None:
        """Put meter ``host`` ``hops`` radio hops under ``border_router``
        (again: it moves, for datagrams sent from now on)."""
        if not 0 <= border_router < self.border_routers:
            raise ValueError(f"border_router must be in 0..{self.border_routers - 1}, not {border_router!r}")
        if not isinstance(hops, int) or hops < 1:
            raise ValueError(f"a meter is at least one hop from its border router, not {hops!r}")
        name = normalize_host(host)
        if _is_multicast(name):
            raise ValueError(f"{host} is a multicast address, not a meter's")
        self._placements[name] = Placement(border_router, hops)
        self._depth[border_router] = max(self._depth[border_router], hops)
        self._hosts.pop(name, None)
        self._routes.clear()
        if self._auto_contexts:
            self._learn_prefix(self._ip_of(name))

    def endpoint(
        self, host: str, port: int = 0, *, aliases: Iterable[str] = (), queue_size: int | None = None
    ) -> InProcessEndpoint:
        """As :meth:`InProcessNetwork.endpoint`; a backhaul host's prefix
        becomes an IPHC context too (a border router can distribute the
        head-end's prefix), so its address costs its IID, not 16 bytes."""
        ep = super().endpoint(host, port, aliases=aliases, queue_size=queue_size)
        if self._auto_contexts:
            self._learn_prefix(self._ip_of(ep.local_address.host))
        return ep

    def placement(self, host: str) -> Placement | None:
        """Where ``host`` is, or None for a backhaul host."""
        return self._placements.get(normalize_host(host))

    @property
    def placements(self) -> dict[str, Placement]:
        """Every placed host (a copy)."""
        return dict(self._placements)

    def _learn_prefix(self, ip: ipaddress.IPv6Address) -> None:
        prefix = ipaddress.IPv6Network((int(ip) >> 64 << 64, 64))
        if ip.is_multicast or any(c.prefix == prefix for c in self.contexts) or len(self.contexts) >= _MAX_CONTEXTS:
            return
        self.contexts.set(len(self.contexts), prefix)

    def _ip_of(self, host: str) -> ipaddress.IPv6Address:
        try:
            ip = ipaddress.ip_address(host.partition("%")[0])
        except ValueError:
            ip = None
        if isinstance(ip, ipaddress.IPv6Address):
            return ip
        if isinstance(ip, ipaddress.IPv4Address):
            return ipaddress.IPv6Address(b"\x00" * 10 + b"\xff\xff" + ip.packed)
        named = self._named.get(host)
        if named is None:
            named = self._named[host] = _NAMED_PREFIX + len(self._named) + 1
        return named

    def _host(self, host: str) -> _Host:
        info = self._hosts.get(host)
        if info is None:
            ip = self._ip_of(host)
            placement = self._placements.get(host)
            if placement is not None:
                iid = ip.packed[8:]
                link = bytes((iid[0] ^ 0x02,)) + iid[1:]
            else:
                # a backhaul host is reached through a border router: its
                # address is not derived from any radio link address
                link = b"\x02\x00\x5e\xff\xfe\x00\xb0\x00"
            info = self._hosts[host] = _Host(ip, link, placement)
        return info

    # -- carrying datagrams ---------------------------------------------

    def _transmit(self, source: InProcessEndpoint, data: bytes, destination: Address, origin: Address) -> None:
        stats = self.stats
        stats.sent += 1
        stats.datagrams += 1
        if _is_multicast(destination.host):
            stats.multicast_datagrams += 1
            self._multicast(source, data, destination, origin)
            return
        route = self._route(origin, destination)
        if not route.path:
            self._schedule(origin, data, destination, destination)
            return
        flight = self._flight(data, origin, destination, route)
        if flight is not None:
            self._next(flight, self.clock.time())

    def _route(self, origin: Address, destination: Address) -> _Route:
        key = (origin, destination)
        route = self._routes.get(key)
        if route is None:
            if len(self._routes) >= _MAX_ROUTES:
                self._routes.clear()
            route = _Route(self._host(origin.host), self._host(destination.host), origin.port, destination.port)
            self._routes[key] = route
        return route

    def _flight(self, data: bytes, origin: Address, destination: Address, route: _Route) -> _Flight | None:
        """The frames of one datagram, ready to fly (None: too large for 6LoWPAN)."""
        length = ipv6.UDP_HEADER_LENGTH + len(data)
        if length > 0xFFFF:
            self._too_large()
            return None
        size = _LENGTH.pack(length)
        check = _backend.live.checksum.udp_checksum(route.src, route.dst, b"".join((route.ports, size, b"\0\0", data)))
        datagram = b"".join((_IP_FIRST, size, route.ip_tail, route.ports, size, _LENGTH.pack(check), data))
        mtu = self.radio.mtu
        frames: list[bytes] | None = None
        if len(data) + _MIN_COMPRESSED <= mtu:
            # most datagrams fit one frame: compressed alone with the route's
            # link addresses, packed once (the fragmenter packs them per call)
            frame = _backend.live.iphc.compress_one(datagram, route.links, self.contexts, 0)[0]
            if len(frame) <= mtu:
                frames = [frame]
        if frames is None:
            try:
                frames = fragment(datagram, mtu=mtu, tag=self._tag, ll_src=route.ll_src, ll_dst=route.ll_dst,
                                  contexts=self.contexts)  # fmt: skip
            except EncodeError:
                self._too_large()
                return None
        if len(frames) > 1:
            self._tag = (self._tag + 1) & _MAX_TAG
        flight = _Flight(frames, data, route, origin, destination)
        radio = self.radio
        mac = radio.mac_overhead
        rate = radio.bytes_per_second
        share = radio.unicast_capacity
        flight.air = air = [(len(f) + mac) / rate for f in frames]
        flight.hold = [a / share for a in air]
        flight.wire = sum(map(len, frames)) + mac * len(frames)
        uwire = self._unc.get(len(datagram))
        if uwire is None:
            sizes = uncompressed_frame_sizes(len(datagram), radio.mtu)
            uwire = self._unc[len(datagram)] = (len(sizes), sum(sizes) + mac * len(sizes))
        flight.uwire = uwire
        self.stats.fragments += len(frames)
        return flight

    def _too_large(self) -> None:
        # over 2047 bytes: 6LoWPAN fragmentation cannot carry it
        self.stats.lost += 1
        self.stats.lost_datagrams += 1

    def _at(self, when: float, callback: Any, *args: Any) -> None:
        clock = self.clock
        clock.call_later(when - clock.time(), callback, *args)

    def _next(self, flight: _Flight, when: float) -> None:
        """Send ``flight`` on from its current step at ``when``."""
        path = flight.route.path
        while flight.index < len(path):
            if path[flight.index] == _BACKHAUL:
                when += self.backhaul_delay
                flight.index += 1
                continue
            self._at(when + self.radio.hop_delay, self._hop, flight)
            return
        self._at(when, self._land, flight)

    def _send_frames(self, router: int, flight: _Flight, repeats: list[int] | None = None) -> float:
        """Put the flight's frames on ``router``'s channel from now (frame
        ``i`` sent ``1 + repeats[i]`` times); returns when the last one has
        been received."""
        now = self.clock.time()
        busy = self._busy[router]
        air = self.stats.border_routers[router]
        bucket = self.stats.bucket_s
        stats = self.stats
        end = now
        count = len(flight.frames)
        wire = flight.wire
        for i, (seconds, hold) in enumerate(zip(flight.air, flight.hold)):
            sends = 1
            if repeats is not None and repeats[i]:
                sends += repeats[i]
                count += repeats[i]
                wire += repeats[i] * (len(flight.frames[i]) + self.radio.mac_overhead)
            for _ in range(sends):
                start = busy if busy > end else end
                busy = start + hold
                end = start + seconds
                air.airtime_s += seconds
                slot = int(start // bucket)
                air.series[slot] = air.series.get(slot, 0.0) + seconds
        self._busy[router] = busy
        air.frames += count
        air.bytes_on_air += wire
        stats.frames += count
        stats.bytes_on_air += wire
        # a retransmission would repeat the same bytes without IPHC too
        stats.frames_uncompressed += flight.uwire[0] + count - len(flight.frames)
        stats.bytes_uncompressed += flight.uwire[1] + wire - flight.wire
        return end

    def _hop(self, flight: _Flight) -> None:
        router = flight.route.path[flight.index]
        loss = self.radio.loss
        if not loss:
            end = self._send_frames(router, flight)
        else:
            # every frame is sent, and tried again up to mac_retries times,
            # even after one of the datagram's frames was given up
            rng = self.rng
            retries = self.radio.mac_retries
            repeats: list[int] | None = None
            failed = 0
            dead = False
            for i in range(len(flight.frames)):
                tries = 0
                while rng.random() < loss:
                    failed += 1
                    if tries == retries:
                        dead = True
                        break
                    tries += 1
                if tries:
                    if repeats is None:
                        repeats = [0] * len(flight.frames)
                    repeats[i] = tries
            end = self._send_frames(router, flight, repeats)
            if failed:
                self.stats.lost_frames += failed
            if dead:
                self.stats.lost += 1
                self.stats.lost_datagrams += 1
                return
        flight.index += 1
        self._next(flight, end)

    def _land(self, flight: _Flight) -> None:
        if flight.flood:
            self._flood(flight)
            return
        payload = self._read_frames(flight)
        if payload is not None:
            self._arrive(flight.source, payload, flight.target, flight.sent_to)

    def _read_frames(self, flight: _Flight) -> bytes | None:
        """The UDP payload the flight's frames carry, read back as a receiver
        does (reassembled, decompressed); None, counted, if it is not the
        payload sent."""
        frames = flight.frames
        route = flight.route
        try:
            if len(frames) == 1:
                datagram: bytes | None = decompress_raw(frames[0], route.links, self.contexts)[0]
            else:
                for frame in frames:
                    datagram = decode_frame(frame, ll_src=route.ll_src, ll_dst=route.ll_dst, contexts=self.contexts,
                                            reassembler=self._reassembler).datagram  # fmt: skip
        except DecodeError:
            datagram = None
        header = ipv6.IPV6_HEADER_LENGTH + ipv6.UDP_HEADER_LENGTH
        if datagram is None or datagram[header:] != flight.payload or datagram[8:40] != route.src + route.dst:
            self.stats.corrupt += 1
            return None
        return datagram[header:]

    # -- multicast -------------------------------------------------------

    def _multicast(self, source: InProcessEndpoint, data: bytes, destination: Address, origin: Address) -> None:
        members = [m for m in self._groups.get(destination.host, {}) if m is not source
                   and m.local_address.port == destination.port]  # fmt: skip
        if not members:
            return
        radio: list[InProcessEndpoint] = []
        for member in members:
            if self._member_level(member) is None:
                self._schedule(origin, data, member.local_address, destination)
            else:
                radio.append(member)
        if not radio:
            return
        flight = self._flight(data, origin, destination, self._route(origin, destination))
        if flight is None:
            return
        flight.flood = True
        self._members[id(flight)] = radio
        self._next(flight, self.clock.time())

    def _member_level(self, member: InProcessEndpoint) -> Placement | None:
        """Where the flood reaches ``member``: its own host's place, or for
        an endpoint on the backhaul that receives for placed meters (aliases)
        the deepest of theirs; None when it is wholly on the backhaul."""
        own = self._placements.get(member.local_address.host)
        if own is not None:
            return own
        deepest: Placement | None = None
        for address in member.addresses[1:]:
            placed = self._placements.get(address.host)
            if placed is not None and (deepest is None or placed.hops > deepest.hops):
                deepest = placed
        return deepest

    def _flood(self, flight: _Flight) -> None:
        members = self._members.pop(id(flight), [])
        payload = self._read_frames(flight)
        if payload is None:
            return
        by_router: dict[int, dict[int, list[tuple[InProcessEndpoint, bool]]]] = {}
        for member in members:
            level = self._member_level(member)
            if level is None:
                continue
            # an endpoint that is one meter can miss the flood; one that
            # receives for many through aliases hears it once for all of them
            lossy = member.local_address.host in self._placements
            by_router.setdefault(level.border_router, {}).setdefault(level.hops, []).append((member, lossy))
        for router in range(self.border_routers):
            if self._depth[router]:
                levels = by_router.get(router, {})
                self._at(
                    self.clock.time() + self.radio.hop_delay, self._flood_level, flight, payload, router, 1, levels
                )

    def _flood_level(
        self,
        flight: _Flight,
        payload: bytes,
        router: int,
        level: int,
        members: dict[int, list[tuple[InProcessEndpoint, bool]]],
    ) -> None:
        end = self._send_frames(router, flight)
        here = members.get(level)
        if here:
            survive = (1.0 - self.radio.loss) ** (len(flight.frames) * level)
            for member, lossy in here:
                if lossy and survive < 1.0 and self.rng.random() >= survive:
                    self.stats.lost_frames += 1
                    self.stats.lost += 1
                    self.stats.lost_datagrams += 1
                    continue
                self._at(end, self._arrive, flight.source, payload, member.local_address, flight.sent_to)
        if level < self._depth[router]:
            self._at(end + self.radio.hop_delay, self._flood_level, flight, payload, router, level + 1, members)


def _path(src: Placement | None, dst: Placement | None) -> tuple[int, ...]:
    """The steps between two places: a border router's index per radio hop,
    ``_BACKHAUL`` for the wire; empty between two backhaul hosts."""
    if src is None and dst is None:
        return ()
    steps: list[int] = []
    if src is not None:
        steps += [src.border_router] * src.hops
    steps.append(_BACKHAUL)
    if dst is not None:
        if src is not None and src.border_router == dst.border_router:
            steps.pop()  # up to the border router and down again: no wire
        steps += [dst.border_router] * dst.hops
    return tuple(steps)
