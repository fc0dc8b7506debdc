"""xDLMS APDU workloads: 10,000 GET responses and 10,000 data-notifications,
one ``apdu.decode`` call each, on the native and the pure backend.  The
data-notifications are also the plaintexts of the security and pipeline
workloads (``workloads_security.py``, ``workloads_pipeline.py``).
"""

from __future__ import annotations

import datetime as _dt
import functools
import random
from dataclasses import dataclass
from typing import Any, Callable, Dict, List

from bench_support import NATIVE, PURE, Workload, native_apdu, pure_apdu
from dlmsmesh import apdu, types
from workloads_axdr import CET_DEVIATION

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
    decode = pure_apdu().decode
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
        name="10,000 GET responses: decode",
        description="apdu.decode of 10,000 get-response-normal APDUs (register values: mostly "
        "double-long-unsigned, some long-unsigned/long, a few octet-string(12) and errors), one call "
        "each, each result handled and dropped",
        setup=get_responses_input,
        ops={
            NATIVE: _decode_stream_op(native_apdu),
            PURE: _decode_stream_op(pure_apdu),
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
            NATIVE: _decode_stream_op(native_apdu),
            PURE: _decode_stream_op(pure_apdu),
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
            NATIVE: _decode_each_op(native_apdu),
            PURE: _decode_each_op(pure_apdu),
        },
        check=_check_get_responses,
        suite="apdu",
    ),
    Workload(
        name="10,000 data-notifications: decode, all kept",
        description="as above, every result kept in a list (information)",
        setup=data_notifications_input,
        ops={
            NATIVE: _decode_each_op(native_apdu),
            PURE: _decode_each_op(pure_apdu),
        },
        check=_check_data_notifications,
        suite="apdu",
    ),
]
