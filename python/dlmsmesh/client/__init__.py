"""The head-end side: an asyncio :class:`Client` that opens and keeps
associations with meters by system title over one datagram endpoint
(:mod:`.core`, :mod:`.association`, :mod:`.opening`, :mod:`.reading`), group
requests with a window of answers (:mod:`.broadcast`), and its building blocks:

- :mod:`.errors` — one exception per result a meter can return;
- :mod:`.resolver` — system title to address (:class:`AddressResolver`);
- :mod:`.pacing` — timeouts, retries, in-flight and association-rate caps;
- :mod:`.quirks` — per-meter tolerances of known peer deviations.
"""

from __future__ import annotations

from .association import Association
from .broadcast import Broadcast, BroadcastSummary, FollowUp
from .core import Client, ClientStats
from .errors import (
    ActionFailure,
    AssociationRefused,
    AuthenticationFailed,
    ClientError,
    ConfirmedServiceFailure,
    DataAccessFailure,
    DecipheringFailed,
    ExceptionResponseError,
    HlsFailed,
    InvocationCounterRejected,
    NoAddress,
    StaleAssociation,
    action_error,
    association_refused,
    data_access_error,
    exception_response_error,
)
from .pacing import Backoff, InFlightLimiter, RateLimiter, RoundTrip
from .quirks import Quirks
from .resolver import AddressResolver, MemoryResolver

__all__ = [
    "Client",
    "ClientStats",
    "Association",
    "Broadcast",
    "BroadcastSummary",
    "FollowUp",
    "AddressResolver",
    "MemoryResolver",
    "RoundTrip",
    "Backoff",
    "InFlightLimiter",
    "RateLimiter",
    "Quirks",
    "ClientError",
    "DataAccessFailure",
    "ActionFailure",
    "ExceptionResponseError",
    "DecipheringFailed",
    "InvocationCounterRejected",
    "StaleAssociation",
    "ConfirmedServiceFailure",
    "AssociationRefused",
    "AuthenticationFailed",
    "HlsFailed",
    "NoAddress",
    "data_access_error",
    "action_error",
    "exception_response_error",
    "association_refused",
]
