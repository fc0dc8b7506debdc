"""Group administration from the head-end (dlmsmesh.groups.admin): a meter
put into a group and out of it by ACTION add/remove_ipv6_address or by SET
of IPv6 setup attribute 5, condition entries written, the Registry kept in
step; the meter then answers (or not) a group request.  Also the group read
(dlmsmesh.groups.read_group) and the layering of dlmsmesh.groups."""

from __future__ import annotations

import asyncio
import ipaddress
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from dlmsmesh.client import Client, MemoryResolver
from dlmsmesh.client.association import Association
from dlmsmesh.client.errors import ActionFailure
from dlmsmesh.cosem import Data, default_meter
from dlmsmesh.cosem.groups import Group, GroupCondition, add_group_objects
from dlmsmesh.groups import (
    add_condition,
    conditions_of,
    groups_of,
    join,
    leave,
    read_group,
    remove_condition,
    set_groups,
)
from dlmsmesh.registration import Registry
from dlmsmesh.server import Meter, MeterKeys, Server
from dlmsmesh.transport import Address, InProcessNetwork, LinkProfile
from dlmsmesh.types import Array, OctetString, VisibleString

from .loopback_support import AK, BK, EK, KEK, NOW

HEAD_END = bytes.fromhex("4845530000000001")
PORT = 4059
LDN = (1, "0.0.42.0.0.255", 2)
FEEDER_LN = "0.0.96.99.0.255"
G, H = Group(21), Group(22)
SOLICITED = ipaddress.IPv6Address("ff02::1:ff00:1").packed  # a multicast address that is no group's
ROOT = Path(__file__).resolve().parent.parent


def title_of(n: int) -> bytes:
    return bytes.fromhex("4D4D4D0000CC0000")[:6] + n.to_bytes(2, "big")


class Rig:
    def __init__(self, net: InProcessNetwork, client: Client, servers: list[Server], meters: list[Meter],
                 registry: Registry) -> None:  # fmt: skip
        self.net, self.client, self.servers, self.meters, self.registry = net, client, servers, meters, registry
        self.keys = {m.system_title: (EK, AK) for m in meters}

    async def drive(self, work: Any, *, step: float = 0.25, limit: float = 600.0) -> Any:
        task = asyncio.get_running_loop().create_task(work)
        moved = 0.0
        while not task.done():
            if moved > limit:
                task.cancel()
                raise AssertionError(f"not done after {limit} virtual seconds")
            await self.net.advance(step)
            moved += step
        return task.result()

    async def admin(self, n: int, work: Any) -> Any:
        async def run() -> Any:
            async with self.client.associate(title_of(n), client_sap=0x66, pre_established=True, security="authenc",
                                             ek=EK, ak=AK) as meter:  # fmt: skip
                return await work(meter)

        return await self.drive(run())

    async def heard(self, group: Group) -> set[bytes]:
        async def run() -> set[bytes]:
            b = self.client.broadcast(group, LDN, window=3.0, keys=self.keys, bk=BK, ak=AK, expected=[])
            return {t async for t, _ in b}

        out: set[bytes] = await self.drive(run())
        return out

    def multicast(self, n: int) -> list[bytes]:
        return [bytes(a) for a in self.meters[n - 1].logical_devices[1].get("0.0.25.7.0.255").multicast_ipv6_addresses]


@pytest_asyncio.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    net = InProcessNetwork(seed=3, link=LinkProfile(delay=0.02))
    resolver = MemoryResolver()
    servers, meters = [], []
    for n in (1, 2):
        objects = default_meter(title_of(n), now=lambda: NOW)
        add_group_objects(objects, max_delay=1)
        feeder = objects.logical_devices[1].add(Data(FEEDER_LN, VisibleString(f"F{n}")))
        for association in objects.associations.values():
            if objects.ipv6_setup.logical_name in association.objects:
                association.objects.add(feeder)
        meter = Meter.from_objects(objects, keys=MeterKeys(ek=EK, ak=AK, bk=BK, kek=KEK))
        host = f"fd00::4:{n}"
        server = Server(net.endpoint(host, PORT), rng=random.Random(n))
        server.add_meter(meter)
        await server.start()
        servers.append(server)
        meters.append(meter)
        resolver.set(title_of(n), Address(host, PORT))
    client = Client(net.endpoint("fd00::2", PORT), system_title=HEAD_END, resolver=resolver)
    await client.start()
    registry = Registry.open(tmp_path / "r.sqlite", synchronous="normal")
    yield Rig(net, client, servers, meters, registry)
    await client.close()
    for server in servers:
        await server.close()
    registry.close()


@pytest.mark.asyncio
async def test_join_and_leave_by_action_change_the_meter_and_the_registry(rig: Rig) -> None:
    assert await rig.heard(G) == set()
    await rig.admin(1, lambda m: join(m, G, registry=rig.registry))
    assert rig.multicast(1) == [G.packed]
    assert rig.registry.members(G.id) == {title_of(1)}
    assert await rig.heard(G) == {title_of(1)}
    await rig.admin(1, lambda m: join(m, G, registry=rig.registry))  # already a member: stays once
    assert rig.multicast(1) == [G.packed]

    await rig.admin(1, lambda m: leave(m, G, registry=rig.registry))
    assert rig.multicast(1) == [] and rig.registry.members(G.id) == set()
    assert await rig.heard(G) == set()
    # by ACTION the meter refuses to remove an address it does not hold
    with pytest.raises(ActionFailure):
        await rig.admin(1, lambda m: leave(m, G))


@pytest.mark.asyncio
async def test_join_and_leave_by_set_of_attribute_5(rig: Rig) -> None:
    await rig.admin(2, lambda m: join(m, H, method="set", registry=rig.registry))
    await rig.admin(2, lambda m: join(m, G, method="set", registry=rig.registry))
    assert rig.multicast(2) == [H.packed, G.packed]
    assert rig.registry.groups_of(title_of(2)) == {G.id, H.id}
    assert await rig.heard(H) == {title_of(2)}
    assert await rig.admin(2, groups_of) == [H, G]
    await rig.admin(2, lambda m: leave(m, H, method="set", registry=rig.registry))
    await rig.admin(2, lambda m: leave(m, H, method="set"))  # not a member: nothing to do
    assert rig.multicast(2) == [G.packed] and rig.registry.groups_of(title_of(2)) == {G.id}
    with pytest.raises(ValueError, match="action or set"):
        await rig.admin(2, lambda m: join(m, G, method="write"))


@pytest.mark.asyncio
async def test_set_groups_replaces_the_groups_and_keeps_other_multicast_addresses(rig: Rig) -> None:
    rig.meters[0].logical_devices[1].get("0.0.25.7.0.255").multicast_ipv6_addresses = Array(
        [OctetString(SOLICITED), OctetString(H.packed)]
    )
    rig.registry.set_groups(title_of(1), [H.id])

    async def work(m: Association) -> list[Group]:
        await set_groups(m, [G, G], registry=rig.registry)
        return await groups_of(m)

    assert await rig.admin(1, work) == [G]
    assert rig.multicast(1) == [SOLICITED, G.packed]
    assert rig.registry.groups_of(title_of(1)) == {G.id} and rig.registry.members(H.id) == set()
    assert await rig.heard(G) == {title_of(1)} and await rig.heard(H) == set()


@pytest.mark.asyncio
async def test_condition_entries_make_members_by_value_and_the_registry_follows(rig: Rig) -> None:
    on_f1 = GroupCondition(G, 1, FEEDER_LN, 2, VisibleString("F1"))
    for n in (1, 2):
        member = await rig.admin(n, lambda m: add_condition(m, on_f1, registry=rig.registry))
        assert member is (n == 1)  # only meter 1 hangs off feeder F1
    assert rig.registry.members(G.id) == {title_of(1)}
    assert await rig.admin(1, conditions_of) == [on_f1]
    assert await rig.heard(G) == {title_of(1)}
    await rig.admin(1, lambda m: add_condition(m, on_f1))  # an equal entry stays once
    assert await rig.admin(1, conditions_of) == [on_f1]

    # an explicit member stays recorded when its condition goes
    await rig.admin(1, lambda m: join(m, G))
    await rig.admin(1, lambda m: remove_condition(m, on_f1, registry=rig.registry))
    assert rig.registry.members(G.id) == {title_of(1)} and await rig.admin(1, conditions_of) == []
    await rig.admin(1, lambda m: leave(m, G))
    await rig.admin(1, lambda m: add_condition(m, on_f1, registry=rig.registry))
    await rig.admin(1, lambda m: remove_condition(m, on_f1, registry=rig.registry))
    assert rig.registry.members(G.id) == set()
    assert await rig.heard(G) == set()


@pytest.mark.asyncio
async def test_read_group_gives_one_result_per_member_window_and_follow_up(rig: Rig) -> None:
    await rig.admin(1, lambda m: join(m, G))
    # meter 2 is expected but not a member: the follow-up reads it by unicast
    expected = [title_of(1), title_of(2)]
    done = await rig.drive(read_group(rig.client, G, LDN, window=3.0, keys=rig.keys, bk=BK, ak=AK,
                                      expected=expected, pace=0.5))  # fmt: skip
    assert set(done.summary.answered) == {title_of(1)} and done.summary.missing == {title_of(2)}
    assert done.follow_up is not None and set(done.follow_up.results) == {title_of(2)}
    assert set(done.results) == set(expected) and done.unreached == frozenset()
    for title, value in done.results.items():
        assert bytes(value) == b"MMM" + title[3:].hex().upper().encode()[:13] or len(bytes(value)) == 16
    quiet = await rig.drive(read_group(rig.client, G, LDN, window=3.0, keys=rig.keys, bk=BK, ak=AK,
                                       expected=expected, follow_up=False))  # fmt: skip
    assert quiet.follow_up is None and quiet.unreached == {title_of(2)}


def test_dlmsmesh_groups_sits_above_registration_client_and_server_below_cli() -> None:
    tomllib = pytest.importorskip("tomllib")
    layers = next(
        c["layers"]
        for c in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
        if c["id"] == "layers"
    )

    def level(module: str) -> int:
        return next(i for i, layer in enumerate(layers) if module in layer.replace("(", "").replace(")", "").split())

    assert level("dlmsmesh.cli") < level("dlmsmesh.groups") < level("dlmsmesh.registration")
    assert level("dlmsmesh.groups") < level("dlmsmesh.client") and level("dlmsmesh.groups") < level("dlmsmesh.server")
