"""One simulation run: the neighbourhood, the head-end, and the phases in order.

The head-end (a :class:`~dlmsmesh.client.Client` whose resolver is the
:class:`~dlmsmesh.registration.Registry`, and a registration
:class:`~dlmsmesh.registration.listener.Listener`) sits on the backhaul; the
meters (one :class:`~dlmsmesh.server.Server` hosting every meter at its own
address) sit under their border routers, 1 to ``hops`` radio hops away.
Everything waits on the network's virtual clock, so the simulated hours of a
daily read take seconds; every random choice comes from the seed.  On the
``udp`` transport (:mod:`.udp`) the same phases run over real sockets on
loopback, each meter at its own address, on the wall clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import hashlib
import ipaddress
import random
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..client import Association, Client, NoAddress
from ..errors import DlmsError
from ..registration import Registry, Status
from ..registration.announcer import Announcer
from ..registration.keys_file import KeyEntry, keyring_of
from ..registration.listener import Listener, RegistryCounterStore
from ..security.keywrap import KeyId, wrap_key
from ..server import Server
from ..transport import Address, InProcessNetwork, LinkProfile, UdpHosts
from ..transport.interface import normalize_host
from ..types import Array, Enum, OctetString, Structure
from .config import THRESHOLDS, SimConfig
from .meters import AK, BK, CLOCK, EXPORT, GROUP, IMPORT, LDN, PROFILE, SIM_START, MeterFactory, meter_keys, title_of
from .phases import Attempt, PhaseResult, by_hops, difference

__all__ = ["Simulation", "Report", "simulate", "HEAD_END", "PHASES"]

HEAD_END = bytes.fromhex("4845530000000001")
PHASES = ("join", "associate", "read", "migrate", "broadcast", "key_change", "release")
CLIENT_HOST, LISTENER_HOST, SERVER_HOST = "fd00::2", "fd00::10", "fd00::1"
PORT, LISTENER_PORT = 4059, 61616
_KEY_TRANSFER = (64, "0.0.43.0.0.255", 2)
#: routing and forwarding per hop (seconds), the in-process transport's model
_HOP_DELAY = 0.045
#: how far the virtual clock moves per turn of the drive (seconds)
_STEP = 0.25
#: a phase that has not finished after this long (simulated) is cut short
_PHASE_LIMIT = 6 * 3600.0
#: a meter repeats its registration this many times, this far apart (seconds)
_REPEATS, _REPEAT_DELAY = 3, 20
#: the same on the udp transport, whose seconds are real
_UDP_STEP, _UDP_PHASE_LIMIT, _UDP_REPEAT_DELAY = 0.05, 300.0, 2
#: meters served at once per border router on the udp transport (loopback has no shared channel)
_UDP_PER_ROUTER = 32
#: a request's retries: a head-end on a lossy mesh asks more often than on a wire
_CLIENT_RETRIES = 6
#: meters served at once per border router: the head-end paces itself, as a
#: radio channel shared by a border router's meters carries one frame at a time
PER_ROUTER = 8
#: a phase's passes over the meters that failed (the first included)
PASSES = 3

Progress = Callable[[str, int, int], None]


@dataclass
class Report:
    config: SimConfig
    phases: list[PhaseResult]
    wall_s: float
    simulated_s: float
    peak_rss_mb: float | None = None
    hops: dict[int, list[float]] = field(default_factory=dict)
    airtime_series: list[list[tuple[float, float]]] = field(default_factory=list)
    #: the network's counters over the whole run (the phases' rows add up to these)
    totals: dict[str, int] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(p.passed for p in self.phases)

    def as_dict(self) -> dict[str, Any]:
        c = self.config
        return {
            "meters": c.meters,
            "seed": c.seed,
            "transport": c.transport,
            "wall_s": round(self.wall_s, 3),
            "simulated_s": round(self.simulated_s, 3),
            # udp: the phases ran on the wall clock, simulated_s is real time
            "clock": "wall" if c.wall_clock else "virtual",
            "border_routers": c.border_routers,
            "hops": c.hops,
            "loss": c.loss,
            "phy_kbps": c.phy_kbps,
            "frame_size": c.frame_size,
            "mac_retries": c.mac_retries,
            "peak_rss_mb": None if self.peak_rss_mb is None else round(self.peak_rss_mb, 1),
            "passed": self.passed,
            "totals": dict(self.totals),
            "phases": [p.as_dict() for p in self.phases],
        }


class _Resolver:
    """The Registry as the client's resolver, read on the event loop: the
    Registry's own resolve reads an uncached binding in a worker thread,
    whose real milliseconds are many virtual seconds of the drive."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    async def resolve(self, system_title: bytes) -> Any:
        binding = self.registry.lookup(system_title)
        if binding is None or binding.status is not Status.REGISTERED or not binding.addresses:
            raise NoAddress(bytes(system_title))
        return Address(binding.addresses[0], binding.port)

    async def title_of(self, address: Address) -> bytes | None:
        return None  # a moved meter is known by the system title its frames carry

    def members(self, group_id: int) -> Any:
        return self.registry.members(group_id)


def _mesh_host(border_router: int, index: int, generation: int) -> str:
    # one /64 per border router: the client's in-flight cap counts per /64
    # (RFC 5952 text, as the registry and the transports give it back)
    return str(ipaddress.IPv6Address(f"fd00:0:0:{border_router + 1:x}:{generation + 1:x}::{index + 1:x}"))


def _pick(rng: random.Random, count: int, share: float) -> list[int]:
    """``share`` of the meters, drawn (so they are spread over the border routers)."""
    return sorted(rng.sample(range(count), round(count * share)))


class Simulation:
    """Builds the world of one run and runs its phases (:meth:`run`)."""

    def __init__(self, config: SimConfig, *, progress: Progress | None = None, workdir: Path | None = None) -> None:
        self.config = config
        self.progress = progress
        self.workdir = workdir
        rng = random.Random(hashlib.sha256(b"placement %d" % config.seed).digest())
        self.router = [i % config.border_routers for i in range(config.meters)]
        self.hops = [rng.randint(1, config.hops) for _ in range(config.meters)]
        self.moving = _pick(rng, config.meters, config.migrate_share)
        self.rekeyed = _pick(rng, config.meters, config.key_change_share)
        self.network: Any = None
        self._watches: list[Callable[[], None]] = []
        self._total = 0

    # ------------------------------------------------------------- the network

    def _host(self, index: int, generation: int) -> str:
        """Meter ``index``'s address: where it joins (generation 0), where it moves (1)."""
        if self.config.wall_clock:
            from .udp import meter_host

            return meter_host(index, generation)
        return _mesh_host(self.router[index], index, generation)

    def _make_network(self) -> Any:
        c = self.config
        if c.transport == "udp":
            from .udp import LoopbackNetwork

            return LoopbackNetwork()
        if c.transport == "mesh":
            from .air import Radio
            from .mesh import MeshNetwork

            radio = Radio(phy_kbps=c.phy_kbps, frame_size=c.frame_size, loss=c.loss, mac_retries=c.mac_retries)
            mesh = MeshNetwork(seed=c.seed, radio=radio, border_routers=c.border_routers)
            for i in range(c.meters):
                mesh.place(_mesh_host(self.router[i], i, 0), border_router=self.router[i], hops=self.hops[i])
                if i in self._moving:
                    mesh.place(_mesh_host(self.router[i], i, 1), border_router=self.router[i], hops=self.hops[i])
            return mesh
        net = InProcessNetwork(seed=c.seed)
        # a whole datagram per hop: routing plus one full frame's airtime
        per_hop = _HOP_DELAY + c.frame_size * 8 / (c.phy_kbps * 1000)
        for i in range(c.meters):
            # a frame is lost on a hop when every one of its MAC transmissions is
            link = LinkProfile(
                delay=self.hops[i] * per_hop, loss=1 - (1 - c.loss ** (1 + c.mac_retries)) ** self.hops[i]
            )
            hosts = [_mesh_host(self.router[i], i, 0)] + (
                [_mesh_host(self.router[i], i, 1)] if i in self._moving else []
            )
            for host in hosts:
                for head_end in (CLIENT_HOST, LISTENER_HOST):
                    net.set_link(host, head_end, link)
        return net

    def _snapshot(self) -> dict[str, Any]:
        snap = getattr(self.network, "snapshot", None)
        if snap is not None:
            out: dict[str, Any] = dict(snap())
            return out
        stats = self.network.stats
        return {"datagrams": stats.sent, "lost_datagrams": stats.lost}

    @staticmethod
    def _airtime(snapshot: dict[str, Any]) -> list[float]:
        return [float(r["airtime_s"]) for r in snapshot.get("border_routers") or []]

    @staticmethod
    def _series(snapshot: dict[str, Any]) -> list[list[tuple[float, float]]]:
        """Each border router's airtime use per bucket of the run: (start s, share)."""
        bucket = float(snapshot.get("bucket_s") or 0.0)
        out: list[list[tuple[float, float]]] = []
        for r in snapshot.get("border_routers") or []:
            series = r.get("series", {}) if isinstance(r, dict) else {}
            out.append([(k * bucket, v / bucket) for k, v in sorted(series.items())] if bucket else [])
        return out

    async def _drive(self, work: Coroutine[Any, Any, Any]) -> Any:
        task = asyncio.get_running_loop().create_task(work)
        moved = 0.0
        wall = self.config.wall_clock
        step, limit = (_UDP_STEP, _UDP_PHASE_LIMIT) if wall else (_STEP, _PHASE_LIMIT)
        while not task.done():
            if moved > limit:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                raise TimeoutError(
                    f"a phase was not done after {limit:.0f} {'wall-clock' if wall else 'simulated'} seconds"
                )
            await self.network.advance(step)
            moved += step
            # the registry commits in a worker thread: its real milliseconds
            # would be many simulated seconds if the clock ran on meanwhile
            await self.listener.drain(timeout=60.0)
            # what waits on the registry looks now, when every registration
            # received so far is committed (not when the thread happened to finish)
            for watch in list(self._watches):
                watch()
        return task.result()

    async def _until(self, condition: Callable[[], bool]) -> None:
        """Return once ``condition()`` holds, asked between two turns of the drive."""
        done = asyncio.get_running_loop().create_future()

        def watch() -> None:
            if not done.done() and condition():
                done.set_result(None)

        self._watches.append(watch)
        try:
            await done
        finally:
            self._watches.remove(watch)

    def _time(self) -> float:
        """Seconds since the run's network started (its clock's, virtual or real)."""
        return float(self.network.clock.time()) - self._t0

    def _now(self) -> _dt.datetime:
        return SIM_START + _dt.timedelta(seconds=self._time())

    def _tick(self, phase: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(phase, done, total)

    # ------------------------------------------------------------------- run

    async def run(self) -> Report:
        started = time.perf_counter()
        self._moving = set(self.moving)
        self.network = self._make_network()
        self._t0 = 0.0
        self._t0 = self._time()
        c = self.config
        queue = 4 * c.meters + 1024
        titles = [title_of(i) for i in range(c.meters)]
        self.titles = titles
        self.index = {t: i for i, t in enumerate(titles)}
        hosts = [self._host(i, 0) for i in range(c.meters)]
        if c.wall_clock:
            # every meter its own loopback socket; a move opens the new one then
            meter_end = await self.network.hosts(hosts, queue_size=queue)
            port = meter_end.local_address.port
            listener_end = await self.network.endpoint(queue_size=queue)
            client_end = await self.network.endpoint(queue_size=queue)
            self.listener_address = listener_end.local_address
        else:
            aliases = hosts + [self._host(i, 1) for i in self.moving]
            port = PORT
            meter_end = self.network.endpoint(SERVER_HOST, PORT, aliases=aliases, queue_size=queue)
            listener_end = self.network.endpoint(LISTENER_HOST, LISTENER_PORT, queue_size=queue)
            client_end = self.network.endpoint(CLIENT_HOST, PORT, queue_size=queue)
            self.listener_address = Address(LISTENER_HOST, LISTENER_PORT)
        self.port = port
        factory = MeterFactory(c.seed, self._now, max_delay=c.broadcast_s, port=port)
        self.factory = factory
        meters = [factory.meter(i, hosts[i]) for i in range(c.meters)]
        self.meters = meters
        server = Server(meter_end, rng=random.Random(c.seed))
        server.add_meters(meters)
        self.server = server
        tmp = None
        if self.workdir is None:
            tmp = tempfile.TemporaryDirectory(prefix="dlmsmesh-sim-")
            workdir = Path(tmp.name)
        else:
            workdir = self.workdir
        registry = Registry.open(workdir / f"registry-{c.seed}.sqlite", synchronous="normal", staleness=24 * 3600.0)
        self.registry = registry
        keys = [meter_keys(c.seed, t) for t in titles]
        self.keys = {t: (k.ek or b"", k.ak or b"") for t, k in zip(titles, keys)}
        entries = [KeyEntry(t, k.ek or b"", k.ak or b"") for t, k in zip(titles, keys)]
        listener = Listener(
            listener_end,
            registry, keyring_of(entries, system_title=HEAD_END, counters=RegistryCounterStore(registry)),
            system_title=HEAD_END,
        )  # fmt: skip
        self.listener = listener
        client = Client(
            client_end, system_title=HEAD_END,
            resolver=_Resolver(registry), rng=random.Random(c.seed), associations_per_second=None, retries=_CLIENT_RETRIES,
        )  # fmt: skip
        self.client = client
        announcers = [
            Announcer(
                server,
                m,
                destination=self.listener_address,
                rng=random.Random(hashlib.sha256(b"join %d " % c.seed + m.system_title).digest()),
                randomisation_start_interval=int(c.join_s),
                number_of_retries=_REPEATS,
                repetition_delay=_UDP_REPEAT_DELAY if c.wall_clock else _REPEAT_DELAY,
            )
            for m in meters
        ]
        results: list[PhaseResult] = []
        first = self._snapshot()
        try:
            await listener.start()
            await server.start()
            await client.start()
            self.associations: dict[int, Association] = {}
            per_router = _UDP_PER_ROUTER if c.wall_clock else PER_ROUTER
            self._slots = [asyncio.Semaphore(per_router) for _ in range(c.border_routers)]
            steps: list[tuple[str, Callable[[PhaseResult], Coroutine[Any, Any, None]]]] = [
                ("join", lambda r: self._join(r, announcers)),
                ("associate", self._associate),
                ("read", self._read),
                ("migrate", self._migrate),
                ("broadcast", self._broadcast),
                ("key_change", self._key_change),
                ("release", self._release),
            ]
            for name, step in steps:
                result = PhaseResult(name, THRESHOLDS[name])
                before, retries, t0 = self._snapshot(), client.stats.retries, self._time()
                try:
                    await self._drive(step(result))
                except TimeoutError as exc:
                    result.extra["error"] = str(exc)
                after = self._snapshot()
                result.simulated_s = self._time() - t0
                result.retries += client.stats.retries - retries
                result.air = difference(after, before)
                result.airtime_s = [a - b for a, b in zip(self._airtime(after), self._airtime(before))]
                results.append(result)
            totals = difference(self._snapshot(), first)
            airtime_series = self._series(self._snapshot())
            end_time = self._time()
        finally:
            for a in announcers:
                await a.close()
            await client.close()
            await server.close()
            await listener.close()
            registry.close()
            if tmp is not None:
                tmp.cleanup()
        everything = [a for p in results if p.name in ("associate", "read") for a in p.attempts]
        return Report(
            c, results, time.perf_counter() - started, end_time, _peak_rss_mb(),
            by_hops(everything), airtime_series, totals,
        )  # fmt: skip

    # ---------------------------------------------------------------- phases

    def _attempt(self, result: PhaseResult, i: int, ok: bool, t0: float, t1: float | None = None) -> None:
        end = self._time() if t1 is None else t1
        result.attempts.append(Attempt(self.titles[i], ok, end - t0, self.hops[i]))
        self._tick(result.name, len(result.attempts), self._total)

    async def _join(self, result: PhaseResult, announcers: list[Announcer]) -> None:
        t0 = self._time()
        self._total = len(announcers)
        for a in announcers:
            await a.start()
        pending = set(range(len(announcers)))
        # the meters repeat their registration; past the window and the
        # repeats with room for the listener's commits, a missing one failed
        # (or, past that, once nothing new came for two minutes: a crowded
        # channel still carries what is queued)
        repeat = _UDP_REPEAT_DELAY if self.config.wall_clock else _REPEAT_DELAY
        give_up = t0 + self.config.join_s + (_REPEATS + 1) * repeat + (5 if self.config.wall_clock else 60)
        last = [t0]

        def registered() -> bool:
            now = self._time()
            for i in sorted(pending):
                binding = self.registry.lookup(self.titles[i])
                if binding is not None and binding.status is Status.REGISTERED:
                    pending.discard(i)
                    last[0] = now
                    self._attempt(result, i, True, t0, now)
            return not pending or now >= max(give_up, last[0] + (10.0 if self.config.wall_clock else 120.0))

        await self._until(registered)
        for i in sorted(pending):
            self._attempt(result, i, False, t0)
        # the head-end's group administration: every meter of the neighbourhood is in GROUP
        for i in range(len(announcers)):
            if i not in pending:
                self.registry.set_groups(self.titles[i], [GROUP.id])
        stats = self.listener.stats
        result.extra["registrations_received"] = stats.received

    async def _each(
        self, result: PhaseResult, indexes: list[int], one: Callable[[int], Awaitable[bool]], *, paced: bool = True
    ) -> None:
        """``one(i)`` for every meter at once (the client paces itself per
        border router), then again for those that failed, up to
        :data:`PASSES` passes: a head-end's retry pass.  A meter's latency is
        from its first try to its last."""
        self._total = len(indexes)
        first: dict[int, float] = {}
        last: dict[int, float] = {}
        outcome: dict[int, bool] = {}

        async def run(i: int) -> None:
            async with self._slots[self.router[i]] if paced else contextlib.nullcontext():
                await attempt(i)

        async def attempt(i: int) -> None:
            first.setdefault(i, self._time())
            try:
                outcome[i] = await one(i)
            except (DlmsError, asyncio.TimeoutError, OSError):
                outcome[i] = False
            last[i] = self._time()
            self._tick(result.name, len(outcome), self._total)

        todo = list(indexes)
        for n in range(PASSES):
            await asyncio.gather(*(run(i) for i in todo))
            if n == 0:
                result.extra["first_pass"] = sum(1 for i in indexes if outcome.get(i))
            todo = [i for i in todo if not outcome[i]]
            if not todo:
                break
        result.extra["passes"] = n + 1
        for i in indexes:
            result.attempts.append(Attempt(self.titles[i], outcome[i], last[i] - first[i], self.hops[i]))

    async def _associate(self, result: PhaseResult) -> None:
        registered = [i for i, t in enumerate(self.titles) if self.registry.lookup(t) is not None]

        async def one(i: int) -> bool:
            a = self.associations.get(i) or await self._open(i)
            value = await a.get(CLOCK)
            return len(bytes(value)) == 12

        await self._each(result, registered, one)

    async def _open(self, i: int) -> Association:
        ek, ak = self.keys[self.titles[i]]
        a = await self.client.open(self.titles[i], client_sap=1, auth="hls-gmac", security="authenc", ek=ek, ak=ak)
        self.associations[i] = a
        return a

    def _day(self) -> tuple[_dt.datetime, _dt.datetime]:
        today = self._now().replace(hour=0, minute=0, second=0, microsecond=0)
        start = today - _dt.timedelta(days=1)
        return start, start + _dt.timedelta(minutes=15 * 95)

    async def _read(self, result: PhaseResult) -> None:
        start, end = self._day()

        async def one(i: int) -> bool:
            a = self.associations[i]
            imp, exp = await a.get_many([(3, IMPORT, 2), (3, EXPORT, 2)])
            if isinstance(imp, Exception) or isinstance(exp, Exception):
                return False
            table = await a.profile(PROFILE, start, end)
            column = [int(v) for v in table[1]]
            return len(table) == 96 and column == self.factory.expected_day(i, start)

        await self._each(result, sorted(self.associations), one)
        result.extra["profile_rows"] = 96

    async def _migrate(self, result: PhaseResult) -> None:
        moving = [i for i in self.moving if i in self.associations]
        opened = self.client.stats.associations_opened

        async def one(i: int) -> bool:
            new = self._host(i, 1)
            old = self.meters[i].address
            endpoint = self.server.transport
            if isinstance(endpoint, UdpHosts):
                endpoint.add(new)  # the meter's new socket
            self.server.readdress(self.titles[i], new)  # the meter's Announcer sends the update
            if isinstance(endpoint, UdpHosts) and old is not None:
                endpoint.remove(old)  # nothing answers at the old address any more

            def recorded() -> bool:
                binding = self.registry.lookup(self.titles[i])
                return binding is not None and new in binding.addresses

            await self._until(recorded)
            a = self.associations[i]
            value = await a.get(CLOCK)
            return len(bytes(value)) == 12 and a.address is not None and a.address.host == normalize_host(new)

        await self._each(result, moving, one, paced=False)
        # the same associations: no AARQ went out in this phase
        result.extra["new_associations"] = self.client.stats.associations_opened - opened
        if result.extra["new_associations"]:
            result.attempts[:] = [Attempt(a.title, False, a.latency, a.hops) for a in result.attempts]

    async def _broadcast(self, result: PhaseResult) -> None:
        members = sorted(self.registry.members(GROUP.id))
        self._total = len(members)
        t0 = self._time()
        endpoint = self.server.transport
        if isinstance(endpoint, UdpHosts):
            # IPv6 multicast reaches no IPv4 socket (nor this loopback):
            # the head-end sends each member its copy (udp module text)
            window = self.config.broadcast_s + 2.0
            relay = endpoint.relay_port
            result.extra["delivery"] = "unicast relay"
        else:
            window = self.config.broadcast_s + 2 * self.config.hops * 1.0 + 2.0
            relay = None
            result.extra["delivery"] = "multicast"
        b = self.client.broadcast(GROUP, LDN, window=window, keys=self.keys, bk=BK, ak=AK, port=self.port,
                                  relay_port=relay)  # fmt: skip
        answered: dict[bytes, bool] = {}
        async for title, value in b:
            answered[bytes(title)] = not isinstance(value, Exception)
        summary = b.summary
        times = dict(summary.times)
        if relay is not None:
            result.extra["relayed_to"] = b.relayed
        for t in members:
            if t in answered:
                i = self.index[t]
                result.attempts.append(Attempt(t, answered[t], times.get(t, 0.0), self.hops[i]))
                self._tick(result.name, len(result.attempts), self._total)
        missing = [t for t in members if t not in answered]
        result.extra["answered_in_window"] = len(answered)
        result.extra["answer_times_s"] = sorted(round(v, 3) for v in times.values())
        result.extra["window_s"] = window
        if missing:
            result.retries += len(missing)
            reached: set[bytes] = set()
            todo = list(missing)
            for _ in range(PASSES):
                reached |= (await b.follow_up(pace=0.0, titles=todo)).reached
                todo = [t for t in todo if t not in reached]
                if not todo:
                    break
            for t in missing:
                i = self.index[t]
                result.attempts.append(Attempt(t, t in reached, self._time() - t0, self.hops[i]))
        result.extra["followed_up"] = len(missing)

    async def _key_change(self, result: PhaseResult) -> None:
        chosen = [i for i in self.rekeyed if i in self.associations]

        async def one(i: int) -> bool:
            title = self.titles[i]
            new = meter_keys(self.config.seed, title, 1)
            old = meter_keys(self.config.seed, title)
            assert old.kek is not None and new.ek is not None
            a = self.associations.get(i)
            if a is None:
                # a pass before failed half way: the meter took the new key or not
                self.keys[title] = (new.ek, AK)
                try:
                    return await self._read_clock(await self._open(i))
                except DlmsError:
                    self.keys[title] = (old.ek or b"", AK)
                    a = await self._open(i)
            wrapped = OctetString(wrap_key(old.kek, new.ek))
            try:
                await a.action(_KEY_TRANSFER, Array([Structure((Enum(int(KeyId.GLOBAL_UNICAST_ENCRYPTION)), wrapped))]))
            finally:
                # the association's context holds the old key: a new one with the new key
                await self.client.release(a)
                del self.associations[i]
            self.keys[title] = (new.ek, AK)
            return await self._read_clock(await self._open(i))

        await self._each(result, chosen, one)

    @staticmethod
    async def _read_clock(a: Association) -> bool:
        return len(bytes(await a.get(CLOCK))) == 12

    async def _release(self, result: PhaseResult) -> None:
        before = self.client.stats.associations_released
        indexes = sorted(self.associations)
        self._total = len(indexes)

        async def one(i: int) -> None:
            async with self._slots[self.router[i]]:
                t0 = self._time()
                await self.client.release(self.associations[i])
            result.attempts.append(Attempt(self.titles[i], True, self._time() - t0, self.hops[i]))
            self._tick(result.name, len(result.attempts), self._total)

        await asyncio.gather(*(one(i) for i in indexes))
        # a release that timed out is not counted by the client: mark as many failed
        confirmed = self.client.stats.associations_released - before
        unconfirmed = len(indexes) - confirmed
        if unconfirmed > 0:
            # the last to finish waited out their timeouts
            order = sorted(range(len(result.attempts)), key=lambda k: result.attempts[k].latency, reverse=True)
            for k in order[:unconfirmed]:
                a = result.attempts[k]
                result.attempts[k] = Attempt(a.title, False, a.latency, a.hops)
        self.associations.clear()


def _peak_rss_mb() -> float | None:
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Windows
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def simulate(config: SimConfig, *, progress: Progress | None = None) -> Report:
    """Run every phase on a fresh world and return the report."""
    return asyncio.run(Simulation(config, progress=progress).run())
