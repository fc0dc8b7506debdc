"""Group requests from the head-end: one datagram to a group's multicast
address (or an all-nodes address), then a window of answers.

``async for title, result in client.broadcast(group, request, window=30, keys=keys, bk=gbek, ak=ak)``
sends the request ONCE, protected with the broadcast key (general-glo-ciphering
carrying the client's system title, security control 0x70: the key set bit
says "broadcast"), from the pre-established client wPort 0x66 to the
all-station wPort 0x7F, and yields each member's answer as it arrives until
the window closes on the client's clock (the in-process network's virtual
clock in a simulation).  Each answer is opened with that meter's unicast keys
(``keys``: system title -> its ``ek``/``ak``) and matched by (meter system
title, invoke-id): a copy, a replayed counter or an answer that does not
verify is counted, never yielded.  After the loop, :attr:`Broadcast.summary`
says who was expected (the ``expected`` argument, else the resolver's
knowledge of the group's members: the Registry's :meth:`members`), who
answered inside the window, who answered late, who is missing and who
answered without being expected; :meth:`Broadcast.follow_up` then reads the
missing members one by one by unicast, paced.

The broadcast key's invocation counter is the client's: one counter per
(client system title, broadcast key) in the client's counter store, shared by
every group (every meter holding the key checks it), persisted when the
store is (:class:`~dlmsmesh.security.SqliteCounterStore`).

Where multicast does not reach the members (a loopback without IPv6
multicast, a network that drops it), ``relay_port=P`` sends the same frame
by unicast instead: one copy to each member the resolver knows, at its
address and port ``P``, wrapped with the group's address
(:func:`~dlmsmesh.transport.relay_datagram`; head-end replication, as a
mesh's border router would do).  A meter endpoint that relays
(:class:`~dlmsmesh.transport.UdpHosts` with ``relay_port``) delivers it as
come to the group, once: the members check their membership and answer
after their random delay, as for a multicast request.

DESIGN: a request can designate its own response window: with ``designate=d``
the client first writes, by an unconfirmed broadcast SET to the same address,
the members' response-window Push setup (attribute 4 communication_window
emptied, attribute 5 randomisation_start_interval = ``d`` seconds), so every
member answers after a uniform random delay in [0, d) from the request's
arrival.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union

from .. import apdu as A
from .. import wrapper
from ..apdu_model import AttributeDescriptor, DataAccessResult, ServiceClass
from ..cosem.groups import RESPONSE_WINDOW_OBIS, Group, is_all_nodes
from ..errors import DecodeError, DlmsError, DlmsTimeout, ReplayError, SecurityError
from ..ipv6 import DLMS_PORT
from ..security import DEFAULT_POLICY, Keyring, KeySet, Role, SecurityContext
from ..security.envelope import general_sender_title
from ..security.tags import GENERAL_GLO_CIPHERING
from ..transport import Incoming, relay_datagram
from ..transport.clock import RealClock
from ..types import Array, LongUnsigned, Obis
from .association import Association, Attribute, _action_result, _value_or_error, attribute_of
from .errors import NoAddress, data_access_error, exception_response_error
from .mailbox import Mailbox

if TYPE_CHECKING:
    from .core import Client

__all__ = [
    "Broadcast",
    "BroadcastSummary",
    "FollowUp",
    "MissingKeys",
    "GroupRequest",
    "KeysProvider",
    "PRE_ESTABLISHED_CLIENT",
    "ALL_STATION",
    "PUSH_SETUP_CLASS_ID",
    "answer_result",
]

#: the pre-established client's wPort (group requests and their answers)
PRE_ESTABLISHED_CLIENT = 0x66
#: the all-station wPort: every logical device of every meter that receives it
ALL_STATION = 0x7F
#: the interface class of the response-window object (Push setup)
PUSH_SETUP_CLASS_ID = 40
#: the largest group request sent (one 1280-byte IPv6 datagram's APDU room);
#: a group request is never split into blocks: members could not ask for the next one
MAX_GROUP_APDU = 1224
#: answers waiting for the iterating caller at most (beyond: dropped and counted)
MAX_QUEUED = 1 << 16
#: the members' meter-side logical device a follow-up reads
MANAGEMENT_DEVICE = 1

#: what a group request is: an xDLMS GET/SET/ACTION request (normal or
#: with-list; its invoke-id and service class are set by the call), or what
#: names an attribute (a GET of it)
GroupRequest = Union[
    A.GetRequestNormal,
    A.GetRequestWithList,
    A.SetRequestNormal,
    A.SetRequestWithList,
    A.ActionRequestNormal,
    A.ActionRequestWithList,
    Attribute,
]
_REQUEST_TYPES = (
    A.GetRequestNormal, A.GetRequestWithList, A.SetRequestNormal, A.SetRequestWithList,
    A.ActionRequestNormal, A.ActionRequestWithList,
)  # fmt: skip

#: a meter's unicast keys: an object with ``ek`` and ``ak`` (a keys-file
#: ``KeyEntry``), or an ``(ek, ak)`` pair
UnicastKeys = Any
#: where a meter's unicast keys come from: a mapping or a function of the
#: system title (None or missing: no keys), or a
#: :class:`~dlmsmesh.security.Keyring` (opens answers; a follow-up needs the keys themselves)
KeysProvider = Union[Mapping[bytes, UnicastKeys], Callable[[bytes], Any], Keyring]

#: client -> the invoke-id its last group request used (consecutive requests
#: take different ids, so a late answer to one is not taken for the next's)
_LAST_INVOKE: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()


class MissingKeys(DlmsError):
    """The keys provider holds no keys for a meter a follow-up would read."""


def _keys_of(entry: Any) -> tuple[bytes, bytes] | None:
    if entry is None:
        return None
    if isinstance(entry, tuple) and len(entry) == 2:
        return bytes(entry[0]), bytes(entry[1])
    ek, ak = getattr(entry, "ek", None), getattr(entry, "ak", None)
    if ek is None or ak is None:
        raise TypeError(f"meter keys are an (ek, ak) pair or have .ek and .ak, not {type(entry).__name__}")
    return bytes(ek), bytes(ak)


def lookup_keys(keys: KeysProvider, title: bytes) -> tuple[bytes, bytes] | None:
    """The meter's (ek, ak) from ``keys``; None when it holds none for the title."""
    if isinstance(keys, Keyring):
        raise TypeError("a Keyring opens answers but does not give keys out: pass a mapping of (ek, ak) to follow up")
    if isinstance(keys, Mapping):
        return _keys_of(keys.get(title))
    return _keys_of(keys(title))


def answer_result(reply: A.Apdu) -> Any:
    """What one member's answer says: the value read (a list for a with-list
    request), None for a SET that succeeded, an ACTION's return value; a
    refusal as the exception object of :mod:`dlmsmesh.client.errors` (not raised)."""
    if isinstance(reply, A.GetResponseNormal):
        return _value_or_error(reply.result)
    if isinstance(reply, A.GetResponseWithList):
        return [_value_or_error(r) for r in reply.results]
    if isinstance(reply, A.SetResponseNormal):
        return None if reply.result == DataAccessResult.SUCCESS else data_access_error(reply.result)
    if isinstance(reply, A.SetResponseWithList):
        return [None if r == DataAccessResult.SUCCESS else data_access_error(r) for r in reply.results]
    if isinstance(reply, A.ActionResponseNormal):
        return _action_result(reply.result, reply.return_parameters)
    if isinstance(reply, A.ActionResponseWithList):
        return [_action_result(code, returned) for code, returned in reply.results]
    if isinstance(reply, A.ExceptionResponse):
        return exception_response_error(reply.state_error, reply.service_error, reply.invocation_counter)
    return DlmsError(f"a {type(reply).__name__} answer to a group request (long answers are read by unicast)")


def group_request(request: GroupRequest, invoke_id: int, confirmed: bool) -> A.Apdu:
    """``request`` as the APDU sent: its invoke-id and service class set."""
    service_class = ServiceClass.CONFIRMED if confirmed else ServiceClass.UNCONFIRMED
    if isinstance(request, _REQUEST_TYPES):
        return dataclasses.replace(request, invoke_id=invoke_id, service_class=service_class)
    if isinstance(request, A.Apdu):
        raise TypeError(
            f"a group request is a GET, SET or ACTION request (normal or with-list), not {type(request).__name__}"
        )
    return A.GetRequestNormal(attribute_of(request), invoke_id=invoke_id, service_class=service_class)


def window_requests(max_delay: int) -> list[A.Apdu]:
    """DESIGN: the unconfirmed SETs that make members answer within
    [0, ``max_delay``) seconds of a request's arrival: the response-window
    Push setup's communication_window emptied (no calendar window: from now)
    and its randomisation_start_interval set."""
    if not 0 <= max_delay <= 0xFFFF:
        raise ValueError(f"a designated random delay is 0..65535 s, not {max_delay!r}")
    windows = AttributeDescriptor(PUSH_SETUP_CLASS_ID, Obis(RESPONSE_WINDOW_OBIS), 4)
    delay = AttributeDescriptor(PUSH_SETUP_CLASS_ID, Obis(RESPONSE_WINDOW_OBIS), 5)
    unconfirmed = ServiceClass.UNCONFIRMED
    return [
        A.SetRequestNormal(windows, Array(()), invoke_id=0, service_class=unconfirmed),
        A.SetRequestNormal(delay, LongUnsigned(max_delay), invoke_id=0, service_class=unconfirmed),
    ]


def target_of(group: Group | str | int) -> tuple[str, Group | None]:
    """(multicast address, the group or None for all nodes) of a group, a group id or an address."""
    if isinstance(group, Group):
        return group.address, group
    if isinstance(group, int) and not isinstance(group, bool):
        found = Group(group)
        return found.address, found
    if isinstance(group, str):
        parsed = Group.from_address(group)
        if parsed is not None:
            return parsed.address, parsed
        if is_all_nodes(group):
            return group, None
    raise ValueError(f"a group request goes to a Group, a group id or an all-nodes address, not {group!r}")


@dataclass(frozen=True)
class BroadcastSummary:
    """Who answered one group request (a snapshot: complete once the iteration ended).

    ``expected``: the members the request was for (None when unknown: an
    all-nodes request without ``expected``); ``answered``: system title ->
    result of the answers inside the window; ``times``: system title ->
    seconds from sending to the answer's arrival; ``late``: answers after the
    window (kept, not yielded); ``missing``: expected members with no answer;
    ``unexpected``: titles that answered and were not expected; ``duplicates``:
    copies and replayed counters dropped; ``rejected``: answers that did not
    verify, or from meters with no keys here.
    """

    address: str
    group: Group | None
    invoke_id: int
    confirmed: bool
    sent_at: float
    window: float
    expected: frozenset[bytes] | None
    answered: dict[bytes, Any]
    times: dict[bytes, float]
    late: dict[bytes, Any]
    missing: frozenset[bytes]
    unexpected: frozenset[bytes]
    duplicates: int
    rejected: int
    dropped: int
    complete: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: titles as hex, sorted."""

        def titles(values: Iterable[bytes]) -> list[str]:
            return sorted(t.hex() for t in values)

        return {
            "address": self.address,
            "group": None if self.group is None else self.group.id,
            "invoke_id": self.invoke_id,
            "confirmed": self.confirmed,
            "window": self.window,
            "expected": None if self.expected is None else len(self.expected),
            "answered": len(self.answered),
            "late": titles(self.late),
            "missing": titles(self.missing),
            "unexpected": titles(self.unexpected),
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "dropped": self.dropped,
        }


@dataclass(frozen=True)
class FollowUp:
    """The unicast reads of the members a group request missed: system title
    -> result (a value, or the exception object: :class:`DlmsTimeout` when
    the meter stayed silent, :class:`NoAddress` when its address is unknown,
    :class:`MissingKeys` when its keys are).  ``reached`` are the titles
    that answered (a refusal is an answer), ``unreached`` the others."""

    results: dict[bytes, Any]

    @property
    def reached(self) -> frozenset[bytes]:
        return frozenset(t for t, r in self.results.items() if not isinstance(r, _UNREACHED))

    @property
    def unreached(self) -> frozenset[bytes]:
        return frozenset(self.results) - self.reached


class Broadcast:
    """One group request and its window of answers (made by :meth:`Client.broadcast`).

    The request leaves on the first ``__anext__`` (``async for`` starts it);
    the iteration ends when the window closes.  Answers arriving up to
    ``linger`` seconds after it are kept as late (not yielded, not missing,
    not read again by the follow-up); listening stops then on the client's
    clock, or at once by ``aclose()``.  ``designate``: see the module text.
    Choose ``window`` at least the members' largest random delay plus the
    network's round trip, or their answers come late.
    """

    def __init__(
        self,
        client: Client,
        group: Group | str | int,
        request: GroupRequest,
        *,
        window: float,
        keys: KeysProvider,
        bk: bytes,
        ak: bytes,
        confirmed: bool = True,
        system_title: bytes | None = None,
        expected: Iterable[bytes] | None = None,
        port: int = DLMS_PORT,
        designate: int | None = None,
        linger: float = 0.0,
        relay_port: int | None = None,
    ) -> None:
        if not window > 0 or math.isinf(window):
            raise ValueError(f"the answer window is a positive number of seconds, not {window!r}")
        if designate is not None and not 0 <= designate <= window:
            raise ValueError("a designated random delay lies within the answer window")
        if not 0 <= linger < math.inf:
            raise ValueError("linger is a number of seconds >= 0")
        self.client = client
        self.address, self.group = target_of(group)
        self.port = int(port)
        self.relay_port = None if relay_port is None else int(relay_port)
        #: the members a relayed request was sent to (their addresses were known)
        self.relayed = 0
        self.request = request
        self.window = float(window)
        self.keys = keys
        self.confirmed = bool(confirmed)
        self.designate = designate
        self.linger = float(linger)
        self.sender = bytes(system_title) if system_title is not None else client.system_title
        self._broadcast = SecurityContext(
            self.sender, bk=bk, ak=ak, policy=DEFAULT_POLICY, role=Role.CLIENT, counters=client.counters
        )
        self.expected: frozenset[bytes] | None = None if expected is None else frozenset(bytes(t) for t in expected)
        self.invoke_id = -1
        self.sent_at = math.nan
        self.deadline = math.nan
        self._contexts: dict[bytes, SecurityContext | None] = {}
        self.answered: dict[bytes, Any] = {}
        self.times: dict[bytes, float] = {}
        self.late: dict[bytes, Any] = {}
        self.duplicates = 0
        self.rejected = 0
        self.dropped = 0
        self._queue = Mailbox(MAX_QUEUED, None if isinstance(client.clock, RealClock) else client.clock)
        self._state = "new"  # new -> listening -> done (iteration over)
        self._timer: Any = None

    # ------------------------------------------------------------ iteration

    def __aiter__(self) -> Broadcast:
        return self

    async def __anext__(self) -> tuple[bytes, Any]:
        if self._state == "new":
            await self._start()
        if self._state == "done":
            raise StopAsyncIteration
        now = self.client.now
        while True:
            left = self.deadline - now()
            try:
                # a due answer is handed over even when the window closed
                # while the caller was busy with the one before
                return await self._queue.get(left)  # type: ignore[no-any-return]
            except asyncio.TimeoutError:
                if self.deadline - now() <= 0:
                    break
        self._state = "done"
        raise StopAsyncIteration

    async def aclose(self) -> None:
        """End the iteration and stop listening now (the summary keeps what arrived)."""
        self._state = "done"
        self._stop_listening()

    def _stop_listening(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        try:
            self.client._collectors.remove(self)
        except ValueError:
            pass

    async def _start(self) -> None:
        client = self.client
        self._state = "listening"
        try:
            if self.expected is None and self.group is not None:
                self.expected = await _members_of(client.resolver, self.group.id)
            if self.relay_port is not None and self.expected is None:
                raise DlmsError(
                    "a relayed group request needs its members: give expected, or a resolver that knows them"
                )
            self.invoke_id = self._free_invoke()
            request = A.encode(group_request(self.request, self.invoke_id, self.confirmed))
            if len(request) > MAX_GROUP_APDU - 30:
                raise ValueError(f"a group request of {len(request)} bytes does not fit one datagram")
            await client.start()
            client._collectors.append(self)
            if self.designate is not None:
                for setting in window_requests(self.designate):
                    await self._send(A.encode(setting))
            self.sent_at = client.now()
            self.deadline = self.sent_at + self.window if self.confirmed else self.sent_at
            # listening ends on the clock, whether or not anyone iterates
            # (an ``async for`` left by ``break`` calls nothing)
            self._timer = client.clock.call_later(self.deadline + self.linger - client.now(), self._stop_listening)
            await self._send(request)
        except BaseException:
            self._state = "done"
            self._stop_listening()
            raise
        if not self.confirmed:
            self._state = "done"
            self._stop_listening()

    async def _send(self, plain: bytes) -> None:
        client = self.client
        frame = self._broadcast.protect(plain, general=True, broadcast=True)
        datagram = wrapper.encode(PRE_ESTABLISHED_CLIENT, ALL_STATION, frame)
        if self.relay_port is None:
            await client.transport.send(datagram, (self.address, self.port))
            client.stats.sent += 1
            return
        relayed = relay_datagram(self.address, datagram)
        self.relayed = 0
        for title in sorted(self.expected or ()):
            try:
                host, _port = await client.resolver.resolve(title)
            except NoAddress:
                continue  # missing after the window: the follow-up says so
            await client.transport.send(relayed, (host, self.relay_port))
            client.stats.sent += 1
            self.relayed += 1

    def _free_invoke(self) -> int:
        busy = {c.invoke_id for c in self.client._collectors if isinstance(c, Broadcast)}
        last = _LAST_INVOKE.get(self.client, 0)
        for step in range(1, 17):
            candidate = (last + step) % 16
            if candidate not in busy:
                _LAST_INVOKE[self.client] = candidate
                return candidate
        raise DlmsError("16 group requests are collecting answers already (the invoke-id is 4 bits)")

    # ------------------------------------------------------------ answers

    def _context(self, title: bytes) -> SecurityContext | None:
        try:
            return self._contexts[title]
        except KeyError:
            pass
        ctx: SecurityContext | None
        if isinstance(self.keys, Keyring):
            ctx = self.keys.get(title)
        else:
            pair = lookup_keys(self.keys, title)
            ctx = None
            if pair is not None:
                ctx = SecurityContext(
                    self.client.system_title, peer_system_title=title, ek=pair[0], ak=pair[1],
                    policy=DEFAULT_POLICY, role=Role.CLIENT, counters=self.client.counters,
                )  # fmt: skip
        self._contexts[title] = ctx
        return ctx

    def offer(self, destination_wport: int, payload: bytes, incoming: Incoming) -> bool:
        """Take the datagram when it answers this request (called by the
        client's router for datagrams no association takes)."""
        if destination_wport != PRE_ESTABLISHED_CLIENT or payload[:1] != _GENERAL_GLO:
            return False
        title = general_sender_title(payload)
        if title is None:
            return False
        ctx = self._context(title)
        if ctx is None:
            self.rejected += 1
            return False
        try:
            opened = ctx.unprotect(payload, replay_check=False)
            reply = A.decode(opened.plaintext)
        except (SecurityError, DecodeError):
            self.rejected += 1
            return False
        info = opened.info
        if getattr(reply, "invoke_id", self.invoke_id) != self.invoke_id:
            return False  # another request's answer
        if info.key_set is not KeySet.UNICAST or info.invocation_counter is None:
            self.rejected += 1  # a meter answers under its own unicast key only
            return True
        try:
            ctx.counters.accept(ctx.counter_scope("rx", title, KeySet.UNICAST), info.invocation_counter)
        except ReplayError:
            self.duplicates += 1
            return True
        if title in self.answered or title in self.late:
            self.duplicates += 1  # a second answer: the first stands
            return True
        result = answer_result(reply)
        now = self.client.now()
        if now > self.deadline:
            self.late[title] = result
            return True
        self.answered[title] = result
        self.times[title] = now - self.sent_at
        if not self._queue.put((title, result)):
            self.dropped += 1
        return True

    # ------------------------------------------------------------ after the window

    @property
    def summary(self) -> BroadcastSummary:
        expected = self.expected
        heard = self.answered.keys() | self.late.keys()
        missing = frozenset() if expected is None or not self.confirmed else expected - heard
        unexpected = frozenset() if expected is None else frozenset(heard - expected)
        return BroadcastSummary(
            address=self.address, group=self.group, invoke_id=self.invoke_id, confirmed=self.confirmed,
            sent_at=self.sent_at, window=self.window, expected=expected, answered=dict(self.answered),
            times=dict(self.times), late=dict(self.late), missing=frozenset(missing), unexpected=unexpected,
            duplicates=self.duplicates, rejected=self.rejected, dropped=self.dropped, complete=self._state == "done",
        )  # fmt: skip

    async def follow_up(
        self,
        *,
        pace: float = 1.0,
        keys: KeysProvider | None = None,
        titles: Iterable[bytes] | None = None,
        server_sap: int = MANAGEMENT_DEVICE,
    ) -> FollowUp:
        """Read the missing members (or ``titles``) one by one by unicast, in
        system-title order, ``pace`` seconds apart on the client's clock:
        the same request through each meter's pre-established association
        (general-glo-ciphering under its unicast keys, addressed by the
        resolver), with the client's usual timeouts and retries."""
        if self._state != "done":
            raise DlmsError("follow up after the window closed (iterate the broadcast to its end)")
        if not pace >= 0:
            raise ValueError("the pace is a number of seconds >= 0")
        todo = sorted(self.summary.missing if titles is None else {bytes(t) for t in titles})
        source = self.keys if keys is None else keys
        results: dict[bytes, Any] = {}
        for n, title in enumerate(todo):
            if n:
                await self.client.clock.sleep(pace)
            results[title] = await unicast(self.client, title, self.request, lookup_keys(source, title), server_sap)
        return FollowUp(results)


_GENERAL_GLO = bytes((GENERAL_GLO_CIPHERING,))
_UNREACHED = (DlmsTimeout, NoAddress, MissingKeys)


async def _members_of(resolver: Any, group_id: int) -> frozenset[bytes] | None:
    """The resolver's knowledge of the group's members (the Registry's), or None."""
    amembers = getattr(resolver, "amembers", None)
    if amembers is not None:
        return frozenset(await amembers(group_id))
    members = getattr(resolver, "members", None)
    if members is not None:
        return frozenset(members(group_id))
    return None


async def unicast(
    client: Client, title: bytes, request: GroupRequest, keys: tuple[bytes, bytes] | None, server_sap: int
) -> Any:
    """``request`` sent to one meter through its pre-established association:
    the result as a group answer gives it (a value, None, or an exception object)."""
    if keys is None:
        return MissingKeys(f"no keys for meter {title.hex()}")
    try:
        async with client.associate(
            title, client_sap=PRE_ESTABLISHED_CLIENT, server_sap=server_sap, pre_established=True,
            security="authenc", ek=keys[0], ak=keys[1],
        ) as meter:  # fmt: skip
            return await _run(meter, group_request(request, 1, True))
    except DlmsError as error:
        return error


async def _run(meter: Association, request: A.Apdu) -> Any:
    if isinstance(request, A.GetRequestNormal):
        return await meter.get(request.descriptor)
    if isinstance(request, A.GetRequestWithList):
        return await meter.get_many(request.descriptors)
    if isinstance(request, A.SetRequestNormal):
        return await meter.set(request.descriptor, request.value)
    if isinstance(request, A.SetRequestWithList):
        return await meter.set_many(zip(request.descriptors, request.values))
    if isinstance(request, A.ActionRequestNormal):
        return await meter.action(request.descriptor, request.parameters)
    assert isinstance(request, A.ActionRequestWithList)
    return await meter.action_many(zip(request.descriptors, request.parameters))
