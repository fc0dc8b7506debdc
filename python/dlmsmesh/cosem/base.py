"""The base of every COSEM interface class: a class id, a version, a logical
name, and class-level tables of attribute and method descriptors
(IEC 62056-6-2).

An attribute is declared with :func:`attribute`, either as a stored value
(``value = attribute(2, ANY, access=READ_WRITE)``) or as a decorator on a
getter, with an optional ``.setter``; a method with :func:`method` on its
handler.  Handlers may be plain functions or coroutines.  Python code reads
and writes attributes as Python attributes (``register.value``, type-checked
on assignment); the Server calls the async dispatch surface :meth:`CosemObject.get`,
:meth:`~CosemObject.set` and :meth:`~CosemObject.action`, which never raise:
every failure becomes a DataAccessResult or ActionResult.  (Reading an
attribute with an async getter from Python gives an awaitable; one with an
async setter is written with ``await obj.set(...)``.)
"""

from __future__ import annotations

import inspect
import logging
import types as _pytypes
from collections.abc import Callable
from typing import Any, ClassVar

from ..apdu_model import ActionResult, DataAccessResult
from ..errors import EncodeError
from ..types import CosemValue, Obis, natural
from .access import AttributeAccess, MethodAccess
from .typespec import Octets, SpecLike, TypeMismatch, TypeSpec, spec_of

__all__ = [
    "CosemObject",
    "Attribute",
    "Method",
    "attribute",
    "method",
    "DataAccessError",
    "ActionError",
    "READ_ONLY",
    "READ_WRITE",
    "WRITE_ONLY",
    "NO_ACCESS",
]

log = logging.getLogger(__name__)

READ_ONLY = AttributeAccess.READ_ONLY
READ_WRITE = AttributeAccess.READ_WRITE
WRITE_ONLY = AttributeAccess.WRITE_ONLY
NO_ACCESS = AttributeAccess.NO_ACCESS


class DataAccessError(Exception):
    """Raised by a getter or setter to answer with a specific DataAccessResult."""

    def __init__(self, result: DataAccessResult, message: str = "") -> None:
        super().__init__(message or result.name)
        self.result = result


class ActionError(Exception):
    """Raised by a method handler to answer with a specific ActionResult."""

    def __init__(self, result: ActionResult, message: str = "") -> None:
        super().__init__(message or result.name)
        self.result = result


_MISSING: Any = object()


class Attribute:
    """Descriptor of one attribute: its index, COSEM type, default access, the
    access selectors it supports, and its value (stored, or from handlers).

    With ``selectors``, the getter is called ``getter(obj, selector,
    parameters)`` (selector None for a plain GET); otherwise ``getter(obj)``.
    """

    def __init__(
        self,
        index: int,
        type: SpecLike,
        *,
        access: AttributeAccess = READ_ONLY,
        selectors: tuple[int, ...] = (),
        default: Any = _MISSING,
        fget: Callable[..., Any] | None = None,
        fset: Callable[[Any, Any], Any] | None = None,
        name: str = "",
    ) -> None:
        if not -128 <= index <= 127 or index == 0:
            raise ValueError(f"attribute index must be -128..127 and not 0, got {index}")
        self.index = index
        self.type: TypeSpec = spec_of(type)
        self.access = AttributeAccess(access)
        self.selectors = tuple(selectors)
        self.default = default if default is _MISSING else self.type.check(default)
        self.fget = fget
        self.fset = fset
        self.name = name or (fget.__name__ if fget is not None else "")
        self._slot = "_attr_" + self.name

    def _copy(self, **changes: Any) -> Attribute:
        fields = dict(
            access=self.access,
            selectors=self.selectors,
            default=self.default,
            fget=self.fget,
            fset=self.fset,
            name=self.name,
        )
        fields.update(changes)
        return Attribute(self.index, self.type, **fields)

    def __call__(self, fget: Callable[..., Any]) -> Attribute:
        """Use as a decorator: the function is the attribute's getter."""
        return self._copy(fget=fget, name=fget.__name__)

    def setter(self, fset: Callable[[Any, Any], Any]) -> Attribute:
        return self._copy(fset=fset)

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self._slot = "_attr_" + name

    @property
    def stored(self) -> bool:
        return self.fget is None

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.fget) or inspect.iscoroutinefunction(self.fset)

    def read(self, obj: Any, selector: int | None = None, parameters: Any = None) -> Any:
        """The value, or an awaitable of it when the getter is a coroutine."""
        if self.fget is None:
            value = obj.__dict__.get(self._slot, _MISSING)
            if value is _MISSING:
                # an object instantiated from a MeterTemplate reads the
                # template's value from its class until it writes its own
                value = getattr(type(obj), self._slot, self.default)
            if value is _MISSING:
                raise DataAccessError(DataAccessResult.OBJECT_UNAVAILABLE, f"{self.name} has no value")
            return value
        if self.selectors:
            return self.fget(obj, selector, parameters)
        return self.fget(obj)

    def write(self, obj: Any, value: Any) -> Any:
        """Store an already type-checked value; an awaitable when the setter is a coroutine."""
        if self.fset is not None:
            return self.fset(obj, value)
        if self.fget is not None:
            raise DataAccessError(DataAccessResult.READ_WRITE_DENIED, f"{self.name} has no setter")
        obj.__dict__[self._slot] = value
        return None

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        return self.read(obj)

    def __set__(self, obj: Any, value: Any) -> None:
        if inspect.iscoroutinefunction(self.fset):
            raise AttributeError(f"{self.name} has an async setter: use `await obj.set({self.index}, value)`")
        try:
            checked = self.type.check(value)
        except TypeMismatch as exc:
            raise TypeError(f"{type(obj).__name__}.{self.name}: {exc}") from None
        try:
            self.write(obj, checked)
        except DataAccessError as exc:
            if exc.result is DataAccessResult.TYPE_UNMATCHED:
                raise TypeError(f"{type(obj).__name__}.{self.name}: {exc}") from None
            raise AttributeError(f"{type(obj).__name__}.{self.name}: {exc}") from None
        changed(obj, self.index)


def attribute(
    index: int,
    type: SpecLike,
    *,
    access: AttributeAccess = READ_ONLY,
    selectors: tuple[int, ...] = (),
    default: Any = _MISSING,
) -> Attribute:
    """Declare attribute ``index``: a stored value, or (as a decorator) a getter."""
    return Attribute(index, type, access=access, selectors=selectors, default=default)


class Method:
    """Descriptor of one method: its index, parameter type (None: any), default
    access and handler ``handler(obj, parameters) -> return value or None``."""

    def __init__(
        self,
        index: int,
        parameter: SpecLike | None,
        *,
        access: MethodAccess = MethodAccess.ACCESS,
        handler: Callable[[Any, Any], Any] | None = None,
    ) -> None:
        if not -128 <= index <= 127 or index == 0:
            raise ValueError(f"method index must be -128..127 and not 0, got {index}")
        self.index = index
        self.parameter: TypeSpec | None = None if parameter is None else spec_of(parameter)
        self.access = MethodAccess(access)
        self.handler = handler
        self.name = handler.__name__ if handler is not None else ""

    def __call__(self, handler: Callable[[Any, Any], Any]) -> Method:
        return Method(self.index, self.parameter, access=self.access, handler=handler)

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None or self.handler is None:
            return self
        return _pytypes.MethodType(self.handler, obj)


def method(index: int, parameter: SpecLike | None, *, access: MethodAccess = MethodAccess.ACCESS) -> Method:
    """Declare method ``index`` on its handler (sync or async)."""
    return Method(index, parameter, access=access)


_WATCHERS = "_dlmsmesh_watchers"


def changed(obj: Any, attribute_id: int) -> None:
    """Tell the watchers of ``obj``'s attribute (:meth:`CosemObject.watch`) it changed."""
    watchers = obj.__dict__.get(_WATCHERS)
    if not watchers:
        return
    for callback in list(watchers.get(attribute_id, ())):
        try:
            callback(obj, attribute_id)
        except Exception:
            log.exception("%r attribute %d: a watcher failed", obj, attribute_id)


async def settle(value: Any) -> Any:
    """The value of a sync or async handler's result."""
    # most handlers are sync and answer a plain value: one attribute lookup
    # tells it from an awaitable (inspect.isawaitable checks an ABC first)
    if hasattr(value, "__await__") and inspect.isawaitable(value):
        return await value
    return value


def _failed_get(obj: Any, attribute_id: int, exc: Exception) -> DataAccessResult:
    """The answer to a GET whose getter raised ``exc``."""
    if isinstance(exc, DataAccessError):
        return exc.result
    if isinstance(exc, (TypeMismatch, EncodeError)):
        log.error("%r attribute %d: the getter returned a value with no COSEM type", obj, attribute_id, exc_info=exc)
    else:
        log.error("%r attribute %d: the getter failed", obj, attribute_id, exc_info=exc)
    return DataAccessResult.OTHER_REASON


class PendingGet:
    """A GET whose getter gave an awaitable: :meth:`finish` awaits it."""

    __slots__ = ("obj", "attribute_id", "awaitable")

    def __init__(self, obj: Any, attribute_id: int, awaitable: Any) -> None:
        self.obj, self.attribute_id, self.awaitable = obj, attribute_id, awaitable

    async def finish(self) -> CosemValue | DataAccessResult:
        try:
            return natural(await self.awaitable)
        except Exception as exc:  # noqa: BLE001 - every getter failure is an answer
            return _failed_get(self.obj, self.attribute_id, exc)


class CosemObject:
    """An instance of a COSEM interface class.

    Subclasses set ``class_id`` and ``version`` and declare attributes and
    methods; attribute 1 (logical_name) is declared here.
    """

    class_id: ClassVar[int] = 0
    version: ClassVar[int] = 0
    _attribute_table: ClassVar[dict[int, Attribute]] = {}
    _method_table: ClassVar[dict[int, Method]] = {}

    def __init__(self, logical_name: Obis | str | bytes) -> None:
        self._logical_name = Obis(logical_name)

    @attribute(1, Octets(6), access=READ_ONLY)
    def logical_name(self) -> Obis:
        return self._logical_name

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        attributes: dict[int, Attribute] = {}
        methods: dict[int, Method] = {}
        # base classes first, so a subclass redeclaring an index replaces it
        for klass in reversed(cls.__mro__):
            for value in vars(klass).values():
                if isinstance(value, Attribute):
                    attributes[value.index] = value
                elif isinstance(value, Method):
                    methods[value.index] = value
        cls._attribute_table = dict(sorted(attributes.items()))
        cls._method_table = dict(sorted(methods.items()))

    @classmethod
    def attribute_specs(cls) -> dict[int, Attribute]:
        return cls._attribute_table

    @classmethod
    def method_specs(cls) -> dict[int, Method]:
        return cls._method_table

    @property
    def key(self) -> tuple[int, Obis]:
        """(class_id, logical_name): how an APDU names this object."""
        return (self.class_id, self._logical_name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self._logical_name)!r})"

    # ---------------------------------------------------------------- dispatch

    async def get(
        self, attribute_id: int, selector: int | None = None, parameters: Any = None
    ) -> CosemValue | DataAccessResult:
        """The attribute's value (typed), or the DataAccessResult to answer with."""
        result = self.get_at_once(attribute_id, selector, parameters)
        if isinstance(result, PendingGet):
            return await result.finish()
        return result

    def get_at_once(
        self, attribute_id: int, selector: int | None = None, parameters: Any = None
    ) -> CosemValue | DataAccessResult | PendingGet:
        """What :meth:`get` answers, without a coroutine when the attribute's
        getter answers at once (a stored value, a sync getter: most of what a
        meter serves); for a getter that waits, a ``PendingGet`` whose
        ``finish()`` coroutine gives the answer (the getter already called)."""
        spec = self._attribute_table.get(attribute_id)
        if spec is None:
            return DataAccessResult.OBJECT_UNDEFINED
        if selector is not None and selector not in spec.selectors:
            return DataAccessResult.OTHER_REASON
        try:
            value = spec.read(self, selector, parameters)
            if hasattr(value, "__await__") and inspect.isawaitable(value):
                return PendingGet(self, attribute_id, value)
            return natural(value)
        except Exception as exc:  # noqa: BLE001 - every getter failure is an answer
            return _failed_get(self, attribute_id, exc)

    async def set(self, attribute_id: int, value: Any) -> DataAccessResult:
        """Type-check and store the value; never raises."""
        spec = self._attribute_table.get(attribute_id)
        if spec is None:
            return DataAccessResult.OBJECT_UNDEFINED
        try:
            checked = spec.type.check(value)
        except TypeMismatch:
            return DataAccessResult.TYPE_UNMATCHED
        try:
            await settle(spec.write(self, checked))
        except DataAccessError as exc:
            return exc.result
        except Exception:
            log.exception("%r attribute %d: the setter failed", self, attribute_id)
            return DataAccessResult.OTHER_REASON
        changed(self, attribute_id)
        return DataAccessResult.SUCCESS

    def watch(self, attribute_id: int, callback: Callable[[CosemObject, int], object]) -> Callable[[], None]:
        """Call ``callback(self, attribute_id)`` after every change of the
        attribute: a client's SET, or code (a method included) assigning it.
        Returns the function that stops watching.  A callback must not
        block; one that raises is logged and the change stands."""
        watchers = self.__dict__.setdefault(_WATCHERS, {})
        watchers.setdefault(attribute_id, []).append(callback)

        def stop() -> None:
            found = watchers.get(attribute_id, [])
            if callback in found:
                found.remove(callback)
            if not found:
                watchers.pop(attribute_id, None)

        return stop

    async def action(self, method_id: int, parameters: Any = None) -> tuple[ActionResult, CosemValue | None]:
        """Run the method: its result and return value (None when it returns none)."""
        spec = self._method_table.get(method_id)
        if spec is None or spec.handler is None:
            return ActionResult.OBJECT_UNDEFINED, None
        try:
            checked = parameters if spec.parameter is None else spec.parameter.check(parameters)
        except TypeMismatch:
            return ActionResult.TYPE_UNMATCHED, None
        try:
            returned = await settle(spec.handler(self, checked))
            return ActionResult.SUCCESS, None if returned is None else natural(returned)
        except ActionError as exc:
            return exc.result, None
        except Exception:
            log.exception("%r method %d failed", self, method_id)
            return ActionResult.OTHER_REASON, None


CosemObject.__init_subclass__()
