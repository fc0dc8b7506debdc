"""xDLMS APDUs (logical-name referencing): encode, decode and the JSON form.

``encode(apdu) -> bytes`` and ``decode(data) -> apdu`` give the exact bytes of
the xDLMS APDU encoding through the live backend.  The APDU classes live in
:mod:`dlmsmesh.apdu_model` and the JSON form in :mod:`dlmsmesh.apdu_json`;
every name is importable from here.  Values carried by the APDUs (attribute
values, method parameters, notification bodies, selective-access parameters)
are COSEM values as in :mod:`dlmsmesh.axdr`; a Get-Data-Result or return
parameter that failed is a :class:`DataAccessResult`.

Optional values: ``None`` means the component is absent; a present null-data
is :class:`~dlmsmesh.types.NullData` (the decoder gives ``NullData()``, which
also compares equal to None).
"""

from __future__ import annotations

from . import _backend
from .apdu_json import to_json
from .apdu_model import CLASSES as CLASSES
from .apdu_model import (
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
    CaptureObject,
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
    entry_descriptor,
    range_descriptor,
)

__all__ = [
    "Priority",
    "ServiceClass",
    "DataAccessResult",
    "ActionResult",
    "StateError",
    "ServiceError",
    "ConfirmedServiceErrorChoice",
    "ServiceErrorChoice",
    "AttributeDescriptor",
    "MethodDescriptor",
    "SelectiveAccess",
    "CaptureObject",
    "range_descriptor",
    "entry_descriptor",
    "Apdu",
    "GetRequestNormal",
    "GetRequestNext",
    "GetRequestWithList",
    "GetResponseNormal",
    "GetResponseWithDatablock",
    "GetResponseWithList",
    "SetRequestNormal",
    "SetRequestWithFirstDatablock",
    "SetRequestWithDatablock",
    "SetRequestWithList",
    "SetRequestWithListAndFirstDatablock",
    "SetResponseNormal",
    "SetResponseDatablock",
    "SetResponseLastDatablock",
    "SetResponseLastDatablockWithList",
    "SetResponseWithList",
    "ActionRequestNormal",
    "ActionRequestNextPblock",
    "ActionRequestWithList",
    "ActionRequestWithFirstPblock",
    "ActionRequestWithListAndFirstPblock",
    "ActionRequestWithPblock",
    "ActionResponseNormal",
    "ActionResponseWithPblock",
    "ActionResponseWithList",
    "ActionResponseNextPblock",
    "DataNotification",
    "EventNotificationRequest",
    "ExceptionResponse",
    "ConfirmedServiceError",
    "GeneralBlockTransfer",
    "encode",
    "decode",
    "to_json",
]


def encode(apdu: Apdu) -> bytes:
    """The bytes of ``apdu``."""
    return _backend.live.apdu.encode(apdu)


def decode(data: bytes | bytearray | memoryview) -> Apdu:
    """The APDU that ``data`` holds entirely."""
    return _backend.live.apdu.decode(data)
