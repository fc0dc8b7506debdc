"""The Announcer's timing, on the in-process network's virtual clock: the
first send is uniform over [0, randomisation_start_interval] (tested with
fixed seeds), repeats come repetition_delay apart, every frame carries a new
invocation counter (also across a restart on a persistent counter store),
the sequence number grows by one per announcement, and retries carry a
neighbourhood through 20% loss."""

from __future__ import annotations

import asyncio
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dlmsmesh import pipeline, stack
from dlmsmesh.apdu_model import DataNotification
from dlmsmesh.cosem import MeterObjects, default_meter
from dlmsmesh.registration.announce import UPDATE_PUSH, Announcement, AnnouncementKind, from_notification
from dlmsmesh.registration.announcer import Announcer
from dlmsmesh.registration.keys_file import KeyEntry, keyring_of
from dlmsmesh.registration.neighbourhood import neighbourhood
from dlmsmesh.security import InvocationCounterStore, Keyring, MemoryCounterStore, SqliteCounterStore
from dlmsmesh.server import Meter, MeterKeys, Server
from dlmsmesh.transport import InProcessEndpoint, InProcessNetwork, LinkProfile

TITLE = bytes.fromhex("4D4D4D0000BC614E")
EK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
AK = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
HOME = "2001:db8:1::212:4b00:1:203"
MOVED = "2001:db8:2::212:4b00:1:203"
LINK_LOCAL = "fe80::212:4b00:1:203"
HEAD_END = ("2001:db8:ffff::10", 61616)
PORT = 61616
BOUND = 60  # real seconds any one test may take


@dataclass
class Heard:
    at: float  # virtual time of arrival (= of sending: links have no delay here)
    source: str
    destination_wport: int
    invocation_counter: int
    invoke_id: int
    announcement: Announcement


class Rig:
    """One meter with an Announcer on a server, and a head-end endpoint that
    records every announcement as it arrives (decoded with a Keyring)."""

    def __init__(
        self,
        seed: int = 1,
        *,
        counters: InvocationCounterStore | None = None,
        link: LinkProfile | None = None,
        ring: Keyring | None = None,
        objects: MeterObjects | None = None,
        **announcer: Any,
    ) -> None:
        self.net = InProcessNetwork(seed, link=link)
        self.server = Server(self.net.endpoint(HOME, PORT, aliases=[MOVED]))
        if objects is None:
            objects = default_meter(TITLE, addresses=[LINK_LOCAL, HOME])
        self.objects = objects
        self.meter = Meter.from_objects(
            objects, keys=MeterKeys(ek=EK, ak=AK), counters=counters or MemoryCounterStore(), address=HOME
        )
        self.server.add_meter(self.meter)
        self.head_end: InProcessEndpoint = self.net.endpoint(*HEAD_END)
        self.ring = ring if ring is not None else keyring_of([KeyEntry(TITLE, EK, AK)])
        announcer.setdefault("rng", random.Random(seed))
        self.announcer = Announcer(self.server, self.meter, destination=HEAD_END, **announcer)
        self.heard: list[Heard] = []
        self.other: list[Any] = []
        self._listener: asyncio.Task[None] | None = None

    async def _listen(self) -> None:
        for _ in range(100_000):
            data, source = await self.head_end.recv()
            received = stack.receive(data, "wrapper", security=self.ring)
            if not isinstance(received.apdu, DataNotification):
                self.other.append(received.apdu)
                continue
            assert received.wrapper is not None and received.security is not None
            assert received.security.system_title == TITLE
            self.heard.append(
                Heard(
                    self.net.clock.time(),
                    source.host,
                    received.wrapper.destination_wport,
                    received.security.invocation_counter or 0,
                    received.apdu.long_invoke_id,
                    from_notification(received.apdu),
                )
            )

    async def __aenter__(self) -> Rig:
        await self.server.start()
        self._listener = asyncio.get_running_loop().create_task(self._listen())
        await self.announcer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.announcer.close()
        await self.server.close()
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
        await self.head_end.close()

    async def advance(self, seconds: float) -> None:
        await self.net.advance(seconds)

    async def until_sent(self, count: int) -> None:
        """Advance until ``count`` frames went out (a store on disk reserves
        counters in a worker thread, which virtual time does not wait for)."""
        for _ in range(400):
            if len(self.heard) >= count:
                return
            await asyncio.sleep(0.005)
            await self.net.advance(5)
        raise AssertionError(f"{len(self.heard)} of {count} announcements heard")


def ks_uniform(samples: list[float], high: float) -> float:
    """The Kolmogorov-Smirnov distance of ``samples`` from U[0, high]."""
    xs = sorted(samples)
    n = len(xs)
    return max(max((i + 1) / n - x / high, x / high - i / n) for i, x in enumerate(xs))


@pytest.mark.asyncio
async def test_first_sends_are_uniform_over_the_randomisation_interval() -> None:
    n, interval = 600, 60
    async with asyncio.timeout(BOUND):
        hood = neighbourhood(n, seed=20261205, randomisation_start_interval=interval, number_of_retries=0)
        head_end = hood.network.endpoint(*hood.head_end, queue_size=10 * n)
        arrivals: dict[bytes, float] = {}
        ring = hood.keyring()

        async def listen() -> None:
            for _ in range(10 * n):
                data, _ = await head_end.recv()
                received = stack.receive(data, "wrapper", security=ring)
                assert received.apdu is not None
                title = from_notification(received.apdu).system_title
                arrivals.setdefault(title, hood.network.clock.time())

        async with hood:
            listener = asyncio.get_running_loop().create_task(listen())
            await hood.network.advance(interval + 1)
            listener.cancel()
        assert len(arrivals) == n
        delays = list(arrivals.values())
        assert 0 <= min(delays) and max(delays) <= interval
        # KS at the 1% level: the critical distance is 1.628 / sqrt(n)
        assert ks_uniform(delays, interval) < 1.628 / math.sqrt(n)
        # and per 10 s bucket: within 4 standard deviations of n / 6
        expected = n / 6
        tolerance = 4 * math.sqrt(n * (1 / 6) * (5 / 6))
        buckets = [0] * 6
        for d in delays:
            buckets[min(int(d // 10), 5)] += 1
        assert all(abs(b - expected) <= tolerance for b in buckets), buckets
        # not a constant, not a few values
        assert len({round(d, 3) for d in delays}) > n * 0.95


@pytest.mark.asyncio
async def test_one_meter_draws_each_start_delay_afresh() -> None:
    rng = random.Random(99)
    expected = [rng.uniform(0, 30) for _ in range(3)]
    async with asyncio.timeout(BOUND), Rig(rng=random.Random(99), randomisation_start_interval=30) as rig:
        await rig.advance(100)
        rig.announcer.address_changed()
        await rig.advance(100)
        rig.announcer.address_changed()
        await rig.advance(100)
    starts = [h.at for h in rig.heard]
    assert starts == pytest.approx([expected[0], 100 + expected[1], 200 + expected[2]])


@pytest.mark.asyncio
async def test_repeats_come_repetition_delay_apart_with_new_counters() -> None:
    async with (
        asyncio.timeout(BOUND),
        Rig(randomisation_start_interval=60, number_of_retries=3, repetition_delay=10) as rig,
    ):
        await rig.advance(200)
        first = rig.heard[0].at
        assert [h.at - first for h in rig.heard] == [0, 10, 20, 30]
        assert 0 <= first <= 60
        counters = [h.invocation_counter for h in rig.heard]
        assert counters == sorted(set(counters))  # strictly increasing: never a reused nonce
        # one announcement repeated: same sequence number, same invoke id, same content
        assert {h.announcement for h in rig.heard} == {rig.heard[0].announcement}
        assert rig.heard[0].announcement.sequence == 1 and {h.invoke_id for h in rig.heard} == {1}
        assert rig.announcer.stats.as_dict() == {
            "sent": 4,
            "retries": 3,
            "announcements": 1,
            "superseded": 0,
            "failed": 0,
        }


@pytest.mark.asyncio
async def test_what_the_registration_says() -> None:
    async with asyncio.timeout(BOUND), Rig(randomisation_start_interval=0) as rig:
        await rig.advance(1)
    (heard,) = rig.heard
    assert heard.at == 0
    assert heard.source == "2001:db8:1:0:212:4b00:1:203"  # from the meter's own address
    assert heard.destination_wport == 0x66
    assert heard.announcement == Announcement(
        AnnouncementKind.REGISTRATION, TITLE, ("2001:db8:1:0:212:4b00:1:203", "fe80::212:4b00:1:203"), PORT, 1
    )


@pytest.mark.asyncio
async def test_sequence_grows_by_one_per_announcement_not_per_repeat() -> None:
    async with (
        asyncio.timeout(BOUND),
        Rig(randomisation_start_interval=5, number_of_retries=2, repetition_delay=3) as rig,
    ):
        await rig.advance(20)
        for _ in range(3):
            rig.announcer.address_changed()
            await rig.advance(20)
    assert [h.announcement.sequence for h in rig.heard] == [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]
    assert [h.announcement.kind for h in rig.heard] == [AnnouncementKind.REGISTRATION] * 3 + [
        AnnouncementKind.UPDATE
    ] * 9
    assert [h.announcement.push_setup for h in rig.heard[3:]] == [UPDATE_PUSH] * 9
    counters = [h.invocation_counter for h in rig.heard]
    assert counters == sorted(set(counters))


@pytest.mark.asyncio
async def test_counters_and_sequence_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "counters.sqlite3"
    ring = keyring_of([KeyEntry(TITLE, EK, AK)])  # one head-end across both runs: replays would fail there
    runs: list[list[Heard]] = []
    async with asyncio.timeout(BOUND):
        for _ in range(2):
            store = SqliteCounterStore(path)
            try:
                async with Rig(
                    counters=store, ring=ring, randomisation_start_interval=10, number_of_retries=1, repetition_delay=5
                ) as rig:
                    await rig.until_sent(2)
                    rig.announcer.address_changed()
                    await rig.until_sent(4)
                runs.append(rig.heard)
            finally:
                store.close()
    first, second = runs
    assert len(first) == len(second) == 4
    counters = [h.invocation_counter for h in first + second]
    assert counters == sorted(set(counters)), counters
    sequences = [h.announcement.sequence for h in first + second]
    assert sequences[:4] == [1, 1, 2, 2]
    assert sequences[4] == sequences[5] > 2 and sequences[6] == sequences[7] == sequences[4] + 1
    # the second run starts over with a registration (a cold start), then updates
    assert [h.announcement.kind for h in second] == ["registration"] * 2 + ["update"] * 2


@pytest.mark.asyncio
async def test_retries_carry_a_neighbourhood_through_loss() -> None:
    n = 200
    async with asyncio.timeout(BOUND):
        hood = neighbourhood(
            n,
            seed=5,
            link=LinkProfile(loss=0.2),
            randomisation_start_interval=60,
            number_of_retries=5,
            repetition_delay=10,
        )
        head_end = hood.network.endpoint(*hood.head_end, queue_size=10 * n)
        async with hood:
            await hood.network.advance(60 + 5 * 10 + 1)
            frames = [data for data, _ in await head_end.recv_batch(10 * n, timeout=0)]
        assert hood.network.stats.lost > 0.15 * 6 * n
        batch = pipeline.decode_batch(frames, security=hood.keyring())
        titles = set()
        for i in range(len(frames)):
            received = batch.apdu(i)
            assert received is not None
            titles.add(from_notification(received).system_title)
        assert titles == {m.system_title for m in hood.meters}
        assert sum(a.stats.sent for a in hood.announcers) == 6 * n
