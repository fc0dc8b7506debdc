"""Script table (class 9, version 0), IEC 62056-6-2: numbered scripts, each a
list of actions (write an attribute, or execute a method) on the objects of
the logical device, run by method 1 ``execute``.

A script runs with the meter's own authority: the association's access
rights were checked for the ``execute`` call itself, not for each action.
"""

from __future__ import annotations

import enum
from typing import Any

from ..apdu_model import ActionResult, DataAccessResult
from ..types import Array, Enum, Integer, LongUnsigned, Obis, OctetString, Structure
from .base import READ_ONLY, ActionError, CosemObject, attribute, method
from .container import ObjectList
from .typespec import ANY, ArrayOf, Octets, StructureOf

__all__ = ["ScriptTable", "ScriptAction", "SCRIPT", "ACTION_SPECIFICATION", "action_spec"]

#: {service_id enum, class_id long-unsigned, logical_name octet-string, index integer, parameter}
ACTION_SPECIFICATION = StructureOf(Enum, LongUnsigned, Octets(6), Integer, ANY)
#: {script_identifier long-unsigned, actions array of action_specification}
SCRIPT = StructureOf(LongUnsigned, ArrayOf(ACTION_SPECIFICATION))


class ScriptAction(enum.IntEnum):
    """service_id of an action_specification (gurux-dlms ``ScriptActionType``;
    0 is gurux-dlms's "nothing", skipped here)."""

    NOTHING = 0
    WRITE_ATTRIBUTE = 1
    EXECUTE_METHOD = 2


def action_spec(service: ScriptAction, obj: CosemObject, index: int, parameter: Any) -> Structure:
    """One action of a script: write attribute ``index`` of ``obj`` with
    ``parameter``, or execute its method ``index`` with it."""
    return Structure(
        (
            Enum(int(service)),
            LongUnsigned(obj.class_id),
            bytes.__new__(OctetString, bytes(obj.logical_name)),
            Integer(index),
            ANY.check(parameter),
        )
    )


class ScriptTable(CosemObject):
    """Script table: ``scripts`` maps script ids to their actions (each made with
    :func:`action_spec` or given as its structure); actions name objects of
    ``objects``."""

    class_id = 9
    version = 0

    scripts = attribute(2, ArrayOf(SCRIPT), access=READ_ONLY, default=Array())

    def __init__(
        self, logical_name: Obis | str | bytes, objects: ObjectList, scripts: dict[int, list[Any]] | None = None
    ) -> None:
        super().__init__(logical_name)
        self.objects = objects
        self.scripts = Array(
            Structure((LongUnsigned(sid), Array(actions))) for sid, actions in sorted((scripts or {}).items())
        )

    @method(1, LongUnsigned)
    async def execute(self, parameters: LongUnsigned) -> None:
        """Run the script's actions in order; the first that fails stops the
        script (the actions before it stay done) and answers other-reason."""
        actions = next((acts for sid, acts in self.scripts if sid == parameters), None)
        if actions is None:
            raise ActionError(ActionResult.OBJECT_UNAVAILABLE, f"no script {int(parameters)}")
        for number, (service, class_id, name, index, parameter) in enumerate(actions, 1):
            if service == ScriptAction.NOTHING:
                continue
            target = self.objects.resolve(int(class_id), bytes(name))
            if isinstance(target, DataAccessResult):
                raise ActionError(ActionResult.OTHER_REASON, f"script {int(parameters)} action {number}: {target.name}")
            if service == ScriptAction.WRITE_ATTRIBUTE:
                written = await target.set(int(index), parameter)
                failed = written is not DataAccessResult.SUCCESS
            elif service == ScriptAction.EXECUTE_METHOD:
                result, _ = await target.action(int(index), parameter)
                failed = result is not ActionResult.SUCCESS
            else:
                raise ActionError(ActionResult.OTHER_REASON, f"script {int(parameters)}: no service {int(service)}")
            if failed:
                raise ActionError(ActionResult.OTHER_REASON, f"script {int(parameters)} action {number} failed")
