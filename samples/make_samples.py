"""Regenerate samples/profile_capture.hex: A-XDR attribute values as a head-end
reads them from one residential meter, one hex value per line.

    python samples/make_samples.py           # rewrite the file
    python samples/make_samples.py --check   # exit 1 if the file is out of date

Everything is computed from fixed tables (no clock, no randomness), so the
output is byte-for-byte the same on every run and every backend.
samples/README.md describes each line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import struct
import sys
from pathlib import Path

from dlmsmesh import axdr
from dlmsmesh.types import (
    Array,
    Bcd,
    BitString,
    Boolean,
    CompactArray,
    Date,
    DateTime,
    DontCare,
    DoubleLong,
    DoubleLongUnsigned,
    Enum,
    Float32,
    Float64,
    Integer,
    Long,
    Long64,
    Long64Unsigned,
    LongUnsigned,
    NullData,
    Obis,
    OctetString,
    Structure,
    StructureDescription,
    Time,
    Unsigned,
    Utf8String,
    VisibleString,
)

OUTPUT = Path(__file__).with_name("profile_capture.hex")

CET = dt.timezone(dt.timedelta(hours=1), "CET")
DAY = dt.datetime(2024, 11, 25, tzinfo=CET)  # a Monday, standard time

# average household import in W for each hour of the day
_LOAD_W = (310, 280, 265, 260, 270, 340, 820, 1650, 1380, 760, 610, 640,
           820, 700, 590, 610, 880, 1720, 2480, 2150, 1600, 1150, 720, 430)
# rooftop PV export in W for each hour (a grey November day)
_EXPORT_W = (0, 0, 0, 0, 0, 0, 0, 0, 35, 160, 290, 340,
             310, 220, 90, 10, 0, 0, 0, 0, 0, 0, 0, 0)
# AMR profile status bits on a few entries: 0x80 power down, 0x20 clock adjusted
_STATUS = {13: 0x80, 14: 0x20}

IMPORT_START_WH = 18_734_215
EXPORT_START_WH = 1_204_377

#: 1-based line number of the deliberately malformed value
MALFORMED_LINE = 22


class Raw(bytes):
    """Bytes written to the capture as they are, not as an encoded value."""


def _stamp(moment: dt.datetime) -> OctetString:
    """A profile-generic clock column: a date-time carried as octet-string(12)."""
    return OctetString(DateTime.from_datetime(moment))


def profile_rows(start: dt.datetime, count: int) -> list[Structure]:
    """``count`` 15-minute load-profile entries {clock, +A Wh, -A Wh, status} after ``start``."""
    imp, exp = IMPORT_START_WH, EXPORT_START_WH
    rows = []
    for i in range(count):
        hour = (i // 4) % 24
        wobble = (i * 37) % 11 - 5  # deterministic jitter, -5..5
        imp += _LOAD_W[hour] // 4 + wobble * 3
        exp += _EXPORT_W[hour] // 4 + (wobble if _EXPORT_W[hour] else 0)
        moment = start + dt.timedelta(minutes=15 * (i + 1))
        rows.append(
            Structure((_stamp(moment), DoubleLongUnsigned(imp), DoubleLongUnsigned(exp), Unsigned(_STATUS.get(i, 0))))
        )
    return rows


def _cod(class_id: int, obis: str, attribute: int) -> Structure:
    """capture_object_definition {class_id, logical_name, attribute_index, data_index}."""
    return Structure((LongUnsigned(class_id), OctetString(Obis(obis)), Integer(attribute), LongUnsigned(0)))


def _scaler_unit(scaler: int, unit: int) -> Structure:
    return Structure((Integer(scaler), Enum(unit)))


def _float32(x: float) -> Float32:
    return Float32(struct.unpack(">f", struct.pack(">f", x))[0])


def values() -> list[object]:
    """The captured values, in file order (see samples/README.md)."""
    read_at = dt.datetime(2024, 11, 26, 0, 3, 12, tzinfo=CET)
    buffer = profile_rows(DAY, 96)
    truncated = axdr.encode(Array(profile_rows(DAY + dt.timedelta(days=1), 4)))
    return [
        # Clock 0.0.1.0.0.255
        OctetString(DateTime.from_datetime(read_at)),  # 1 time, as octet-string(12)
        DateTime.from_datetime(read_at),  # 2 time, as date-time
        Long(-60),  # 3 time_zone
        Unsigned(0),  # 4 status
        OctetString(DateTime.from_fields(None, 3, 0xFE, 7, 2, 0, 0, 0, None, None)),  # 5 DST begin: last Sunday of March
        OctetString(DateTime.from_fields(None, 10, 0xFE, 7, 3, 0, 0, 0, None, None)),  # 6 DST end: last Sunday of October
        Integer(60),  # 7 daylight_savings_deviation
        Boolean(True),  # 8 daylight_savings_enabled
        Enum(1),  # 9 clock_base: internal crystal
        # Registers
        DoubleLongUnsigned(IMPORT_START_WH),  # 10 1.0.1.8.0.255 value
        _scaler_unit(0, 30),  # 11 its scaler_unit: Wh
        LongUnsigned(2304),  # 12 1.0.32.7.0.255 voltage L1
        _scaler_unit(-1, 35),  # 13 its scaler_unit: 0.1 V
        DoubleLong(-1532),  # 14 1.0.16.7.0.255 net active power
        _scaler_unit(0, 27),  # 15 its scaler_unit: W
        _float32(50.02),  # 16 1.0.14.7.0.255 frequency
        Long64Unsigned(98_765_432_101),  # 17 1.0.1.8.0.255 from a 64-bit register
        # Profile generic 1.0.99.1.0.255
        Array([
            _cod(8, "0.0.1.0.0.255", 2),
            _cod(3, "1.0.1.8.0.255", 2),
            _cod(3, "1.0.2.8.0.255", 2),
            _cod(1, "0.0.96.10.1.255", 2),
        ]),  # 18 capture_objects
        DoubleLongUnsigned(900),  # 19 capture_period
        DoubleLongUnsigned(96),  # 20 entries_in_use
        Array(buffer),  # 21 buffer: one day of 15-minute entries
        Raw(truncated[:-7]),  # 22 MALFORMED: the next day's read, cut off on the air
        CompactArray(
            StructureDescription((OctetString, DoubleLongUnsigned, DoubleLongUnsigned, Unsigned)),
            buffer[:4],
        ),  # 23 buffer read back as a compact-array (first hour)
        Array([]),  # 24 buffer of a profile with no entries yet
        buffer[-1],  # 25 one entry, as a push carries it
        # Identification, communication and assorted types
        OctetString(b"DMX2024000123456"),  # 26 0.0.42.0.0.255 logical device name
        VisibleString("V2.4.1-mesh"),  # 27 1.0.0.2.0.255 firmware version
        Utf8String("Zählerstand gültig"),  # 28 display message
        BitString("1000000000010010"),  # 29 0.0.96.5.0.255 internal status word
        Array([
            OctetString(bytes.fromhex("20010db8000100000000000000a1b2c3")),
            OctetString(bytes.fromhex("fe800000000000000212340000a1b2c3")),
        ]),  # 30 IPv6 setup unicast addresses
        Structure((Enum(1), OctetString(b"[2001:db8:1::1]:4059"), Enum(0))),  # 31 push send_destination_and_method
        Date.from_date(dt.date(2024, 12, 1)),  # 32 billing date
        Time.from_fields(23, 59, 59, 0),  # 33 daily switch time
        Bcd(0x42),  # 34 bcd digits
        Long64(-123_456_789_012),  # 35 net energy, signed 64-bit
        Float64(230.25),  # 36 voltage as float64
        NullData(),  # 37 an attribute with no value
        DontCare(),  # 38 dont-care
        OctetString(bytes(range(200))),  # 39 an image block (long length form)
    ]


def lines() -> list[str]:
    return [(bytes(v) if isinstance(v, Raw) else axdr.encode(v)).hex() for v in values()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only compare with the file on disk")
    args = parser.parse_args(argv)
    text = "\n".join(lines()) + "\n"
    if args.check:
        if OUTPUT.read_text() != text:
            sys.stderr.write(f"{OUTPUT} is out of date: run python samples/make_samples.py\n")
            return 1
        return 0
    OUTPUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
