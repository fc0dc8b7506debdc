"""Benchmark workloads shared by ``compare.py`` and the ``test_bench_*.py`` suites.

A workload is an entry in :data:`WORKLOADS`: a name, a ``setup()`` that builds
its input (deterministically, cached so both runners see the same bytes), and
one callable per implementation (``native``, ``pure`` and optionally the peer
baseline ``dlms-cosem``), each taking the input and returning a result that
``check(input, result)`` verifies.  Later issues add workloads by appending
entries; the runners need no change.

Implementations are called through the backend modules directly
(``dlmsmesh._native.axdr`` / ``dlmsmesh._pure.axdr``, ``dlmsmesh._native.apdu`` /
``dlmsmesh._pure.apdu``) so both can run in one process without touching the
global backend switch.
"""

from __future__ import annotations

import datetime as _dt
import functools
import importlib
import random
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List

import dlmsmesh
from dlmsmesh import apdu, types

NATIVE = "native"
PURE = "pure"
DLMS_COSEM = "dlms-cosem"
GURUX = "gurux-dlms"
IMPLEMENTATIONS = (NATIVE, PURE, GURUX, DLMS_COSEM)


# --------------------------------------------------------------------------
# implementations
# --------------------------------------------------------------------------


def _native_axdr() -> Any:
    return importlib.import_module("dlmsmesh._native.axdr")


def _pure_axdr() -> Any:
    return importlib.import_module("dlmsmesh._pure.axdr")


def _native_apdu() -> Any:
    return importlib.import_module("dlmsmesh._native.apdu")


def _pure_apdu() -> Any:
    return importlib.import_module("dlmsmesh._pure.apdu")


def native_available() -> bool:
    if not dlmsmesh.native_available():
        return False
    try:
        _native_axdr()
        _native_apdu()
    except ImportError:
        return False
    return True


def dlms_cosem_version() -> str | None:
    """The installed dlms-cosem version, or None when it cannot be imported."""
    try:
        importlib.import_module("dlms_cosem.dlms_data")
    except Exception:  # noqa: BLE001 - any import failure means "no baseline"
        return None
    try:
        from importlib.metadata import version

        return version("dlms-cosem")
    except Exception:  # noqa: BLE001
        return "unknown"


def gurux_version() -> str | None:
    """The installed gurux-dlms version, or None when it cannot be imported."""
    try:
        importlib.import_module("gurux_dlms")
    except Exception:  # noqa: BLE001 - any import failure means "no baseline"
        return None
    try:
        from importlib.metadata import version

        return version("gurux-dlms")
    except Exception:  # noqa: BLE001
        return "unknown"


def available(impl: str) -> bool:
    if impl == NATIVE:
        return native_available()
    if impl == PURE:
        return True
    if impl == DLMS_COSEM:
        return dlms_cosem_version() is not None
    if impl == GURUX:
        return gurux_version() is not None
    return False


# --------------------------------------------------------------------------
# workload definition
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    """One benchmarked operation.

    ``ops`` maps an implementation name to ``fn(input) -> result``.  Each
    implementation's factory is resolved lazily (``ops`` values are factories
    returning the callable), so a missing optional implementation only skips
    its own cell.  ``targets`` maps a ratio name (``"native/pure"``,
    ``"pure/dlms-cosem"``) to the minimum required by the issue.  ``check``
    verifies a result; ``checks`` overrides it per implementation.
    """

    name: str
    description: str
    setup: Callable[[], Any]
    ops: Dict[str, Callable[[], Callable[[Any], Any]]]
    check: Callable[[Any, Any], None]
    targets: Dict[str, float] = field(default_factory=dict)
    #: per-implementation checks where the result has another shape (peer libraries)
    checks: Dict[str, Callable[[Any, Any], None]] = field(default_factory=dict)
    #: the layer measured; ``test_bench_<suite>.py`` runs it under pytest-benchmark
    suite: str = "axdr"

    def verify(self, impl: str, inp: Any, result: Any) -> None:
        """Raise AssertionError unless ``result`` is right for ``inp``."""
        self.checks.get(impl, self.check)(inp, result)

    def op(self, impl: str) -> Callable[[Any], Any]:
        return self.ops[impl]()

    def implementations(self) -> List[str]:
        return [i for i in IMPLEMENTATIONS if i in self.ops]


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
    value = _pure_axdr().decode(data)
    expected = profile_rows()
    if value != expected or [tuple(map(type, r)) for r in value] != [tuple(map(type, r)) for r in expected]:
        raise AssertionError("pure decode of the profile buffer does not give the generated rows")
    return ProfileInput(data, value)


def _check_profile_decode(inp: ProfileInput, result: Any) -> None:
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


def _check_dlms_cosem_decode(inp: ProfileInput, result: Any) -> None:
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


def _decode_op(module: Callable[[], Any]) -> Callable[[], Callable[[ProfileInput], Any]]:
    def factory() -> Callable[[ProfileInput], Any]:
        decode = module().decode
        return lambda inp: decode(inp.data)

    return factory


def _encode_op(module: Callable[[], Any]) -> Callable[[], Callable[[ProfileInput], Any]]:
    def factory() -> Callable[[ProfileInput], Any]:
        encode = module().encode
        return lambda inp: encode(inp.value)

    return factory


def _dlms_cosem_decode() -> Callable[[ProfileInput], Any]:
    from dlms_cosem.dlms_data import DlmsDataParser

    return lambda inp: DlmsDataParser().parse(inp.data)


# --------------------------------------------------------------------------
# xDLMS APDUs, 10,000 per op, one decode call each
# --------------------------------------------------------------------------

APDU_COUNT = 10_000
GET_SEED = 20240102
NOTIFY_SEED = 20240103


@dataclass(frozen=True)
class ApduBatch:
    """APDUs as received, and what they decode to.

    The expected APDU objects are not kept: 10,000 data-notifications are some
    140,000 GC-tracked objects (every typed value is an instance of a heap
    type), and holding them would make each full collection during the timed
    op walk the harness's data too.  ``rows`` holds each APDU's fields as plain
    ints and bytes (tuples the collector untracks), and ``expected()`` builds
    the objects with the dataclass constructors when a check needs them.
    """

    data: List[bytes]  # the APDUs, each as received
    rows: List[tuple]  # per APDU, its fields as plain values
    build: Callable[[tuple], Any]  # row -> the APDU object it must decode to

    def expected(self) -> List[Any]:
        return [self.build(row) for row in self.rows]

    @property
    def total_bytes(self) -> int:
        return sum(map(len, self.data))


def _clock(t: _dt.datetime, hundredths: int | None = 0) -> types.DateTime:
    """A CET date-time (deviation -60, clock status 0) for the local time ``t``."""
    return types.DateTime.from_fields(
        t.year, t.month, t.day, t.isoweekday(), t.hour, t.minute, t.second, hundredths, CET_DEVIATION, 0
    )


def _check_apdu_batch(cls: type, field_values: Callable[[Any], tuple]) -> Callable[[ApduBatch, Any], None]:
    """A check that the result is one ``cls`` object per APDU, equal to the
    expected one and with the same types in the values ``field_values`` picks."""

    def check(inp: ApduBatch, result: Any) -> None:
        assert type(result) is list, type(result)
        assert len(result) == len(inp.rows), len(result)
        wrong = [i for i, r in enumerate(result) if type(r) is not cls]
        assert not wrong, f"{len(wrong)} results not {cls.__name__}, first #{wrong[0]}: {result[wrong[0]]!r}"
        expected = inp.expected()
        if result != expected:
            i = next(i for i, (r, e) in enumerate(zip(result, expected)) if r != e)
            raise AssertionError(f"APDU #{i}: got {result[i]!r}, expected {expected[i]!r}")
        for i, (r, e) in enumerate(zip(result, expected)):
            got, want = tuple(map(type, field_values(r))), tuple(map(type, field_values(e)))
            assert got == want, f"APDU #{i}: value types {got}, expected {want}"

    return check


def _verified(batch: ApduBatch, check: Callable[[ApduBatch, Any], None]) -> ApduBatch:
    """The batch, once the pure codec (the reference) decodes it to the expected objects."""
    if len(set(batch.data)) != len(batch.data):
        raise AssertionError("the generated APDUs are not distinct")
    decode = _pure_apdu().decode
    check(batch, [decode(b) for b in batch.data])
    return batch


# -- 10,000 GET responses -----------------------------------------------------

_GET_ERRORS = (
    apdu.DataAccessResult.OBJECT_UNDEFINED,
    apdu.DataAccessResult.READ_WRITE_DENIED,
    apdu.DataAccessResult.TEMPORARY_FAILURE,
    apdu.DataAccessResult.OBJECT_UNAVAILABLE,
    apdu.DataAccessResult.HARDWARE_FAULT,
)
# the result kinds of get_response(): A-XDR tag, 255 = data-access-result
_GET_RESULT: Dict[int, Callable[[Any], Any]] = {
    0x06: types.DoubleLongUnsigned,
    0x12: types.LongUnsigned,
    0x10: types.Long,
    0x09: bytes,
    0xFF: apdu.DataAccessResult,
}


def get_response(rng: random.Random, i: int) -> tuple:
    """(bytes, row) of the i-th answer a head-end reading registers receives;
    row = (invoke_id, high priority, result kind, result as int or bytes).

    invoke-id cycles 0..15 with the high-priority and confirmed bits set (the
    C1 style byte, 0xC0 | id); one in 20 has normal priority (0x40 | id).
    Result: 85 % double-long-unsigned energy in Wh, 6 % long-unsigned voltage
    in 0.1 V, 4 % long power factor in 0.001, 3 % a clock read as
    octet-string(12) (CET date-time), 2 % a data-access-result error.
    """
    invoke_id = i % 16
    high = rng.random() >= 0.05
    iip = (0x80 if high else 0) | 0x40 | invoke_id
    r = rng.random()
    if r < 0.85:
        kind, value = 0x06, rng.randint(0, 99_999_999)
        body = b"\x00\x06" + value.to_bytes(4, "big")
    elif r < 0.91:
        kind, value = 0x12, rng.randint(2160, 2530)
        body = b"\x00\x12" + value.to_bytes(2, "big")
    elif r < 0.95:
        kind, value = 0x10, rng.randint(-1000, 1000)
        body = b"\x00\x10" + value.to_bytes(2, "big", signed=True)
    elif r < 0.98:
        t = _dt.datetime(2024, 1, 1) + _dt.timedelta(seconds=rng.randrange(366 * 86400))
        clock = bytes(_clock(t, rng.randrange(100)))
        body = b"\x00\x09\x0c" + clock
        return b"\xc4\x01" + bytes((iip,)) + body, (invoke_id, high, 0x09, clock)
    else:
        kind, value = 0xFF, int(rng.choice(_GET_ERRORS))
        body = b"\x01" + bytes((value,))
    return b"\xc4\x01" + bytes((iip,)) + body, (invoke_id, high, kind, value)


def get_response_object(row: tuple) -> Any:
    invoke_id, high, kind, value = row
    return apdu.GetResponseNormal(
        _GET_RESULT[kind](value),
        invoke_id=invoke_id,
        priority=apdu.Priority.HIGH if high else apdu.Priority.NORMAL,
        service_class=apdu.ServiceClass.CONFIRMED,
    )


def _get_response_values(a: Any) -> tuple:
    return (a.invoke_id, a.priority, a.service_class, a.result)


_check_get_responses = _check_apdu_batch(apdu.GetResponseNormal, _get_response_values)


@functools.cache
def get_responses_input(count: int = APDU_COUNT, seed: int = GET_SEED) -> ApduBatch:
    """``count`` distinct get-response-normal APDUs, written by hand (not by the
    library under test); a drawn APDU equal to an earlier one is drawn again."""
    rng = random.Random(seed)
    seen: set = set()
    data: List[bytes] = []
    rows: List[tuple] = []
    while len(data) < count:
        b, row = get_response(rng, len(data))
        if b in seen:
            continue
        seen.add(b)
        data.append(b)
        rows.append(row)
    return _verified(ApduBatch(data, rows, get_response_object), _check_get_responses)


# -- 10,000 data-notifications --------------------------------------------------

PUSH_SETUP_LN = bytes((0, 0, 25, 9, 0, 255))  # push setup 1, 0.0.25.9.0.255
NOTIFY_START = _dt.datetime(2024, 1, 15, 0, 0)  # local time, CET
NOTIFY_FIRST_ID = 0xFFE000  # the 24-bit long-invoke-id wraps to 0 during the batch
# the body: logical name, capture time, then the register values
NOTIFY_BODY: tuple = (
    (0x09, 6, bytes),  # push setup logical name
    (0x09, 12, bytes),  # capture time
    (0x06, 4, types.DoubleLongUnsigned),  # A+ total, Wh
    (0x06, 4, types.DoubleLongUnsigned),  # A+ tariff 1
    (0x06, 4, types.DoubleLongUnsigned),  # A+ tariff 2
    (0x06, 4, types.DoubleLongUnsigned),  # A- total
    (0x06, 4, types.DoubleLongUnsigned),  # R+ total, varh
    (0x06, 4, types.DoubleLongUnsigned),  # R- total
    (0x12, 2, types.LongUnsigned),  # voltage L1, 0.1 V
    (0x12, 2, types.LongUnsigned),  # current L1, 0.01 A
    (0x05, 4, types.DoubleLong),  # active power, W (negative when exporting)
    (0x11, 1, types.Unsigned),  # active tariff
)


def data_notification(rng: random.Random, i: int) -> tuple:
    """(bytes, row) of the i-th push a head-end receives; row =
    (long_invoke_id, date-time octets, body values as ints and bytes).

    Meters push every 15 minutes, the batch spread over one hour from
    NOTIFY_START.  long-invoke-id increments (priority normal, unconfirmed);
    date-time present (send time, CET); body = structure of NOTIFY_BODY:
    octet-string(6) push setup logical name, octet-string(12) capture time
    (send time floored to 15 minutes), 6 double-long-unsigned energy
    registers, 2 long-unsigned, a double-long and an unsigned: 85 bytes.
    """
    long_invoke_id = (NOTIFY_FIRST_ID + i) & 0xFFFFFF
    sent = NOTIFY_START + _dt.timedelta(seconds=i * 3600 // APDU_COUNT + rng.randint(0, 3))
    captured = sent.replace(minute=sent.minute - sent.minute % 15, second=0)
    t1, t2 = rng.randint(0, 60_000_000), rng.randint(0, 40_000_000)
    pv = rng.random() < 0.3
    values: tuple[Any, ...] = (
        PUSH_SETUP_LN,
        bytes(_clock(captured)),
        t1 + t2,
        t1,
        t2,
        rng.randint(0, 20_000_000) if pv else 0,
        rng.randint(0, 5_000_000),
        rng.randint(0, 2_000_000),
        rng.randint(2160, 2530),
        rng.randint(0, 6000),
        rng.randint(-6000 if pv else 0, 12_000),
        2 if captured.hour < 6 or captured.hour >= 22 else 1,
    )
    send_clock = bytes(_clock(sent))
    out = bytearray(b"\x0f")
    out += long_invoke_id.to_bytes(4, "big")
    out += b"\x0c" + send_clock
    out += b"\x02" + bytes((len(NOTIFY_BODY),))
    for (tag, size, _), value in zip(NOTIFY_BODY, values):
        out.append(tag)
        if isinstance(value, bytes):
            out.append(size)
            out += value
        else:
            out += int(value).to_bytes(size, "big", signed=tag == 0x05)
    return bytes(out), (long_invoke_id, send_clock, values)


def data_notification_object(row: tuple) -> Any:
    long_invoke_id, send_clock, values = row
    body = tuple(cls(v) for (_, _, cls), v in zip(NOTIFY_BODY, values))
    return apdu.DataNotification(body, long_invoke_id=long_invoke_id, date_time=types.DateTime(send_clock))


def _data_notification_values(a: Any) -> tuple:
    return (
        a.long_invoke_id,
        a.date_time,
        a.priority,
        a.service_class,
        a.processing_option,
        a.self_descriptive,
        a.body,
        *a.body,
    )


_check_data_notifications = _check_apdu_batch(apdu.DataNotification, _data_notification_values)


@functools.cache
def data_notifications_input(count: int = APDU_COUNT, seed: int = NOTIFY_SEED) -> ApduBatch:
    """``count`` data-notifications as Push setup sends them, written by hand."""
    rng = random.Random(seed)
    pairs = [data_notification(rng, i) for i in range(count)]
    batch = ApduBatch([b for b, _ in pairs], [r for _, r in pairs], data_notification_object)
    return _verified(batch, _check_data_notifications)


def _decode_each_op(module: Callable[[], Any]) -> Callable[[], Callable[[ApduBatch], Any]]:
    """One op: every APDU of the batch decoded, one ``apdu.decode`` call each,
    and every result kept in a list (so the collector walks all of them)."""

    def factory() -> Callable[[ApduBatch], Any]:
        decode = module().decode
        return lambda inp: [decode(b) for b in inp.data]

    return factory


STREAM_SAMPLE = 1000


def _decode_stream_op(module: Callable[[], Any]) -> Callable[[], Callable[[ApduBatch], Any]]:
    """One op: every APDU of the batch decoded, one ``apdu.decode`` call each,
    as a head-end consumes a stream: each result is handled and dropped.  The
    last result of every 1,000 is kept so the check can compare it."""

    def factory() -> Callable[[ApduBatch], Any]:
        decode = module().decode

        def run(inp: ApduBatch) -> List[Any]:
            kept = []
            data = inp.data
            for start in range(0, len(data), STREAM_SAMPLE):
                a = None
                for b in data[start : start + STREAM_SAMPLE]:
                    a = decode(b)
                kept.append(a)
            return kept

        return run

    return factory


def _check_stream(full: Callable[[ApduBatch, Any], None]) -> Callable[[ApduBatch, Any], None]:
    """Check of a streamed op: the sampled results equal the expected ones (the
    kept-all workload of the same batch checks every result)."""

    def check(inp: ApduBatch, result: Any) -> None:
        expected = inp.expected()[STREAM_SAMPLE - 1 :: STREAM_SAMPLE]
        assert result == expected, (result[:2], expected[:2])
        assert [type(r) for r in result] == [type(e) for e in expected]

    return check


WORKLOADS: List[Workload] = [
    Workload(
        name="profile-generic 1,000 rows: decode",
        description="axdr.decode of a GET response attribute 2 buffer: array of 1,000 "
        "{octet-string(12) date-time, double-long-unsigned x2, unsigned}",
        setup=profile_input,
        ops={
            NATIVE: _decode_op(_native_axdr),
            PURE: _decode_op(_pure_axdr),
            DLMS_COSEM: lambda: _dlms_cosem_decode(),
        },
        check=_check_profile_decode,
        checks={DLMS_COSEM: _check_dlms_cosem_decode},
        targets={"native/pure": 3.0, "pure/dlms-cosem": 4.0},
    ),
    Workload(
        name="profile-generic 1,000 rows: encode",
        description="axdr.encode of the decoded 1,000-row buffer (must give the same bytes)",
        setup=profile_input,
        ops={
            NATIVE: _encode_op(_native_axdr),
            PURE: _encode_op(_pure_axdr),
        },
        check=_check_profile_encode,
        targets={"native/pure": 1.5},
    ),
    Workload(
        name="10,000 GET responses: decode",
        description="apdu.decode of 10,000 get-response-normal APDUs (register values: mostly "
        "double-long-unsigned, some long-unsigned/long, a few octet-string(12) and errors), one call "
        "each, each result handled and dropped",
        setup=get_responses_input,
        ops={
            NATIVE: _decode_stream_op(_native_apdu),
            PURE: _decode_stream_op(_pure_apdu),
        },
        check=_check_stream(_check_get_responses),
        targets={"native/pure": 2.0},
        suite="apdu",
    ),
    Workload(
        name="10,000 data-notifications: decode",
        description="apdu.decode of 10,000 push data-notifications (85 bytes: long-invoke-id, date-time, "
        "structure of logical name, capture time and 10 register values), one call each, each "
        "result handled and dropped",
        setup=data_notifications_input,
        ops={
            NATIVE: _decode_stream_op(_native_apdu),
            PURE: _decode_stream_op(_pure_apdu),
        },
        check=_check_stream(_check_data_notifications),
        targets={"native/pure": 2.0},
        suite="apdu",
    ),
    Workload(
        name="10,000 GET responses: decode, all kept",
        description="as above, every result kept in a list (information: the collector's walks "
        "over the kept objects cost both backends the same)",
        setup=get_responses_input,
        ops={
            NATIVE: _decode_each_op(_native_apdu),
            PURE: _decode_each_op(_pure_apdu),
        },
        check=_check_get_responses,
        suite="apdu",
    ),
    Workload(
        name="10,000 data-notifications: decode, all kept",
        description="as above, every result kept in a list (information)",
        setup=data_notifications_input,
        ops={
            NATIVE: _decode_each_op(_native_apdu),
            PURE: _decode_each_op(_pure_apdu),
        },
        check=_check_data_notifications,
        suite="apdu",
    ),
]

# Workloads kept in modules of their own (they import this one, so last).
from workloads_columns import WORKLOADS as _COLUMN_WORKLOADS  # noqa: E402

WORKLOADS += _COLUMN_WORKLOADS
from workloads_security import WORKLOADS as _SECURITY_WORKLOADS  # noqa: E402

WORKLOADS += _SECURITY_WORKLOADS
from workloads_transport import WORKLOADS as _TRANSPORT_WORKLOADS  # noqa: E402

WORKLOADS += _TRANSPORT_WORKLOADS
from workloads_pipeline import WORKLOADS as _PIPELINE_WORKLOADS  # noqa: E402

WORKLOADS += _PIPELINE_WORKLOADS
