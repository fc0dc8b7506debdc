"""Child process of test_postgres_processes.py: protects FRAMES frames under
one head-end's keys through the counter store at URL and records every
(key, invocation counter) it used, one line per frame, each with a single
write(2) so that SIGKILL cannot split a line."""

from __future__ import annotations

import os
import sys

from dlmsmesh.security import SecurityContext, open_counter_store


def main() -> None:
    url, log, frames, block = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    store = open_counter_store(url, block=block)
    ctx = SecurityContext(
        bytes.fromhex("4845530000000001"), peer_system_title=bytes.fromhex("4D4D4D0000BC614E"),
        ek=bytes(range(16)), ak=bytes(range(16, 32)), bk=bytes(range(32, 48)), counters=store,
    )  # fmt: skip
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    apdu = bytes.fromhex("C0010000080000010000FF0200")
    sent = 0
    while sent < frames:
        if sent % 10 == 9 and frames - sent >= 4:
            batch = ctx.protect_batch([apdu] * 4)
            os.write(fd, "".join(f"u {int.from_bytes(f[3:7], 'big')}\n" for f in batch).encode())
            sent += 4
            continue
        broadcast = sent % 3 == 0
        frame = ctx.protect(apdu, broadcast=broadcast)
        # the frame is "sent" once protect returned: record its counter
        os.write(fd, f"{'b' if broadcast else 'u'} {int.from_bytes(frame[3:7], 'big')}\n".encode())
        sent += 1
    os.close(fd)
    store.close()


if __name__ == "__main__":
    main()
