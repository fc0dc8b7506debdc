"""Script table (9): the scripts attribute and execute running its actions."""

from __future__ import annotations

import asyncio
from typing import Any

from dlmsmesh import apdu, axdr
from dlmsmesh import types as t
from dlmsmesh.apdu_model import ActionRequestNormal, ActionResult, DataAccessResult, MethodDescriptor
from dlmsmesh.cosem import AccessRights, Data, ObjectList, Register, ScriptAction, ScriptTable, action_spec

from .helpers import hexbytes

WRITE, EXECUTE = ScriptAction.WRITE_ATTRIBUTE, ScriptAction.EXECUTE_METHOD


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def setup() -> tuple[ScriptTable, Register, Data]:
    register = Register("1.0.1.8.0.255", t.DoubleLongUnsigned(500))
    mode = Data("0.0.96.14.0.255", t.Unsigned(1))
    objects = ObjectList([register, mode])
    table = ScriptTable(
        "0.0.10.0.100.255",
        objects,
        {
            1: [action_spec(WRITE, mode, 2, t.Unsigned(2)), action_spec(EXECUTE, register, 1, t.Integer(0))],
            2: [action_spec(WRITE, mode, 2, t.Unsigned(3))],
        },
    )
    objects.add(table)
    return table, register, mode


def test_class_id_version_and_scripts_bytes() -> None:
    assert (ScriptTable.class_id, ScriptTable.version) == (9, 0)
    assert list(ScriptTable.attribute_specs()) == [1, 2] and list(ScriptTable.method_specs()) == [1]
    table, _, _ = setup()
    assert axdr.encode(run(table.get(2))) == hexbytes(
        "01 02"
        " 02 02 12 00 01 01 02"
        "  02 05 16 01 12 00 01 09 06 00 00 60 0E 00 FF 0F 02 11 02"
        "  02 05 16 02 12 00 03 09 06 01 00 01 08 00 FF 0F 01 0F 00"
        " 02 02 12 00 02 01 01"
        "  02 05 16 01 12 00 01 09 06 00 00 60 0E 00 FF 0F 02 11 03"
    )
    assert AccessRights().check_set(table, 2) is DataAccessResult.READ_WRITE_DENIED
    assert run(table.set(2, [(t.LongUnsigned(1), [(t.Enum(1), t.LongUnsigned(1), bytes(5), t.Integer(2), None)])])) == (
        DataAccessResult.TYPE_UNMATCHED
    )


def test_execute_runs_the_actions_in_order() -> None:
    table, register, mode = setup()
    request = ActionRequestNormal(MethodDescriptor(9, table.logical_name, 1), t.LongUnsigned(1))
    assert apdu.encode(request) == hexbytes("C3 01 C1 00 09 00 00 0A 00 64 FF 01 01 12 00 01")
    assert run(table.action(1, t.LongUnsigned(1))) == (ActionResult.SUCCESS, None)
    assert mode.value == t.Unsigned(2) and register.value == 0
    assert run(table.action(1, t.LongUnsigned(2))) == (ActionResult.SUCCESS, None)
    assert mode.value == t.Unsigned(3)
    assert run(table.action(1, t.LongUnsigned(7))) == (ActionResult.OBJECT_UNAVAILABLE, None)
    assert run(table.action(1, t.Unsigned(1))) == (ActionResult.TYPE_UNMATCHED, None)


def test_a_failing_action_stops_the_script() -> None:
    table, register, mode = setup()
    missing = Register("1.0.2.8.0.255")
    table.scripts = t.Array(
        [
            (
                t.LongUnsigned(1),
                [action_spec(WRITE, mode, 2, t.Unsigned(9)), action_spec(EXECUTE, missing, 1, t.Integer(0))],
            ),
            (
                t.LongUnsigned(2),
                [action_spec(WRITE, register, 2, t.Long64(1)), action_spec(WRITE, mode, 2, t.Unsigned(8))],
            ),
            (t.LongUnsigned(3), [action_spec(EXECUTE, register, 9, t.Integer(0))]),
            (
                t.LongUnsigned(4),
                [action_spec(ScriptAction.NOTHING, mode, 2, None), action_spec(WRITE, mode, 2, t.Unsigned(4))],
            ),
            (t.LongUnsigned(5), [(t.Enum(7), t.LongUnsigned(1), bytes(mode.logical_name), t.Integer(2), None)]),
        ]
    )
    assert run(table.action(1, t.LongUnsigned(1))) == (ActionResult.OTHER_REASON, None)
    assert mode.value == t.Unsigned(9)  # the action before the failure stays done
    # a register keeps its type: the write fails and the next action does not run
    assert run(table.action(1, t.LongUnsigned(2))) == (ActionResult.OTHER_REASON, None)
    assert register.value == 500 and mode.value == t.Unsigned(9)
    assert run(table.action(1, t.LongUnsigned(3))) == (ActionResult.OTHER_REASON, None)
    assert run(table.action(1, t.LongUnsigned(4))) == (ActionResult.SUCCESS, None) and mode.value == t.Unsigned(4)
    assert run(table.action(1, t.LongUnsigned(5))) == (ActionResult.OTHER_REASON, None)
