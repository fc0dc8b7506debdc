"""What the listener and registration tests share: meters' titles and keys,
ciphered announcements as a meter sends them, the head-end's keyring."""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable, Sequence

from dlmsmesh import wrapper
from dlmsmesh.registration.announce import PUSH_CLIENT_SAP, Announcement, AnnouncementKind, notification
from dlmsmesh.registration.keys_file import KeyEntry, keys_lines, load_keys
from dlmsmesh.registration.listener import RegistryCounterStore
from dlmsmesh.registration.registry import Registry
from dlmsmesh.security import DEFAULT_POLICY, Keyring, SecurityContext, SecurityPolicy

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
