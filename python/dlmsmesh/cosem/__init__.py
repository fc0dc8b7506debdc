"""The COSEM object model: interface classes as Python classes with typed
attributes and methods (IEC 62056-6-2), the access rights of an association,
and the object list of a logical device.

A server dispatches onto an object with ``await obj.get(attribute_id,
selector, parameters)``, ``await obj.set(attribute_id, value)`` and ``await
obj.action(method_id, parameters)`` after asking the association's
:class:`AccessRights` (``check_get``/``check_set``/``check_action``);
:mod:`dlmsmesh.cosem.dispatch` does the three steps (find the object in an
:class:`ObjectList`, check, call) for one request descriptor.

``Obis`` and the request descriptors (``AttributeDescriptor``,
``MethodDescriptor``, ``SelectiveAccess``, ``CaptureObject``) are re-exported
here; they are defined in :mod:`dlmsmesh.types` and :mod:`dlmsmesh.apdu_model`
because the codec layers below this package use them too.
"""

from __future__ import annotations

from ..apdu_model import AttributeDescriptor, CaptureObject, MethodDescriptor, SelectiveAccess
from ..types import Obis
from . import dispatch
from .access import AccessRights, AttributeAccess, MethodAccess
from .association import CURRENT_ASSOCIATION, AssociationLN, AssociationStatus, context_name, mechanism_name
from .base import (
    NO_ACCESS,
    READ_ONLY,
    READ_WRITE,
    WRITE_ONLY,
    ActionError,
    Attribute,
    CosemObject,
    DataAccessError,
    Method,
    attribute,
    method,
)
from .clock import EU_DST_BEGIN, EU_DST_END, Clock, ClockBase
from .container import ObjectList
from .demand import DemandRegister
from .groups import (
    ALL_NODES,
    GROUP_CONDITIONS_OBIS,
    GROUP_SCOPES,
    RESPONSE_WINDOW_OBIS,
    Group,
    GroupCondition,
    GroupConditions,
    add_group_objects,
    is_all_nodes,
)
from .meter_set import MeterObjects, default_meter, logical_device_name
from .network import AddressConfigMode, Ipv6AddressType, Ipv6Setup, TcpUdpSetup
from .profile import CAPTURE_OBJECT, GeneratedRows, ProfileGeneric
from .push import (
    MessageType,
    PushOperationMethod,
    PushSender,
    PushSetup,
    PushSetupV1,
    PushSetupV2,
    Restriction,
    RestrictionType,
    TransportService,
)
from .registers import Data, ExtendedRegister, Register, Unit, invocation_counter, utc_now
from .sap import SAP_ASSIGNMENT, SapAssignment
from .script import ScriptAction, ScriptTable, action_spec
from .security_setup import (
    CertificateEntity,
    CertificateType,
    SecurityPolicyV0,
    SecuritySetup,
    SecuritySetupV0,
    certificate_type,
    system_title_subject,
)
from .template import Binder, MeterTemplate
from .typespec import ANY, DATE_TIME, SIMPLE, ArrayOf, Is, Octets, OneOf, StructureOf, TypeMismatch, TypeSpec

__all__ = [
    "Obis",
    "AttributeDescriptor",
    "MethodDescriptor",
    "CaptureObject",
    "SelectiveAccess",
    "dispatch",
    "AccessRights",
    "AttributeAccess",
    "MethodAccess",
    "NO_ACCESS",
    "READ_ONLY",
    "READ_WRITE",
    "WRITE_ONLY",
    "ActionError",
    "Attribute",
    "CosemObject",
    "DataAccessError",
    "Method",
    "attribute",
    "method",
    "ObjectList",
    "MeterTemplate",
    "Binder",
    "DemandRegister",
    "MeterObjects",
    "default_meter",
    "logical_device_name",
    "ScriptTable",
    "ScriptAction",
    "action_spec",
    "SecuritySetup",
    "SecuritySetupV0",
    "SecurityPolicyV0",
    "CertificateEntity",
    "CertificateType",
    "certificate_type",
    "system_title_subject",
    "TcpUdpSetup",
    "ALL_NODES",
    "GROUP_CONDITIONS_OBIS",
    "GROUP_SCOPES",
    "RESPONSE_WINDOW_OBIS",
    "Group",
    "GroupCondition",
    "GroupConditions",
    "is_all_nodes",
    "add_group_objects",
    "Ipv6Setup",
    "AddressConfigMode",
    "Ipv6AddressType",
    "PushSetup",
    "PushSetupV1",
    "PushSetupV2",
    "PushOperationMethod",
    "Restriction",
    "RestrictionType",
    "PushSender",
    "TransportService",
    "MessageType",
    "SapAssignment",
    "SAP_ASSIGNMENT",
    "AssociationLN",
    "AssociationStatus",
    "CURRENT_ASSOCIATION",
    "context_name",
    "mechanism_name",
    "Clock",
    "ClockBase",
    "EU_DST_BEGIN",
    "EU_DST_END",
    "ProfileGeneric",
    "GeneratedRows",
    "CAPTURE_OBJECT",
    "Data",
    "Register",
    "ExtendedRegister",
    "Unit",
    "invocation_counter",
    "utc_now",
    "ANY",
    "DATE_TIME",
    "SIMPLE",
    "ArrayOf",
    "Is",
    "Octets",
    "OneOf",
    "StructureOf",
    "TypeMismatch",
    "TypeSpec",
]
