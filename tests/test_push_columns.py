"""Pushes as columns (issue 19, point 1): ``decode_batch(...).columns()``
equals per-frame decoding field by field, for mixed batches (several
layouts, failures, replays, tampering, unknown senders, other APDUs), on
both backends, and the two backends agree on every row and every reason."""

from __future__ import annotations

import pytest

from dlmsmesh import apdu, columns
from dlmsmesh.apdu_model import GetResponseNormal
from dlmsmesh.columns import Field, Layout
from dlmsmesh.pipeline import decode_batch
from dlmsmesh.pipeline.push_columns import PushLayout, PushShapeError, infer_push_layout
from dlmsmesh.types import (
    Array,
    DateTime,
    DoubleLong,
    DoubleLongUnsigned,
    Long,
    LongUnsigned,
    NullData,
    OctetString,
    Structure,
    VisibleString,
)

from .columns_support import plain
from .helpers import BACKENDS, on_backend
from .pipeline_support import keyring, meter_context, wpdu
from .push_support import check_against_frames, notification_frame, row_of

WHEN = bytes.fromhex("07EA0C0607 0A0F0000 FFC400".replace(" ", ""))  # 2026-12-06 10:15 CET
LATER = bytes.fromhex("07EA0C0607 0A1E0000 FFC400".replace(" ", ""))


def _a(m: int, k: int) -> Structure:
    """Layout A: date-time, energy, a nested (power, label)."""
    return Structure(
        [OctetString(WHEN), DoubleLongUnsigned(1000 * m + k), Structure([Long(-k), VisibleString("x" * k)])]
    )


def _mixed() -> tuple[list[bytes], dict[str, list[int]]]:
    """Frames of 4 meters: layout A (some with a date-time), layout B (a bare
    double-long), a get-response, a replay, a tampered frame and an unknown
    sender; which frame is which."""
    ctxs = [meter_context(m) for m in range(4)]
    frames: list[bytes] = []
    kinds: dict[str, list[int]] = {"a": [], "b": [], "get": [], "failed": []}

    def add(kind: str, frame: bytes) -> None:
        kinds[kind].append(len(frames))
        frames.append(frame)

    for k in range(3):
        for m in range(4):
            add("a", notification_frame(m, _a(m, k), invoke=10 + k, when=LATER if k else None, ctx=ctxs[m]))
        add("b", notification_frame(k, DoubleLong(-7 * k), invoke=3, ctx=ctxs[k]))
    get = GetResponseNormal(invoke_id=1, result=LongUnsigned(5))
    add("get", wpdu(ctxs[1].protect(apdu.encode(get), general=True)))
    add("failed", frames[kinds["a"][0]])  # a replay
    bad = bytearray(notification_frame(2, _a(2, 9), ctx=ctxs[2]))
    bad[-3] ^= 1  # tampered: the tag does not verify
    add("failed", bytes(bad))
    add("failed", notification_frame(9, _a(9, 0)))  # a meter the keyring does not know
    add("a", notification_frame(3, _a(3, 4), invoke=99, when=WHEN, ctx=ctxs[3]))
    return frames, kinds


def test_mixed_batch_columns_equal_per_frame_decoding() -> None:
    frames, kinds = _mixed()
    batch = decode_batch(frames, security=keyring(4))
    table = batch.columns()
    assert table.rows == len(kinds["a"])
    assert plain(table["frame"]) == kinds["a"]
    assert table.names[:5] == ["frame", "system_title", "invocation_counter", "invoke_id", "date_time"]
    assert table.names[5:] == ["body.0", "body.1", "body.2.0", "body.2.1"]
    assert table.push_layout.shape == (3, -1, -1, 2, -1, -1)
    assert table.push_layout.fields[0].datetime  # the octet-string of 12 reads as a date-time
    check_against_frames(batch, table)
    assert table.failed == kinds["failed"]
    assert set(table.other) == set(kinds["b"] + kinds["get"])
    get = table.other[kinds["get"][0]]
    assert "not a data-notification (tag 0xC4)" in str(get)
    b = table.other[kinds["b"][0]]
    assert "structure differs" in str(b) and b.offset == 6
    assert plain(table["body.1"]) == [0, 1000, 2000, 3000, 1, 1001, 2001, 3001, 2, 1002, 2002, 3002, 3004]
    assert table["body.2.1"].tolist()[-1] == b"xxxx"

    # a flat layout is a structure of its fields: the bare bodies do not fit it
    flat = batch.columns([DoubleLong])
    assert flat.rows == 0 and flat.names[5:] == ["body.0"]
    assert set(flat.other) == set(kinds["a"] + kinds["b"] + kinds["get"])


def test_bare_body_and_given_layouts() -> None:
    frames, kinds = _mixed()
    batch = decode_batch(frames, security=keyring(4))
    bare = batch.columns(Layout((Field(5),), bare=True))
    assert plain(bare["frame"]) == kinds["b"]
    assert bare.names[5:] == ["body"]
    assert plain(bare["body"]) == [0, -7, -14]
    check_against_frames(batch, bare)
    # a layout inferred once serves the next batches
    lay = batch.columns().push_layout
    again = decode_batch(frames, security=keyring(4), replay_check=False).columns(lay)
    assert again.push_layout is lay
    replayed = kinds["failed"][0]  # without the replay check the repeated frame is a row again
    assert plain(again["frame"]) == sorted(kinds["a"] + [replayed])


def test_flat_layout_with_names_and_nullable_fields() -> None:
    ctx = meter_context(0)
    body = [Structure([DoubleLongUnsigned(5), NullData()]), Structure([DoubleLongUnsigned(6), Long(-2)])]
    frames = [notification_frame(0, b, invoke=k, ctx=ctx) for k, b in enumerate(body)]
    batch = decode_batch(frames, security=keyring(1))
    # inferred from the first notification whose types all show: frame 0 does not fit it
    inferred = batch.columns()
    assert plain(inferred["frame"]) == [1] and "null-data where the layout has long" in str(inferred.other[0])
    with pytest.raises(PushShapeError, match="null-data"):
        infer_push_layout(batch.body(0))
    table = batch.columns([Field(6, name="energy"), Field(16, nullable=True, name="power")])
    assert table.names[5:] == ["energy", "power"]
    assert [row_of(table, r)[5:] for r in range(2)] == [[5, None], [6, -2]]
    check_against_frames(batch, table)
    rec = list(table.records())
    assert rec[0]["power"] is None and rec[1]["power"] == -2
    assert rec[0]["system_title"] == meter_context(0).system_title.hex()


def test_unciphered_notifications_have_no_title_or_counter() -> None:
    frames = [notification_frame(0, Structure([Long(k)]), invoke=k, ciphered=False) for k in range(3)]
    batch = decode_batch(frames)
    table = batch.columns(numpy=False)
    assert isinstance(table["body.0"], columns.BytesColumn) is False
    assert list(table["body.0"]) == [0, 1, 2]
    assert table["system_title"].tolist() == [b""] * 3
    assert list(table.valid[2]) == [0, 0, 0]
    check_against_frames(batch, table)


def test_array_bodies_are_refused_clearly_and_skipped_when_others_fit() -> None:
    ctx = meter_context(0)
    rows = Array([Structure([Long(1), Long(2)]), Structure([Long(3), Long(4)])])
    arr = notification_frame(0, rows, ctx=ctx)
    batch = decode_batch([arr], security=keyring(1))
    with pytest.raises(PushShapeError, match=r"body is an array.*columns.decode\(batch.body\(i\)\)"):
        batch.columns()
    # the caller does what the message says
    table = columns.decode(batch.body(0))
    assert plain(table[1]) == [2, 4]
    mixed = decode_batch([arr, notification_frame(0, Structure([Long(5)]), ctx=ctx)], security=keyring(1))
    t = mixed.columns()
    assert plain(t["frame"]) == [1] and list(t.other) == [0]


def test_empty_and_notification_free_batches() -> None:
    empty = decode_batch([], security=keyring(1)).columns()
    assert empty.rows == 0 and empty.failed == [] and empty.other == {}
    get = wpdu(meter_context(0).protect(apdu.encode(GetResponseNormal(invoke_id=1, result=Long(5))), general=True))
    t = decode_batch([get, b"\x00\x01"], security=keyring(1)).columns()
    assert t.rows == 0 and t.failed == [1] and list(t.other) == [0]


def test_infer_push_layout_names_nested_fields() -> None:
    from dlmsmesh import axdr

    lay = infer_push_layout(axdr.encode(Structure([Long(1), Structure([Structure([Long(2)]), Long(3)])])))
    assert lay.names == ["body.0", "body.1.0.0", "body.1.1"]
    assert lay.shape == (2, -1, 2, 1, -1, -1)
    assert PushLayout.of([Long, Long]).shape == (2, -1, -1)


@pytest.mark.single_backend
def test_backends_agree_on_rows_and_reasons() -> None:
    frames, _ = _mixed()
    results = []
    for name in BACKENDS:
        with on_backend(name):
            batch = decode_batch(frames, security=keyring(4))
            table = batch.columns()
            results.append(
                (
                    [row_of(table, r) for r in range(table.rows)],
                    table.failed,
                    {i: (str(e), e.offset) for i, e in table.other.items()},
                    list(table.records()),
                )
            )
    assert all(r == results[0] for r in results)


def test_datetime_notification_units() -> None:
    ctx = meter_context(0)
    batch = decode_batch([notification_frame(0, Long(1), when=WHEN, ctx=ctx)], security=keyring(1))
    s, ms = batch.columns(unit="s"), batch.columns(unit="ms")
    assert plain(ms["date_time"].epoch)[0] == 1000 * plain(s["date_time"].epoch)[0]
    assert s["date_time"].to_datetime(0).isoformat() == "2026-12-06T09:15:00+00:00"
    assert DateTime(WHEN)
