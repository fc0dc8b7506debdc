"""Access rights: what one association may do with each attribute and method
(IEC 62056-6-2, Association LN object_list access_rights).

An object's class declares a default access per attribute and method; an
:class:`AccessRights` (one per association) overrides it per object.  The
caller (the Server) asks ``check_get``/``check_set``/``check_action`` before
dispatching, so objects themselves never know who is asking.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..apdu_model import ActionResult, DataAccessResult
from ..types import Array, Enum, Integer, NullData, Obis, Structure

if TYPE_CHECKING:
    from .base import CosemObject

__all__ = ["AttributeAccess", "MethodAccess", "AccessRights", "ObjectKey"]

ObjectKey = tuple[int, Obis]


class AttributeAccess(enum.IntEnum):
    """attribute access_mode of Association LN versions 0 to 2."""

    NO_ACCESS = 0
    READ_ONLY = 1
    WRITE_ONLY = 2
    READ_WRITE = 3
    AUTHENTICATED_READ_ONLY = 4
    AUTHENTICATED_WRITE_ONLY = 5
    AUTHENTICATED_READ_WRITE = 6

    def readable(self, authenticated: bool = False) -> bool:
        if self in (AttributeAccess.READ_ONLY, AttributeAccess.READ_WRITE):
            return True
        return authenticated and self in (
            AttributeAccess.AUTHENTICATED_READ_ONLY,
            AttributeAccess.AUTHENTICATED_READ_WRITE,
        )

    def writable(self, authenticated: bool = False) -> bool:
        if self in (AttributeAccess.WRITE_ONLY, AttributeAccess.READ_WRITE):
            return True
        return authenticated and self in (
            AttributeAccess.AUTHENTICATED_WRITE_ONLY,
            AttributeAccess.AUTHENTICATED_READ_WRITE,
        )


class MethodAccess(enum.IntEnum):
    """method access_mode of Association LN versions 1 and 2 (version 0 has a boolean)."""

    NO_ACCESS = 0
    ACCESS = 1
    AUTHENTICATED_ACCESS = 2

    def allowed(self, authenticated: bool = False) -> bool:
        return self is MethodAccess.ACCESS or (authenticated and self is MethodAccess.AUTHENTICATED_ACCESS)


class _Overrides:
    __slots__ = ("attributes", "methods")

    def __init__(self) -> None:
        self.attributes: dict[int, AttributeAccess] = {}
        self.methods: dict[int, MethodAccess] = {}


_READABLE = frozenset((AttributeAccess.READ_ONLY, AttributeAccess.READ_WRITE))
_AUTHENTICATED_READABLE = frozenset((AttributeAccess.AUTHENTICATED_READ_ONLY, AttributeAccess.AUTHENTICATED_READ_WRITE))


def _key(obj: CosemObject | ObjectKey) -> ObjectKey:
    if isinstance(obj, tuple):
        return (obj[0], Obis(obj[1]))
    return (obj.class_id, obj.logical_name)


class AccessRights:
    """The access one association has: class defaults, overridden per object.

    ``AccessRights(default_read_only=True)`` caps every writable attribute at
    read-only and every method at no-access unless overridden (a public client).
    """

    def __init__(self, *, default_read_only: bool = False) -> None:
        self._objects: dict[ObjectKey, _Overrides] = {}
        self.default_read_only = default_read_only

    def grant(
        self,
        obj: CosemObject | ObjectKey,
        attributes: Mapping[int, AttributeAccess] | None = None,
        methods: Mapping[int, MethodAccess] | None = None,
    ) -> AccessRights:
        """Set the access to some attributes and methods of one object; returns self."""
        entry = self._objects.setdefault(_key(obj), _Overrides())
        for index, mode in (attributes or {}).items():
            entry.attributes[index] = AttributeAccess(mode)
        for index, mmode in (methods or {}).items():
            entry.methods[index] = MethodAccess(mmode)
        return self

    def attribute(self, obj: CosemObject, attribute_id: int) -> AttributeAccess:
        entry = self._objects.get(_key(obj))
        if entry is not None and attribute_id in entry.attributes:
            return entry.attributes[attribute_id]
        spec = obj.attribute_specs().get(attribute_id)
        if spec is None:
            return AttributeAccess.NO_ACCESS
        if self.default_read_only:
            return _cap_read_only(spec.access)
        return spec.access

    def method(self, obj: CosemObject, method_id: int) -> MethodAccess:
        entry = self._objects.get(_key(obj))
        if entry is not None and method_id in entry.methods:
            return entry.methods[method_id]
        spec = obj.method_specs().get(method_id)
        if spec is None or self.default_read_only:
            return MethodAccess.NO_ACCESS
        return spec.access

    def check_get(self, obj: CosemObject, attribute_id: int, *, authenticated: bool = False) -> DataAccessResult | None:
        """None when the GET may go ahead, else the result to answer with."""
        # attribute(obj, attribute_id).readable(authenticated), in one step: asked on every GET
        spec = obj.attribute_specs().get(attribute_id)
        if spec is None:
            return DataAccessResult.OBJECT_UNDEFINED
        entry = self._objects.get((obj.class_id, obj.logical_name)) if self._objects else None
        if entry is not None and attribute_id in entry.attributes:
            mode = entry.attributes[attribute_id]
        else:
            mode = _cap_read_only(spec.access) if self.default_read_only else spec.access
        if mode in _READABLE or (authenticated and mode in _AUTHENTICATED_READABLE):
            return None
        return DataAccessResult.READ_WRITE_DENIED

    def check_set(self, obj: CosemObject, attribute_id: int, *, authenticated: bool = False) -> DataAccessResult | None:
        if attribute_id not in obj.attribute_specs():
            return DataAccessResult.OBJECT_UNDEFINED
        if not self.attribute(obj, attribute_id).writable(authenticated):
            return DataAccessResult.READ_WRITE_DENIED
        return None

    def check_action(self, obj: CosemObject, method_id: int, *, authenticated: bool = False) -> ActionResult | None:
        if method_id not in obj.method_specs():
            return ActionResult.OBJECT_UNDEFINED
        if not self.method(obj, method_id).allowed(authenticated):
            return ActionResult.READ_WRITE_DENIED
        return None

    def to_data(self, obj: CosemObject, *, association_version: int = 1) -> Structure:
        """The access_rights structure of an object_list element: attribute_access
        and method_access arrays (method access_mode is a boolean in version 0)."""
        attributes = Array(
            Structure(
                (
                    Integer(index),
                    Enum(int(self.attribute(obj, index))),
                    Array(Integer(s) for s in spec.selectors) if spec.selectors else NullData(),
                )
            )
            for index, spec in sorted(obj.attribute_specs().items())
        )
        methods = Array(
            Structure((Integer(index), _method_mode(self.method(obj, index), association_version)))
            for index in sorted(obj.method_specs())
        )
        return Structure((attributes, methods))


def _method_mode(mode: MethodAccess, association_version: int) -> Any:
    if association_version == 0:
        return mode is not MethodAccess.NO_ACCESS
    return Enum(int(mode))


def _cap_read_only(mode: AttributeAccess) -> AttributeAccess:
    if mode in (AttributeAccess.READ_WRITE, AttributeAccess.WRITE_ONLY):
        return AttributeAccess.READ_ONLY if mode is AttributeAccess.READ_WRITE else AttributeAccess.NO_ACCESS
    if mode in (AttributeAccess.AUTHENTICATED_READ_WRITE, AttributeAccess.AUTHENTICATED_WRITE_ONLY):
        return (
            AttributeAccess.AUTHENTICATED_READ_ONLY
            if mode is AttributeAccess.AUTHENTICATED_READ_WRITE
            else AttributeAccess.NO_ACCESS
        )
    return mode
