"""One GET, SET or ACTION as a server runs it: find the object the descriptor
names in a logical device, check the association's access rights, then call
the object.  Every outcome is a value or a result code; nothing raises."""

from __future__ import annotations

from typing import Any

from ..apdu_model import ActionResult, AttributeDescriptor, DataAccessResult, MethodDescriptor
from ..types import CosemValue
from .access import AccessRights
from .base import CosemObject
from .container import ObjectList

__all__ = ["get", "get_at_once", "set", "action"]


async def get(
    objects: ObjectList, descriptor: AttributeDescriptor, rights: AccessRights, *, authenticated: bool = False
) -> CosemValue | DataAccessResult:
    obj = objects.resolve(descriptor.class_id, descriptor.instance_id)
    if isinstance(obj, DataAccessResult):
        return obj
    refused = rights.check_get(obj, descriptor.attribute_id, authenticated=authenticated)
    if refused is not None:
        return refused
    access = descriptor.access
    if access is None:
        return await obj.get(descriptor.attribute_id)
    return await obj.get(descriptor.attribute_id, access.selector, access.parameters)


def get_at_once(
    objects: ObjectList, descriptor: AttributeDescriptor, rights: AccessRights, *, authenticated: bool = False
) -> Any:
    """What :func:`get` answers, at once, for a descriptor without selective
    access; for an object whose getter waits, an object whose ``finish()``
    coroutine gives it (see :meth:`CosemObject.get_at_once`)."""
    obj = objects.resolve(descriptor.class_id, descriptor.instance_id)
    if isinstance(obj, DataAccessResult):
        return obj
    refused = rights.check_get(obj, descriptor.attribute_id, authenticated=authenticated)
    if refused is not None:
        return refused
    if type(obj).get is not CosemObject.get:
        # a class that serves GET its own way is served through it
        return _Awaiting(obj.get(descriptor.attribute_id))
    return obj.get_at_once(descriptor.attribute_id)


class _Awaiting:
    """An answer still to come: ``finish()`` awaits it."""

    __slots__ = ("answer",)

    def __init__(self, answer: Any) -> None:
        self.answer = answer

    async def finish(self) -> Any:
        return await self.answer


async def set(  # noqa: A001 - the xDLMS service name
    objects: ObjectList,
    descriptor: AttributeDescriptor,
    value: Any,
    rights: AccessRights,
    *,
    authenticated: bool = False,
) -> DataAccessResult:
    obj = objects.resolve(descriptor.class_id, descriptor.instance_id)
    if isinstance(obj, DataAccessResult):
        return obj
    refused = rights.check_set(obj, descriptor.attribute_id, authenticated=authenticated)
    if refused is not None:
        return refused
    if descriptor.access is not None:  # no class here takes selective access on SET
        return DataAccessResult.OTHER_REASON
    return await obj.set(descriptor.attribute_id, value)


async def action(
    objects: ObjectList,
    descriptor: MethodDescriptor,
    parameters: Any,
    rights: AccessRights,
    *,
    authenticated: bool = False,
) -> tuple[ActionResult, CosemValue | None]:
    obj = objects.resolve(descriptor.class_id, descriptor.instance_id)
    if isinstance(obj, DataAccessResult):
        # the two codes a lookup gives have the same numbers in both enums
        return ActionResult(int(obj)), None
    refused = rights.check_action(obj, descriptor.method_id, authenticated=authenticated)
    if refused is not None:
        return refused, None
    return await obj.action(descriptor.method_id, parameters)
