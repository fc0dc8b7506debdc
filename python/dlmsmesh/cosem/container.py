"""The objects of one logical device, found the way an APDU names them:
by (class_id, logical_name)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..apdu_model import DataAccessResult
from ..types import Array, LongUnsigned, Obis, OctetString, Structure, Unsigned
from .access import AccessRights
from .base import CosemObject

__all__ = ["ObjectList"]


class ObjectList:
    """A logical device's objects, in the order added; a logical name is unique."""

    def __init__(self, objects: Iterable[CosemObject] = ()) -> None:
        self._by_name: dict[Obis, CosemObject] = {}
        for obj in objects:
            self.add(obj)

    def add(self, obj: CosemObject) -> CosemObject:
        name = obj.logical_name
        if name in self._by_name:
            raise ValueError(f"a logical device holds one object per logical name: {name} is taken")
        self._by_name[name] = obj
        return obj

    def remove(self, logical_name: Obis | str | bytes) -> CosemObject:
        return self._by_name.pop(Obis(logical_name))

    def get(self, logical_name: Obis | str | bytes) -> CosemObject | None:
        return self._by_name.get(Obis(logical_name))

    def find(self, class_id: int, logical_name: Obis | str | bytes) -> CosemObject | None:
        obj = self._by_name.get(Obis(logical_name))
        return obj if obj is not None and obj.class_id == class_id else None

    def resolve(self, class_id: int, logical_name: Obis | str | bytes) -> CosemObject | DataAccessResult:
        """The object a request names, or why there is none: object-undefined for an
        unknown logical name, object-class-inconsistent when the class differs."""
        obj = self._by_name.get(logical_name if type(logical_name) is Obis else Obis(logical_name))
        if obj is None:
            return DataAccessResult.OBJECT_UNDEFINED
        if obj.class_id != class_id:
            return DataAccessResult.OBJECT_CLASS_INCONSISTENT
        return obj

    def __iter__(self) -> Iterator[CosemObject]:
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)

    def __contains__(self, logical_name: object) -> bool:
        try:
            return Obis(logical_name) in self._by_name  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False

    def to_data(self, rights: AccessRights | None = None, *, association_version: int = 1) -> Array:
        """The object_list value of Association LN attribute 2: one
        {class_id, version, logical_name, access_rights} per object."""
        rights = rights if rights is not None else AccessRights()
        return Array(
            Structure(
                (
                    LongUnsigned(obj.class_id),
                    Unsigned(obj.version),
                    bytes.__new__(OctetString, bytes(obj.logical_name)),
                    rights.to_data(obj, association_version=association_version),
                )
            )
            for obj in self
        )
