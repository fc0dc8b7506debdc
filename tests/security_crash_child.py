"""Child process of test_security_crash.py: sends forever with the counter
store a path or URL names (SQLite or PostgreSQL) and records every (key, invocation counter) it used, one line
per frame, with a single write(2) each so that SIGKILL cannot split a line."""

from __future__ import annotations

import os
import sys

from dlmsmesh.security import SecurityContext, open_counter_store


def main() -> None:
    db, log, block = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = open_counter_store(db, block=block)
    ctx = SecurityContext(
        bytes.fromhex("4D4D4D0000000001"), peer_system_title=bytes.fromhex("4D4D4D0000BC614E"),
        ek=bytes(range(16)), ak=bytes(range(16, 32)), bk=bytes(range(32, 48)), counters=store,
    )  # fmt: skip
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    apdu = bytes.fromhex("C0010000080000010000FF0200")
    n = 0
    while True:
        n += 1
        broadcast = n % 3 == 0
        frame = ctx.protect(apdu, broadcast=broadcast)
        # the frame is "sent" once protect returned: record its counter
        os.write(fd, f"{'b' if broadcast else 'u'} {int.from_bytes(frame[3:7], 'big')}\n".encode())
        if n % 7 == 0:
            frames = ctx.protect_batch([apdu] * 4)
            os.write(fd, "".join(f"u {int.from_bytes(f[3:7], 'big')}\n" for f in frames).encode())


if __name__ == "__main__":
    main()
