"""The xDLMS APDU walk both backends share (IEC 62056-5-3, logical-name
referencing).

``Codec`` is parametrised by the A-XDR ``Data`` codec it uses for the values
inside the APDUs: the pure backend runs it over the pure Data codec, the
native one over its C Data codec (after its C decoder of the hot APDUs).  Decoding builds the frozen dataclasses without
running their validating ``__init__`` (the bytes were checked here).
"""

from __future__ import annotations

import struct
from typing import Any, Callable, Protocol

from .. import _status as S
from ..apdu_model import (
    CLASSES,
    ActionRequestNextPblock,
    ActionRequestNormal,
    ActionRequestWithFirstPblock,
    ActionRequestWithList,
    ActionRequestWithListAndFirstPblock,
    ActionRequestWithPblock,
    ActionResponseNextPblock,
    ActionResponseNormal,
    ActionResponseWithList,
    ActionResponseWithPblock,
    ActionResult,
    Apdu,
    AttributeDescriptor,
    ConfirmedServiceError,
    ConfirmedServiceErrorChoice,
    DataAccessResult,
    DataNotification,
    EventNotificationRequest,
    ExceptionResponse,
    GeneralBlockTransfer,
    GetRequestNext,
    GetRequestNormal,
    GetRequestWithList,
    GetResponseNormal,
    GetResponseWithDatablock,
    GetResponseWithList,
    MethodDescriptor,
    Priority,
    SelectiveAccess,
    ServiceClass,
    ServiceError,
    ServiceErrorChoice,
    SetRequestNormal,
    SetRequestWithDatablock,
    SetRequestWithFirstDatablock,
    SetRequestWithList,
    SetRequestWithListAndFirstDatablock,
    SetResponseDatablock,
    SetResponseLastDatablock,
    SetResponseLastDatablockWithList,
    SetResponseNormal,
    SetResponseWithList,
    StateError,
    _Invoked,
)
from ..errors import DecodeError, EncodeError
from ..limits import DEFAULT_MAX_DEPTH
from ..types import DateTime, NullData, Obis
from .fail import Fail
from .length import put_length, read_length

LAYER = "apdu"

_U16 = struct.Struct(">H").unpack_from
_U32 = struct.Struct(">I").unpack_from
_DESC = struct.Struct(">H6sb").unpack_from
_pack_desc = struct.Struct(">H6sb").pack
_pack_u32 = struct.Struct(">I").pack
_pack_u16 = struct.Struct(">H").pack
_NULL = NullData()
_PRIORITY = (Priority.NORMAL, Priority.HIGH)
_SERVICE = (ServiceClass.UNCONFIRMED, ServiceClass.CONFIRMED)
_onew = object.__new__
_bnew = bytes.__new__


def _err(code: int, offset: int) -> DecodeError:
    return S.decode_error(code, offset, LAYER)


def build(cls: type, fields: dict[str, Any]) -> Any:
    """An instance of a frozen dataclass from already-checked fields."""
    obj: Any = _onew(cls)
    obj.__dict__.update(fields)
    return obj


def iip_fields(b: int) -> dict[str, Any]:
    return {"invoke_id": b & 0x0F, "priority": _PRIORITY[b >> 7], "service_class": _SERVICE[(b >> 6) & 1]}


def iip_byte(a: Any) -> int:
    return (a.invoke_id & 0x0F) | (0x80 if a.priority else 0) | (0x40 if a.service_class else 0)


class DataCodec(Protocol):
    """The part of an A-XDR backend the walk uses."""

    def decode_prefix(self, data: Any, offset: int = 0, max_depth: int = DEFAULT_MAX_DEPTH) -> tuple[Any, int]: ...

    def encode(self, value: Any) -> bytes: ...


class Codec:
    """The APDU walk over one Data codec (a module with decode_prefix/encode)."""

    def __init__(self, data: DataCodec) -> None:
        self._data_prefix: Callable[..., tuple[Any, int]] = data.decode_prefix
        self._data_encode: Callable[[Any], bytes] = data.encode
        self._decoders: dict[int, Callable[[bytes, int, int], tuple[Any, int]]] = {
            0xC0: self._get_request,
            0xC4: self._get_response,
            0xC1: self._set_request,
            0xC5: self._set_response,
            0xC3: self._action_request,
            0xC7: self._action_response,
            0x0F: self._data_notification,
            0xC2: self._event_notification,
            0xD8: self._exception_response,
            0x0E: self._confirmed_service_error,
            0xE0: self._general_block_transfer,
        }

    # ------------------------------------------------------------------ reads

    def _u8(self, buf: bytes, p: int, end: int) -> int:
        if p >= end:
            raise _err(S.TRUNCATED, p)
        return buf[p]

    def _u16(self, buf: bytes, p: int, end: int) -> int:
        if p + 2 > end:
            raise _err(S.TRUNCATED, p)
        return _U16(buf, p)[0]  # type: ignore[no-any-return]

    def _u32(self, buf: bytes, p: int, end: int) -> int:
        if p + 4 > end:
            raise _err(S.TRUNCATED, p)
        return _U32(buf, p)[0]  # type: ignore[no-any-return]

    def _flag(self, buf: bytes, p: int, end: int) -> int:
        b = self._u8(buf, p, end)
        if b > 1:
            raise _err(S.APDU_FLAG, p)
        return b

    def _count(self, buf: bytes, p: int, end: int, min_item: int) -> tuple[int, int]:
        try:
            n, q = read_length(buf, p, end)
        except Fail as exc:
            raise _err(exc.code, exc.offset) from None
        if n * min_item > end - q:
            raise _err(S.TOO_MANY, p)
        return n, q

    def _octets(self, buf: bytes, p: int, end: int) -> tuple[bytes, int]:
        n, q = self._count(buf, p, end, 0)
        if n > end - q:
            raise _err(S.TRUNCATED, q)
        return buf[q : q + n], q + n

    def _data(self, buf: bytes, p: int, end: int) -> tuple[Any, int]:
        try:
            v, q = self._data_prefix(buf, p, max_depth=DEFAULT_MAX_DEPTH)
        except DecodeError as exc:
            raise DecodeError(f"in Data: {exc.reason}", layer=LAYER, offset=exc.offset) from None
        if q > end:
            raise _err(S.TRUNCATED, end)
        # a present null-data must stay distinguishable from an absent value
        return (_NULL if v is None else v), q

    def _attribute(self, buf: bytes, p: int, end: int, selection: bool) -> tuple[AttributeDescriptor, int]:
        if p + 9 > end:
            raise _err(S.TRUNCATED, p)
        class_id, obis, attr = _DESC(buf, p)
        q = p + 9
        access = None
        if selection:
            if self._flag(buf, q, end):
                selector = self._u8(buf, q + 1, end)
                params, q = self._data(buf, q + 2, end)
                access = build(SelectiveAccess, {"selector": selector, "parameters": params})
            else:
                q += 1
        d = build(
            AttributeDescriptor,
            {"class_id": class_id, "instance_id": _bnew(Obis, obis), "attribute_id": attr, "access": access},
        )
        return d, q

    def _method(self, buf: bytes, p: int, end: int) -> tuple[MethodDescriptor, int]:
        if p + 9 > end:
            raise _err(S.TRUNCATED, p)
        class_id, obis, m = _DESC(buf, p)
        return build(MethodDescriptor, {"class_id": class_id, "instance_id": _bnew(Obis, obis), "method_id": m}), p + 9

    def _get_data_result(self, buf: bytes, p: int, end: int) -> tuple[Any, int]:
        if self._flag(buf, p, end):
            return DataAccessResult(self._u8(buf, p + 1, end)), p + 2
        return self._data(buf, p + 1, end)

    def _block_sa(self, buf: bytes, p: int, end: int) -> tuple[dict[str, Any], int]:
        last = self._u8(buf, p, end)
        block = self._u32(buf, p + 1, end)
        raw, q = self._octets(buf, p + 5, end)
        return {"last_block": last != 0, "block_number": block, "raw_data": raw}, q

    def _head(self, buf: bytes, pos: int, end: int, tag: int) -> tuple[Any, int, dict[str, Any], int]:
        """The class the choice byte after the APDU tag names, then the
        invoke-id-and-priority.  The choice is checked before the next byte is
        read, so an unknown variant is reported at its own byte even when the
        input stops right after it."""
        choice = self._u8(buf, pos + 1, end)
        cls = CLASSES.get((tag, choice))
        if cls is None:
            raise _err(S.APDU_CHOICE, pos + 1)
        iip = self._u8(buf, pos + 2, end)
        return cls, choice, iip_fields(iip), pos + 3

    # ----------------------------------------------------------------- GET

    def _get_request(self, buf: bytes, pos: int, end: int) -> tuple[Any, int]:
        cls, choice, f, p = self._head(buf, pos, end, 0xC0)
        if choice == 1:
            f["descriptor"], p = self._attribute(buf, p, end, True)
        elif choice == 2:
            f["block_number"] = self._u32(buf, p, end)
            p += 4
        else:
            n, p = self._count(buf, p, end, 10)
            items = []
            for _ in range(n):
                d, p = self._attribute(buf, p, end, True)
                items.append(d)
            f["descriptors"] = tuple(items)
        return build(cls, f), p

    def _get_response(self, buf: bytes, pos: int, end: int) -> tuple[Any, int]:
        cls, choice, f, p = self._head(buf, pos, end, 0xC4)
        if choice == 1:
            f["result"], p = self._get_data_result(buf, p, end)
        elif choice == 2:
            f["last_block"] = self._u8(buf, p, end) != 0
            f["block_number"] = self._u32(buf, p + 1, end)
            if self._flag(buf, p + 5, end):
                f["raw_data"] = DataAccessResult(self._u8(buf, p + 6, end))
                p += 7
            else:
                f["raw_data"], p = self._octets(buf, p + 6, end)
        else:
            n, p = self._count(buf, p, end, 2)
            results = []
            for _ in range(n):
                r, p = self._get_data_result(buf, p, end)
                results.append(r)
            f["results"] = tuple(results)
        return build(cls, f), p

    # ----------------------------------------------------------------- SET

    def _attributes(self, buf: bytes, p: int, end: int) -> tuple[tuple[AttributeDescriptor, ...], int]:
        n, p = self._count(buf, p, end, 10)
        items = []
        for _ in range(n):
            d, p = self._attribute(buf, p, end, True)
            items.append(d)
        return tuple(items), p

    def _values(self, buf: bytes, p: int, end: int, expected: int) -> tuple[tuple[Any, ...], int]:
        """The Data list of a with-list request: one per descriptor."""
        n, q = self._count(buf, p, end, 1)
        if n != expected:
            raise _err(S.APDU_COUNT, p)
        values = []
        for _ in range(n):
            v, q = self._data(buf, q, end)
            values.append(v)
        return tuple(values), q

    def _set_request(self, buf: bytes, pos: int, end: int) -> tuple[Any, int]:
        cls, choice, f, p = self._head(buf, pos, end, 0xC1)
        if choice == 1:
            f["descriptor"], p = self._attribute(buf, p, end, True)
            f["value"], p = self._data(buf, p, end)
        elif choice == 2:
            f["descriptor"], p = self._attribute(buf, p, end, True)
            block, p = self._block_sa(buf, p, end)
            f.update(block)
        elif choice == 3:
            block, p = self._block_sa(buf, p, end)
            f.update(block)
        elif choice == 4:
            f["descriptors"], p = self._attributes(buf, p, end)
            f["values"], p = self._values(buf, p, end, len(f["descriptors"]))
        else:
            f["descriptors"], p = self._attributes(buf, p, end)
            block, p = self._block_sa(buf, p, end)
            f.update(block)
        return build(cls, f), p

    def _dars(self, buf: bytes, p: int, end: int) -> tuple[tuple[DataAccessResult, ...], int]:
        n, p = self._count(buf, p, end, 1)
        if p + n > end:
            raise _err(S.TRUNCATED, end)
        return tuple(DataAccessResult(b) for b in buf[p : p + n]), p + n

    def _set_response(self, buf: bytes, pos: int, end: int) -> tuple[Any, int]:
        cls, choice, f, p = self._head(buf, pos, end, 0xC5)
        if choice == 1:
            f["result"] = DataAccessResult(self._u8(buf, p, end))
            p += 1
        elif choice == 2:
            f["block_number"] = self._u32(buf, p, end)
            p += 4
        elif choice == 3:
            f["result"] = DataAccessResult(self._u8(buf, p, end))
            f["block_number"] = self._u32(buf, p + 1, end)
            p += 5
        elif choice == 4:
            f["results"], p = self._dars(buf, p, end)
            f["block_number"] = self._u32(buf, p, end)
            p += 4
        else:
            f["results"], p = self._dars(buf, p, end)
        return build(cls, f), p

    # -------------------------------------------------------------- ACTION

    def _methods(self, buf: bytes, p: int, end: int) -> tuple[tuple[MethodDescriptor, ...], int]:
        n, p = self._count(buf, p, end, 9)
        items = []
        for _ in range(n):
            d, p = self._method(buf, p, end)
            items.append(d)
        return tuple(items), p

    def _action_request(self, buf: bytes, pos: int, end: int) -> tuple[Any, int]:
        cls, choice, f, p = self._head(buf, pos, end, 0xC3)
        if choice == 1:
            f["descriptor"], p = self._method(buf, p, end)
            if self._flag(buf, p, end):
                f["parameters"], p = self._data(buf, p + 1, end)
            else:
                f["parameters"] = None
                p += 1
        elif choice == 2:
            f["block_number"] = self._u32(buf, p, end)
            p += 4
        elif choice == 3:
            f["descriptors"], p = self._methods(buf, p, end)
            f["parameters"], p = self._values(buf, p, end, len(f["descriptors"]))
        elif choice == 4:
            f["descriptor"], p = self._method(buf, p, end)
            block, p = self._block_sa(buf, p, end)
            f.update(block)
        elif choice == 5:
            f["descriptors"], p = self._methods(buf, p, end)
            block, p = self._block_sa(buf, p, end)
            f.update(block)
        else:
            block, p = self._block_sa(buf, p, end)
            f.update(block)
        return build(cls, f), p

    def _action_result(self, buf: bytes, p: int, end: int) -> tuple[ActionResult, Any, int]:
        result = ActionResult(self._u8(buf, p, end))
        if self._flag(buf, p + 1, end):
            ret, q = self._get_data_result(buf, p + 2, end)
            return result, ret, q
        return result, None, p + 2

    def _action_response(self, buf: bytes, pos: int, end: int) -> tuple[Any, int]:
        cls, choice, f, p = self._head(buf, pos, end, 0xC7)
        if choice == 1:
            f["result"], f["return_parameters"], p = self._action_result(buf, p, end)
        elif choice == 2:
            block, p = self._block_sa(buf, p, end)
            f.update(block)
        elif choice == 3:
            n, p = self._count(buf, p, end, 2)
            results = []
            for _ in range(n):
                r, ret, p = self._action_result(buf, p, end)
                results.append((r, ret))
            f["results"] = tuple(results)
        else:
            f["block_number"] = self._u32(buf, p, end)
            p += 4
        return build(cls, f), p

    # ------------------------------------------------- notifications, errors

    def _data_notification(self, buf: bytes, pos: int, end: int) -> tuple[Any, int]:
        lip = self._u32(buf, pos + 1, end)
        p = pos + 5
        n = self._u8(buf, p, end)
        if n == 0x09:
            # lenient: some meters put an octet-string tag before the time
            n = self._u8(buf, p + 1, end)
            p += 1
        if n == 0:
            dt = None
            p += 1
        elif n == 12:
            if p + 13 > end:
                raise _err(S.TRUNCATED, p + 1)
            dt = _bnew(DateTime, buf[p + 1 : p + 13])
            p += 13
        else:
            raise _err(S.BAD_LENGTH, p)
        body, p = self._data(buf, p, end)
        return build(DataNotification, data_notification_fields(lip, dt, body)), p

    def _event_notification(self, buf: bytes, pos: int, end: int) -> tuple[Any, int]:
        p = pos + 1
        flag = self._u8(buf, p, end)
        time = None
        if flag == 0:
            p += 1
        elif flag == 1 or flag == 9:
            # present: 01 (OPTIONAL flag) or 09 (octet-string tag) then the length 0C, or
            # the fixed-size form 01 + 12 octets an older COSEM ASN.1 declares (jDLMS)
            second = self._u8(buf, p + 1, end)
            if second == 12:
                q = p + 2
            elif flag == 1:
                q = p + 1
            else:
                raise _err(S.BAD_LENGTH, p + 1)
            if q + 12 > end:
                raise _err(S.TRUNCATED, q)
            time = _bnew(DateTime, buf[q : q + 12])
            p = q + 12
        else:
            raise _err(S.APDU_FLAG, p)
        d, p = self._attribute(buf, p, end, False)
        value, p = self._data(buf, p, end)
        return build(EventNotificationRequest, {"descriptor": d, "value": value, "time": time}), p

    def _exception_response(self, buf: bytes, pos: int, end: int) -> tuple[Any, int]:
        state = StateError(self._u8(buf, pos + 1, end))
        service = ServiceError(self._u8(buf, pos + 2, end))
        p = pos + 3
        ic = None
        if service == 6:
            ic = self._u32(buf, p, end)
            p += 4
        return build(ExceptionResponse, {"state_error": state, "service_error": service, "invocation_counter": ic}), p

    def _confirmed_service_error(self, buf: bytes, pos: int, end: int) -> tuple[Any, int]:
        service = ConfirmedServiceErrorChoice(self._u8(buf, pos + 1, end))
        error = ServiceErrorChoice(self._u8(buf, pos + 2, end))
        value = self._u8(buf, pos + 3, end)
        return build(ConfirmedServiceError, {"service": service, "error": error, "value": value}), pos + 4

    def _general_block_transfer(self, buf: bytes, pos: int, end: int) -> tuple[Any, int]:
        control = self._u8(buf, pos + 1, end)
        block = self._u16(buf, pos + 2, end)
        ack = self._u16(buf, pos + 4, end)
        data, p = self._octets(buf, pos + 6, end)
        return build(GeneralBlockTransfer, gbt_fields(control, block, ack, data)), p

    # --------------------------------------------------------------- entry

    def decode_prefix(self, data: Any, offset: int = 0) -> tuple[Apdu, int]:
        buf = data if type(data) is bytes else bytes(data)
        end = len(buf)
        tag = self._u8(buf, offset, end)
        dec = self._decoders.get(tag)
        if dec is None:
            raise _err(S.APDU_TAG, offset)
        return dec(buf, offset, end)  # type: ignore[no-any-return]

    def decode(self, data: Any) -> Apdu:
        buf = data if type(data) is bytes else bytes(data)
        apdu, end = self.decode_prefix(buf, 0)
        if end != len(buf):
            raise _err(S.TRAILING, end)
        return apdu

    # -------------------------------------------------------------- encode

    def _put_data(self, out: bytearray, v: Any) -> None:
        out += self._data_encode(v)

    def _put_attribute(self, out: bytearray, d: AttributeDescriptor, selection: bool) -> None:
        out += _pack_desc(d.class_id, bytes(d.instance_id), d.attribute_id)
        if selection:
            if d.access is None:
                out.append(0)
            else:
                out.append(1)
                out.append(d.access.selector)
                self._put_data(out, d.access.parameters)
        elif d.access is not None:
            raise EncodeError("this descriptor cannot carry selective access")

    def _put_method(self, out: bytearray, d: MethodDescriptor) -> None:
        out += _pack_desc(d.class_id, bytes(d.instance_id), d.method_id)

    def _put_octets(self, out: bytearray, raw: bytes) -> None:
        put_length(out, len(raw))
        out += raw

    def _put_block_sa(self, out: bytearray, a: Any) -> None:
        out.append(1 if a.last_block else 0)
        out += _pack_u32(a.block_number)
        self._put_octets(out, a.raw_data)

    def _put_get_data_result(self, out: bytearray, r: Any) -> None:
        if isinstance(r, (DataAccessResult, ActionResult)):
            out.append(1)
            out.append(int(r))
        else:
            out.append(0)
            self._put_data(out, r)

    def _put_optional_data(self, out: bytearray, v: Any) -> None:
        if v is None and type(v) is not NullData:
            out.append(0)
        else:
            out.append(1)
            self._put_data(out, v)

    def encode(self, a: Apdu) -> bytes:
        if not isinstance(a, Apdu):
            raise EncodeError(f"not an APDU: {type(a).__name__}")
        out = bytearray((a.TAG,))
        try:
            self._encode_body(a, out)
        except EncodeError:
            raise
        except (struct.error, ValueError, OverflowError) as exc:
            # a field outside its wire range (a result code of 300, a block number of -1)
            raise EncodeError(f"{type(a).__name__}: {exc}") from None
        return bytes(out)

    def _encode_body(self, a: Apdu, out: bytearray) -> None:
        if isinstance(a, _Invoked):
            out.append(a.CHOICE)
            out.append(iip_byte(a))
        if isinstance(a, (GetRequestNormal,)):
            self._put_attribute(out, a.descriptor, True)
        elif isinstance(a, (GetRequestNext, SetResponseDatablock, ActionRequestNextPblock, ActionResponseNextPblock)):
            out += _pack_u32(a.block_number)
        elif isinstance(a, GetRequestWithList):
            put_length(out, len(a.descriptors))
            for d in a.descriptors:
                self._put_attribute(out, d, True)
        elif isinstance(a, GetResponseNormal):
            self._put_get_data_result(out, a.result)
        elif isinstance(a, GetResponseWithDatablock):
            out.append(1 if a.last_block else 0)
            out += _pack_u32(a.block_number)
            if isinstance(a.raw_data, DataAccessResult):
                out.append(1)
                out.append(int(a.raw_data))
            else:
                out.append(0)
                self._put_octets(out, a.raw_data)
        elif isinstance(a, GetResponseWithList):
            put_length(out, len(a.results))
            for r in a.results:
                self._put_get_data_result(out, r)
        elif isinstance(a, SetRequestNormal):
            self._put_attribute(out, a.descriptor, True)
            self._put_data(out, a.value)
        elif isinstance(a, SetRequestWithFirstDatablock):
            self._put_attribute(out, a.descriptor, True)
            self._put_block_sa(out, a)
        elif isinstance(a, (SetRequestWithDatablock, ActionRequestWithPblock, ActionResponseWithPblock)):
            self._put_block_sa(out, a)
        elif isinstance(a, SetRequestWithList):
            if len(a.descriptors) != len(a.values):
                raise EncodeError("set-request-with-list needs one value per descriptor")
            put_length(out, len(a.descriptors))
            for d in a.descriptors:
                self._put_attribute(out, d, True)
            put_length(out, len(a.values))
            for v in a.values:
                self._put_data(out, v)
        elif isinstance(a, SetRequestWithListAndFirstDatablock):
            put_length(out, len(a.descriptors))
            for d in a.descriptors:
                self._put_attribute(out, d, True)
            self._put_block_sa(out, a)
        elif isinstance(a, SetResponseNormal):
            out.append(int(a.result))
        elif isinstance(a, SetResponseLastDatablock):
            out.append(int(a.result))
            out += _pack_u32(a.block_number)
        elif isinstance(a, (SetResponseLastDatablockWithList, SetResponseWithList)):
            put_length(out, len(a.results))
            out += bytes(int(r) for r in a.results)
            if isinstance(a, SetResponseLastDatablockWithList):
                out += _pack_u32(a.block_number)
        elif isinstance(a, ActionRequestNormal):
            self._put_method(out, a.descriptor)
            self._put_optional_data(out, a.parameters)
        elif isinstance(a, ActionRequestWithList):
            if len(a.descriptors) != len(a.parameters):
                raise EncodeError("action-request-with-list needs one parameter per descriptor")
            put_length(out, len(a.descriptors))
            for m in a.descriptors:
                self._put_method(out, m)
            put_length(out, len(a.parameters))
            for v in a.parameters:
                self._put_data(out, v)
        elif isinstance(a, ActionRequestWithFirstPblock):
            self._put_method(out, a.descriptor)
            self._put_block_sa(out, a)
        elif isinstance(a, ActionRequestWithListAndFirstPblock):
            put_length(out, len(a.descriptors))
            for m in a.descriptors:
                self._put_method(out, m)
            self._put_block_sa(out, a)
        elif isinstance(a, ActionResponseNormal):
            out.append(int(a.result))
            self._put_action_return(out, a.return_parameters)
        elif isinstance(a, ActionResponseWithList):
            put_length(out, len(a.results))
            for r, ret in a.results:
                out.append(int(r))
                self._put_action_return(out, ret)
        elif isinstance(a, DataNotification):
            out += _pack_u32(long_iip(a))
            if a.date_time is None:
                out.append(0)
            else:
                out.append(12)
                out += bytes(a.date_time)
            self._put_data(out, a.body)
        elif isinstance(a, EventNotificationRequest):
            if a.time is None:
                out.append(0)
            else:
                out += b"\x01\x0c" + bytes(a.time)
            self._put_attribute(out, a.descriptor, False)
            self._put_data(out, a.value)
        elif isinstance(a, ExceptionResponse):
            out.append(int(a.state_error))
            out.append(int(a.service_error))
            if a.service_error == 6:
                out += _pack_u32(a.invocation_counter or 0)
        elif isinstance(a, ConfirmedServiceError):
            out += bytes((int(a.service), int(a.error), a.value))
        elif isinstance(a, GeneralBlockTransfer):
            control = (0x80 if a.last_block else 0) | (0x40 if a.streaming else 0) | (a.window & 0x3F)
            out.append(control)
            out += _pack_u16(a.block_number) + _pack_u16(a.block_number_ack)
            self._put_octets(out, a.block_data)
        else:
            raise EncodeError(f"no encoder for {type(a).__name__}")

    def _put_action_return(self, out: bytearray, ret: Any) -> None:
        if ret is None and type(ret) is not NullData:
            out.append(0)
        else:
            out.append(1)
            self._put_get_data_result(out, ret)


def data_notification_fields(lip: int, dt: Any, body: Any) -> dict[str, Any]:
    return {
        "long_invoke_id": lip & 0xFFFFFF,
        "priority": _PRIORITY[lip >> 31],
        "service_class": _SERVICE[(lip >> 30) & 1],
        "processing_option": bool(lip & 0x20000000),
        "self_descriptive": bool(lip & 0x10000000),
        "date_time": dt,
        "body": body,
    }


def gbt_fields(control: int, block: int, ack: int, data: bytes) -> dict[str, Any]:
    return {
        "last_block": bool(control & 0x80),
        "streaming": bool(control & 0x40),
        "window": control & 0x3F,
        "block_number": block,
        "block_number_ack": ack,
        "block_data": data,
    }


def long_iip(a: DataNotification) -> int:
    return (
        (a.long_invoke_id & 0xFFFFFF)
        | (0x80000000 if a.priority else 0)
        | (0x40000000 if a.service_class else 0)
        | (0x20000000 if a.processing_option else 0)
        | (0x10000000 if a.self_descriptive else 0)
    )
