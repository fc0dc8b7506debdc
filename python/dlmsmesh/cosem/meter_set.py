"""The objects of one emulated electricity meter: a factory a server, the
``serve`` command and the simulator build their meters from.

:func:`default_meter` returns a :class:`MeterObjects`: the logical devices by
server SAP (only the management logical device, SAP 1, IEC 62056-8-20) and the
association each client SAP gets: the public client (16) with no
authentication and read-only rights, the management client (1) with the
configured authentication and every right the classes give.

Everything a meter shows is a function of its system title and the injected
``now``, so two meters built with the same title and the same time answer
with the same bytes, and a meter costs no stored history:

* logical device name (0.0.42.0.0.255, 16 octets): the manufacturer's
  three-letter FLAG id (the first three octets of the system title, when they
  are the letters A-Z) followed by the remaining five octets as a 13-digit
  zero-padded decimal serial number: title ``4D4D4D0000BC614E`` gives
  ``MMM0000012345678``.  A title whose first three octets are not letters
  gives the 16 upper-case hex digits of the whole title.
* energy registers (1.0.1.8.0.255 import, 1.0.2.8.0.255 export;
  double-long-unsigned, scaler 0, unit Wh): a starting value and a daily
  energy drawn from a SHA-256 of the title, spread over the 96 quarters of
  each UTC day by a daily load shape drawn from the same hash.  The value at
  a quarter boundary is exact; between two boundaries it is interpolated.
  Values never decrease; they start on 2020-01-01 00:00 UTC (constant before).
  Import draws 2 to 20 kWh a day, export 0 to 5 kWh.
* load profile (1.0.99.1.0.255, capture period 900 s, columns: clock time,
  import, export): one row per quarter-hour boundary from 00:00 UTC thirty
  days before the current UTC day up to and including now, i.e. 2,880 rows of
  the thirty past days plus the rows of today; built row by row when read.
* two push setups: 0.1.25.9.0.255 announces the meter (the registration of
  IEC 62056-8-20: {push setup name, system title, unicast IPv6 addresses,
  UDP port}); 0.0.25.9.0.255 pushes {push setup name, logical device name,
  clock time}, the usual identification push.

The clock runs in UTC (time_zone 0, no daylight saving) so the profile's
time column never jumps.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import ipaddress
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..apdu_model import ActionResult, CaptureObject, DataAccessResult
from ..security.tags import SecuritySuite
from ..types import CosemValue, DateTime, DoubleLongUnsigned, Enum, Integer, Obis, OctetString, Structure
from ..xdlms_initiate import Conformance
from .access import AccessRights, MethodAccess
from .association import CURRENT_ASSOCIATION, AssociationLN, HlsResponder
from .base import READ_ONLY, ActionError, CosemObject, attribute, method
from .clock import Clock
from .container import ObjectList
from .network import Ipv6Setup, TcpUdpSetup
from .profile import GeneratedRows, ProfileGeneric
from .push import PushSender, PushSetup, TransportService
from .registers import Data, Now, Register, Unit, invocation_counter, utc_now
from .sap import SapAssignment
from .security_setup import SecuritySetup

__all__ = [
    "MeterObjects",
    "default_meter",
    "logical_device_name",
    "MECHANISMS",
    "PUBLIC_CLIENT",
    "MANAGEMENT_CLIENT",
    "MANAGEMENT_LOGICAL_DEVICE",
    "REGISTRATION_PUSH",
    "PUSH",
    "PROFILE_DAYS",
]

PUBLIC_CLIENT = 0x10
MANAGEMENT_CLIENT = 0x01
MANAGEMENT_LOGICAL_DEVICE = 0x01
#: the push setup whose notification announces {push LN, system title, IPv6 addresses, port}
REGISTRATION_PUSH = Obis("0.1.25.9.0.255")
#: the general push setup: {its own logical name, logical device name, clock time}
PUSH = Obis("0.0.25.9.0.255")
#: full days of load profile before the current day
PROFILE_DAYS = 30
#: authentication_mechanism_name ids (2.16.756.5.8.2.x) by the names the command line uses
MECHANISMS: Mapping[str, int] = {"none": 0, "lls": 1, "hls-gmac": 5, "hls-sha256": 6, "hls-ecdsa": 7}

_QUARTER = 900
_SECOND = _dt.timedelta(seconds=1)
_QUARTERS_PER_DAY = 96
#: the installation day of every emulated meter: its registers start there
_EPOCH = _dt.datetime(2020, 1, 1, tzinfo=_dt.timezone.utc)
#: association instances 0.0.40.0.e.255 by client SAP (fixed, one per client)
_ASSOCIATION_INSTANCE = {PUBLIC_CLIENT: 1, MANAGEMENT_CLIENT: 2}


def logical_device_name(system_title: bytes) -> bytes:
    """The 16-octet logical device name a meter with this system title reports."""
    title = bytes(system_title)
    if len(title) != 8:
        raise ValueError(f"a system title is 8 octets, got {len(title)}")
    flag = title[:3]
    if all(0x41 <= c <= 0x5A for c in flag):
        return flag + b"%013d" % int.from_bytes(title[3:], "big")
    return title.hex().upper().encode("ascii")


class _EnergyCurve:
    """Cumulative energy (Wh) at any moment: O(1), integer at quarter boundaries."""

    def __init__(self, seed: bytes, low: int, high: int) -> None:
        self.base = 1_000_000 + int.from_bytes(seed[0:4], "big") % 9_000_000
        self.daily = low + int.from_bytes(seed[4:6], "big") % (high - low)
        weights = [1 + b for b in hashlib.sha256(seed + b"shape").digest() * 3][:_QUARTERS_PER_DAY]
        total = sum(weights)
        cumulative = [0]
        for w in weights:
            cumulative.append(cumulative[-1] + self.daily * w // total)
        cumulative[-1] = self.daily  # the rounding remainder goes to the last quarter
        self._cumulative = cumulative

    def at_quarter(self, quarter: int) -> int:
        if quarter < 0:  # the meter was installed at the curve's epoch
            return self.base
        day, q = divmod(quarter, _QUARTERS_PER_DAY)
        return self.base + self.daily * day + self._cumulative[q]

    def at(self, moment: _dt.datetime) -> int:
        seconds = (moment - _EPOCH) // _SECOND
        quarter, into = divmod(seconds, _QUARTER)
        low = self.at_quarter(quarter)
        return low + (self.at_quarter(quarter + 1) - low) * into // _QUARTER


def _utc(now: Now) -> _dt.datetime:
    moment = now()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    return moment.astimezone(_dt.timezone.utc)


class _EnergyRegister(Register):
    """A Register whose value is read from an energy curve at the clock's time."""

    def __init__(self, logical_name: Obis | str, curve: _EnergyCurve, now: Now) -> None:
        CosemObject.__init__(self, logical_name)
        self._curve = curve
        self._now = now
        self.scaler_unit = Structure((Integer(0), Enum(Unit.WATT_HOUR)))
        self._default = DoubleLongUnsigned(0)

    def _read_energy(self) -> DoubleLongUnsigned:
        return DoubleLongUnsigned(self._curve.at(_utc(self._now)))

    value = attribute(2, DoubleLongUnsigned, access=READ_ONLY)(_read_energy)

    @method(1, Integer, access=MethodAccess.NO_ACCESS)
    def reset(self, parameters: Any) -> None:
        # a billing register's total is never reset from outside the meter
        raise ActionError(ActionResult.READ_WRITE_DENIED, "a cumulative energy register is not reset")


class _CurrentAssociation(AssociationLN):
    """0.0.40.0.0.255 as one client sees it: every GET, SET and ACTION goes to
    that client's own association instance (0.0.40.0.e.255)."""

    def __init__(self, target: AssociationLN) -> None:
        CosemObject.__init__(self, CURRENT_ASSOCIATION)
        self.target = target

    async def get(
        self, attribute_id: int, selector: int | None = None, parameters: Any = None
    ) -> CosemValue | DataAccessResult:
        if attribute_id == 1:
            return await CosemObject.get(self, 1)
        return await self.target.get(attribute_id, selector, parameters)

    async def set(self, attribute_id: int, value: Any) -> DataAccessResult:
        if attribute_id == 1:
            return DataAccessResult.READ_WRITE_DENIED
        return await self.target.set(attribute_id, value)

    async def action(self, method_id: int, parameters: Any = None) -> tuple[ActionResult, CosemValue | None]:
        return await self.target.action(method_id, parameters)


@dataclass(frozen=True)
class MeterObjects:
    """What :func:`default_meter` builds.

    ``logical_devices`` maps each server SAP to every object of that logical
    device; ``associations`` maps each client SAP to its Association LN,
    whose ``objects`` is what that client can address (and lists in
    object_list) and whose ``rights`` is what it may do: a server resolves a
    request in the association's ``objects``, the only place the current
    association 0.0.40.0.0.255 exists (one per client, each reaching that
    client's own instance 0.0.40.0.e.255: e = 1 public, 2 management).  The named fields
    are the same objects, for a caller that drives them (a simulator
    advancing the clock, a server sending the registration push).
    """

    system_title: bytes
    logical_devices: Mapping[int, ObjectList]
    associations: Mapping[int, AssociationLN]
    clock: Clock
    import_energy: Register
    export_energy: Register
    load_profile: ProfileGeneric
    security_setup: SecuritySetup
    ipv6_setup: Ipv6Setup
    registration_push: PushSetup
    push: PushSetup


def _link_local(system_title: bytes) -> ipaddress.IPv6Address:
    return ipaddress.IPv6Address(b"\xfe\x80" + bytes(6) + bytes(system_title))


def default_meter(
    system_title: bytes,
    *,
    now: Now | None = None,
    counter: Callable[[], int] = lambda: 0,
    authentication: str = "none",
    secret: bytes = b"",
    hls_responder: HlsResponder | None = None,
    policy: int = 0,
    suite: int = SecuritySuite.AES_GCM_128,
    addresses: Iterable[str | bytes | ipaddress.IPv6Address] | None = None,
    port: int = 61616,
    push_destination: str | bytes = b"",
    push_client_sap: int = 0x66,
    push_sender: PushSender | None = None,
) -> MeterObjects:
    """Build one meter's objects (see the module text for what each shows).

    ``now`` gives the time (UTC when naive; the wall clock by default);
    ``counter`` the invocation counter of the meter's key, read at every GET
    of 0.0.43.1.0.255; ``authentication`` one of :data:`MECHANISMS` for the
    management client, with ``secret`` (the LLS password or HLS secret) and
    ``hls_responder`` (the Server's HLS check); ``policy`` and ``suite`` go
    to Security setup.  ``addresses`` are the unicast IPv6 addresses (by
    default the link-local address whose interface id is the system title),
    ``port`` the UDP port; the registration push goes to
    ``push_destination`` at wPort ``push_client_sap`` through ``push_sender``.
    """
    title = bytes(system_title)
    ldn = logical_device_name(title)
    if authentication not in MECHANISMS:
        raise ValueError(f"authentication is one of {', '.join(MECHANISMS)}, not {authentication!r}")
    clock_now: Now = now if now is not None else utc_now
    seed = hashlib.sha256(b"dlmsmesh meter " + title).digest()
    import_curve = _EnergyCurve(seed[:16], 2_000, 20_000)
    export_curve = _EnergyCurve(seed[16:], 0, 5_000)

    clock = Clock("0.0.1.0.0.255", now=clock_now, time_zone=0, dst_enabled=False)
    name = Data("0.0.42.0.0.255", bytes.__new__(OctetString, ldn))
    ic = invocation_counter(counter)
    imp = _EnergyRegister("1.0.1.8.0.255", import_curve, clock.utc)
    exp = _EnergyRegister("1.0.2.8.0.255", export_curve, clock.utc)
    profile = ProfileGeneric(
        "1.0.99.1.0.255",
        [(clock, 2), (imp, 2), (exp, 2)],
        capture_period=_QUARTER,
        rows=_profile_rows(clock.utc, import_curve, export_curve),
    )
    security = SecuritySetup("0.0.43.0.0.255", server_system_title=title, policy=policy, suite=suite)
    ipv6 = Ipv6Setup(unicast=list(addresses) if addresses is not None else [_link_local(title)])
    tcp_udp = TcpUdpSetup(port=port)
    sap = SapAssignment(devices=[(MANAGEMENT_LOGICAL_DEVICE, ldn)])
    device = ObjectList([clock, name, ic, imp, exp, profile, sap, security, ipv6, tcp_udp])
    registration = PushSetup(
        REGISTRATION_PUSH,
        [
            CaptureObject(40, REGISTRATION_PUSH, 1),
            CaptureObject(64, security.logical_name, 5),
            CaptureObject(48, ipv6.logical_name, 4),
            CaptureObject(41, tcp_udp.logical_name, 2),
        ],
        objects=device,
        destination=push_destination,
        transport=TransportService.UDP,
        client_sap=push_client_sap,
        sender=push_sender,
        now=clock.utc,
    )
    device.add(registration)
    push = PushSetup(
        PUSH,
        [CaptureObject(40, PUSH, 1), (name, 2), (clock, 2)],
        objects=device,
        destination=push_destination,
        transport=TransportService.UDP,
        client_sap=push_client_sap,
        sender=push_sender,
    )
    device.add(push)

    public_rights = AccessRights(default_read_only=True)
    public = AssociationLN(
        f"0.0.40.0.{_ASSOCIATION_INSTANCE[PUBLIC_CLIENT]}.255",
        objects=ObjectList(),
        logical_device=device,
        rights=public_rights,
        client_sap=PUBLIC_CLIENT,
        server_sap=MANAGEMENT_LOGICAL_DEVICE,
        mechanism_id=0,
        conformance=_CONFORMANCE,
    )
    management = AssociationLN(
        f"0.0.40.0.{_ASSOCIATION_INSTANCE[MANAGEMENT_CLIENT]}.255",
        objects=ObjectList(),
        logical_device=device,
        rights=AccessRights(),
        client_sap=MANAGEMENT_CLIENT,
        server_sap=MANAGEMENT_LOGICAL_DEVICE,
        context_id=3 if policy else 1,
        mechanism_id=MECHANISMS[authentication],
        conformance=_CONFORMANCE,
        secret=secret,
        hls_responder=hls_responder,
    )
    device.add(public)
    device.add(management)
    # the public client sees what identifies and reads the meter; never the
    # security, network or push configuration, nor the management association
    readable: tuple[CosemObject, ...] = (clock, name, ic, imp, exp, profile, sap)
    for obj in readable:
        public.objects.add(obj)
    public.objects.add(_CurrentAssociation(public))
    public.objects.add(public)
    for obj in device:
        management.objects.add(obj)
    management.objects.add(_CurrentAssociation(management))
    return MeterObjects(
        system_title=title,
        logical_devices={MANAGEMENT_LOGICAL_DEVICE: device},
        associations={PUBLIC_CLIENT: public, MANAGEMENT_CLIENT: management},
        clock=clock,
        import_energy=imp,
        export_energy=exp,
        load_profile=profile,
        security_setup=security,
        ipv6_setup=ipv6,
        registration_push=registration,
        push=push,
    )


#: what a server of these objects offers (xDLMS conformance block, IEC 62056-5-3)
_CONFORMANCE = int(
    Conformance.GET
    | Conformance.SET
    | Conformance.ACTION
    | Conformance.SELECTIVE_ACCESS
    | Conformance.MULTIPLE_REFERENCES
    | Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ
    | Conformance.BLOCK_TRANSFER_WITH_SET_OR_WRITE
    | Conformance.BLOCK_TRANSFER_WITH_ACTION
    | Conformance.GENERAL_BLOCK_TRANSFER
    | Conformance.DATA_NOTIFICATION
)


def _profile_rows(utc: Now, import_curve: _EnergyCurve, export_curve: _EnergyCurve) -> Sequence[tuple[Any, ...]]:
    def window() -> tuple[int, int]:
        moment = utc()
        seconds = (moment - _EPOCH) // _SECOND
        today = seconds // 86400 * _QUARTERS_PER_DAY
        first = today - PROFILE_DAYS * _QUARTERS_PER_DAY
        return first, seconds // _QUARTER - first + 1

    def count() -> int:
        return window()[1]

    def row_at(i: int) -> tuple[Any, ...]:
        # the first row moves only at 00:00 UTC, so a read that spans a
        # quarter boundary still gets consistent rows
        quarter = window()[0] + i
        moment = _EPOCH + _dt.timedelta(seconds=quarter * _QUARTER)
        stamp = bytes.__new__(OctetString, bytes(DateTime.from_datetime(moment, clock_status=0)))
        return (
            stamp,
            DoubleLongUnsigned(import_curve.at_quarter(quarter)),
            DoubleLongUnsigned(export_curve.at_quarter(quarter)),
        )

    return GeneratedRows(count, row_at)
