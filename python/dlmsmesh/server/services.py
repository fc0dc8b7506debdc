"""GET, SET and ACTION in every variant, as one association runs them.

:func:`serve` takes a decoded request APDU and gives the response APDU
(never raises for anything a client sends).  Objects are found in the
association's view and checked against its access rights by
:mod:`dlmsmesh.cosem.dispatch`.  Long replies are cut into blocks by
:mod:`dlmsmesh.server.replies`; this module answers the requests that walk
through them (get-request-next, action-request-next-pblock) and gathers
requests that arrive in blocks (set-request-with-(first-)datablock,
action-request-with-(first-)pblock).
"""

from __future__ import annotations

import logging
from typing import Any

from .. import apdu as A
from .. import axdr
from .._common.fail import Fail
from .._common.length import read_length
from ..apdu_model import (
    ActionResult,
    AttributeDescriptor,
    DataAccessResult,
    ExceptionResponse,
    ServiceError,
    StateError,
)
from ..cosem import CURRENT_ASSOCIATION, AssociationStatus, dispatch
from ..cosem.typespec import octets
from ..errors import AuthenticationError, DecodeError
from ..types import Enum
from ..xdlms_initiate import Conformance
from .associate import hls_pass3
from .offload import off_loop
from .session import IncomingBlocks, Session

__all__ = ["serve", "answer_at_once", "NOT_AT_ONCE", "Continue", "not_allowed", "not_supported", "MAX_BLOCKED_REQUEST"]

log = logging.getLogger(__name__)

#: the most raw data a request sent in blocks may gather (bounds what one
#: association can make the server hold)
MAX_BLOCKED_REQUEST = 1 << 20


def not_allowed(error: ServiceError = ServiceError.OPERATION_NOT_POSSIBLE) -> ExceptionResponse:
    return ExceptionResponse(StateError.SERVICE_NOT_ALLOWED, error)


def not_supported() -> ExceptionResponse:
    return ExceptionResponse(StateError.SERVICE_NOT_ALLOWED, ServiceError.SERVICE_NOT_SUPPORTED)


_GET = (A.GetRequestNormal, A.GetRequestNext, A.GetRequestWithList)
_SET = (
    A.SetRequestNormal,
    A.SetRequestWithFirstDatablock,
    A.SetRequestWithDatablock,
    A.SetRequestWithList,
    A.SetRequestWithListAndFirstDatablock,
)
_ACTION = (
    A.ActionRequestNormal,
    A.ActionRequestNextPblock,
    A.ActionRequestWithList,
    A.ActionRequestWithFirstPblock,
    A.ActionRequestWithListAndFirstPblock,
    A.ActionRequestWithPblock,
)


def _needs(request: A.Apdu) -> Conformance:
    """The conformance bits a request needs."""
    if isinstance(request, _GET):
        need = Conformance.GET
        if isinstance(request, A.GetRequestWithList):
            need |= Conformance.MULTIPLE_REFERENCES
        if isinstance(request, A.GetRequestNext):
            need |= Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ
        return need
    if isinstance(request, _SET):
        need = Conformance.SET
        if isinstance(request, (A.SetRequestWithList, A.SetRequestWithListAndFirstDatablock)):
            need |= Conformance.MULTIPLE_REFERENCES
        if isinstance(
            request, (A.SetRequestWithFirstDatablock, A.SetRequestWithDatablock, A.SetRequestWithListAndFirstDatablock)
        ):
            need |= Conformance.BLOCK_TRANSFER_WITH_SET_OR_WRITE
        return need
    need = Conformance.ACTION
    if isinstance(request, (A.ActionRequestWithList, A.ActionRequestWithListAndFirstPblock)):
        need |= Conformance.MULTIPLE_REFERENCES
    if isinstance(
        request,
        (
            A.ActionRequestNextPblock,
            A.ActionRequestWithFirstPblock,
            A.ActionRequestWithListAndFirstPblock,
            A.ActionRequestWithPblock,
        ),
    ):
        need |= Conformance.BLOCK_TRANSFER_WITH_ACTION
    return need


def _uses_selective_access(request: A.Apdu) -> bool:
    descriptors: Any = ()
    if isinstance(request, (A.GetRequestNormal, A.SetRequestNormal, A.SetRequestWithFirstDatablock)):
        descriptors = (request.descriptor,)
    elif isinstance(request, (A.GetRequestWithList, A.SetRequestWithList, A.SetRequestWithListAndFirstDatablock)):
        descriptors = request.descriptors
    return any(d.access is not None for d in descriptors)


async def serve(session: Session, request: A.Apdu, *, authenticated: bool) -> A.Apdu | None:
    """The response to one GET/SET/ACTION request (None: an unconfirmed one,
    answered by nothing, not even when refused).  ``authenticated`` says the
    request arrived authenticated (cipher with an authentication tag), which
    the authenticated-* access modes ask for."""
    reply = await _serve(session, request, authenticated)
    if is_unconfirmed(request):
        return None
    return reply


#: what :func:`answer_at_once` gives for a request it leaves to :func:`serve`
NOT_AT_ONCE: Any = object()


class Continue:
    """A request :func:`answer_at_once` began whose object must wait: the
    rest of it is the coroutine ``serving`` (which gives what :func:`serve`
    would)."""

    __slots__ = ("serving",)

    def __init__(self, serving: Any) -> None:
        self.serving = serving


def answer_at_once(session: Session, request: A.Apdu, authenticated: bool) -> Any:
    """What :func:`serve` answers, without a coroutine, for the request a
    head-end sends most (a confirmed get-request-normal without selective
    access in an authenticated association) when its object answers at
    once; :data:`NOT_AT_ONCE` for any other request (nothing done); a
    :class:`Continue` when the object's getter waits."""
    if type(request) is not A.GetRequestNormal or not session.authenticated:
        return NOT_AT_ONCE
    descriptor = request.descriptor
    if descriptor.access is not None or request.service_class != A.ServiceClass.CONFIRMED:
        return NOT_AT_ONCE
    result = get_normal_at_once(session, request, authenticated)
    if result is NO_GET:
        return not_supported()
    if type(result) is Continue:
        return result
    return A.GetResponseNormal(result, invoke_id=request.invoke_id, priority=request.priority)


#: what :func:`get_normal_at_once` gives in an association that did not negotiate GET
NO_GET: Any = object()


def get_normal_at_once(session: Session, request: A.GetRequestNormal, authenticated: bool) -> Any:
    """The result of a confirmed get-request-normal without selective
    access in an authenticated session, as :func:`answer_at_once` answers
    it but not yet made a response: the value or DataAccessResult, a
    :class:`Continue` when the object's getter waits, or :data:`NO_GET`
    (answered service-not-supported)."""
    if int(session.conformance) & _GET_BITS != _GET_BITS:
        return NO_GET
    # get_at_once, one call fewer
    association = session.association
    descriptor = request.descriptor
    result = dispatch.get_at_once(association.objects, descriptor, association.rights, authenticated=authenticated)
    if hasattr(result, "finish"):
        return Continue(_finish_get(session, request, result))
    if descriptor.class_id == 15:
        result = own_status(session, descriptor, result)
    session.outgoing = None
    return result


async def _finish_get(session: Session, request: A.GetRequestNormal, pending: Any) -> A.Apdu:
    result = own_status(session, request.descriptor, await pending.finish())
    session.outgoing = None
    return A.GetResponseNormal(result, invoke_id=request.invoke_id, priority=request.priority)


def is_unconfirmed(request: A.Apdu) -> bool:
    return getattr(request, "service_class", None) == A.ServiceClass.UNCONFIRMED


_GET_BITS = int(Conformance.GET)
_GET_ACCESS_BITS = int(Conformance.GET | Conformance.SELECTIVE_ACCESS)


async def _serve(session: Session, request: A.Apdu, authenticated: bool) -> A.Apdu:
    if type(request) is A.GetRequestNormal and session.authenticated:
        # the request a head-end sends most: the checks below, for it alone
        descriptor = request.descriptor
        need = _GET_BITS if descriptor.access is None else _GET_ACCESS_BITS
        if int(session.conformance) & need != need:
            return not_supported()
        result = await _get(session, descriptor, authenticated)
        session.outgoing = None
        return A.GetResponseNormal(result, invoke_id=request.invoke_id, priority=request.priority)
    if not isinstance(request, (*_GET, *_SET, *_ACTION)):
        return ExceptionResponse(StateError.SERVICE_UNKNOWN, ServiceError.SERVICE_NOT_SUPPORTED)
    if not session.allows(_needs(request)):
        return not_supported()
    if _uses_selective_access(request) and not session.allows(Conformance.SELECTIVE_ACCESS):
        return not_supported()
    if not session.authenticated:
        # only pass 3 of HLS may run before the association is authenticated
        if not _is_hls_reply(request):
            return not_allowed()
        return await _hls_pass3(session, request)
    objects = session.association.objects
    rights = session.association.rights
    reply: A.Apdu
    if isinstance(request, A.GetRequestNormal):
        result = await _get(session, request.descriptor, authenticated)
        session.outgoing = None
        reply = A.GetResponseNormal(result, invoke_id=request.invoke_id, priority=request.priority)
    elif isinstance(request, A.GetRequestWithList):
        results = [await _get(session, d, authenticated) for d in request.descriptors]
        session.outgoing = None
        reply = A.GetResponseWithList(tuple(results), invoke_id=request.invoke_id, priority=request.priority)
    elif isinstance(request, A.GetRequestNext):
        reply = _next_get_block(session, request)
    elif isinstance(request, A.SetRequestNormal):
        code = await dispatch.set(objects, request.descriptor, request.value, rights, authenticated=authenticated)
        reply = A.SetResponseNormal(code, invoke_id=request.invoke_id, priority=request.priority)
    elif isinstance(request, A.SetRequestWithList):
        codes = [
            await dispatch.set(objects, d, v, rights, authenticated=authenticated)
            for d, v in zip(request.descriptors, request.values)
        ]
        reply = A.SetResponseWithList(tuple(codes), invoke_id=request.invoke_id, priority=request.priority)
    elif isinstance(
        request, (A.SetRequestWithFirstDatablock, A.SetRequestWithListAndFirstDatablock, A.SetRequestWithDatablock)
    ):
        reply = await _set_block(session, request, authenticated)
    elif isinstance(request, A.ActionRequestNormal):
        acode, returned = await dispatch.action(
            objects, request.descriptor, request.parameters, rights, authenticated=authenticated
        )
        session.outgoing = None
        reply = A.ActionResponseNormal(
            acode, _return(acode, returned), invoke_id=request.invoke_id, priority=request.priority
        )
    elif isinstance(request, A.ActionRequestWithList):
        pairs: list[tuple[ActionResult, Any]] = []
        for d, p in zip(request.descriptors, request.parameters):
            acode, returned = await dispatch.action(objects, d, p, rights, authenticated=authenticated)
            pairs.append((acode, _return(acode, returned)))
        session.outgoing = None
        reply = A.ActionResponseWithList(tuple(pairs), invoke_id=request.invoke_id, priority=request.priority)
    elif isinstance(request, A.ActionRequestNextPblock):
        reply = _next_action_block(session, request)
    else:
        reply = await _action_block(session, request, authenticated)
    return reply


def get_at_once(session: Session, descriptor: AttributeDescriptor, authenticated: bool) -> Any:
    """What :func:`_get` answers for a descriptor without selective access,
    without a coroutine when the object answers at once; else an object
    whose ``finish()`` coroutine gives the object's answer, to be passed
    through :func:`own_status` (see :meth:`CosemObject.get_at_once`)."""
    association = session.association
    result = dispatch.get_at_once(association.objects, descriptor, association.rights, authenticated=authenticated)
    if hasattr(result, "finish"):
        return result
    return own_status(session, descriptor, result)


async def _get(session: Session, descriptor: AttributeDescriptor, authenticated: bool) -> Any:
    """GET through the association's view."""
    association = session.association
    if descriptor.access is None:
        result = dispatch.get_at_once(association.objects, descriptor, association.rights, authenticated=authenticated)
        if hasattr(result, "finish"):
            result = await result.finish()
    else:
        result = await dispatch.get(association.objects, descriptor, association.rights, authenticated=authenticated)
    return own_status(session, descriptor, result)


def own_status(session: Session, descriptor: AttributeDescriptor, result: Any) -> Any:
    """association_status (attribute 8) of the association the request
    arrived in is this session's own: one Association LN object serves every
    client of its SAP at once."""
    association = session.association
    if (
        descriptor.class_id == 15
        and descriptor.attribute_id == 8
        and descriptor.access is None
        and not isinstance(result, DataAccessResult)
        and descriptor.instance_id in (CURRENT_ASSOCIATION, association.logical_name)
    ):
        state = AssociationStatus.ASSOCIATED if session.authenticated else AssociationStatus.ASSOCIATION_PENDING
        return Enum(int(state))
    return result


def _is_hls_reply(request: A.Apdu) -> bool:
    return (
        isinstance(request, A.ActionRequestNormal)
        and request.descriptor.class_id == 15
        and request.descriptor.method_id == 1
        and bytes(request.descriptor.instance_id) == bytes(CURRENT_ASSOCIATION)
    )


async def _hls_pass3(session: Session, request: Any) -> A.Apdu:
    iid = {"invoke_id": request.invoke_id, "priority": request.priority}
    parameters = request.parameters
    if not isinstance(parameters, bytes):
        return A.ActionResponseNormal(ActionResult.TYPE_UNMATCHED, **iid)
    try:
        # f(CtoS) takes an invocation counter: off the loop when they are on disk
        answer = await off_loop(session.meter.counters, hls_pass3, session, bytes(parameters))
    except (AuthenticationError, DecodeError):
        # the association stays unauthenticated: the client can only release
        return A.ActionResponseNormal(ActionResult.READ_WRITE_DENIED, **iid)
    return A.ActionResponseNormal(ActionResult.SUCCESS, octets(answer), **iid)


def _return(code: ActionResult, returned: Any) -> Any:
    # a return value goes with success only; a failure carries none
    if code != ActionResult.SUCCESS or returned is None:
        return None
    return returned


# ----------------------------------------------------------- GET in blocks


def _next_get_block(session: Session, request: A.GetRequestNext) -> A.Apdu:
    out = session.outgoing
    if out is None or out.kind != "get":
        return A.GetResponseWithDatablock(
            True, request.block_number, DataAccessResult.NO_LONG_GET_IN_PROGRESS,
            invoke_id=request.invoke_id, priority=request.priority,
        )  # fmt: skip
    if out.done and request.block_number == out.sent:
        session.outgoing = None  # asked past the last block
        return A.GetResponseWithDatablock(
            True, request.block_number, DataAccessResult.NO_LONG_GET_IN_PROGRESS,
            invoke_id=request.invoke_id, priority=request.priority,
        )  # fmt: skip
    if request.block_number == out.sent - 1:
        # the client asks again after the block it had before: the one we sent
        # last was lost on the way (a lossy mesh), so it goes again
        out.sent -= 1
    elif request.block_number != out.sent:
        # the client acknowledges a block we did not send last: the transfer is lost
        session.outgoing = None
        return A.GetResponseWithDatablock(
            True, request.block_number, DataAccessResult.LONG_GET_ABORTED,
            invoke_id=request.invoke_id, priority=request.priority,
        )  # fmt: skip
    block = out.blocks[out.sent]
    out.sent += 1
    # kept after the last block too (until the next request), in case that one is lost
    return A.GetResponseWithDatablock(out.done, out.sent, block, invoke_id=request.invoke_id, priority=request.priority)


def _next_action_block(session: Session, request: A.ActionRequestNextPblock) -> A.Apdu:
    out = session.outgoing
    refused = A.ActionResponseNormal(
        ActionResult.NO_LONG_ACTION_IN_PROGRESS, invoke_id=request.invoke_id, priority=request.priority
    )
    if out is None or out.kind != "action" or (out.done and request.block_number == out.sent):
        session.outgoing = None  # none under way, or asked past the last block
        return refused
    if request.block_number == out.sent - 1 and out.sent > 1:
        # the client asks again after the block it had before: the one we
        # sent last (the last one too) was lost on the way, so it goes again
        out.sent -= 1
    elif request.block_number != out.sent:
        session.outgoing = None
        return refused
    block = out.blocks[out.sent]
    out.sent += 1
    # kept after the last block too (until the next request): a client that
    # lost it asks again from the block before
    return A.ActionResponseWithPblock(out.done, out.sent, block, invoke_id=request.invoke_id, priority=request.priority)


# ---------------------------------------------------- SET and ACTION in blocks


def _gather(session: Session, kind: str, request: Any, first: bool, descriptors: Any) -> IncomingBlocks | str:
    """Add a block to the request being gathered; the gathered request, or
    why the block is refused ("number", "none", "size")."""
    if first:
        if request.block_number != 1:
            session.incoming = None
            return "number"
        session.incoming = IncomingBlocks(kind, request.invoke_id, 1, bytearray(request.raw_data), descriptors)
    else:
        gathering = session.incoming
        if gathering is None or not gathering.kind.startswith(kind.split("-")[0]):
            return "none"
        if request.block_number != gathering.block_number + 1:
            session.incoming = None
            return "number"
        gathering.block_number = request.block_number
        gathering.data += request.raw_data
    gathered = session.incoming
    assert gathered is not None
    if len(gathered.data) > MAX_BLOCKED_REQUEST:
        session.incoming = None
        return "size"
    return gathered


def _block_of(request: Any, service: str, first_one: type[Any], first_list: type[Any]) -> tuple[bool, str, Any]:
    """(whether ``request`` opens a transfer, what it gathers: ``service`` or
    ``service``-list, the descriptor(s) the first block names)."""
    if isinstance(request, first_list):
        return True, service + "-list", request.descriptors
    if isinstance(request, first_one):
        return True, service, request.descriptor
    return False, service, None


async def _set_block(session: Session, request: Any, authenticated: bool) -> A.Apdu:
    first, kind, descriptors = _block_of(
        request, "set", A.SetRequestWithFirstDatablock, A.SetRequestWithListAndFirstDatablock
    )
    gathered = _gather(session, kind, request, first, descriptors)
    iid = {"invoke_id": request.invoke_id, "priority": request.priority}
    if isinstance(gathered, str):
        code = {
            "number": DataAccessResult.DATA_BLOCK_NUMBER_INVALID,
            "none": DataAccessResult.NO_LONG_SET_IN_PROGRESS,
            "size": DataAccessResult.LONG_SET_ABORTED,
        }[gathered]
        return A.SetResponseLastDatablock(code, request.block_number, **iid)
    if not request.last_block:
        return A.SetResponseDatablock(request.block_number, **iid)
    session.incoming = None
    objects, rights = session.association.objects, session.association.rights
    if gathered.kind == "set":
        try:
            value = axdr.decode(bytes(gathered.data))
        except DecodeError:
            return A.SetResponseLastDatablock(DataAccessResult.TYPE_UNMATCHED, request.block_number, **iid)
        code = await dispatch.set(objects, gathered.descriptors, value, rights, authenticated=authenticated)
        return A.SetResponseLastDatablock(code, request.block_number, **iid)
    values = _decode_list(bytes(gathered.data), len(gathered.descriptors))
    if values is None:
        codes = tuple(DataAccessResult.TYPE_UNMATCHED for _ in gathered.descriptors)
    else:
        codes = tuple(
            [
                await dispatch.set(objects, d, v, rights, authenticated=authenticated)
                for d, v in zip(gathered.descriptors, values)
            ]
        )
    return A.SetResponseLastDatablockWithList(codes, request.block_number, **iid)


def _decode_list(data: bytes, count: int) -> list[Any] | None:
    """``count`` values as a SEQUENCE OF Data carries them (a length, then each)."""
    try:
        n, p = read_length(data, 0, len(data))
        if n != count:
            return None
        values = []
        for _ in range(n):
            value, p = axdr.decode_prefix(data, p)
            values.append(value)
    except (DecodeError, Fail):
        return None
    return values if p == len(data) else None


async def _action_block(session: Session, request: Any, authenticated: bool) -> A.Apdu:
    first, kind, descriptors = _block_of(
        request, "action", A.ActionRequestWithFirstPblock, A.ActionRequestWithListAndFirstPblock
    )
    iid = {"invoke_id": request.invoke_id, "priority": request.priority}
    gathered = _gather(session, kind, request, first, descriptors)
    if isinstance(gathered, str):
        code = ActionResult.NO_LONG_ACTION_IN_PROGRESS if gathered == "none" else ActionResult.LONG_ACTION_ABORTED
        return A.ActionResponseNormal(code, **iid)
    if not request.last_block:
        return A.ActionResponseNextPblock(request.block_number, **iid)
    session.incoming = None
    objects, rights = session.association.objects, session.association.rights
    if gathered.kind == "action":
        try:
            parameters = axdr.decode(bytes(gathered.data)) if gathered.data else None
        except DecodeError:
            return A.ActionResponseNormal(ActionResult.TYPE_UNMATCHED, **iid)
        code, returned = await dispatch.action(
            objects, gathered.descriptors, parameters, rights, authenticated=authenticated
        )
        return A.ActionResponseNormal(code, _return(code, returned), **iid)
    values = _decode_list(bytes(gathered.data), len(gathered.descriptors))
    pairs: list[tuple[ActionResult, Any]] = []
    for i, d in enumerate(gathered.descriptors):
        if values is None:
            pairs.append((ActionResult.TYPE_UNMATCHED, None))
            continue
        code, returned = await dispatch.action(objects, d, values[i], rights, authenticated=authenticated)
        pairs.append((code, _return(code, returned)))
    return A.ActionResponseWithList(tuple(pairs), **iid)
