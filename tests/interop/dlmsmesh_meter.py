"""A dlmsmesh meter server for the gurux interop tests: ``dlmsmesh serve`` as
a subprocess on a free loopback port (what a user runs), read until its
startup line says where it listens; stopped (and killed if it must be) on exit.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["serve"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve(*args: str, timeout: float = 20.0) -> Iterator[dict[str, Any]]:
    """Run ``dlmsmesh serve --json ARGS`` on 127.0.0.1 and a free port; yields
    its startup JSON (system title, address, keys)."""
    port = _free_port()
    command = [sys.executable, "-m", "dlmsmesh", "serve", "--host", "127.0.0.1", "--port", str(port), "--json", *args]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + timeout
        assert process.stdout is not None
        line = ""
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if line.strip() or process.poll() is not None:
                break
        if not line.strip():
            raise RuntimeError(f"dlmsmesh serve printed nothing: {process.stderr.read() if process.stderr else ''}")
        started = json.loads(line)
        started.setdefault("port", port)
        yield started
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
