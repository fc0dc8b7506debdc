"""The stack meets the transports: a DLMS frame built by stack.send crosses
each Datagram implementation and stack.receive takes it back up, on both
codec backends."""

from __future__ import annotations

import asyncio

import pytest

from dlmsmesh import lowpan, stack
from dlmsmesh.apdu import GetResponseNormal
from dlmsmesh.security import MemoryCounterStore, SecurityContext
from dlmsmesh.transport import MESH_UDP_PORT, InProcessNetwork
from dlmsmesh.types import DoubleLongUnsigned

from .test_transport_interface import Harness, harness  # noqa: F401 - the fixture, shared

KEYS = {"ek": bytes(range(16)), "ak": bytes(range(0xD0, 0xE0))}
CLIENT_TITLE, METER_TITLE = bytes.fromhex("4d4d4d0000000001"), bytes.fromhex("4d4d4d0000bc614e")


def _contexts() -> tuple[SecurityContext, SecurityContext]:
    client = SecurityContext(CLIENT_TITLE, peer_system_title=METER_TITLE, counters=MemoryCounterStore(), **KEYS)
    server = SecurityContext(
        METER_TITLE, peer_system_title=CLIENT_TITLE, role="server", counters=MemoryCounterStore(), **KEYS
    )
    return client, server


@pytest.mark.asyncio
async def test_a_protected_dlms_reply_crosses_the_transport(harness: Harness) -> None:  # noqa: F811
    """stack.send -> transport -> stack.receive: the layers meet. The payload
    is the wrapper PDU, what a DLMS/UDP socket carries."""
    client, server = _contexts()
    meter, head_end = await harness.open(), await harness.open()
    reply = GetResponseNormal(DoubleLongUnsigned(12345))
    datagram = stack.send(reply, security=server, wports=(1, 16))
    assert isinstance(datagram, bytes)
    await meter.send(datagram, head_end.local_address)
    data, source = await head_end.recv(timeout=2)
    assert source == meter.local_address
    received = stack.receive(data, "wrapper", security=client)
    assert received.apdu == reply
    assert received.layers == ("wrapper", "security", "apdu")
    assert received.security is not None and received.security.invocation_counter == 1


@pytest.mark.asyncio
async def test_6lowpan_fragments_cross_a_simulated_mesh_link() -> None:
    """What the simulator carries: the IPv6/UDP datagram on the mesh port,
    compressed and fragmented for a small MTU, each fragment one datagram of
    the in-process network with radio-like delay and jitter; the receiver
    reassembles in whatever order they land."""
    from dlmsmesh.transport import LinkProfile

    client, server = _contexts()
    head_end_ip, meter_ip = "2001:db8:ffff::10", "2001:db8:1::212:4b00:1:203"
    meter_mac, collector_mac = bytes.fromhex("00124b0000010203"), bytes.fromhex("0001")
    pan = {0: "2001:db8:1::/64"}
    net = InProcessNetwork(seed=7, link=LinkProfile(delay=0.045, jitter=0.03))
    meter = net.endpoint(meter_ip, MESH_UDP_PORT)
    collector = net.endpoint(head_end_ip, MESH_UDP_PORT)
    reply = GetResponseNormal(DoubleLongUnsigned(12345))
    frames = stack.send(
        reply, security=server, wports=(1, 16), source=meter_ip, destination=head_end_ip,
        source_port=MESH_UDP_PORT, destination_port=MESH_UDP_PORT,
        links=(meter_mac, collector_mac), contexts=pan, mtu=48, tag=7,
    )  # fmt: skip
    assert isinstance(frames, list) and len(frames) == 2
    for frame in frames:
        await meter.send(frame, collector.local_address)
    await net.run_until_idle()
    batch = await collector.recv_batch(8, timeout=0)
    assert len(batch) == 2 and all(source == meter.local_address for _, source in batch)
    assert 0.045 <= net.clock.time() < 0.075
    reassembler = lowpan.Reassembler()
    results = [
        stack.receive(f, security=client, links=(meter_mac, collector_mac), contexts=pan, reassembler=reassembler)
        for f, _ in batch
    ]
    done = [r for r in results if not r.pending]
    assert len(done) == 1
    assert done[0].apdu == reply
    assert done[0].udp is not None and done[0].udp.destination_port == MESH_UDP_PORT
    await asyncio.gather(meter.close(), collector.close())
