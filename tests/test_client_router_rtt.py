"""The head-end's round trip per border router (issue 16: the read phase's
spurious retries at zero loss).

On a mesh the round trip is mostly the queue of a border router's shared
channel: a meter whose own estimate was made while the channel carried short
requests timed out while its neighbours' load profiles filled the queue,
and was asked again although nothing was lost (1,795 retries in the default
run's read phase).  The client now keeps one estimate per border router fed
by every meter behind it, with gains divided by the requests in flight
(RFC 7323 Appendix G), and waits for the larger of the two timeouts."""

from __future__ import annotations

import asyncio

import pytest

from dlmsmesh.client import Client, MemoryResolver
from dlmsmesh.client.pacing import MAX_TIMEOUT, RoundTrip, RouterPath
from dlmsmesh.sim.config import SimConfig
from dlmsmesh.sim.run import simulate
from dlmsmesh.transport import Address, InProcessNetwork

HEAD_END = bytes.fromhex("4845530000000001")


def test_a_shared_estimate_moves_by_the_gains_divided_by_the_requests_in_flight() -> None:
    rtt = RoundTrip(expected=1.0)
    rtt.observe(1.0)
    assert (rtt.srtt, rtt.rttvar) == (1.0, 0.5)
    rtt.observe(3.0, per_round_trip=8)
    # alpha/8 and beta/8: one round trip of 8 such samples moves it as one sample would
    assert rtt.rttvar == pytest.approx((1 - 0.25 / 8) * 0.5 + 0.25 / 8 * 2.0)
    assert rtt.srtt == pytest.approx(1.0 + 2.0 / 64)
    rtt.observe(3.0)  # the default: one sample per round trip, RFC 6298's gains
    assert rtt.srtt == pytest.approx((1 - 1 / 8) * (1.0 + 2.0 / 64) + 3.0 / 8)
    with pytest.raises(ValueError):
        rtt.observe(1.0, per_round_trip=0.5)


def test_a_router_path_counts_in_flight_and_doubles_per_attempt() -> None:
    path = RouterPath()
    assert path.timeout() == 0.0 and path.timeout(3) == 0.0  # nothing measured: the meter's own decides
    path.in_flight = 3
    path.observe(2.0)  # the first sample: srtt 2, rttvar 1
    path.observe(2.0)  # three others in flight: taken with the gains / 4
    base = path.round_trip.timeout
    assert base == pytest.approx(2.0 + 4 * (1 - 0.25 / 4) * 1.0)
    assert path.timeout(1) == pytest.approx(2 * base) and path.timeout(2) == pytest.approx(4 * base)
    assert path.timeout(40) == MAX_TIMEOUT


def test_a_meter_never_measured_waits_as_long_as_its_router_s_queue_takes() -> None:
    """Two meters behind one border router (one /64), one behind another:
    answers of ~5 s from the first teach the second's first wait; the third
    keeps its own (a 1-hop meter's 1 s expectation)."""

    async def main() -> None:
        net = InProcessNetwork()
        resolver = MemoryResolver()
        resolver.set(b"MTR\x00\x00\x00\x00\x01", Address("fd00:0:0:1::1", 4059), hops=1)
        resolver.set(b"MTR\x00\x00\x00\x00\x02", Address("fd00:0:0:1::2", 4059), hops=1)
        resolver.set(b"MTR\x00\x00\x00\x00\x03", Address("fd00:0:0:2::3", 4059), hops=1)
        client = Client(net.endpoint("fd00::2", 4059), system_title=HEAD_END, resolver=resolver)
        busy, fresh, elsewhere = [
            await client.open(
                bytes(t), client_sap=0x66, pre_established=True, security="authenc", ek=bytes(16), ak=bytes(16)
            )  # fmt: skip
            for t in resolver
        ]
        for a in (busy, fresh, elsewhere):
            await client.address_of(a)
        own = client.first_timeout(fresh)
        assert own == pytest.approx(3 * (0.213 + 0.134))  # the hop model's 3R, before any answer
        for _ in range(20):
            client.round_trip(busy, 5.0, 0)
        assert busy.path is fresh.path and elsewhere.path is not busy.path
        # without the shared estimate the fresh meter waited 1.04 s for an answer that takes 5
        assert client.first_timeout(fresh) > 5.0
        assert client.first_timeout(fresh) == pytest.approx(busy.path.round_trip.timeout)  # type: ignore[union-attr]
        assert client.first_timeout(elsewhere) == pytest.approx(own)
        waits = list(client.timeouts(fresh))
        assert waits[0] > 5.0 and waits[2] >= 2 * waits[0]  # doubled per retry, as a meter's own
        # a retransmitted request is no sample (Karn): the path does not move
        before = busy.path.round_trip.srtt  # type: ignore[union-attr]
        client.round_trip(fresh, 60.0, 1)
        assert busy.path.round_trip.srtt == before  # type: ignore[union-attr]
        await client.close()

    asyncio.run(main())


@pytest.mark.single_backend  # a whole network of meters: the native backend, as deployed
def test_at_zero_loss_the_read_phase_is_not_asked_twice_for_nothing() -> None:
    """300 meters at zero loss: nothing is lost on air, so every retry is a
    timeout that fired while the answer queued in the channel.  With one
    timeout per meter the read phase made 441 of them (1,795 at 1,000
    meters); with the routers' shared estimate a few remain: where the
    channel's queue grew faster than an estimate of one round trip's memory
    can follow (the start of the read, when every meter's profile comes at
    once), and re-asks after the blocks of two answers to a request asked
    twice were mixed."""
    report = simulate(SimConfig(meters=300, loss=0.0))
    assert report.passed
    d = {p["name"]: p for p in report.as_dict()["phases"]}
    assert d["read"]["lost_datagrams"] == 0 and d["read"]["lost_frames"] == 0
    assert d["read"]["retries"] <= 45, d["read"]["retries"]
    assert d["associate"]["retries"] <= 20, d["associate"]["retries"]
    # the spurious answers' airtime is gone too: the read phase is shorter
    assert d["read"]["simulated_s"] < 420.0, d["read"]["simulated_s"]
