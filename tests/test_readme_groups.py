"""The README's table of answer times across a group request's window is
what the library gives: the run is made again here (fixed seed, virtual
clock) and the table rendered compared with the README's text.

To renew the README's block after a deliberate change, print it with
``python tests/test_readme_groups.py`` and paste it between the markers.
"""

from __future__ import annotations

import asyncio
import random
import re
from pathlib import Path

import pytest

from dlmsmesh.client import Client
from dlmsmesh.cosem import Group, default_meter
from dlmsmesh.cosem.groups import add_group_objects
from dlmsmesh.groups.stats import distribution_table, ks_uniform
from dlmsmesh.server import Meter, MeterKeys, Server
from dlmsmesh.transport import InProcessNetwork
from dlmsmesh.types import Array, OctetString

pytestmark = pytest.mark.single_backend

README = Path(__file__).resolve().parents[1] / "README.md"
BEGIN, END = "<!-- answer-time table: begin -->", "<!-- answer-time table: end -->"
SEED = 2026
METERS = 300
WINDOW = 30
BINS = 10
GROUP = Group(0x15)
EK, AK, BK = bytes(range(16)), bytes(range(0xD0, 0xE0)), bytes(16 * [0xAA])
HEAD_END = b"HES00001"


def _title(i: int) -> bytes:
    return bytes.fromhex("4D4D4D00") + (0x3000 + i).to_bytes(4, "big")


async def answer_times(seed: int = SEED) -> list[float]:
    """Every member's answer time, seconds after the request left, on the
    in-process network (no delay in flight: the times are the meters' own
    delays) with the window designated by the request itself."""
    net = InProcessNetwork(seed=seed)
    meters = []
    for i in range(METERS):
        objects = default_meter(_title(i))
        add_group_objects(objects)  # no random delay configured: the request designates it
        objects.ipv6_setup.multicast_ipv6_addresses = Array([OctetString(GROUP.packed)])
        meters.append(Meter.from_objects(objects, keys=MeterKeys(ek=EK, ak=AK, bk=BK), address=f"fd00::5:{i:x}"))
    server = Server(net.endpoint("fd00::1", 4059, aliases=[m.address for m in meters if m.address]),
                    rng=random.Random(seed))  # fmt: skip
    server.add_meters(meters)
    client = Client(net.endpoint("fd00::2", 4059), system_title=HEAD_END)
    keys = {m.system_title: (EK, AK) for m in meters}
    async with server, client:
        broadcast = client.broadcast(GROUP, (1, "0.0.42.0.0.255", 2), window=WINDOW, designate=WINDOW, keys=keys,
                                     bk=BK, ak=AK, expected=keys)  # fmt: skip

        async def run() -> None:
            async for _ in broadcast:
                pass

        task = asyncio.get_running_loop().create_task(run())
        for _ in range(4 * WINDOW + 8):  # bounded: the window closes at WINDOW
            if task.done():
                break
            await net.advance(0.5)
        await task
    summary = broadcast.summary
    assert summary.missing == frozenset() and len(summary.answered) == METERS
    return sorted(summary.times.values())


def render(times: list[float]) -> str:
    ks = ks_uniform(times, 0.0, WINDOW)
    return "\n".join([
        BEGIN,
        distribution_table(times, WINDOW, BINS),
        "",
        f"{len(times)} answers, first at {times[0]:.2f} s, last at {times[-1]:.2f} s; Kolmogorov-Smirnov against"
        f" uniform on [0, {WINDOW}) s: D = {ks.statistic:.4f}, p = {ks.pvalue:.3f}.",
        END,
    ])  # fmt: skip


def _readme_block() -> str:
    text = README.read_text(encoding="utf-8")
    found = re.search(re.escape(BEGIN) + r".*?" + re.escape(END), text, re.S)
    assert found is not None, f"README.md has no block between {BEGIN} and {END}"
    return found.group(0)


@pytest.mark.asyncio
async def test_the_readme_table_is_what_the_run_gives() -> None:
    assert render(await answer_times()) == _readme_block()


@pytest.mark.asyncio
async def test_the_run_repeats_from_its_seed_and_another_seed_differs() -> None:
    first = await answer_times()
    assert await answer_times() == first
    other = await answer_times(SEED + 1)
    assert other != first and all(0 <= t < WINDOW for t in other)


if __name__ == "__main__":
    print(render(asyncio.run(answer_times())))
