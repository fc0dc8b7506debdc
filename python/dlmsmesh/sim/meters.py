"""The simulated meters: one template, per-meter keys and lazily generated,
deterministic energy and load profile from (seed, system title).

Every meter is instantiated by :meth:`Meter.from_template
<dlmsmesh.server.Meter.from_template>` (with the pre-established client of
:meth:`Meter.from_objects <dlmsmesh.server.Meter.from_objects>`) from one
:class:`~dlmsmesh.cosem.MeterTemplate` built from
:func:`~dlmsmesh.cosem.default_meter` (HLS-GMAC management client, policy
authenticated and encrypted, suite 0, one group and its response window):
a meter keeps only what it writes.  Its binders give each meter its own
logical device name, system title, addresses and energy curves; the load
profile's rows are made when read, from the curve, so a meter holds no
history.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..cosem import GeneratedRows, MeterTemplate, default_meter
from ..cosem.groups import Group, add_group_objects
from ..cosem.meter_set import logical_device_name
from ..security import DEFAULT_POLICY
from ..server import Meter, MeterKeys
from ..server.meter import PRE_ESTABLISHED_CLIENT
from ..types import Array, DateTime, DoubleLongUnsigned, OctetString

__all__ = ["AK", "MeterFactory", "Curve", "meter_keys", "title_of", "GROUP", "BK", "SIM_START", "LDN", "CLOCK"]

#: the simulated day starts here (UTC); the virtual clock's 0 is this instant
SIM_START = _dt.datetime(2026, 12, 5, 6, 0, tzinfo=_dt.timezone.utc)
#: every simulated meter is in this group (a neighbourhood's broadcast target)
GROUP = Group(0x516)
#: the group's broadcast key (one per group, as a head-end distributes it)
BK = bytes.fromhex("101112131415161718191A1B1C1D1E1F")
#: the authentication key, system-wide (a group request is authenticated with it)
AK = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
LDN = (1, "0.0.42.0.0.255", 2)
CLOCK = (8, "0.0.1.0.0.255", 2)
IMPORT = "1.0.1.8.0.255"
EXPORT = "1.0.2.8.0.255"
PROFILE = "1.0.99.1.0.255"
_QUARTER = 900
_EPOCH = _dt.datetime(2020, 1, 1, tzinfo=_dt.timezone.utc)
_TEMPLATE_TITLE = b"SIM" + bytes(5)


def title_of(index: int) -> bytes:
    """Meter ``index``'s system title: manufacturer "SIM", serial index + 1."""
    return b"SIM" + (index + 1).to_bytes(5, "big")


def _digest(seed: int, title: bytes, what: bytes) -> bytes:
    return hashlib.sha256(b"dlmsmesh sim %d " % seed + what + b" " + title).digest()


def meter_keys(seed: int, title: bytes, generation: int = 0) -> MeterKeys:
    """The meter's keys (a new unicast key in each key ``generation``)."""
    ek = _digest(seed, title, b"ek %d" % generation)[:16]
    return MeterKeys(ek=ek, ak=AK, bk=BK, kek=_digest(seed, title, b"kek")[:16])


class Curve:
    """Cumulative energy (Wh) at a quarter-hour index: a daily energy and a
    96-quarter load shape drawn from the hash, computed on demand."""

    __slots__ = ("base", "daily", "_cumulative")

    def __init__(self, digest: bytes, low: int, high: int) -> None:
        self.base = 1_000_000 + int.from_bytes(digest[0:4], "big") % 9_000_000
        self.daily = low + int.from_bytes(digest[4:6], "big") % (high - low)
        weights = [1 + b for b in hashlib.sha256(digest + b"shape").digest() * 3][:96]
        total = sum(weights)
        cumulative = [0]
        for w in weights:
            cumulative.append(cumulative[-1] + self.daily * w // total)
        cumulative[-1] = self.daily
        self._cumulative = cumulative

    def at_quarter(self, quarter: int) -> int:
        day, q = divmod(max(quarter, 0), 96)
        return self.base + self.daily * day + self._cumulative[q]

    def at(self, moment: _dt.datetime) -> int:
        """Between two quarter boundaries: interpolated (never decreasing)."""
        seconds = int((moment - _EPOCH).total_seconds())
        quarter, into = divmod(seconds, _QUARTER)
        low = self.at_quarter(quarter)
        return low + (self.at_quarter(quarter + 1) - low) * into // _QUARTER


def _quarter_of(moment: _dt.datetime) -> int:
    return int((moment - _EPOCH).total_seconds()) // _QUARTER


def _rows(now: Callable[[], _dt.datetime], imp: Curve, exp: Curve) -> Sequence[tuple[Any, ...]]:
    """Two days of quarter-hour rows up to now, each made when read."""

    def first() -> int:
        return (_quarter_of(now()) // 96 - 1) * 96

    def count() -> int:
        return _quarter_of(now()) - first() + 1

    def row_at(i: int) -> tuple[Any, ...]:
        quarter = first() + i
        moment = _EPOCH + _dt.timedelta(seconds=quarter * _QUARTER)
        stamp = bytes.__new__(OctetString, bytes(DateTime.from_datetime(moment, clock_status=0)))
        return (stamp, DoubleLongUnsigned(imp.at_quarter(quarter)), DoubleLongUnsigned(exp.at_quarter(quarter)))

    return GeneratedRows(count, row_at)


def _bind_name(obj: Any, params: Mapping[str, Any]) -> None:
    obj.value = bytes.__new__(OctetString, logical_device_name(params["system_title"]))


def _bind_security(obj: Any, params: Mapping[str, Any]) -> None:
    obj.server_system_title = bytes.__new__(OctetString, params["system_title"])


def _bind_ipv6(obj: Any, params: Mapping[str, Any]) -> None:
    import ipaddress

    obj.unicast_ipv6_addresses = Array([OctetString(ipaddress.IPv6Address(params["host"]).packed)])


def _bind_energy(which: int) -> Callable[[Any, Mapping[str, Any]], None]:
    def bind(obj: Any, params: Mapping[str, Any]) -> None:
        obj._curve = params["curves"][which]

    return bind


def _bind_profile(obj: Any, params: Mapping[str, Any]) -> None:
    imp, exp = params["curves"]
    obj._rows = _rows(params["now"], imp, exp)


@dataclass
class MeterFactory:
    """Makes the run's meters from one template."""

    seed: int
    now: Callable[[], _dt.datetime]
    max_delay: int = 30
    port: int = 4059

    def __post_init__(self) -> None:
        self.template = MeterTemplate(
            self._device,
            {
                "0.0.42.0.0.255": _bind_name,
                "0.0.43.0.0.255": _bind_security,
                "0.0.25.7.0.255": _bind_ipv6,
                IMPORT: _bind_energy(0),
                EXPORT: _bind_energy(1),
                PROFILE: _bind_profile,
            },
        )

    def _device(self) -> Any:
        objects = default_meter(
            _TEMPLATE_TITLE, now=self.now, authentication="hls-gmac", policy=int(DEFAULT_POLICY),
            addresses=["fd00::"], port=self.port,
        )  # fmt: skip
        add_group_objects(objects, max_delay=self.max_delay)
        objects.ipv6_setup.multicast_ipv6_addresses = Array([OctetString(GROUP.packed)])
        return objects.logical_devices[1]

    def curves(self, title: bytes) -> tuple[Curve, Curve]:
        return (Curve(_digest(self.seed, title, b"import"), 2_000, 20_000),
                Curve(_digest(self.seed, title, b"export"), 0, 5_000))  # fmt: skip

    def meter(self, index: int, host: str) -> Meter:
        title = title_of(index)
        # the pre-established client (group requests and their follow-up)
        # gets the management view, as Meter.from_objects gives it
        return Meter.from_template(
            self.template, title, associations={16: "0.0.40.0.1.255", 1: "0.0.40.0.2.255"},
            pre_established={PRE_ESTABLISHED_CLIENT: "0.0.40.0.2.255"}, keys=meter_keys(self.seed, title),
            address=host, host=host, curves=self.curves(title), now=self.now,
        )  # fmt: skip

    def expected_day(self, index: int, day_start: _dt.datetime) -> list[int]:
        """The import column the meter's profile shows for the 96 quarters of a day."""
        imp, _ = self.curves(title_of(index))
        q0 = _quarter_of(day_start)
        return [imp.at_quarter(q0 + k) for k in range(96)]
