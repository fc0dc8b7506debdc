"""The JSON form of an xDLMS APDU: the ``apdu`` object of ``dlmsmesh decode``
(docs/json.md).  Pure data mapping, no codec: the ACSE side uses it for the
ConfirmedServiceError it can carry.
"""

from __future__ import annotations

from typing import Any

from .apdu_model import (
    ActionRequestNormal,
    ActionRequestWithList,
    ActionResponseNormal,
    ActionResponseWithList,
    ActionResult,
    Apdu,
    ConfirmedServiceError,
    DataAccessResult,
    DataNotification,
    EventNotificationRequest,
    ExceptionResponse,
    GeneralBlockTransfer,
    GetResponseNormal,
    GetResponseWithList,
    MethodDescriptor,
    Priority,
    ServiceClass,
    SetRequestNormal,
    SetRequestWithList,
    SetResponseLastDatablock,
    SetResponseLastDatablockWithList,
    SetResponseNormal,
    SetResponseWithList,
    _Invoked,
)
from .types import NullData
from .types import to_json as _data_json

__all__ = ["to_json"]


def _descriptor_json(d: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"class_id": d.class_id, "obis": str(d.instance_id)}
    if isinstance(d, MethodDescriptor):
        out["method_id"] = d.method_id
    else:
        out["attribute_id"] = d.attribute_id
        if d.access is not None:
            out["access_selector"] = d.access.selector
            out["access_parameters"] = _data_json(d.access.parameters)
    return out


def _result_json(r: Any) -> Any:
    if isinstance(r, (DataAccessResult, ActionResult)):
        return {"error": r.asn1_name}
    return _data_json(r)


def to_json(apdu: Apdu) -> dict[str, Any]:
    """The ``apdu`` object of the CLI's JSON Lines output."""
    out: dict[str, Any] = {"type": apdu.TYPE}
    if apdu.VARIANT is not None:
        out["variant"] = apdu.VARIANT
    if isinstance(apdu, _Invoked):
        out["invoke_id"] = apdu.invoke_id
        out["priority"] = Priority(apdu.priority).name.lower()
        out["service_class"] = ServiceClass(apdu.service_class).name.lower()
    if isinstance(apdu, DataNotification):
        out["long_invoke_id"] = apdu.long_invoke_id
        out["priority"] = Priority(apdu.priority).name.lower()
        out["service_class"] = ServiceClass(apdu.service_class).name.lower()
        out["processing_option"] = "break-on-error" if apdu.processing_option else "continue-on-error"
        out["self_descriptive"] = bool(apdu.self_descriptive)
        out["date_time"] = None if apdu.date_time is None else bytes(apdu.date_time).hex()
        out["body"] = _data_json(apdu.body)
        return out
    if isinstance(apdu, GeneralBlockTransfer):
        out.update(
            last_block=apdu.last_block,
            streaming=apdu.streaming,
            window=apdu.window,
            block_number=apdu.block_number,
            block_number_ack=apdu.block_number_ack,
            block_data=bytes(apdu.block_data).hex(),
        )
        return out
    if isinstance(apdu, ExceptionResponse):
        out["state_error"] = apdu.state_error.asn1_name
        out["service_error"] = apdu.service_error.asn1_name
        if apdu.invocation_counter is not None:
            out["invocation_counter"] = apdu.invocation_counter
        return out
    if isinstance(apdu, ConfirmedServiceError):
        out["service"] = apdu.service.asn1_name
        out["error"] = apdu.error.asn1_name
        out["value"] = apdu.value
        return out
    d = getattr(apdu, "descriptor", None)
    if d is not None:
        out.update(_descriptor_json(d))
    ds = getattr(apdu, "descriptors", None)
    if ds is not None:
        out["items"] = [_descriptor_json(x) for x in ds]
    if isinstance(apdu, EventNotificationRequest):
        out["time"] = None if apdu.time is None else bytes(apdu.time).hex()
        out["value"] = _data_json(apdu.value)
        return out
    if isinstance(apdu, SetRequestNormal):
        out["value"] = _data_json(apdu.value)
    if isinstance(apdu, SetRequestWithList):
        out["values"] = [_data_json(v) for v in apdu.values]
    if isinstance(apdu, (GetResponseNormal,)):
        out["result"] = _result_json(apdu.result)
    if isinstance(apdu, GetResponseWithList):
        out["results"] = [_result_json(r) for r in apdu.results]
    if isinstance(apdu, (SetResponseNormal, SetResponseLastDatablock)):
        out["result"] = apdu.result.asn1_name
    if isinstance(apdu, (SetResponseWithList, SetResponseLastDatablockWithList)):
        out["results"] = [r.asn1_name for r in apdu.results]
    if isinstance(apdu, ActionRequestNormal):
        out["value"] = (
            None if apdu.parameters is None and not _is_present_null(apdu.parameters) else _data_json(apdu.parameters)
        )
    if isinstance(apdu, ActionRequestWithList):
        out["values"] = [_data_json(v) for v in apdu.parameters]
    if isinstance(apdu, ActionResponseNormal):
        out["result"] = apdu.result.asn1_name
        rp = apdu.return_parameters
        out["return_parameters"] = None if rp is None and not _is_present_null(rp) else _result_json(rp)
    if isinstance(apdu, ActionResponseWithList):
        out["results"] = [
            {
                "result": r.asn1_name,
                "return_parameters": None if p is None and not _is_present_null(p) else _result_json(p),
            }
            for r, p in apdu.results
        ]
    if hasattr(apdu, "block_number"):
        out["block_number"] = apdu.block_number
    if hasattr(apdu, "last_block"):
        out["last_block"] = apdu.last_block
    if hasattr(apdu, "raw_data"):
        raw = apdu.raw_data
        if isinstance(raw, DataAccessResult):
            out["result"] = {"error": raw.asn1_name}
        else:
            out["raw_data"] = bytes(raw).hex()
    return out


def _is_present_null(v: Any) -> bool:
    return type(v) is NullData
