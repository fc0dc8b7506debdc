"""Many meters from one template: the objects of every meter share the
template's immutable parts and keep only their own writes (issue 12, point 2).

A :class:`MeterTemplate` is built once from an :class:`ObjectList`.  For
each template object it makes a *shadow class*: a subclass of the object's
class whose class dictionary holds the object's state as it was then (the
stored attribute values, the generated rows, the time source...).  A meter's
object is an instance of that shadow class with an empty ``__dict__``: a
read of an attribute it never wrote falls through to the class, i.e. the
template's value, and a write (``obj.x = v``, a SET, a method's
``self._offset += ...``) lands in the instance's own ``__dict__``: Python's
attribute lookup is the copy-on-write, per object and per attribute.

What cannot be shared is copied at instantiation, and only that: the plain
mutable containers a handler changes in place (a Profile generic's captured
rows are a ``list``), and any state that names another object of the same
template (a profile's capture columns, an association's object list, a
handler bound to another object), which is rebuilt pointing at the meter's
own objects.  References hidden inside other objects (a closure over a
template object, say) are not seen: rebind those with a binder.  Attribute values (``Array``
included) are treated as values: handlers replace them, never mutate them.

Per-meter parameters (a logical device name, a system title, a row seed, a
time source or invocation counter getter) are applied by *binders*:
``binder(obj, params)`` runs on the meter's object with the keyword
arguments of :meth:`MeterTemplate.instantiate`, and what it writes is that
meter's own state.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from types import MethodType
from typing import Any

from ..types import Obis
from .base import CosemObject
from .container import ObjectList

__all__ = ["MeterTemplate", "Binder"]

#: ``binder(meter_object, params)``: writes one meter's own values
Binder = Callable[[Any, Mapping[str, Any]], None]


def _names_template(value: Any, targets: set[int], seen: set[int]) -> bool:
    """Whether ``value`` must be copied per meter: it is (or holds) a plain
    mutable container, or it refers to one of the template's objects."""
    if id(value) in targets:
        return True
    kind = type(value)
    if kind is MethodType:
        return id(value.__self__) in targets
    if kind is ObjectList:
        # a view of the device (an association's objects): the meter's own,
        # over the meter's objects
        return True
    if kind in (list, dict, set, bytearray):
        return True
    if kind not in (tuple, frozenset) or id(value) in seen:
        return False
    seen.add(id(value))
    return any(_names_template(item, targets, seen) for item in value)


def _own(value: Any, memo: dict[int, Any]) -> Any:
    """A meter's copy of ``value``: containers copied, template objects replaced
    by the meter's (through ``memo``), everything else shared.  One memo per
    meter keeps aliases aliased (a profile's ``_rows`` is its ``_kept``)."""
    key = id(value)
    if key in memo:
        return memo[key]
    kind = type(value)
    if kind is list:
        copied: Any = []
        memo[key] = copied
        copied.extend(_own(item, memo) for item in value)
        return copied
    if kind is dict:
        copied = {}
        memo[key] = copied
        for k, v in value.items():
            copied[_own(k, memo)] = _own(v, memo)
        return copied
    if kind is set:
        copied = {_own(item, memo) for item in value}
        memo[key] = copied
        return copied
    if kind is bytearray:
        copied = bytearray(value)
        memo[key] = copied
        return copied
    if kind is ObjectList:
        view = ObjectList.__new__(ObjectList)
        memo[key] = view
        view._by_name = {name: _own_object(obj, memo) for name, obj in value._by_name.items()}
        return view
    if kind is MethodType:
        # a handler bound to another template object calls the meter's object
        owner = memo.get(id(value.__self__), value.__self__)
        return value if owner is value.__self__ else MethodType(value.__func__, owner)
    if kind is tuple or kind is frozenset:
        items = [_own(item, memo) for item in value]
        if all(a is b for a, b in zip(items, value)):
            return value
        return kind(items)
    return value


def _own_object(obj: CosemObject, memo: dict[int, Any]) -> CosemObject:
    """The meter's object for ``obj`` in a view: the meter's instance of a
    template object, or (an object only the view holds, such as the current
    association of one client) a shallow copy whose state is the meter's."""
    found = memo.get(id(obj))
    if found is not None:
        return found  # type: ignore[no-any-return]
    clone = copy.copy(obj)
    memo[id(obj)] = clone
    state = vars(clone)
    for name, value in list(state.items()):
        state[name] = _own(value, memo)
    return clone


class _Shape:
    """One template object: its shadow class, the state each meter copies, and
    its binders."""

    __slots__ = ("template", "shadow", "own", "binders")

    def __init__(self, template: CosemObject, shadow: type[CosemObject], own: tuple[tuple[str, Any], ...]) -> None:
        self.template = template
        self.shadow = shadow
        self.own = own
        self.binders: list[Binder] = []


def _shadow_class(obj: CosemObject, shared: dict[str, Any]) -> type[CosemObject]:
    cls = type(obj)
    namespace: dict[str, Any] = {"__module__": cls.__module__, "__qualname__": cls.__qualname__}
    for name, value in shared.items():
        # a function (or any descriptor) in a class dict would bind to the
        # instance: a staticmethod gives back the value itself
        namespace[name] = staticmethod(value) if hasattr(type(value), "__get__") else value
    return type(cls.__name__, (cls,), namespace)


class MeterTemplate:
    """The objects of one logical device, shared by every meter instantiated from it.

    ``objects`` is the template (an :class:`ObjectList`, or a callable building
    one); its state is taken when the template is made, so later changes to
    those objects reach no meter.  ``bindings`` maps a logical name to a
    binder (see :meth:`bind`).
    """

    def __init__(
        self,
        objects: ObjectList | Callable[[], ObjectList],
        bindings: Mapping[Obis | str | bytes, Binder | Iterable[Binder]] | None = None,
    ) -> None:
        source = objects() if callable(objects) else objects
        self._source = source
        targets = {id(obj) for obj in source}
        targets.add(id(source))
        self._shapes: dict[Obis, _Shape] = {}
        for obj in source:
            shared: dict[str, Any] = {}
            own: list[tuple[str, Any]] = []
            for name, value in vars(obj).items():
                if _names_template(value, targets, set()):
                    own.append((name, value))
                else:
                    shared[name] = value
            self._shapes[obj.logical_name] = _Shape(obj, _shadow_class(obj, shared), tuple(own))
        for logical_name, binder in (bindings or {}).items():
            for one in [binder] if callable(binder) else binder:
                self.bind(logical_name, one)

    def bind(self, logical_name: Obis | str | bytes, binder: Binder) -> Binder:
        """Run ``binder(obj, params)`` on this object of every meter instantiated
        from now on; usable as ``template.bind(name, fn)``."""
        shape = self._shapes.get(Obis(logical_name))
        if shape is None:
            raise KeyError(f"the template has no object {Obis(logical_name)}")
        shape.binders.append(binder)
        return binder

    @property
    def objects(self) -> ObjectList:
        """The template's own objects (read them, do not serve them)."""
        return self._source

    def __len__(self) -> int:
        return len(self._shapes)

    def instantiate(self, **params: Any) -> ObjectList:
        """One meter's objects: new instances sharing the template's state, with
        the template's cross-references pointing at this meter's objects and
        the binders run with ``params``."""
        meter = ObjectList.__new__(ObjectList)
        memo: dict[int, Any] = {id(self._source): meter}
        made: list[tuple[CosemObject, _Shape]] = []
        for shape in self._shapes.values():
            obj = object.__new__(shape.shadow)
            memo[id(shape.template)] = obj
            made.append((obj, shape))
        by_name: dict[Obis, CosemObject] = {}
        for (name, shape), (obj, _) in zip(self._shapes.items(), made):
            by_name[name] = obj
            if shape.own:
                state = obj.__dict__
                for attr, value in shape.own:
                    state[attr] = _own(value, memo)
        meter._by_name = by_name
        for obj, shape in made:
            for binder in shape.binders:
                binder(obj, params)
        return meter
