"""dlmsmesh.client.pacing: the hop-count round-trip model and RFC 6298
timeouts, bounded jittered backoff, per-border-router in-flight caps and the
association rate limit, on injected clocks and random generators."""

from __future__ import annotations

import asyncio
import ipaddress
import random
import sys

import pytest

from dlmsmesh.client.pacing import (
    BASE_ROUND_TRIP,
    DEFAULT_ASSOCIATIONS_PER_SECOND,
    DEFAULT_IN_FLIGHT_PER_ROUTER,
    DEFAULT_RETRIES,
    DEFAULT_ROUND_TRIP,
    MAX_TIMEOUT,
    MIN_TIMEOUT,
    PER_HOP_ROUND_TRIP,
    Backoff,
    InFlightLimiter,
    RateLimiter,
    RoundTrip,
    border_router_key,
    expected_round_trip,
)
from dlmsmesh.errors import DlmsTimeout
from dlmsmesh.transport import Address

# TI Wi-SUN, 100 nodes: measured round trips at 1..5 hops (DESIGN.md section 7)
MEASURED = {1: 0.373, 2: 0.471, 3: 0.574, 4: 0.760, 5: 0.899}


def test_the_hop_model_fits_the_measurements() -> None:
    for hops, seconds in MEASURED.items():
        assert abs(expected_round_trip(hops) - seconds) <= 0.042, hops  # the least-squares line: worst 41 ms at 3 hops
    assert expected_round_trip(0) == BASE_ROUND_TRIP
    assert expected_round_trip(5) == pytest.approx(BASE_ROUND_TRIP + 5 * PER_HOP_ROUND_TRIP)
    assert expected_round_trip(None) == DEFAULT_ROUND_TRIP == 1.0
    with pytest.raises(ValueError):
        expected_round_trip(-1)


def test_initial_timeout_is_three_expected_round_trips() -> None:
    assert RoundTrip(1).timeout == pytest.approx(3 * 0.347)
    assert RoundTrip(5).timeout == pytest.approx(3 * 0.883)
    assert RoundTrip().timeout == pytest.approx(3.0)
    assert RoundTrip(expected=0.01).timeout == MIN_TIMEOUT  # clamped up
    assert RoundTrip(expected=100.0).timeout == MAX_TIMEOUT  # clamped down


def test_rfc6298_updates() -> None:
    rt = RoundTrip(3)
    rt.observe(0.5)  # the first sample replaces the prior
    assert (rt.srtt, rt.rttvar) == (0.5, 0.25)
    assert rt.timeout == pytest.approx(1.5)
    rt.observe(0.9)
    # RTTVAR = 3/4 * 0.25 + 1/4 * |0.5 - 0.9|;  SRTT = 7/8 * 0.5 + 1/8 * 0.9
    assert rt.rttvar == pytest.approx(0.2875)
    assert rt.srtt == pytest.approx(0.55)
    assert rt.timeout == pytest.approx(0.55 + 4 * 0.2875)
    assert rt.samples == 2


def test_steady_samples_converge_and_respect_the_floor() -> None:
    rt = RoundTrip(1, min_timeout=0.05)
    for _ in range(200):
        rt.observe(0.02)
    assert rt.srtt == pytest.approx(0.02)
    assert rt.timeout == pytest.approx(0.05)  # 0.02 + 4*~0 is under the floor
    loose = RoundTrip(1, min_timeout=0.001)
    for _ in range(200):
        loose.observe(0.02)
    assert loose.timeout == pytest.approx(0.02 + RoundTrip.G)  # the variance term never vanishes


def test_expiry_doubles_until_the_cap_and_a_sample_resets() -> None:
    rt = RoundTrip(expected=1.0, max_timeout=10.0)
    timeouts = []
    for _ in range(6):
        timeouts.append(rt.timeout)
        rt.expired()
    assert timeouts == pytest.approx([3.0, 6.0, 10.0, 10.0, 10.0, 10.0])
    rt.observe(1.0)
    assert rt.timeout == pytest.approx(3.0)


def test_round_trip_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        RoundTrip(min_timeout=2.0, max_timeout=1.0)
    with pytest.raises(ValueError):
        RoundTrip(expected=0.0)
    for bad in (-0.1, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            RoundTrip().observe(bad)


def test_backoff_is_bounded_jittered_and_reproducible() -> None:
    delays = list(Backoff(rng=random.Random(7)).delays())
    assert len(delays) == DEFAULT_RETRIES == 3
    assert delays == list(Backoff(rng=random.Random(7)).delays())
    windows = [0.5, 1.0, 2.0]
    assert all(0.0 <= d <= w for d, w in zip(delays, windows))
    capped = Backoff(retries=10, base=1.0, cap=4.0, rng=random.Random(1))
    assert [capped.window(n) for n in range(5)] == [1.0, 2.0, 4.0, 4.0, 4.0]
    assert capped.window(5000) == 4.0
    assert max(capped.delays()) <= 4.0
    assert list(Backoff(retries=0).delays()) == []


def test_backoff_full_jitter_spreads_over_the_window() -> None:
    backoff = Backoff(retries=1, base=2.0, rng=random.Random(3))
    draws = [next(backoff.delays()) for _ in range(2000)]
    assert 0.9 < sum(draws) / len(draws) < 1.1  # uniform on [0, 2]
    assert min(draws) < 0.05 and max(draws) > 1.95


def test_backoff_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        Backoff(retries=-1)
    with pytest.raises(ValueError):
        Backoff(base=2.0, cap=1.0)


def test_border_router_key() -> None:
    a = border_router_key(Address("2001:db8:0:1::a", 61616))
    assert a == ipaddress.IPv6Network("2001:db8:0:1::/64")
    assert border_router_key(Address("2001:DB8:0:1:ffff::b", 4059)) == a
    assert border_router_key(Address("2001:db8:0:2::a", 61616)) != a
    assert border_router_key(Address("fe80::1%eth0", 61616)) == ipaddress.IPv6Network("fe80::/64")
    assert border_router_key(Address("127.0.0.1", 4059)) == ipaddress.ip_address("127.0.0.1")
    assert border_router_key(Address("meter-17", 1)) == "meter-17"


def _addr(prefix: int, host: int) -> Address:
    return Address(f"2001:db8:0:{prefix:x}::{host:x}", 61616)


@pytest.mark.asyncio
async def test_in_flight_cap_per_border_router() -> None:
    assert DEFAULT_IN_FLIGHT_PER_ROUTER == 16
    limiter = InFlightLimiter(limit=2, timeout=1.0)
    release = asyncio.Event()
    peak: dict[int, int] = {1: 0, 2: 0}
    order: list[int] = []

    async def request(prefix: int, n: int) -> None:
        async with limiter.slot(_addr(prefix, n)):
            order.append(n)
            peak[prefix] = max(peak[prefix], limiter.in_flight(_addr(prefix, 0)))
            await release.wait()

    tasks = [asyncio.create_task(request(1, n)) for n in range(1, 6)]
    tasks.append(asyncio.create_task(request(2, 99)))
    for _ in range(5):
        await asyncio.sleep(0)
    assert limiter.in_flight(_addr(1, 0)) == 2 and limiter.waiting(_addr(1, 0)) == 3
    assert limiter.in_flight(_addr(2, 0)) == 1  # another router is not held up
    release.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 2.0)
    assert peak == {1: 2, 2: 1}
    assert order[:2] == [1, 2] and sorted(order) == [1, 2, 3, 4, 5, 99]
    assert [n for n in order if n != 99] == [1, 2, 3, 4, 5]  # first come, first served
    assert len(limiter) == 0  # idle routers are forgotten


@pytest.mark.asyncio
async def test_in_flight_wait_is_bounded() -> None:
    limiter = InFlightLimiter(limit=1)
    held = asyncio.Event()
    done = asyncio.Event()

    async def holder() -> None:
        async with limiter.slot(_addr(1, 1)):
            held.set()
            await done.wait()

    task = asyncio.create_task(holder())
    await asyncio.wait_for(held.wait(), 1.0)
    with pytest.raises(DlmsTimeout, match="no request slot"):
        async with limiter.slot(_addr(1, 2), timeout=0.02):
            pytest.fail("the slot was granted over the cap")
    assert limiter.waiting(_addr(1, 0)) == 0 and limiter.in_flight(_addr(1, 0)) == 1
    done.set()
    await asyncio.wait_for(task, 1.0)
    assert len(limiter) == 0
    async with limiter.slot(_addr(1, 3), timeout=0.02):  # free again
        assert limiter.in_flight(_addr(1, 0)) == 1


@pytest.mark.asyncio
async def test_a_cancelled_waiter_does_not_lose_the_slot() -> None:
    limiter = InFlightLimiter(limit=1, timeout=1.0)
    held, done = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with limiter.slot(_addr(1, 1)):
            held.set()
            await done.wait()

    async def waiter() -> None:
        async with limiter.slot(_addr(1, 2)):
            pass

    first = asyncio.create_task(holder())
    await asyncio.wait_for(held.wait(), 1.0)
    cancelled = asyncio.create_task(waiter())
    await asyncio.sleep(0)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    done.set()
    await asyncio.wait_for(first, 1.0)
    assert len(limiter) == 0
    async with limiter.slot(_addr(1, 3), timeout=0.05):
        assert limiter.in_flight(_addr(1, 3)) == 1


@pytest.mark.asyncio
async def test_an_exception_in_the_body_releases_the_slot() -> None:
    limiter = InFlightLimiter(limit=1, key=lambda a: "all")
    with pytest.raises(RuntimeError):
        async with limiter.slot(_addr(1, 1), timeout=0.05):
            raise RuntimeError("boom")
    async with limiter.slot(_addr(7, 7), timeout=0.05):  # one key for everything
        assert limiter.in_flight(_addr(1, 1)) == 1


def test_in_flight_limiter_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        InFlightLimiter(limit=0)
    with pytest.raises(ValueError):
        InFlightLimiter(timeout=0)


class FakeClock:
    """A virtual clock: sleeping advances it, nothing really waits."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.mark.asyncio
async def test_rate_limiter_allows_a_burst_then_the_rate() -> None:
    assert DEFAULT_ASSOCIATIONS_PER_SECOND == 20.0
    clock = FakeClock()
    limiter = RateLimiter(rate=20.0, clock=clock, sleep=clock.sleep)
    for _ in range(20):
        await limiter.acquire(timeout=1.0)
    assert clock.slept == []  # a second's worth at once
    await limiter.acquire(timeout=1.0)
    await limiter.acquire(timeout=1.0)
    assert clock.slept == pytest.approx([0.05, 0.05])
    clock.now += 10.0  # a quiet spell refills to the burst, not beyond
    assert limiter.available == pytest.approx(20.0)


@pytest.mark.asyncio
async def test_rate_limiter_over_a_simulated_minute() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=5.0, burst=1, clock=clock, sleep=clock.sleep)
    start = clock.now
    for _ in range(301):
        await limiter.acquire(timeout=1.0)
    assert clock.now - start == pytest.approx(60.0)  # 1 at once, then 300 at 5 per second


@pytest.mark.asyncio
async def test_rate_limiter_refuses_at_once_beyond_the_timeout() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=2.0, burst=1, clock=clock, sleep=clock.sleep)
    assert limiter.try_acquire()
    assert not limiter.try_acquire()
    with pytest.raises(DlmsTimeout, match="no new association allowed within 0.1 s"):
        await limiter.acquire(timeout=0.1)
    assert clock.slept == []  # refused without waiting
    assert limiter.available == pytest.approx(0.0)  # the refused grant was not kept
    await limiter.acquire(timeout=0.5)
    assert clock.slept == pytest.approx([0.5])


@pytest.mark.asyncio
async def test_concurrent_acquirers_are_spaced_by_the_rate() -> None:
    clock = FakeClock()
    gate = asyncio.Event()

    async def sleep(seconds: float) -> None:
        clock.slept.append(seconds)
        await gate.wait()

    limiter = RateLimiter(rate=10.0, burst=1, clock=clock, sleep=sleep)
    tasks = [asyncio.create_task(limiter.acquire(timeout=1.0)) for _ in range(4)]
    for _ in range(3):
        await asyncio.sleep(0)
    assert clock.slept == pytest.approx([0.1, 0.2, 0.3])  # each reserves the next grant
    gate.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 1.0)


@pytest.mark.asyncio
async def test_a_cancelled_acquire_gives_its_grant_back() -> None:
    clock = FakeClock()
    never = asyncio.Event()

    async def sleep(seconds: float) -> None:
        await never.wait()

    limiter = RateLimiter(rate=1.0, burst=1, clock=clock, sleep=sleep)
    assert limiter.try_acquire()
    task = asyncio.create_task(limiter.acquire(timeout=5.0))
    await asyncio.sleep(0)
    assert limiter.available == pytest.approx(-1.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert limiter.available == pytest.approx(0.0)


def test_rate_limiter_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        RateLimiter(rate=0)


@pytest.mark.asyncio
async def test_a_slot_handed_to_a_waiter_cancelled_in_the_same_turn_is_not_lost() -> None:
    limiter = InFlightLimiter(limit=1, timeout=1.0)
    entered: list[int] = []

    async def waiter() -> None:
        async with limiter.slot(_addr(1, 2)):
            entered.append(2)

    cm = limiter.slot(_addr(1, 1))
    await cm.__aenter__()
    task = asyncio.create_task(waiter())
    await asyncio.sleep(0)
    assert limiter.waiting(_addr(1, 0)) == 1
    await cm.__aexit__(None, None, None)  # hands the slot to the waiter...
    task.cancel()  # ...which is cancelled before it runs
    await asyncio.gather(task, return_exceptions=True)
    if sys.version_info >= (3, 11):
        assert entered == []  # the cancellation won: the body did not run
    # either way the slot came back
    assert limiter.in_flight(_addr(1, 0)) == 0 and len(limiter) == 0
    async with limiter.slot(_addr(1, 3), timeout=0.05):
        assert limiter.in_flight(_addr(1, 3)) == 1
