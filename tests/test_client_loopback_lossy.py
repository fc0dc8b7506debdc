"""A month of 15-minute profile rows read through the Client on a mesh that
loses one datagram in ten (in-process network, seeded): once in GET
datablocks, once in general-block-transfer.  Retries recover every loss, in
bounded time."""

from __future__ import annotations

import time
from typing import Any

import pytest

from dlmsmesh.transport import LinkProfile

from .loopback_support import TITLE, loopback, make_meter

PROFILE = (7, "1.0.99.1.0.255", 2)
NOON = bytes.fromhex("07EA0C05060C000000000000")
FIRST_ROW_TIME = bytes.fromhex("07EA0B050400000000000000")
ROWS = 2929  # thirty days of 96 rows and today's 49
LOSSY = LinkProfile(loss=0.1)
#: seconds: the whole read, AARQ to RLRE, with every retry it needs
BOUND = 45.0


def check_profile(rows: Any) -> None:
    assert len(rows) == ROWS
    assert rows[0][0] == FIRST_ROW_TIME and rows[-1][0] == NOON
    imports = [int(r[1]) for r in rows]
    assert imports == sorted(imports) and imports[-1] == 19285521
    # 15-minute rows, none missing or repeated
    minutes = [bytes(r[0])[5] * 60 + bytes(r[0])[6] for r in rows[:96]]
    assert minutes == list(range(0, 24 * 60, 15))


@pytest.mark.asyncio
@pytest.mark.parametrize("gbt", [False, True], ids=["datablocks", "gbt"])
async def test_month_of_profile_rows_over_a_lossy_mesh(gbt: bool) -> None:
    started = time.monotonic()
    async with loopback(make_meter(gbt=gbt), link=LOSSY, seed=3, timeout=0.05, retries=7) as lb:
        async with lb.client.associate(TITLE) as meter:
            check_profile(await meter.get(PROFILE))
            blocks = lb.client.stats.received
        assert blocks > 60  # 1224-byte blocks
        assert lb.net.stats.lost > 6  # the loss was real
        assert lb.client.stats.retries > 0 and lb.client.stats.timeouts == 0
        assert lb.server.stats.associations_opened == 1
    assert time.monotonic() - started < BOUND
