"""The meter side of registration: a Meter of a Server announces where it is.

An :class:`Announcer` drives the two Push setups of one meter (IEC TS
62056-8-20 5.5.3, DESIGN in ``docs/registration.md``): the registration Push
setup ``0.1.25.9.0.255`` and the address-update Push setup
``0.2.25.9.0.255`` (created, with the same push_object_list shape, when the
meter lacks it).  It sends

* the registration when started (the meter joined: the head-end may drop
  what it held for this system title);
* an update when the meter's unicast addresses change: IPv6 setup attribute 4
  written by any means (a SET from a client, the add/remove methods, code),
  :meth:`Server.readdress <dlmsmesh.server.Server.readdress>` for this meter,
  or :meth:`Announcer.address_changed`;
* an update every ``keepalive`` seconds when configured;
* on the Push setup's ``push`` method (ACTION method 1): the announcement of
  that Push setup's kind.

Each announcement waits a uniform random delay in [0,
randomisation_start_interval] (so a neighbourhood powering up together does
not answer in one burst), then is sent, then repeated number_of_retries times
repetition_delay apart, all read from the Push setup when the announcement
starts (so a head-end's SET takes effect at the next one).  The profile gives
the head-end no acknowledgement to send: the meter repeats as configured and
the head-end keeps the first copy of each (system title, counter).  A new
announcement supersedes one still repeating (its content is stale); one not
yet sent keeps its kind when it was a registration.

Every frame is a data-notification in general-glo-ciphering
(authenticated and encrypted by default) under the meter's global unicast
key, with an invocation counter reserved from the meter's counter store at
send time: a repeat is a new frame with a new counter, never a reused nonce.
The sequence number (the body's fifth element) comes from the same store
(scope ``registration:<title>:sequence``), so it persists across restarts
with a :class:`~dlmsmesh.security.SqliteCounterStore`, and grows by one per
announcement (repeats carry the same one).  Every wait is on the transport's
clock: an in-process network's virtual clock runs these timers
deterministically.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import ipaddress
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from .. import stack
from ..apdu_model import CaptureObject
from ..cosem import AssociationLN, ObjectList
from ..cosem.base import CosemObject
from ..cosem.network import Ipv6Setup
from ..cosem.push import MessageType, PushSetup, PushSetupV2, TransportService
from ..errors import DlmsError
from ..security import Protection, SecurityContext, SecurityPolicy
from ..server import Meter, Server
from ..server.offload import off_loop
from ..transport import Address, InProcessEndpoint
from ..transport.clock import Clock, RealClock, TimerHandle
from ..transport.interface import normalize_host
from ..types import Array, DateTime, Enum, LongUnsigned, Obis, OctetString, Structure, Unsigned
from .announce import (
    PUSH_CLIENT_SAP,
    REGISTRATION_PUSH,
    UPDATE_PUSH,
    Announcement,
    AnnouncementKind,
    canonical_address,
    format_destination,
    global_first,
    notification,
    parse_destination,
)

__all__ = ["Announcer", "AnnouncerStats", "SECURITY_SETUP", "IPV6_SETUP", "TCP_UDP_SETUP"]

log = logging.getLogger(__name__)

#: the objects push_object_list names (docs/registration.md)
SECURITY_SETUP = Obis("0.0.43.0.0.255")
IPV6_SETUP = Obis("0.0.25.7.0.255")
TCP_UDP_SETUP = Obis("0.0.25.0.0.255")

_KINDS = {REGISTRATION_PUSH: AnnouncementKind.REGISTRATION, UPDATE_PUSH: AnnouncementKind.UPDATE}


@dataclass
class AnnouncerStats:
    """What an announcer did (frames: each send and each repeat is one)."""

    #: frames sent (first sends and repeats)
    sent: int = 0
    #: of those, repeats
    retries: int = 0
    #: announcements whose first frame went out
    announcements: int = 0
    #: announcements superseded by a newer one before their last repeat
    superseded: int = 0
    #: frames not sent: no destination, no address, a transport or key failure (logged)
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class Announcer:
    """Sends one meter's registration and address updates (see the module text).

    ``destination``: (host, port) of the head-end, written into both Push
    setups' send_destination_and_method (else what they hold is used, read at
    every send).  ``rng`` draws the start delays (a simulation's dice: seed
    it to repeat a run); ``clock`` the timers (default: the in-process
    network's clock when the server's transport is an in-process endpoint,
    else the event loop's).  ``randomisation_start_interval``,
    ``number_of_retries`` and ``repetition_delay`` (seconds), when given, are
    written into both Push setups.  ``keepalive``: seconds between periodic
    updates (None: none).  ``sequence``: carry the sequence number.  ``now``:
    the time stamped into each notification's date-time (None: no date-time,
    12 octets saved on the air).  ``protection``: of every frame (the
    head-end of this profile accepts only authenticated and encrypted ones).
    """

    def __init__(
        self,
        server: Server,
        meter: Meter,
        *,
        destination: tuple[str, int] | None = None,
        rng: random.Random | None = None,
        clock: Clock | None = None,
        randomisation_start_interval: int | None = None,
        number_of_retries: int | None = None,
        repetition_delay: int | None = None,
        keepalive: float | None = None,
        sequence: bool = True,
        now: Callable[[], _dt.datetime] | None = None,
        protection: Protection = Protection.AUTHENTICATED_ENCRYPTION,
    ) -> None:
        if not meter.keys and protection != Protection.NONE:
            raise ValueError(
                "a meter without keys cannot cipher its announcements (protection=Protection.NONE sends them plain)"
            )
        if keepalive is not None and not keepalive > 0:
            raise ValueError(f"keepalive is a number of seconds > 0, not {keepalive!r}")
        self.server = server
        self.meter = meter
        self.rng = rng if rng is not None else random.Random()  # noqa: S311 - spreading in time, not security
        if clock is None:
            transport = server.transport
            clock = transport.network.clock if isinstance(transport, InProcessEndpoint) else RealClock()
        self.clock = clock
        self.keepalive = keepalive
        self.sequence = sequence
        self.now = now
        self.protection = Protection(protection)
        self.stats = AnnouncerStats()
        self.server_sap, self.device = _management_device(meter)
        ipv6 = _find(self.device, 48, IPV6_SETUP)
        if not isinstance(ipv6, Ipv6Setup):
            raise ValueError(f"meter {meter.system_title.hex()} has no IPv6 setup to announce")
        self.ipv6: Ipv6Setup = ipv6
        self.tcp_udp = _find(self.device, 41, TCP_UDP_SETUP)
        # each value is written only when it differs: a write is type-checked,
        # and a neighbourhood builds thousands of these
        target = None if destination is None else format_destination(*destination)
        timing = (randomisation_start_interval, number_of_retries, repetition_delay)
        registration = self._existing(REGISTRATION_PUSH) or self._new_push(REGISTRATION_PUSH, None)
        _configure(registration, target, *timing)
        update = self._existing(UPDATE_PUSH)
        if update is None:
            update = self._new_push(UPDATE_PUSH, registration)
        else:
            _configure(update, target, *timing)
        self.push_setups: dict[AnnouncementKind, PushSetup] = {
            AnnouncementKind.REGISTRATION: registration,
            AnnouncementKind.UPDATE: update,
        }
        self._senders: dict[AnnouncementKind, Any] = {}
        self._context: SecurityContext | None = None
        self._keys_version = -1
        self._campaign: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._campaign_kind = AnnouncementKind.REGISTRATION
        self._campaign_sent = False
        self._keepalive: TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._registered = False
        self._announced: tuple[str, ...] | None = None
        self._started = False
        self._closed = False
        #: what stops watching the meter (IPv6 setup, the server's readdress)
        self._stops: list[Callable[[], None]] = []
        self._quiet = False

    # ------------------------------------------------------------ objects

    def _existing(self, logical_name: Obis) -> PushSetup | None:
        found = self.device.find(40, logical_name)
        return found if isinstance(found, PushSetup) else None

    def _new_push(self, logical_name: Obis, template: PushSetup | None) -> PushSetup:
        """A Push setup of the announcement's push_object_list, with the
        destination, timing and client SAP of ``template``."""
        ps = PushSetup(
            logical_name,
            [
                CaptureObject(40, logical_name, 1),
                CaptureObject(64, _name_of(_find(self.device, 64, SECURITY_SETUP), SECURITY_SETUP), 5),
                CaptureObject(48, self.ipv6.logical_name, 4),
                CaptureObject(41, _name_of(self.tcp_udp, TCP_UDP_SETUP), 2),
            ],
            objects=self.device,
            destination=template.destination if template is not None else b"",
            client_sap=template.client_sap if template is not None else PUSH_CLIENT_SAP,
        )
        if template is not None:
            delays = template.retry_delays()
            _configure(
                ps,
                None,
                int(template.randomisation_start_interval),
                len(delays),
                delays[0] if delays else None,  # a version 2 {min, exponent, max}: its first delay
            )
        self.device.add(ps)
        # a client that sees the registration Push setup sees this one too,
        # so a head-end can ask for either announcement (ACTION push)
        for association in _associations(self.meter):
            if template is not None and template.logical_name in association.objects:
                association.objects.add(ps)
        return ps

    @property
    def registration_push(self) -> PushSetup:
        return self.push_setups[AnnouncementKind.REGISTRATION]

    @property
    def update_push(self) -> PushSetup:
        return self.push_setups[AnnouncementKind.UPDATE]

    def addresses(self) -> tuple[str, ...]:
        """The unicast addresses the meter announces now (IPv6 setup
        attribute 4, global first; a multicast or unspecified address written
        there by mistake is no address of the meter, and is left out)."""
        return global_first(bytes(a) for a in self.ipv6.unicast_ipv6_addresses if bytes(a)[0] != 0xFF and any(bytes(a)))

    def port(self) -> int:
        """The UDP port the meter announces (TCP-UDP setup attribute 2; the
        transport's own port when the meter has no TCP-UDP setup)."""
        if self.tcp_udp is not None:
            return int(self.tcp_udp.tcp_udp_port)  # type: ignore[attr-defined]
        return self.server.transport.local_address.port

    # ---------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Watch the meter and send the registration (after the random delay)."""
        if self._closed:
            raise RuntimeError("a closed announcer does not start again")
        if self._started:
            return
        self._started = True
        self._loop = asyncio.get_running_loop()
        for kind, ps in self.push_setups.items():
            self._senders[kind] = ps.sender
            ps.sender = self._on_push
            if len(ps.communication_window):
                # the profile configures none ("any time"); windows are not kept here
                log.warning("%s: communication_window is not honoured, announcing at any time", ps.logical_name)
        # IPv6 setup attribute 4 (unicast addresses), however it changes, and
        # the server's readdress of this meter
        self._stops = [
            self.ipv6.watch(4, lambda _obj, _attribute: self._on_addresses()),
            self.server.on_readdress(self._on_readdress),
        ]
        self._trigger(AnnouncementKind.REGISTRATION)

    async def close(self) -> None:
        """Stop: the announcement under way and the keep-alive timer are
        cancelled (and awaited); the Push setups get their senders back."""
        if self._closed:
            return
        self._closed = True
        if self._keepalive is not None:
            self._keepalive.cancel()
            self._keepalive = None
        self._campaign = None
        # the one under way, and any superseded one not yet through its cancellation
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._started:
            for kind, ps in self.push_setups.items():
                if ps.sender == self._on_push:
                    ps.sender = self._senders.get(kind)
            for stop in self._stops:
                stop()
            self._stops = []

    async def __aenter__(self) -> Announcer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------ triggers

    def address_changed(self) -> None:
        """The meter's addresses changed: announce them (an update, or the
        registration when none went out yet)."""
        self._trigger(AnnouncementKind.UPDATE if self._registered else AnnouncementKind.REGISTRATION)

    async def announce(self, kind: AnnouncementKind | str = AnnouncementKind.UPDATE, *, delay: bool = True) -> None:
        """Announce now (after the random start delay unless ``delay`` is
        False) and return when the last repeat went out, or when a newer
        announcement superseded this one."""
        task = self._trigger(AnnouncementKind(kind), delay=delay)
        if task is not None:
            await asyncio.wait({task})

    def _on_push(self, note: Any, ps: PushSetup) -> None:
        # ACTION push (method 1) on either Push setup: the Push setup built
        # its own notification; the announcement is built (and ciphered) here
        self._trigger(_KINDS.get(ps.logical_name, AnnouncementKind.UPDATE))

    def _on_addresses(self) -> None:
        if not self._quiet and self.addresses() != self._announced:
            self.address_changed()

    def _on_readdress(self, system_title: bytes, address: str | None) -> None:
        if system_title == self.meter.system_title:
            self._moved(address)

    def _moved(self, address: str | None) -> None:
        """Server.readdress for this meter: the new address becomes the
        global one of IPv6 setup attribute 4 (link-local ones stay), and an
        update goes out even when the list was already right."""
        try:
            new = canonical_address(address) if address is not None else None
        except ValueError:
            new = None  # an IPv4 host or a node name: the IPv6 setup says what to announce
        if new is not None:
            current = [ipaddress.IPv6Address(bytes(a)) for a in self.ipv6.unicast_ipv6_addresses]
            kept = [a.packed for a in current if a.is_link_local and a.compressed != new]
            self._quiet = True  # one update for the move, not one for the write and one for the move
            try:
                self.ipv6.unicast_ipv6_addresses = Array(
                    OctetString(a) for a in [ipaddress.IPv6Address(new).packed, *kept]
                )
            finally:
                self._quiet = False
        self.address_changed()

    def _trigger(self, kind: AnnouncementKind, *, delay: bool = True) -> asyncio.Task[None] | None:
        if self._closed or not self._started or self._loop is None:
            return None  # before start: start() sends the registration with what is current then
        current = self._campaign
        if current is not None and not current.done():
            if self._campaign_kind is AnnouncementKind.REGISTRATION and not self._campaign_sent:
                kind = AnnouncementKind.REGISTRATION  # the head-end never heard the cold start
            current.cancel()
            self.stats.superseded += 1
        self._campaign_kind = kind
        self._campaign_sent = False
        task = self._loop.create_task(self._run(kind, delay), name=f"announce {self.meter.system_title.hex()}")
        self._campaign = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if self.keepalive is not None:
            if self._keepalive is not None:
                self._keepalive.cancel()
            self._keepalive = self.clock.call_later(self.keepalive, self._keepalive_due)
        return task

    def _keepalive_due(self) -> None:
        self._keepalive = None
        self._trigger(AnnouncementKind.UPDATE)

    # -------------------------------------------------------------- sending

    async def _run(self, kind: AnnouncementKind, delay: bool) -> None:
        ps = self.push_setups[kind]
        start = int(ps.randomisation_start_interval)
        repeats = ps.retry_delays()
        if delay and start:
            await self.clock.sleep(self.rng.uniform(0, start))
        announcement: Announcement | None = None
        for attempt in range(len(repeats) + 1):
            if attempt:
                await self.clock.sleep(repeats[attempt - 1])
            if announcement is None:
                announcement = await self._build(kind)
                if announcement is None:
                    return
            if await self._send(announcement, ps):
                if attempt:
                    self.stats.retries += 1
                if not self._campaign_sent:
                    self.stats.announcements += 1
                    self._campaign_sent = True
                if kind is AnnouncementKind.REGISTRATION:
                    self._registered = True

    async def _build(self, kind: AnnouncementKind) -> Announcement | None:
        addresses = self.addresses()
        if not addresses:
            log.info("meter %s has no address to announce yet", self.meter.system_title.hex())
            self.stats.failed += 1
            return None
        try:
            sequence = None
            if self.sequence:
                scope = f"registration:{self.meter.system_title.hex()}:sequence"
                sequence = await off_loop(self.meter.counters, self.meter.counters.reserve, scope)
            announcement = Announcement(kind, self.meter.system_title, addresses, self.port(), sequence)
        except (ValueError, DlmsError) as err:
            # a meter configured wrong (port 0) or out of sequence numbers:
            # said and counted, never raised into the event loop
            log.warning("meter %s: nothing to announce: %s", self.meter.system_title.hex(), err)
            self.stats.failed += 1
            return None
        self._announced = addresses
        return announcement

    def _security(self) -> SecurityContext | None:
        if self.protection == Protection.NONE:
            return None
        if self._context is None or self._keys_version != self.meter.keys_version:
            # after a key_transfer the next frame goes under the new keys
            self._context = self.meter.context(None, SecurityPolicy.both_ways(self.protection))
            self._keys_version = self.meter.keys_version
        return self._context

    def _frame(self, announcement: Announcement, client_sap: int) -> bytes:
        stamp = None
        if self.now is not None:
            stamp = bytes(DateTime.from_datetime(self.now()))
        apdu = notification(announcement, invoke_id=_invoke_id(announcement), date_time=stamp)
        security = self._security()
        frame = stack.send(apdu, security=security, general=security is not None, wports=(self.server_sap, client_sap))
        assert isinstance(frame, bytes)
        return frame

    async def _send(self, announcement: Announcement, ps: PushSetup) -> bool:
        try:
            host, port = parse_destination(ps.destination)
        except DlmsError as err:
            log.warning("meter %s: no destination to announce to (%s)", self.meter.system_title.hex(), err)
            self.stats.failed += 1
            return False
        try:
            # the counter is reserved here, at send time: every frame its own
            frame = await off_loop(self.meter.counters, self._frame, announcement, ps.client_sap)
            transport = self.server.transport
            source = self._source(transport)
            if source is not None:
                assert isinstance(transport, InProcessEndpoint)
                await transport.send(frame, (host, port), source=source)
            else:
                await transport.send(frame, (host, port))
        except DlmsError as err:
            log.warning("meter %s: announcement not sent: %s", self.meter.system_title.hex(), err)
            self.stats.failed += 1
            return False
        self.stats.sent += 1
        return True

    def _source(self, transport: Any) -> str | None:
        """The meter's own address, when the transport can send from it (an
        in-process endpoint hosting meters as aliases)."""
        if not isinstance(transport, InProcessEndpoint) or self.meter.address is None:
            return None
        host = normalize_host(self.meter.address)
        return host if transport.owns(Address(host, transport.local_address.port)) else None


def _configure(
    ps: PushSetup, destination: bytes | None, start: int | None, retries: int | None, delay: int | None
) -> None:
    """Write what is given and differs into ``ps``."""
    if destination is not None and ps.destination != destination:
        ps.send_destination_and_method = Structure(
            (Enum(int(TransportService.UDP)), OctetString(destination), Enum(int(MessageType.AXDR_APDU)))
        )
    if start is not None and int(ps.randomisation_start_interval) != start:
        ps.randomisation_start_interval = LongUnsigned(start)
    if retries is not None and int(ps.number_of_retries) != retries:
        ps.number_of_retries = Unsigned(retries)
    if delay is not None and ps.retry_delays()[:1] != [delay]:
        if isinstance(ps, PushSetupV2):
            ps.repetition_delay = Structure((LongUnsigned(delay), LongUnsigned(0), LongUnsigned(0)))
        else:
            ps.repetition_delay = LongUnsigned(delay)


def _invoke_id(announcement: Announcement) -> int:
    """The long-invoke-id: the sequence number's low 24 bits, so the repeats
    of one announcement share it; 1 without a sequence."""
    if announcement.sequence is None:
        return 1
    return announcement.sequence & 0xFFFFFF


def _management_device(meter: Meter) -> tuple[int, ObjectList]:
    """(SAP, objects) of the logical device holding the IPv6 setup (the
    management logical device, SAP 1, in the mesh profile)."""
    for sap in sorted(meter.logical_devices):
        device = meter.logical_devices[sap]
        if any(obj.class_id == 48 for obj in device):
            return sap, device
    raise ValueError(f"meter {meter.system_title.hex()} has no IPv6 setup to announce")


def _find(device: ObjectList, class_id: int, logical_name: Obis) -> CosemObject | None:
    found = device.find(class_id, logical_name)
    if found is None:
        found = next((obj for obj in device if obj.class_id == class_id and not isinstance(obj, PushSetup)), None)
    return found


def _name_of(obj: CosemObject | None, default: Obis) -> Obis:
    return default if obj is None else obj.logical_name


def _associations(meter: Meter) -> list[AssociationLN]:
    out: list[AssociationLN] = []
    for client in meter.client_saps:
        for sap in meter.logical_devices:
            for association in (meter.association(client, sap), meter.pre_established(client, sap)):
                if association is not None and all(association is not a for a in out):
                    out.append(association)
    return out
