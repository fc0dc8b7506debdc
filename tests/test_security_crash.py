"""Crash safety of the invocation counter stores (SQLite and PostgreSQL): a sender killed with
SIGKILL at random points, again and again, never uses a (key, invocation
counter) pair twice, and each restart resumes after the reserved block."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from .postgres_support import Databases

pytestmark = [pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL"), pytest.mark.single_backend]

CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "security_crash_child.py")


def _used(log: str) -> list[tuple[str, int]]:
    with open(log) as fh:
        return [(k, int(v)) for k, v in (line.split() for line in fh if line.strip())]


def _kill_loop(tmp_path: object, db: str, runs: int, seed: int, block: int) -> None:
    log = os.path.join(str(tmp_path), "used.log")
    # the kill timing is test scheduling, not a security value: a seeded
    # generator makes a failing run reproducible
    rng = random.Random(seed)
    previous_max: dict[str, int] = {}
    for run in range(runs):
        before = len(_used(log)) if os.path.exists(log) else 0
        proc = subprocess.Popen([sys.executable, CHILD, db, log, str(block)])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # wait until it is sending
            if os.path.exists(log) and len(_used(log)) > before:
                break
            assert proc.poll() is None, f"child exited with {proc.returncode}"
            time.sleep(0.002)
        else:
            proc.kill()
            pytest.fail("child never started sending")
        time.sleep(rng.uniform(0, 0.05))
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=20) == -signal.SIGKILL
        used = _used(log)
        new = used[before:]
        for key in ("u", "b"):
            mine = [ic for k, ic in new if k == key]
            assert mine == sorted(mine), f"run {run}: counters of {key} not increasing"
            if mine and key in previous_max:
                assert mine[0] > previous_max[key], f"run {run}: restarted inside an old block"
            if mine:
                previous_max[key] = mine[-1]
    dup = [pair for pair, n in Counter(_used(log)).items() if n > 1]
    assert not dup, f"(key, counter) pairs used twice: {dup[:10]}"
    assert len(_used(log)) > runs


def test_sigkill_never_reuses_a_counter(tmp_path: object, db: Databases) -> None:
    _kill_loop(tmp_path, db("counters"), runs=12, seed=20240601, block=3)


@pytest.mark.slow
def test_sigkill_soak(tmp_path: object, db: Databases) -> None:
    _kill_loop(tmp_path, db("counters"), runs=150, seed=int.from_bytes(os.urandom(4), "big"), block=2)
