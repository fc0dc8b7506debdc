"""How fast the head-end may talk to a mesh: timeouts, retries and caps.

A mesh of low-power radios carries little: a border router serves 1,000-5,000
meters over a shared channel whose unicast capacity is about 75% of airtime
(public Wi-SUN deployment figures).  A head-end that sends as fast as it can loses most of what
it sends and then retransmits into the congestion it caused (OSGP throttles
per cell for that reason).  Four small tools pace the client:

- :class:`RoundTrip` — how long to wait for a meter's answer: an expected
  round trip from the hop count, then RFC 6298 smoothing of measured samples.
- :class:`Backoff` — how long to pause before each retry: bounded retries,
  exponential growth with full jitter, so meters that failed together do not
  retry together.
- :class:`InFlightLimiter` — at most ``limit`` requests outstanding per border
  router (by default: per IPv6 /64 prefix, one prefix per mesh PAN).
- :class:`RateLimiter` — at most ``rate`` new associations per second
  (a token bucket), since an AARQ with HLS costs the meter and mesh far
  more than a GET.

Every wait is bounded: a limiter that cannot grant in time raises
:class:`~dlmsmesh.errors.DlmsTimeout`.  Clocks and random generators are
injectable so a simulation on a virtual clock stays deterministic.

The round-trip model
--------------------
A TI Wi-SUN network of 100 nodes measured round trips of 373, 471, 574, 760
and 899 ms at 1-5 hops (Texas Instruments' published Wi-SUN FAN
measurements).  The least-squares line through those
five points is 213 ms + 134 ms per hop (largest residual 41 ms, at 3 hops);
134 ms per hop is two traversals of a hop (request and answer) at ~45 ms of
routing plus ~22 ms of airtime each, and the 213 ms are the head-end to
border-router backhaul and the meter's own processing.  So the expected round
trip is :data:`BASE_ROUND_TRIP` + :data:`PER_HOP_ROUND_TRIP` × hops
(:func:`expected_round_trip`), and :data:`DEFAULT_ROUND_TRIP` (1 s, a little
above the 5-hop figure) when the hop count is unknown.

Before any answer is measured the expectation stands in for a first sample
(SRTT = R, RTTVAR = R/2, so the timeout is 3R: 1.04 s at 1 hop, 2.66 s at 5);
the first measured sample replaces it, and later ones are smoothed with
α = 1/8, β = 1/4 (RFC 6298 §2).  Only answers to requests sent once may be
sampled (Karn's rule: an answer to a retransmission matches either copy).
The timeout doubles on each expiry (RFC 6298 §5.5) until the next sample,
and stays within [:data:`MIN_TIMEOUT`, :data:`MAX_TIMEOUT`].

One estimate per border router, too
-----------------------------------
On a mesh the round trip is mostly the queue of the border router's shared
channel, which every meter behind it sees: a meter's own estimate, a few
samples a day, cannot follow it (a meter measured while the channel carried
short requests times out when its neighbours' load profiles fill the
queue).  The client keeps one more :class:`RoundTrip` per border router
(RFC 9040's ensemble sharing) fed by every sample through it, and waits for
the larger of the two timeouts.  That estimate takes many samples per round
trip, so its gains are divided by the requests in flight through the router
when the sample is taken (RFC 7323 Appendix G): its memory stays about one
round trip long, and a burst of short answers does not shrink its variance
within one round trip of long ones.
"""

from __future__ import annotations

import asyncio
import collections
import ipaddress
import math
import random
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterator
from contextlib import asynccontextmanager

from ..errors import DlmsTimeout
from ..transport import Address
from ..transport.clock import Clock

__all__ = [
    "BASE_ROUND_TRIP",
    "PER_HOP_ROUND_TRIP",
    "DEFAULT_ROUND_TRIP",
    "MIN_TIMEOUT",
    "MAX_TIMEOUT",
    "DEFAULT_RETRIES",
    "DEFAULT_BACKOFF_BASE",
    "DEFAULT_BACKOFF_CAP",
    "DEFAULT_IN_FLIGHT_PER_ROUTER",
    "DEFAULT_SLOT_TIMEOUT",
    "DEFAULT_ASSOCIATIONS_PER_SECOND",
    "expected_round_trip",
    "border_router_key",
    "RoundTrip",
    "RouterPath",
    "Backoff",
    "InFlightLimiter",
    "RateLimiter",
]

#: seconds: the fixed part of a mesh round trip (backhaul, meter processing)
BASE_ROUND_TRIP = 0.213
#: seconds added to a round trip by each hop (there and back)
PER_HOP_ROUND_TRIP = 0.134
#: seconds: the expected round trip of a meter whose hop count is unknown
DEFAULT_ROUND_TRIP = 1.0
#: seconds: the shortest timeout (Linux TCP's floor; RFC 6298's 1 s would
#: slow loopback and LAN meters for nothing, and the hop model covers a mesh)
MIN_TIMEOUT = 0.2
#: seconds: the longest timeout, however often it doubled (RFC 6298 §2.5)
MAX_TIMEOUT = 60.0

#: retries after the first attempt (4 sends in all)
DEFAULT_RETRIES = 3
#: seconds: the jitter window before the first retry; doubles per retry
DEFAULT_BACKOFF_BASE = 0.5
#: seconds: the widest jitter window
DEFAULT_BACKOFF_CAP = 30.0

#: requests outstanding at once through one border router: with a 5-hop
#: round trip near 0.9 s that is ~18 requests per second, a few percent of a
#: 100 kbps channel at typical DLMS sizes, leaving the rest for the mesh's
#: own traffic, pushes and retransmissions
DEFAULT_IN_FLIGHT_PER_ROUTER = 16
#: seconds a request may wait for a slot before giving up
DEFAULT_SLOT_TIMEOUT = 30.0
#: new associations (AARQ, HLS passes 3/4) per second, for the whole client
DEFAULT_ASSOCIATIONS_PER_SECOND = 20.0


def expected_round_trip(hops: int | None) -> float:
    """Seconds one request and its answer are expected to take over ``hops``
    mesh hops (the model in this module's documentation); ``None`` gives
    :data:`DEFAULT_ROUND_TRIP`."""
    if hops is None:
        return DEFAULT_ROUND_TRIP
    if hops < 0:
        raise ValueError("a hop count is never negative")
    return BASE_ROUND_TRIP + PER_HOP_ROUND_TRIP * hops


class RoundTrip:
    """One meter's round-trip estimate and the timeout it gives (RFC 6298)."""

    ALPHA = 1 / 8
    BETA = 1 / 4
    K = 4
    #: seconds: RFC 6298's G, the floor of the variance term, so a meter
    #: that always answers in exactly the same time still gets some slack
    G = 0.001

    def __init__(
        self,
        hops: int | None = None,
        *,
        expected: float | None = None,
        min_timeout: float = MIN_TIMEOUT,
        max_timeout: float = MAX_TIMEOUT,
    ) -> None:
        """``expected`` (seconds) overrides the hop model when given."""
        if not 0 < min_timeout <= max_timeout:
            raise ValueError("0 < min_timeout <= max_timeout")
        prior = expected_round_trip(hops) if expected is None else expected
        if not prior > 0:
            raise ValueError("an expected round trip is positive")
        self.min_timeout = min_timeout
        self.max_timeout = max_timeout
        self.srtt = prior
        self.rttvar = prior / 2
        self.samples = 0
        self._backoff = 1

    @property
    def timeout(self) -> float:
        """Seconds to wait for the answer to the next request."""
        rto = (self.srtt + max(self.K * self.rttvar, self.G)) * self._backoff
        return min(self.max_timeout, max(self.min_timeout, rto))

    def observe(self, seconds: float, *, per_round_trip: float = 1.0) -> None:
        """Account a measured round trip (of a request sent only once).

        ``per_round_trip``: samples this estimate takes per round trip (one
        shared by many requests in flight): α and β are divided by it (RFC
        7323 Appendix G)."""
        if not (seconds >= 0 and math.isfinite(seconds)):
            raise ValueError("a round trip is a finite, non-negative duration")
        if not per_round_trip >= 1:
            raise ValueError("per_round_trip is at least 1")
        if self.samples == 0:
            self.srtt = seconds
            self.rttvar = seconds / 2
        else:
            beta, alpha = self.BETA / per_round_trip, self.ALPHA / per_round_trip
            self.rttvar = (1 - beta) * self.rttvar + beta * abs(self.srtt - seconds)
            self.srtt = (1 - alpha) * self.srtt + alpha * seconds
        self.samples += 1
        self._backoff = 1

    def expired(self) -> None:
        """The request timed out: wait twice as long next time (until a sample)."""
        if self.timeout < self.max_timeout:
            self._backoff *= 2


class RouterPath:
    """The way to the meters behind one border router: the round-trip
    estimate they share (see the module text) and the requests waiting for
    an answer through it now, which say how many samples it takes per round
    trip."""

    __slots__ = ("round_trip", "in_flight")

    def __init__(self) -> None:
        self.round_trip = RoundTrip()
        self.in_flight = 0

    def observe(self, seconds: float) -> None:
        """A request through this router sent once was answered after ``seconds``."""
        self.round_trip.observe(seconds, per_round_trip=self.in_flight + 1)

    def timeout(self, attempt: int = 0) -> float:
        """The shared timeout for attempt ``attempt`` (0: the first send),
        doubled per retry as a meter's own is; 0.0 before any sample."""
        rtt = self.round_trip
        if not rtt.samples:
            return 0.0
        return min(rtt.max_timeout, rtt.timeout * (1 << min(attempt, 16)))


class Backoff:
    """Pauses before retries: ``retries`` of them, the n-th (from 0) drawn
    uniformly from [0, min(cap, base × 2ⁿ)] ("full jitter").

    ``rng`` is for simulation and reproducible tests, not security.
    """

    def __init__(
        self,
        retries: int = DEFAULT_RETRIES,
        base: float = DEFAULT_BACKOFF_BASE,
        cap: float = DEFAULT_BACKOFF_CAP,
        rng: random.Random | None = None,
    ) -> None:
        if retries < 0:
            raise ValueError("retries is never negative")
        if not 0 <= base <= cap:
            raise ValueError("0 <= base <= cap")
        self.retries = retries
        self.base = base
        self.cap = cap
        self._rng = rng if rng is not None else random.Random()

    def window(self, attempt: int) -> float:
        """The widest pause before retry ``attempt`` (0 = the first retry)."""
        if attempt < 0:
            raise ValueError("attempt counts from 0")
        # 2**attempt overflows float past ~1024 retries; the cap is hit long before
        return self.cap if attempt >= 64 else min(self.cap, self.base * 2**attempt)

    def delays(self) -> Iterator[float]:
        """The pause before each retry, ``retries`` of them."""
        for attempt in range(self.retries):
            yield self._rng.uniform(0.0, self.window(attempt))


def border_router_key(address: Address) -> Hashable:
    """The default key of :class:`InFlightLimiter`: the /64 prefix of an IPv6
    address (a mesh PAN's prefix, so one border router), the address itself
    otherwise (IPv4 or a simulated node's name: no prefix says which router)."""
    host = address.host.partition("%")[0]
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return address.host
    if ip.version == 6:
        return ipaddress.IPv6Network((int(ip) >> 64 << 64, 64))
    return ip


def _time_out(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(asyncio.TimeoutError())


async def _wait(waiter: asyncio.Future[None], timeout: float, clock: Clock | None = None) -> None:
    if clock is not None:
        # the given clock's time (a virtual one in a simulation)
        timer = clock.call_later(timeout, _time_out, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
        return
    if sys.version_info >= (3, 11):
        # asyncio.timeout lets a cancellation through even when the slot was
        # granted in the same turn (3.11's wait_for swallows it); the caller
        # then passes the slot on
        async with asyncio.timeout(timeout):
            await waiter
    else:  # pragma: no cover - 3.10
        await asyncio.wait_for(waiter, timeout)


class _Gate:
    __slots__ = ("active", "waiters")

    def __init__(self, active: int = 0) -> None:
        self.active = active
        self.waiters: collections.deque[asyncio.Future[None]] = collections.deque()


class InFlightLimiter:
    """At most ``limit`` requests in flight per key (per border router):

    ::

        async with limiter.slot(address):
            ...send and await the answer...

    Waiters are served first come, first served; a wait longer than
    ``timeout`` raises :class:`~dlmsmesh.errors.DlmsTimeout`.  ``key`` maps
    an address to what is capped (default :func:`border_router_key`).  Keys
    with nothing in flight are forgotten, so memory follows the busy routers
    only.
    """

    def __init__(
        self,
        limit: int = DEFAULT_IN_FLIGHT_PER_ROUTER,
        *,
        key: Callable[[Address], Hashable] = border_router_key,
        timeout: float = DEFAULT_SLOT_TIMEOUT,
        clock: Clock | None = None,
    ) -> None:
        if limit < 1:
            raise ValueError("at least one request must be allowed in flight")
        if not timeout > 0:
            raise ValueError("the slot timeout is positive")
        self.limit = limit
        self.timeout = timeout
        #: what the slot timeout runs on (None: the event loop's time)
        self.clock = clock
        self._key = key
        self._gates: dict[Hashable, _Gate] = {}

    def in_flight(self, address: Address) -> int:
        """Requests in flight through ``address``'s key now."""
        gate = self._gates.get(self.key_of(address))
        return gate.active if gate is not None else 0

    def waiting(self, address: Address) -> int:
        """Requests waiting for a slot of ``address``'s key now."""
        gate = self._gates.get(self.key_of(address))
        return sum(1 for w in gate.waiters if not w.done()) if gate is not None else 0

    def __len__(self) -> int:
        """How many keys have requests in flight or waiting."""
        return len(self._gates)

    @asynccontextmanager
    async def slot(self, address: Address, timeout: float | None = None) -> AsyncIterator[None]:
        """Hold one of ``address``'s slots for the body; wait at most ``timeout``
        seconds (default: the limiter's) for it."""
        key = self.key_of(address)
        await self._acquire(key, self.timeout if timeout is None else timeout)
        try:
            yield
        finally:
            self._release(key)

    def key_of(self, address: Address) -> Hashable:
        """What ``address`` is capped under (its border router), in a form
        that hashes at C speed (an ipaddress object hashes in Python, and
        the gate is looked up twice per request)."""
        key = self._key(address)
        return key if type(key) is str else (type(key).__name__, str(key))

    async def acquire(self, key: Hashable, timeout: float | None = None) -> None:
        """:meth:`slot` without the context manager: take one slot of ``key``
        (from :meth:`key_of`); :meth:`release` gives it back."""
        if not self.try_acquire(key):
            await self._acquire(key, self.timeout if timeout is None else timeout)

    def try_acquire(self, key: Hashable) -> bool:
        """Take one slot of ``key`` when one is free and nobody waits for
        it (True), without a coroutine; False, with nothing taken: wait in
        :meth:`acquire`."""
        gate = self._gates.get(key)
        if gate is None:
            self._gates[key] = _Gate(active=1)
            return True
        if gate.active >= self.limit or gate.waiters:
            return False
        gate.active += 1
        return True

    def release(self, key: Hashable) -> None:
        gate = self._gates[key]
        if gate.waiters:
            self._release(key)
            return
        # nobody waits: the slot is free, and a gate with none active is forgotten (_forget_if_idle)
        gate.active -= 1
        if gate.active == 0:
            del self._gates[key]

    async def _acquire(self, key: Hashable, timeout: float) -> None:
        gate = self._gates.get(key)
        if gate is None:
            gate = self._gates[key] = _Gate()
        if gate.active < self.limit and not gate.waiters:
            gate.active += 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        gate.waiters.append(waiter)
        try:
            await _wait(waiter, timeout, self.clock)
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                # the slot was handed over just as the wait ended: pass it on
                self._release(key)
            else:
                waiter.cancel()
                try:
                    gate.waiters.remove(waiter)
                except ValueError:
                    pass
                self._forget_if_idle(key, gate)
            if isinstance(exc, asyncio.TimeoutError):
                raise DlmsTimeout(
                    f"no request slot towards {key[1] if isinstance(key, tuple) else key} within {timeout:g} s ({self.limit} already in flight)"
                ) from None
            raise

    def _release(self, key: Hashable) -> None:
        gate = self._gates[key]
        while gate.waiters:
            waiter = gate.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot passes on; active stays
                return
        gate.active -= 1
        self._forget_if_idle(key, gate)

    def _forget_if_idle(self, key: Hashable, gate: _Gate) -> None:
        if gate.active == 0 and not gate.waiters and self._gates.get(key) is gate:
            del self._gates[key]


class RateLimiter:
    """A token bucket: ``rate`` grants per second on average, up to ``burst``
    at once after a quiet spell (default: one second's worth).

    :meth:`acquire` reserves the next free grant and sleeps until it is due;
    when that is further away than ``timeout`` it raises
    :class:`~dlmsmesh.errors.DlmsTimeout` at once, without waiting.  ``clock``
    and ``sleep`` are injectable (a virtual clock).
    """

    def __init__(
        self,
        rate: float = DEFAULT_ASSOCIATIONS_PER_SECOND,
        burst: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if not rate > 0:
            raise ValueError("the rate is positive")
        self.rate = rate
        self.burst = max(1.0, rate if burst is None else burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.burst
        self._stamp = clock()

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._stamp)
        self._stamp = now
        self._tokens = min(self.burst, self._tokens + elapsed * self.rate)

    @property
    def available(self) -> float:
        """Grants available now (negative: that many are reserved ahead)."""
        self._refill()
        return self._tokens

    def try_acquire(self) -> bool:
        """Take a grant if one is free now."""
        self._refill()
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False

    async def acquire(self, timeout: float = DEFAULT_SLOT_TIMEOUT) -> None:
        """Wait for a grant, at most ``timeout`` seconds."""
        self._refill()
        self._tokens -= 1
        wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > timeout:
            self._tokens += 1
            raise DlmsTimeout(f"no new association allowed within {timeout:g} s (limit {self.rate:g} per second)")
        if wait <= 0:
            return
        try:
            await self._sleep(wait)
        except BaseException:
            self._tokens += 1  # never used: give it back
            raise
