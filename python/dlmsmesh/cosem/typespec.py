"""The COSEM data type an attribute or method parameter must have, checked on
SET and ACTION (IEC 62056-6-2: each attribute has one ``Data`` type).

A spec's ``check(value)`` gives the value in its typed form (plain Python
values as decoded from A-XDR are promoted with :func:`dlmsmesh.types.natural`)
or raises :class:`TypeMismatch`.  A bare COSEM type class is a spec too
(:func:`spec_of` wraps it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from ..errors import EncodeError
from ..types import Array, CosemValue, OctetString, Structure, natural

__all__ = [
    "TypeMismatch",
    "TypeSpec",
    "Is",
    "AnyData",
    "ANY",
    "SIMPLE",
    "StructureOf",
    "ArrayOf",
    "OneOf",
    "Octets",
    "DATE_TIME",
    "spec_of",
    "SpecLike",
]


class TypeMismatch(TypeError):
    """The value does not have the COSEM data type the attribute or parameter needs."""


def _typed(value: Any) -> CosemValue:
    try:
        return natural(value)
    except EncodeError as exc:
        raise TypeMismatch(str(exc)) from None


class TypeSpec:
    def check(self, value: Any) -> Any:
        raise NotImplementedError


@dataclass(frozen=True)
class Is(TypeSpec):
    """Exactly one COSEM data type (``Is(DoubleLongUnsigned)``)."""

    cls: type[CosemValue]

    def check(self, value: Any) -> Any:
        v = _typed(value)
        if not isinstance(v, self.cls):
            raise TypeMismatch(f"expected {self.cls.__name__}, got {type(v).__name__}")
        return v


@dataclass(frozen=True)
class AnyData(TypeSpec):
    """Any ``Data`` value (a CHOICE attribute); ``simple`` excludes array,
    structure and compact-array (the value of a Register)."""

    simple: bool = False

    def check(self, value: Any) -> Any:
        v = _typed(value)
        if self.simple and isinstance(v, (list, tuple)):
            raise TypeMismatch(f"expected a simple type, got {type(v).__name__}")
        return v


ANY = AnyData()
SIMPLE = AnyData(simple=True)


@dataclass(frozen=True)
class StructureOf(TypeSpec):
    """A structure with exactly these members."""

    members: tuple[TypeSpec, ...]

    def __init__(self, *members: TypeSpec | type[CosemValue]) -> None:
        object.__setattr__(self, "members", tuple(spec_of(m) for m in members))

    def check(self, value: Any) -> Any:
        v = _typed(value)
        if not isinstance(v, Structure) or len(v) != len(self.members):
            raise TypeMismatch(f"expected a structure of {len(self.members)} members")
        return tuple.__new__(Structure, (m.check(x) for m, x in zip(self.members, v)))


@dataclass(frozen=True)
class ArrayOf(TypeSpec):
    """An array of any length whose elements all match ``element``."""

    element: TypeSpec

    def __init__(self, element: TypeSpec | type[CosemValue]) -> None:
        object.__setattr__(self, "element", spec_of(element))

    def check(self, value: Any) -> Any:
        v = _typed(value)
        if not isinstance(v, Array):
            raise TypeMismatch(f"expected an array, got {type(v).__name__}")
        return Array(self.element.check(x) for x in v)


@dataclass(frozen=True)
class OneOf(TypeSpec):
    """The first of several specs that matches."""

    choices: tuple[TypeSpec, ...]

    def __init__(self, *choices: TypeSpec | type[CosemValue]) -> None:
        object.__setattr__(self, "choices", tuple(spec_of(c) for c in choices))

    def check(self, value: Any) -> Any:
        for choice in self.choices:
            try:
                return choice.check(value)
            except TypeMismatch:
                continue
        raise TypeMismatch(f"{value!r} matches none of the allowed types")


@dataclass(frozen=True)
class Octets(TypeSpec):
    """An octet-string, of exactly ``size`` octets when given."""

    size: int | None = None

    def check(self, value: Any) -> Any:
        v = _typed(value)
        if not isinstance(v, OctetString):
            raise TypeMismatch(f"expected an octet-string, got {type(v).__name__}")
        if self.size is not None and len(v) != self.size:
            raise TypeMismatch(f"expected an octet-string of {self.size} octets, got {len(v)}")
        return v


#: a date-time carried as octet-string(12), the form COSEM attributes use
DATE_TIME = Octets(12)


def spec_of(spec: TypeSpec | type[CosemValue]) -> TypeSpec:
    if isinstance(spec, TypeSpec):
        return spec
    if isinstance(spec, type) and issubclass(spec, CosemValue):
        return Is(spec)
    raise TypeError(f"not a COSEM type or type spec: {spec!r}")


SpecLike = Union[TypeSpec, type[CosemValue]]


def octets(data: bytes | bytearray | memoryview) -> OctetString:
    """``data`` as an octet-string value, without OctetString's checks (the
    caller's bytes are already the value)."""
    return bytes.__new__(OctetString, bytes(data))
