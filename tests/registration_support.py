"""What the listener and registration tests share: meters' titles and keys,
ciphered announcements as a meter sends them, the head-end's keyring."""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TypeVar

from dlmsmesh import wrapper
from dlmsmesh.registration.announce import PUSH_CLIENT_SAP, Announcement, AnnouncementKind, notification
from dlmsmesh.registration.keys_file import KeyEntry, keys_lines, load_keys
from dlmsmesh.registration.listener import RegistryCounterStore
from dlmsmesh.registration.registry import Registry
from dlmsmesh.security import DEFAULT_POLICY, Keyring, SecurityContext, SecurityPolicy
from dlmsmesh.transport import Address, Incoming, TransportClosed, UdpTransport

_T = TypeVar("_T")

HES = bytes.fromhex("4845530000000001")
PORT = 61616


def title(i: int) -> bytes:
    return b"MTR" + i.to_bytes(5, "big")


def keys_of(t: bytes) -> tuple[bytes, bytes]:
    """(ek, ak) of a meter: derived from its title, distinct per meter."""
    digest = hashlib.sha256(b"test keys " + t).digest()
    return digest[:16], digest[16:]


def entry(t: bytes) -> KeyEntry:
    ek, ak = keys_of(t)
    return KeyEntry(t, ek, ak)


def keys_text(titles: Iterable[bytes]) -> str:
    return keys_lines(entry(t) for t in titles)


def keyring(
    titles: Iterable[bytes], registry: Registry | None = None, policy: SecurityPolicy | int = DEFAULT_POLICY
) -> Keyring:
    """The head-end's keyring, its receive counters read from ``registry``
    (in memory without one)."""
    counters = None if registry is None else RegistryCounterStore(registry)
    return load_keys(keys_text(titles).splitlines(), system_title=HES, counters=counters, policy=policy)


def meter_context(t: bytes, policy: SecurityPolicy | int = DEFAULT_POLICY) -> SecurityContext:
    ek, ak = keys_of(t)
    return SecurityContext(t, ek=ek, ak=ak, role="server", policy=policy)


def address(i: int, generation: int = 0) -> str:
    """Meter i's address in its ``generation``-th network (RFC 5952 text)."""
    return (ipaddress.IPv6Address(f"2001:db8:{generation:x}::1:0:0") + i + 1).compressed


def announcement(
    t: bytes,
    addresses: Sequence[str],
    *,
    kind: AnnouncementKind = AnnouncementKind.REGISTRATION,
    port: int = PORT,
    sequence: int | None = None,
) -> Announcement:
    return Announcement(kind, t, tuple(addresses), port, sequence)


def frame(ctx: SecurityContext, a: Announcement, **protect: object) -> bytes:
    """The UDP payload a meter sends: wrapper (wPort 1 -> 0x66) around the
    general-glo-ciphered data-notification."""
    return wrapper.encode(1, PUSH_CLIENT_SAP, ctx.protect(notification(a), general=True, **protect))  # type: ignore[arg-type]


class MovableUdp:
    """A :class:`~dlmsmesh.transport.Datagram` on one loopback UDP socket
    that can move to another local address (node migration, for real).

    A Server on a wildcard-bound socket would receive for many 127.x
    addresses, but answer from whatever source the kernel picks, and a
    client matches a plain reply (the AARE) by the address it sent to; so
    each meter of a UDP test has its own socket at its own address, and
    moving it opens the new socket before closing the old: a receive
    waiting on the old one goes on on the new one, and the Server (its
    associations included) never notices."""

    def __init__(self, transport: UdpTransport) -> None:
        self._t = transport
        self._closed = False

    @classmethod
    async def open(cls, host: str, port: int = 0) -> MovableUdp:
        return cls(await UdpTransport.open(host, port))

    async def move(self, host: str) -> None:
        old = self._t
        self._t = await UdpTransport.open(host, old.local_address.port)
        await old.close()

    @property
    def local_address(self) -> Address:
        return self._t.local_address

    @property
    def dropped(self) -> int:
        return self._t.dropped

    @property
    def closed(self) -> bool:
        return self._closed

    async def send(self, data: bytes | bytearray | memoryview, address: tuple[str, int]) -> None:
        await self._t.send(data, address)

    async def _receive(self, call: Callable[[UdpTransport], Awaitable[_T]]) -> _T:
        while True:
            current = self._t
            try:
                return await call(current)
            except TransportClosed:
                if self._closed or self._t is current:
                    raise

    async def recv(self, timeout: float | None = None) -> tuple[bytes, Address]:
        return await self._receive(lambda t: t.recv(timeout))

    async def recv_batch(self, max_count: int = 64, timeout: float | None = None) -> list[tuple[bytes, Address]]:
        return await self._receive(lambda t: t.recv_batch(max_count, timeout))

    async def recv_incoming(self, timeout: float | None = None) -> Incoming:
        return await self._receive(lambda t: t.recv_incoming(timeout))

    async def recv_batch_incoming(self, max_count: int = 64, timeout: float | None = None) -> list[Incoming]:
        return await self._receive(lambda t: t.recv_batch_incoming(max_count, timeout))

    def join_group(self, group: str) -> None:
        self._t.join_group(group)

    def leave_group(self, group: str) -> None:
        self._t.leave_group(group)

    async def close(self) -> None:
        self._closed = True
        await self._t.close()

    async def __aenter__(self) -> MovableUdp:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
