"""The request a head-end sends most, served with the fewest steps.

A head-end reads registers, clocks and names again and again: a
get-request-normal without selective access, in an association already
open, ciphered with the association's context.  What this module gives the
server for it is what the general decoders and encoders give, byte for byte
and object for object (the tests compare both on every kind of input), only
sooner:

* the wrapper header read with one struct unpack (any header the fast read
  does not take is left to :func:`dlmsmesh.wrapper.decode`, which says why);
* the request decoded once per distinct plaintext (a head-end's requests
  differ only in invoke-id and attribute: a bounded table of the immutable
  request objects already decoded);
* the reply's bytes made as the tag, choice, invoke-id-and-priority and
  Data of a get-response-normal, the prefix kept per invoke-id.
"""

from __future__ import annotations

from typing import Any

from .. import _backend, wrapper
from .. import apdu as A
from ..apdu_model import ActionResult, DataAccessResult

__all__ = ["wrapper_fields", "wrap", "get_request", "reply_bytes", "get_response_bytes"]

#: distinct get-request-normal plaintexts kept decoded (invoke-ids x attributes read)
_REQUESTS_MAX = 4096
_requests: dict[bytes, A.GetRequestNormal] = {}
#: (invoke-id, priority, service class) -> the first three bytes of a get-response-normal
_prefixes: dict[tuple[int, Any, Any], bytes] = {}


#: the wrapper's own road (kept under these names for the server)
wrapper_fields = wrapper.split
wrap = wrapper.join


def get_request(plain: bytes) -> A.GetRequestNormal | None:
    """The get-request-normal without selective access that ``plain`` is
    (as :func:`dlmsmesh.apdu.decode` gives it), or None for any other APDU.
    Raises what the decoder raises for a malformed one."""
    if len(plain) != 13 or plain[0] != 0xC0 or plain[1] != 1 or plain[12] != 0:
        return None
    request = _requests.get(plain)
    if request is None:
        decoded = A.decode(plain)
        assert type(decoded) is A.GetRequestNormal
        if len(_requests) >= _REQUESTS_MAX:
            _requests.clear()
        request = _requests[plain] = decoded
    return request


def reply_bytes(reply: A.Apdu) -> bytes:
    """The bytes of ``reply`` (:func:`dlmsmesh.apdu.encode`)."""
    if type(reply) is not A.GetResponseNormal:
        return A.encode(reply)
    return get_response_bytes(reply.result, reply.invoke_id, reply.priority, reply.service_class)


def get_response_bytes(
    result: Any, invoke_id: int, priority: Any, service_class: Any = A.ServiceClass.CONFIRMED
) -> bytes:
    """The bytes of ``GetResponseNormal(result, invoke_id=..., priority=...,
    service_class=...)`` without making it."""
    if isinstance(result, (DataAccessResult, ActionResult)):
        return A.encode(
            A.GetResponseNormal(result, invoke_id=invoke_id, priority=priority, service_class=service_class)
        )
    key = (invoke_id, priority, service_class)
    prefix = _prefixes.get(key)
    if prefix is None:
        # the encoder's own bytes for the head of this invoke-id and priority
        head = A.encode(
            A.GetResponseNormal(DataAccessResult.SUCCESS, invoke_id=invoke_id, priority=priority, service_class=service_class)
        )
        prefix = _prefixes[key] = head[:3] + b"\x00"
    return prefix + _backend.live.axdr.encode(result)  # axdr.encode
