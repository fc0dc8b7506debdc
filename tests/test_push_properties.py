"""hypothesis: random body layouts (nested structures of every column type,
nullable fields) pushed by several meters, mixed with notifications of
another layout and replays: the push columns equal per-frame decoding, and
both backends give the same rows, the same failures and the same reasons."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlmsmesh.columns import Field
from dlmsmesh.pipeline import decode_batch
from dlmsmesh.pipeline.push_columns import PushLayout
from dlmsmesh.types import DoubleLong, Structure

from .helpers import BACKENDS, on_backend
from .pipeline_support import keyring, meter_context
from .push_support import check_against_frames, notification_frame, row_of
from .test_columns_properties import COLUMN_TYPES, datetime_octets

pytestmark = pytest.mark.single_backend

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def bodies(draw: st.DrawFn, depth: int = 0) -> tuple[list[Any], list[int], Any]:
    """(fields as (Field, strategy, nullable), shape, a strategy of bodies)."""
    if depth >= 2 or draw(st.booleans()) and depth:
        field, strategy = draw(st.sampled_from(COLUMN_TYPES))
        nullable = draw(st.booleans())
        return [(field, nullable)], [-1], (st.one_of(st.none(), strategy) if nullable else strategy)
    n = draw(st.integers(1, 4))
    fields: list[Any] = []
    shape = [n]
    parts = []
    for _ in range(n):
        f, s, part = draw(bodies(depth + 1))
        fields += f
        shape += s
        parts.append(part)
    return fields, shape, st.tuples(*parts).map(lambda t: Structure(list(t)))


def _rows(table: Any) -> list[Any]:
    return [row_of(table, r) for r in range(table.rows)]


@SETTINGS
@given(bodies(), st.data(), st.booleans(), st.sampled_from(["s", "ms"]))
def test_random_layouts_match_per_frame_decoding(body: Any, data: st.DataObject, ciphered: bool, unit: str) -> None:
    specs, shape, strategy = body
    values = data.draw(st.lists(strategy, min_size=1, max_size=8))
    whens = data.draw(st.lists(st.one_of(st.none(), datetime_octets), min_size=len(values), max_size=len(values)))
    ctxs = [meter_context(m) for m in range(3)]
    frames = [
        notification_frame(k % 3, v, invoke=k, when=w, ctx=ctxs[k % 3], ciphered=ciphered)
        for k, (v, w) in enumerate(zip(values, whens))
    ]
    frames.insert(data.draw(st.integers(0, len(frames))), notification_frame(3, DoubleLong(1), ciphered=ciphered))
    if ciphered:
        frames.append(frames[0])  # replayed
    names = [f"f{k}" for k in range(len(specs))]
    layout = PushLayout(
        tuple(Field(f.tag, datetime=f.datetime, nullable=n, name=name) for (f, n), name in zip(specs, names)),
        tuple(shape),
    )
    results = []
    for name in BACKENDS:
        with on_backend(name):
            batch = decode_batch(frames, security=keyring(4) if ciphered else None)
            table = batch.columns(layout, unit=unit)
            assert table.rows == len(values)
            if unit == "s":
                check_against_frames(batch, table)
            results.append((_rows(table), table.failed, {i: (str(e), e.offset) for i, e in table.other.items()}))
    assert all(r == results[0] for r in results)


def _layout(specs: list[Any], shape: list[int]) -> PushLayout:
    return PushLayout(tuple(Field(f.tag, datetime=f.datetime, nullable=n) for f, n in specs), tuple(shape))


@SETTINGS
@given(bodies(), st.lists(bodies(), min_size=1, max_size=4), st.data())
def test_bodies_of_other_layouts_are_listed_alike(body: Any, others: list[Any], data: st.DataObject) -> None:
    """Bodies of random other shapes against a random layout: both backends
    take the same rows and give every other frame the same reason, offset and
    field (the error paths of the walk: tags, structure sizes, widths, nulls)."""
    specs, shape, _ = body
    layout = _layout(specs, shape)
    values = [data.draw(strategy) for _, _, strategy in others]
    frames = [notification_frame(0, v, invoke=k, ciphered=False) for k, v in enumerate(values)]
    results = []
    for name in BACKENDS:
        with on_backend(name):
            batch = decode_batch(frames)
            table = batch.columns(layout)
            check_against_frames(batch, table)
            reasons = {i: (str(e), e.offset, getattr(e, "field", None)) for i, e in table.other.items()}
            results.append((_rows(table), reasons))
    assert all(r == results[0] for r in results)
