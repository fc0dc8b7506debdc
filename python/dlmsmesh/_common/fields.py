"""Field checks of the frozen PDU dataclasses (ACSE and xDLMS Initiate), run
in ``__post_init__`` so a PDU that exists can be encoded."""

from __future__ import annotations

from typing import Any


def check_range(name: str, value: Any, lo: int, hi: int) -> None:
    """ValueError unless ``value`` is an int (not a bool) in ``lo..hi``."""
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise ValueError(f"{name} must be an integer {lo}..{hi}, not {value!r}")


def check_int(name: str, value: Any) -> None:
    """TypeError unless ``value`` is an int (not a bool) or None."""
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise TypeError(f"{name} must be an int or None, not {value!r}")


def check_bytes(name: str, value: Any, optional: bool = True) -> None:
    """TypeError unless ``value`` is bytes or a bytearray (or None when ``optional``)."""
    if value is None and optional:
        return
    if not isinstance(value, (bytes, bytearray)):
        raise TypeError(f"{name} must be bytes{' or None' if optional else ''}, not {type(value).__name__}")


def freeze_bytes(obj: Any, *names: str) -> None:
    """Replace bytearray fields of the frozen dataclass ``obj`` by bytes, so
    the PDU stays hashable and nobody changes it through a shared buffer."""
    for name in names:
        value = getattr(obj, name)
        if type(value) is bytearray:
            object.__setattr__(obj, name, bytes(value))
