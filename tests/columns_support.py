"""Shared by the column tests: profile buffers built with dlmsmesh.axdr, a
reference epoch from the datetime module, and backend-pinned calls."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import dlmsmesh
from dlmsmesh import columns
from dlmsmesh.types import DateTime

from .helpers import BACKENDS, on_backend

__all__ = ["BACKENDS", "NAT", "on_backend", "outcome", "plain", "ref_epoch", "table_values"]

NAT = columns.NAT
UTC = dt.timezone.utc
TICKS = columns.UNITS


def outcome(fn: Callable[[], Any]) -> Any:
    """The result of fn, or ('error', class, message, offset, row, field)."""
    try:
        return fn()
    except dlmsmesh.DlmsError as exc:
        return (
            "error",
            type(exc).__name__,
            str(exc),
            getattr(exc, "offset", None),
            getattr(exc, "row", None),
            getattr(exc, "field", None),
        )


def ref_epoch(octets: bytes, unit: str = "s", standard_sign: bool = True) -> int:
    """The epoch the columns must hold for 12 date-time octets, computed with
    the datetime module (years 1..9999 only)."""
    try:
        moment = DateTime(octets).to_datetime(standard_sign=standard_sign)
    except (ValueError, OverflowError):
        return NAT
    if moment.tzinfo is None:
        delta = moment - dt.datetime(1970, 1, 1)
    else:
        delta = moment - dt.datetime(1970, 1, 1, tzinfo=UTC)
    micro = (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
    return micro * TICKS[unit] // 1_000_000


def plain(column: Any) -> list[Any]:
    """A column's values as Python objects (numpy or array.array alike)."""
    if isinstance(column, columns.BytesColumn):
        return column.tolist()
    if isinstance(column, columns.DateTimeColumn):
        return list(zip(plain(column.epoch), plain(column.deviation), plain(column.status)))
    if hasattr(column, "tolist"):
        return column.tolist()  # type: ignore[no-any-return]
    return list(column)


def table_values(table: columns.Table) -> list[Any]:
    """Every column and mask as plain values: equal tables give equal lists."""
    return [(plain(c), None if v is None else [int(x) for x in plain(v)]) for c, v in zip(table.columns, table.valid)]
