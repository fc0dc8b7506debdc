"""A-XDR workloads: the 1,000-row profile-generic buffer (the A-XDR body of
a GET response to attribute 2 of a profile generic) decoded into Python
values and encoded back, on the native and the pure backend, and decoded by
the peer dlms-cosem.  The buffer also feeds the columns workloads
(``workloads_columns.py``).
"""

from __future__ import annotations

import datetime as _dt
import functools
import random
from dataclasses import dataclass
from typing import Any, Callable, List

from bench_support import DLMS_COSEM, NATIVE, PURE, Workload, native_axdr, pure_axdr
from dlmsmesh import types

# --------------------------------------------------------------------------
# profile-generic buffer, 1,000 rows
# --------------------------------------------------------------------------

PROFILE_ROWS = 1000
PROFILE_SEED = 20240101
PROFILE_START = _dt.datetime(2024, 1, 1, 0, 0)  # local time, CET (UTC+1)
PROFILE_STEP = _dt.timedelta(minutes=15)
CET_DEVIATION = -60  # standard sign: UTC = local + deviation


def profile_rows(rows: int = PROFILE_ROWS, seed: int = PROFILE_SEED) -> List[tuple]:
    """The rows of a load profile: (clock, A+ energy, A- energy, status).

    Clock: date-time octet-string every 15 minutes from 2024-01-01 00:00 CET
    (deviation -60, clock status 0).  Energies: two double-long-unsigned Wh
    counters growing by seeded random amounts (import ~0-750 Wh per period,
    export mostly 0 with daytime PV feed-in).  Status: unsigned, mostly 0 with
    an occasional 0x08 (clock adjusted) or 0x80 (power down).
    """
    rng = random.Random(seed)
    a_plus = 12_345_678
    a_minus = 1_234_567
    out: List[tuple] = []
    for i in range(rows):
        t = PROFILE_START + i * PROFILE_STEP
        clock = types.DateTime.from_fields(
            t.year,
            t.month,
            t.day,
            t.isoweekday(),
            t.hour,
            t.minute,
            t.second,
            0,
            CET_DEVIATION,
            0,
        )
        a_plus += rng.randint(0, 750)
        if 9 <= t.hour < 16:
            a_minus += rng.randint(0, 400)
        r = rng.random()
        status = 0x80 if r < 0.005 else 0x08 if r < 0.02 else 0x00
        out.append(
            (
                bytes(clock),
                types.DoubleLongUnsigned(a_plus),
                types.DoubleLongUnsigned(a_minus),
                types.Unsigned(status),
            )
        )
    return out


def _put_length(out: bytearray, n: int) -> None:
    if n < 0x80:
        out.append(n)
    elif n < 0x100:
        out += bytes((0x81, n))
    else:
        out += b"\x82" + n.to_bytes(2, "big")


def profile_buffer_bytes(rows: int = PROFILE_ROWS, seed: int = PROFILE_SEED) -> bytes:
    """A-XDR of the buffer (attribute 2), written by hand rather than with the
    library under test: array { structure { octet-string(12),
    double-long-unsigned, double-long-unsigned, unsigned } x rows }."""
    out = bytearray(b"\x01")
    data = profile_rows(rows, seed)
    _put_length(out, len(data))
    for clock, a_plus, a_minus, status in data:
        out += b"\x02\x04"
        out += b"\x09\x0c" + clock
        out += b"\x06" + int(a_plus).to_bytes(4, "big")
        out += b"\x06" + int(a_minus).to_bytes(4, "big")
        out += b"\x11" + bytes((int(status),))
    return bytes(out)


@dataclass(frozen=True)
class ProfileInput:
    data: bytes  # the A-XDR body
    value: List[tuple]  # the expected decoded value (also the encode input)


@functools.cache
def profile_input() -> ProfileInput:
    data = profile_buffer_bytes()
    value = pure_axdr().decode(data)
    expected = profile_rows()
    if value != expected or [tuple(map(type, r)) for r in value] != [tuple(map(type, r)) for r in expected]:
        raise AssertionError("pure decode of the profile buffer does not give the generated rows")
    return ProfileInput(data, value)


def check_profile_decode(inp: ProfileInput, result: Any) -> None:
    assert type(result) is list, type(result)
    assert len(result) == PROFILE_ROWS, len(result)
    assert result == inp.value
    first = result[0]
    assert type(first) is tuple and len(first) == 4
    assert (type(first[0]), type(first[1]), type(first[2]), type(first[3])) == (
        bytes,
        types.DoubleLongUnsigned,
        types.DoubleLongUnsigned,
        types.Unsigned,
    ), tuple(map(type, first))


def _check_profile_encode(inp: ProfileInput, result: Any) -> None:
    assert result == inp.data, "encode(decode(x)) != x"


def check_dlms_cosem_decode(inp: ProfileInput, result: Any) -> None:
    # parse() returns the list of top-level items: one array of 1,000 structures
    assert len(result) == 1, len(result)
    rows = result[0].value
    assert len(rows) == PROFILE_ROWS, len(rows)
    last = rows[-1].value
    assert len(last) == 4
    assert bytes(last[0].value) == inp.value[-1][0]
    assert last[1].value == inp.value[-1][1]
    assert last[2].value == inp.value[-1][2]
    assert last[3].value == inp.value[-1][3]


def decode_op(module: Callable[[], Any]) -> Callable[[], Callable[[ProfileInput], Any]]:
    def factory() -> Callable[[ProfileInput], Any]:
        decode = module().decode
        return lambda inp: decode(inp.data)

    return factory


def _encode_op(module: Callable[[], Any]) -> Callable[[], Callable[[ProfileInput], Any]]:
    def factory() -> Callable[[ProfileInput], Any]:
        encode = module().encode
        return lambda inp: encode(inp.value)

    return factory


def dlms_cosem_decode() -> Callable[[ProfileInput], Any]:
    from dlms_cosem.dlms_data import DlmsDataParser

    return lambda inp: DlmsDataParser().parse(inp.data)


WORKLOADS: List[Workload] = [
    Workload(
        name="profile-generic 1,000 rows: decode",
        description="axdr.decode of a GET response attribute 2 buffer: array of 1,000 "
        "{octet-string(12) date-time, double-long-unsigned x2, unsigned}",
        setup=profile_input,
        ops={
            NATIVE: decode_op(native_axdr),
            PURE: decode_op(pure_axdr),
            DLMS_COSEM: lambda: dlms_cosem_decode(),
        },
        check=check_profile_decode,
        checks={DLMS_COSEM: check_dlms_cosem_decode},
        targets={"native/pure": 3.0, "pure/dlms-cosem": 4.0},
    ),
    Workload(
        name="profile-generic 1,000 rows: encode",
        description="axdr.encode of the decoded 1,000-row buffer (must give the same bytes)",
        setup=profile_input,
        ops={
            NATIVE: _encode_op(native_axdr),
            PURE: _encode_op(pure_axdr),
        },
        check=_check_profile_encode,
        targets={"native/pure": 1.5},
    ),
]
