"""The model of pushes as columns that both backends fill (``dm_push_columns``
of csrc/push_columns.c): the shape of a notification body, the meta columns
every row starts with, the per-frame outcome codes and the errors they give.
"""

from __future__ import annotations

from typing import Any, Final

from .. import _status as S
from ..errors import DecodeError
from .columns import Field, tag_name

#: a shape op: the next field (any other op n >= 0: a structure of n elements)
SHAPE_FIELD: Final = -1
#: DM_PUSH_SHAPE_FIELD: SHAPE_FIELD as the C core reads it (uint16)
C_SHAPE_FIELD: Final = 0xFFFF
SHAPE_MAX: Final = 1024

#: outcome codes (DM_PUSH_*); a negative one is the DM_ERR_* of a body that does not fit
TAKEN: Final = 0
FAILED: Final = 1
NOT_NOTIFICATION: Final = 2
#: int32 words of one frame's outcome: code, offset, field, found
OUTCOME_WORDS: Final = 4

#: the columns every push row starts with, in the order dm_push_columns writes them
META_FIELDS: Final = (
    Field(6, name="frame"),
    Field(9, name="system_title"),
    Field(6, nullable=True, name="invocation_counter"),
    Field(6, name="invoke_id"),
    Field(9, datetime=True, nullable=True, name="date_time"),
)
META: Final = len(META_FIELDS)


def c_shape(shape: tuple[int, ...]) -> list[int]:
    """The shape as the C core's uint16 ops."""
    return [C_SHAPE_FIELD if op == SHAPE_FIELD else op for op in shape]


def push_error(code: int, offset: int, field: int, found: int, fields: tuple[Field, ...]) -> DecodeError:
    """Why a frame's plaintext is not a row of the table: a DecodeError at
    ``offset`` of its plaintext APDU (``.field``: the body field's name, or None)."""
    name = fields[field].name if 0 <= field < len(fields) else None
    if code == NOT_NOTIFICATION:
        what = f" (tag 0x{found:02X})" if found >= 0 else " (empty)"
        exc = DecodeError("not a data-notification" + what, layer="apdu", offset=offset)
    else:
        reason = S.MESSAGES.get(code, f"error {code}")
        if code == S.COL_FIELD and name is not None:
            reason += f" ({tag_name(found)} where the layout has {fields[field].type_name})"
        elif code == S.COL_ROW:
            reason = "the body's structure differs from the layout" + (f" (found {found})" if found >= 0 else "")
        elif code in (S.COL_WIDTH, S.BAD_LENGTH) and found >= 0:
            reason += f" (found {found})"
        where = f"field {name}: " if name is not None else ""
        exc = DecodeError(where + reason, layer="data", offset=offset)
    exc.field = name  # type: ignore[attr-defined]
    return exc


def describe(outcome: Any, i: int, fields: tuple[Field, ...]) -> DecodeError:
    """The error of frame i from the backend's outcome words."""
    k = OUTCOME_WORDS * i
    return push_error(int(outcome[k]), int(outcome[k + 1]), int(outcome[k + 2]), int(outcome[k + 3]), fields)
