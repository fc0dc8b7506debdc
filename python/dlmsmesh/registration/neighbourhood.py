"""A neighbourhood of emulated meters that announce themselves, for tests,
benchmarks and ``dlmsmesh simulate``.

:func:`neighbourhood` puts N meters (:func:`~dlmsmesh.cosem.default_meter`
objects, each with its own keys) behind one :class:`~dlmsmesh.server.Server`
on an :class:`~dlmsmesh.transport.InProcessNetwork`, each with an
:class:`~dlmsmesh.registration.announcer.Announcer` pointed at the
head-end.  Everything is a function of ``seed``: the system titles, the
keys, the addresses, the start delays and the network's dice, so a run
repeats exactly on the network's virtual clock.

Meter ``i`` (from 0) has system title ``4D4D4D`` + ``i + 1`` (5 octets),
global address ``<prefix>::<title>`` (the system title is the interface
identifier) plus its link-local twin ``fe80::<title>``, and, when
``migration_prefix`` is given, a second global address under that prefix
already bound on the network, so :meth:`Neighbourhood.migrate` moves it
there (a node migration to another border router) and the meter announces
the update.  The keys are test keys drawn from the seed: never use them
for anything else.
"""

from __future__ import annotations

import hashlib
import ipaddress
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..apdu_model import CaptureObject
from ..cosem import AssociationLN, ObjectList, default_meter
from ..cosem.network import Ipv6Setup, TcpUdpSetup
from ..cosem.push import PushSetup
from ..cosem.security_setup import SecuritySetup
from ..security import InvocationCounterStore, Keyring, MemoryCounterStore
from ..server import Meter, MeterKeys, Server
from ..transport import InProcessNetwork, LinkProfile
from ..xdlms_initiate import Conformance
from .announce import PUSH_CLIENT_SAP, REGISTRATION_PORT, REGISTRATION_PUSH
from .announcer import Announcer
from .keys_file import KeyEntry, keyring_of, keys_lines

__all__ = [
    "Neighbourhood",
    "neighbourhood",
    "light_meter",
    "meter_title",
    "HEAD_END_HOST",
    "PREFIX",
    "MIGRATION_PREFIX",
]

#: where the head-end listens by default (the worked example of docs/registration.md)
HEAD_END_HOST = "2001:db8:ffff::10"
#: the meters' prefix, and the one they migrate to
PREFIX = "2001:db8:1::/64"
MIGRATION_PREFIX = "2001:db8:2::/64"

_FLAG = b"MMM"


def meter_title(index: int) -> bytes:
    """The system title of meter ``index`` (from 0): ``MMM`` + index + 1."""
    if not 0 <= index < 0xFFFFFFFFFF:
        raise ValueError(f"a meter index is 0..{0xFFFFFFFFFF - 1}, not {index}")
    return _FLAG + (index + 1).to_bytes(5, "big")


def _address(prefix: str, title: bytes) -> str:
    network = ipaddress.IPv6Network(prefix)
    if network.prefixlen > 64:
        raise ValueError(f"a meter prefix is /64 or shorter, not /{network.prefixlen}")
    return ipaddress.IPv6Address(network.network_address.packed[:8] + title).compressed


def _keys(seed: Any, title: bytes) -> tuple[bytes, bytes]:
    digest = hashlib.sha256(b"dlmsmesh neighbourhood test keys\x00" + repr(seed).encode() + b"\x00" + title).digest()
    return digest[:16], digest[16:]


#: what the pre-established client of a light meter may ask: GET, SET, ACTION
_LIGHT_CONFORMANCE = int(Conformance.GET | Conformance.SET | Conformance.ACTION | Conformance.DATA_NOTIFICATION)


def light_meter(title: bytes, addresses: Sequence[str], port: int, keys: MeterKeys, **meter: Any) -> Meter:
    """A meter with only what announcing needs: Security setup, IPv6 setup,
    TCP-UDP setup, the registration Push setup, and the pre-established
    client 0x66 (ciphered) that reads and writes them and asks for a push.
    A storm of 10,000 of these fits a test; :func:`default_meter` is the
    whole emulated electricity meter."""
    security = SecuritySetup(server_system_title=title)
    ipv6 = Ipv6Setup(unicast=addresses)
    tcp_udp = TcpUdpSetup(port=port)
    device = ObjectList([security, ipv6, tcp_udp])
    device.add(
        PushSetup(
            REGISTRATION_PUSH,
            [
                CaptureObject(40, REGISTRATION_PUSH, 1),
                CaptureObject(64, security.logical_name, 5),
                CaptureObject(48, ipv6.logical_name, 4),
                CaptureObject(41, tcp_udp.logical_name, 2),
            ],
            objects=device,
            client_sap=PUSH_CLIENT_SAP,
        )
    )
    pre_established = AssociationLN(
        "0.0.40.0.0.255",
        objects=ObjectList(device),
        logical_device=device,
        client_sap=PUSH_CLIENT_SAP,
        server_sap=1,
        context_id=3,
        conformance=_LIGHT_CONFORMANCE,
    )
    return Meter(title, {1: device}, {}, keys=keys, pre_established={PUSH_CLIENT_SAP: pre_established}, **meter)


@dataclass
class Neighbourhood:
    """N meters behind one server on an in-process network, announcing to
    ``head_end``.  ``meters[i]`` is announced by ``announcers[i]``; ``keys``
    are their keys-file entries (the head-end's keyring: :meth:`keyring`)."""

    network: InProcessNetwork
    server: Server
    meters: list[Meter]
    announcers: list[Announcer]
    keys: list[KeyEntry]
    head_end: tuple[str, int]
    migration_addresses: list[str | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.meters)

    def keyring(self, system_title: bytes | None = None, *, counters: InvocationCounterStore | None = None) -> Keyring:
        """A head-end keyring of every meter's keys (``system_title``: the head-end's)."""
        return keyring_of(self.keys, system_title=system_title, counters=counters)

    def keys_file(self) -> str:
        """The meters' keys as a keys file (JSON Lines)."""
        return keys_lines(self.keys)

    async def start(self) -> None:
        """Serve the meters and start every announcer (each sends its
        registration after its own random delay)."""
        await self.server.start()
        for announcer in self.announcers:
            await announcer.start()

    async def close(self) -> None:
        for announcer in self.announcers:
            await announcer.close()
        await self.server.close()

    async def __aenter__(self) -> Neighbourhood:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def migrate(self, index: int, address: str | None = None) -> str:
        """Move meter ``index`` to ``address`` (default: its address under
        the migration prefix): it answers there from now on, its
        associations go on, and it announces the update.  Returns the address."""
        target = address if address is not None else self.migration_addresses[index]
        if target is None:
            raise ValueError("no migration address: give one, or build the neighbourhood with a migration_prefix")
        # Server.readdress is what the announcer watches: one call moves the
        # meter and announces it
        self.server.readdress(self.meters[index].system_title, target)
        return target


def neighbourhood(
    count: int,
    *,
    seed: int | str | bytes = 0,
    network: InProcessNetwork | None = None,
    head_end: tuple[str, int] = (HEAD_END_HOST, REGISTRATION_PORT),
    port: int = REGISTRATION_PORT,
    prefix: str = PREFIX,
    migration_prefix: str | None = MIGRATION_PREFIX,
    link: LinkProfile | None = None,
    counters: InvocationCounterStore | None = None,
    randomisation_start_interval: int = 60,
    number_of_retries: int = 3,
    repetition_delay: int = 10,
    keepalive: float | None = None,
    sequence: bool = True,
    first: int = 0,
    light: bool = False,
    server_kwargs: dict[str, Any] | None = None,
) -> Neighbourhood:
    """Build (not start) ``count`` announcing meters; see the module text.

    ``network``: the in-process network to join (default: a new one from
    ``seed``, with ``link`` as every link's profile); ``head_end``: where
    announcements go; ``port``: the meters' UDP port; ``counters``: the
    invocation counter store every meter shares (default: one in memory);
    the timing arguments go to every meter's Push setups.  ``first``: the
    index of the first meter (for several neighbourhoods on one network).
    ``light``: meters of :func:`light_meter` (what announcing needs, for
    storms of thousands) instead of :func:`~dlmsmesh.cosem.default_meter`'s.
    """
    if count < 1:
        raise ValueError("a neighbourhood has at least one meter")
    net = network if network is not None else InProcessNetwork(seed, link=link)
    store = counters if counters is not None else MemoryCounterStore()
    titles = [meter_title(first + i) for i in range(count)]
    homes = [_address(prefix, t) for t in titles]
    moves: list[str | None] = [None] * count
    if migration_prefix is not None:
        moves = [_address(migration_prefix, t) for t in titles]
    aliases: Sequence[str] = homes[1:] + [m for m in moves if m is not None]
    server = Server(net.endpoint(homes[0], port, aliases=aliases), **(server_kwargs or {}))
    meters: list[Meter] = []
    entries: list[KeyEntry] = []
    announcers: list[Announcer] = []
    # one generator per meter, drawn from the seed in order: adding a meter
    # at the end leaves the others' delays as they were
    dice = random.Random(f"dlmsmesh neighbourhood {seed!r}")  # noqa: S311 - simulation
    for title, home in zip(titles, homes):
        ek, ak = _keys(seed, title)
        link_local = ipaddress.IPv6Address(b"\xfe\x80" + bytes(6) + title).compressed
        keys = MeterKeys(ek=ek, ak=ak)
        if light:
            meter = light_meter(title, [home, link_local], port, keys, counters=store, address=home)
        else:
            objects = default_meter(title, addresses=[home, link_local], port=port)
            meter = Meter.from_objects(objects, keys=keys, counters=store, address=home)
        server.add_meter(meter)
        meters.append(meter)
        entries.append(KeyEntry(title, ek, ak))
        announcers.append(
            Announcer(
                server,
                meter,
                destination=head_end,
                rng=random.Random(dice.getrandbits(64)),  # noqa: S311 - simulation
                randomisation_start_interval=randomisation_start_interval,
                number_of_retries=number_of_retries,
                repetition_delay=repetition_delay,
                keepalive=keepalive,
                sequence=sequence,
            )
        )
    return Neighbourhood(net, server, meters, announcers, entries, head_end, moves)
