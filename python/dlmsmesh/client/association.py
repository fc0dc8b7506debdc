"""One open association with one meter, as the head-end holds it: requests
and their replies (one at a time, matched by invoke-id), long messages both
ways (datablocks, pblocks, general-block-transfer with window and lost-block
recovery) and the results a caller gets (values, or exception objects of
:mod:`dlmsmesh.client.errors`)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Union

from .. import _backend, axdr, wrapper
from .. import apdu as A
from .._common.fail import Fail
from .._common.length import read_length
from ..apdu_model import (
    ActionResult,
    AttributeDescriptor,
    DataAccessResult,
    MethodDescriptor,
    SelectiveAccess,
)
from ..cosem import CosemObject
from ..errors import DecodeError, DlmsError, DlmsTimeout, SecurityError
from ..security.tags import CIPHERED_TAGS
from ..transport import Address
from ..transport.clock import RealClock
from ..transport.udp import send_now_of
from ..types import Obis
from ..xdlms_initiate import Conformance
from .errors import (
    InvocationCounterRejected,
    StaleAssociation,
    action_error,
    data_access_error,
    exception_response_error,
)
from .mailbox import Mailbox
from .opening import Opening
from .pacing import RouterPath
from .quirks import Quirks

if TYPE_CHECKING:
    from .core import Client

__all__ = ["Association", "Attribute", "Method", "attribute_of", "method_of"]

#: what names an attribute: a descriptor, or (class id, logical name, attribute id)
Attribute = Union[AttributeDescriptor, CosemObject, tuple[int, Any, int]]
Method = Union[MethodDescriptor, tuple[int, Any, int]]

#: get-request-with-list: C0 03 invoke count; each descriptor at most 9 + selective access
_LIST_OVERHEAD = 8
_CIPHER_OVERHEAD = 30
_MAX_BLOCKS = 100_000
_TEMPLATES_MAX = 1024


#: (class id, logical name as given, attribute id) -> descriptor: a head-end
#: reads the same few attributes of many meters, each named the same way
_DESCRIPTORS: dict[tuple[Any, ...], AttributeDescriptor] = {}
_DESCRIPTORS_MAX = 4096


def attribute_of(item: Attribute, access: SelectiveAccess | None = None) -> AttributeDescriptor:
    """The descriptor of ``item``; a COSEM object names its value (attribute 2)."""
    if type(item) is tuple and access is None:
        try:
            return _DESCRIPTORS[item]
        except (KeyError, TypeError):
            pass
    if isinstance(item, CosemObject):
        return AttributeDescriptor(item.class_id, item.logical_name, 2, access)
    if isinstance(item, AttributeDescriptor):
        return (
            item if access is None else AttributeDescriptor(item.class_id, item.instance_id, item.attribute_id, access)
        )
    class_id, logical_name, attribute_id = item
    descriptor = AttributeDescriptor(class_id, Obis(logical_name), attribute_id, access)
    if access is None and type(item) is tuple and isinstance(logical_name, (str, bytes)):
        if len(_DESCRIPTORS) >= _DESCRIPTORS_MAX:
            _DESCRIPTORS.clear()
        _DESCRIPTORS[item] = descriptor
    return descriptor


def method_of(item: Method) -> MethodDescriptor:
    if isinstance(item, MethodDescriptor):
        return item
    class_id, logical_name, method_id = item
    return MethodDescriptor(class_id, Obis(logical_name), method_id)


class Association:
    """An open association (made by :meth:`dlmsmesh.client.Client.associate`)."""

    def __init__(
        self,
        client: Client,
        *,
        meter_title: bytes,
        client_sap: int,
        server_sap: int,
        opening: Opening,
        address: tuple[str, int] | None,
        pre_established: bool,
        quirks: Quirks | None = None,
    ) -> None:
        self.client = client
        self.meter_title = bytes(meter_title)
        self.client_sap = client_sap
        self.server_sap = server_sap
        self.opening = opening
        self.fixed_address = address
        self.pre_established = pre_established
        self.quirks = quirks if quirks is not None else Quirks()
        self.conformance = opening.conformance if pre_established else Conformance(0)
        #: the largest APDU the meter takes (its max-receive-pdu-size)
        self.send_limit = 0xFFFF
        self.open = False
        #: where the last request went (the client routes replies from there here)
        self.address: Address | None = None
        self.inbox = Mailbox(64, None if isinstance(client.clock, RealClock) else client.clock)
        #: what the client's in-flight cap counts this meter under (its border router)
        self.router_key: Any = None
        #: the round trip shared with the other meters behind that border router
        self.path: RouterPath | None = None
        self._lock = asyncio.Lock()
        self._invoke = 0
        self.duplicates = 0
        #: the meter's round-trip estimate (made by the client on first use)
        self.round_trip: Any = None
        #: what does not change while the association lives (scaler_units, capture objects)
        self.cache: dict[Any, Any] = {}
        #: the last reply answered a request sent more than once
        self.repeated = False
        #: the plaintext APDU of the last reply taken (get_raw hands out its Data as sent)
        self._plaintext = b""
        #: descriptor -> its get-request-normal encoded with invoke-id 0
        self._get_templates: dict[AttributeDescriptor, bytes] = {}

    @property
    def security(self) -> Any:
        return self.opening.context

    @property
    def ciphered(self) -> bool:
        return self.opening.ciphered or self.pre_established

    # ----------------------------------------------------------------- wire

    def _next_invoke(self) -> int:
        self._invoke = (self._invoke + 1) % 16
        return self._invoke

    def _protect(self, plain: bytes) -> bytes:
        opening = self.opening
        ctx = opening.context
        if ctx is None or not (opening.ciphered or self.pre_established):  # self.ciphered
            return plain
        general = self.pre_established or plain[0] not in _SERVICE_TAGS
        return ctx.protect(plain, general=general, dedicated=self.opening.dedicated_key is not None and not general)

    def _open_reply(self, payload: bytes) -> bytes | None:
        """The plaintext of a reply, or None for one that fails verification
        or repeats a counter (a late duplicate: dropped and counted)."""
        if payload[0] not in CIPHERED_TAGS:
            return payload
        ctx = self.opening.context
        if ctx is None:
            return None
        lenient = self.quirks.invocation_counter_lenient
        if not lenient:
            # the reply of an association under the unicast key, opened at once; anything else,
            # or a frame that fails, goes the whole way below (which says why)
            opened = ctx.open_glo(payload)
            if opened is not None:
                return opened[0]
        try:
            return ctx.unprotect(payload, replay_check=not lenient).plaintext
        except SecurityError:
            self.duplicates += 1
            return None

    async def send_apdu(self, frame: bytes, address: tuple[str, int] | None = None) -> None:
        """Send ``frame`` to ``address``, else to where the meter is now (the
        resolver is asked on every send)."""
        client = self.client
        if address is None and self.fixed_address is not None:
            address = self.address
        if address is None:
            address = await client.address_of(self)
        datagram = wrapper.join(self.client_sap, self.server_sap, frame)
        send_now = send_now_of(client.transport)
        if send_now is not None:
            send_now(datagram, address)
        else:
            await client.transport.send(datagram, address)
        client.stats.sent += 1

    async def _receive(self, deadline: float, accept: Any) -> A.Apdu | None:
        """The next reply ``accept`` takes before ``deadline``; None at the deadline."""
        inbox = self.inbox
        now = self.client.now
        # a wait for an answer is a request in flight through the border router
        path = self.path
        if path is not None:
            path.in_flight += 1
        try:
            while (left := deadline - now()) > 0:
                try:
                    payload, _source = await inbox.get(left)
                except asyncio.TimeoutError:
                    return None
                plain = self._open_reply(payload)
                if plain is None:
                    continue
                try:
                    reply = _backend.live.apdu.decode(plain)  # A.decode
                except DecodeError:
                    self.client.stats.strays += 1
                    continue
                if accept(reply):
                    self._plaintext = plain
                    return reply
                self.duplicates += 1
            return None
        finally:
            if path is not None:
                path.in_flight -= 1

    async def exchange(
        self, request: A.Apdu | None, *, plain: bytes | None = None, expect: Any = None, invoke_id: int | None = None
    ) -> A.Apdu:
        """Send ``request`` and await its reply (an exception-response is a
        reply too), asking again on silence: bounded retries with backoff,
        each retry with a fresh invocation counter.  ``expect`` narrows what
        answers the request (a block transfer's next block, not a late copy
        of the one before, which has the same invoke-id).  A meter that
        refuses the client's invocation counter gets the request once more
        after the counter is moved past what it expects; a meter that forgot
        the association gets a new COSEM-OPEN and the request once more, when
        the client re-opens (``Client(reopen=True)``).  ``request`` may be
        None when ``plain`` (its encoding) and ``invoke_id`` are given."""
        reply = await self._exchange_once(request, plain, expect, invoke_id)
        if isinstance(reply, A.ExceptionResponse):
            reply = await self._after_exception(reply, request, plain, expect, invoke_id)
        return reply

    async def _after_exception(
        self, reply: A.ExceptionResponse, request: A.Apdu | None, plain: bytes | None, expect: Any, invoke_id: int | None
    ) -> A.Apdu:
        """:meth:`exchange` after an exception-response: the request once
        more after a counter resynchronisation or a re-opening, else the reply."""
        error = exception_response_error(reply.state_error, reply.service_error, reply.invocation_counter)
        if isinstance(error, InvocationCounterRejected) and await self.client.resynchronise(self, error):
            return await self._exchange_once(request, plain, expect, invoke_id)
        if isinstance(error, StaleAssociation) and self.client.reopen and not self.pre_established:
            await self.client.reopen_association(self)
            return await self._exchange_once(request, plain, expect, invoke_id)
        return reply

    async def _exchange_once(
        self, request: A.Apdu | None, plain: bytes | None, expect: Any, invoke_id: int | None = None
    ) -> A.Apdu:
        encoded = plain if plain is not None else A.encode(request)  # type: ignore[arg-type]
        invoke = getattr(request, "invoke_id", None) if invoke_id is None else invoke_id

        def accept(reply: A.Apdu) -> bool:
            if isinstance(reply, A.ExceptionResponse):
                return True
            if isinstance(reply, A.GeneralBlockTransfer):
                # a reply in general-block-transfer starts at block 1; a later
                # block is a late copy from a transfer already gathered
                return reply.block_number == 1
            if invoke is not None and getattr(reply, "invoke_id", invoke) != invoke:
                return False
            return expect is None or bool(expect(reply))

        failure: Exception | None = None
        client = self.client
        limiter = client.in_flight
        later: Any = None  # the waits of the retries, made when a first attempt goes unanswered
        attempt = -1
        while True:
            attempt += 1
            if attempt == 0:
                timeout = client.first_timeout(self)
            else:
                if later is None:
                    later = client.timeouts(self)
                    next(later)  # the first attempt's, spent
                wait = next(later, None)
                if wait is None:
                    break
                timeout = wait
                client.stats.retries += 1
            if limiter is not None:
                # one request in flight through the meter's border router
                if self.address is None:
                    await client.address_of(self)
                key = self.router_key
                if not limiter.try_acquire(key):
                    await limiter.acquire(key)
            try:
                # the wait for the reply starts when the request leaves: a
                # resolver that takes its time (a registry read in a worker
                # thread) does not eat the attempt's timeout
                address = await client.address_of(self) if self.fixed_address is None else self.address
                if address is None:
                    address = await client.address_of(self)
                started = client.now()
                datagram = wrapper.join(self.client_sap, self.server_sap, self._protect(encoded))
                send_now = send_now_of(client.transport)
                if send_now is not None:
                    send_now(datagram, address)
                else:
                    await client.transport.send(datagram, address)
                client.stats.sent += 1
                reply = await self._receive(started + timeout, accept)
            finally:
                if limiter is not None:
                    limiter.release(key)
            if reply is None:
                continue
            self.repeated = attempt > 0
            client.round_trip(self, client.now() - started, attempt)
            if not isinstance(reply, A.GeneralBlockTransfer):
                return reply
            try:
                return await self._gather_gbt(reply)
            except (DlmsTimeout, SecurityError) as error:
                # the meter could not resend a lost block, or blocks of two
                # answers to a repeated ciphered request were mixed: ask afresh
                failure = error
        self.client.stats.timeouts += 1
        if failure is not None:
            raise failure
        raise DlmsTimeout(f"meter {self.meter_title.hex()} did not answer")

    async def _gather_gbt(self, first: A.GeneralBlockTransfer) -> A.Apdu:
        """A reply sent in general-block-transfer blocks: acknowledge each
        window, ask again from the last block received when one is lost."""
        data = bytearray(first.block_data)
        received = first.block_number
        if first.block_number != 1:
            raise DlmsError(f"general-block-transfer starts at block {first.block_number}")
        block = first
        while not block.last_block:
            if len(data) > self.client.max_message:
                raise DlmsError("a general-block-transfer reply grew past max_message")
            next_block: A.GeneralBlockTransfer | None = None
            for _attempt, timeout in enumerate(self.client.timeouts(self)):
                if not block.streaming or _attempt:
                    ack = A.GeneralBlockTransfer(b"", last_block=False, window=1, block_number=0,
                                                 block_number_ack=received)  # fmt: skip
                    await self.send_apdu(A.encode(ack))
                got = await self._receive(self.client.now() + timeout, _block_after(received))
                if got is not None:
                    assert isinstance(got, A.GeneralBlockTransfer)
                    next_block = got
                    break
                self.client.stats.retries += 1
            if next_block is None:
                self.client.stats.timeouts += 1
                raise DlmsTimeout(f"meter {self.meter_title.hex()}: general-block-transfer block {received + 1} lost")
            block = next_block
            received = block.block_number
            data += block.block_data
        whole = bytes(data)
        plain = self._open_reply(whole)
        if plain is None:
            raise SecurityError("a general-block-transfer reply did not verify")
        self._plaintext = plain
        return A.decode(plain)

    def _raise_exception(self, reply: A.ExceptionResponse) -> None:
        error = exception_response_error(reply.state_error, reply.service_error, reply.invocation_counter)
        if isinstance(error, StaleAssociation):
            self.open = False
        raise error

    # ----------------------------------------------------------------- GET

    async def get(self, attribute: Attribute, access: SelectiveAccess | None = None) -> Any:
        """The attribute's value; raises the DataAccessFailure the meter answers."""
        # _get_one, with exchange unrolled: what a head-end does most, in as few coroutines as can be
        descriptor = attribute_of(attribute, access)
        lock = self._lock
        await lock.acquire()
        try:
            invoke_id, encoded = self._get_request(descriptor)
            reply = await self._exchange_once(None, encoded, None, invoke_id)
            if type(reply) is A.GetResponseNormal:
                result = reply.result
                if isinstance(result, DataAccessResult):
                    result = data_access_error(result)
            else:
                if isinstance(reply, A.ExceptionResponse):
                    reply = await self._after_exception(reply, None, encoded, None, invoke_id)
                result = await self._get_result(reply)
        finally:
            lock.release()
        if isinstance(result, Exception):
            raise result
        return result

    async def get_many(self, attributes: Iterable[Attribute]) -> list[Any]:
        """Every attribute's value or its DataAccessFailure (an exception
        object, not raised), in order; as few get-request-with-list as the
        meter's PDU size allows."""
        descriptors = [attribute_of(a) for a in attributes]
        if not self.conformance & Conformance.MULTIPLE_REFERENCES:
            return [await self._get_one(d) for d in descriptors]
        out: list[Any] = []
        for chunk in self._chunks(descriptors, lambda d: len(A.encode(A.GetRequestNormal(d))) - 3):
            if len(chunk) == 1:
                out.append(await self._get_one(chunk[0]))
                continue
            async with self._lock:
                reply = await self.exchange(A.GetRequestWithList(tuple(chunk), invoke_id=self._next_invoke()))
                results = await self._get_list_reply(reply, len(chunk))
            out.extend(results)
        return out

    def _chunks(self, items: Sequence[Any], size: Any) -> list[list[Any]]:
        budget = self.send_limit - _LIST_OVERHEAD - (_CIPHER_OVERHEAD if self.ciphered else 0)
        chunks: list[list[Any]] = []
        current: list[Any] = []
        used = 0
        for item in items:
            n = size(item)
            if current and used + n > budget:
                chunks.append(current)
                current, used = [], 0
            current.append(item)
            used += n
        if current:
            chunks.append(current)
        return chunks

    def _get_request(self, descriptor: AttributeDescriptor) -> tuple[int, bytes]:
        """The next invoke-id and the get-request-normal of ``descriptor``
        with it, encoded: the encoder's bytes for the descriptor, kept, with
        the invoke-id put in (a head-end reads the same attributes again and
        again: no request object is made)."""
        invoke_id = self._invoke = (self._invoke + 1) % 16  # _next_invoke
        if descriptor.access is not None:  # parameters may be unhashable, and reads of ranges vary
            return invoke_id, A.encode(A.GetRequestNormal(descriptor, invoke_id=invoke_id))
        templates = self._get_templates
        template = templates.get(descriptor)
        if template is None:
            if len(templates) >= _TEMPLATES_MAX:
                templates.clear()
            template = templates[descriptor] = A.encode(A.GetRequestNormal(descriptor, invoke_id=0))
        # byte 2 is invoke-id-and-priority: the invoke-id is its low nibble
        return invoke_id, template[:2] + bytes((template[2] | invoke_id,)) + template[3:]

    async def _get_one(self, descriptor: AttributeDescriptor) -> Any:
        lock = self._lock
        await lock.acquire()
        try:
            invoke_id, encoded = self._get_request(descriptor)
            return await self._get_result(await self.exchange(None, plain=encoded, invoke_id=invoke_id))
        finally:
            lock.release()

    async def _get_result(self, reply: A.Apdu) -> Any:
        """The value (or DataAccessFailure) a reply to a get-request-normal carries."""
        if isinstance(reply, A.GetResponseNormal):
            return _value_or_error(reply.result)
        if isinstance(reply, A.GetResponseWithDatablock):
            raw = await self._get_blocks(reply)
            if isinstance(raw, Exception):
                return raw
            return axdr.decode(raw)
        return self._unexpected(reply)

    async def _get_list_reply(self, reply: A.Apdu, count: int) -> list[Any]:
        if isinstance(reply, A.GetResponseWithList):
            return [_value_or_error(r) for r in reply.results]
        if isinstance(reply, A.GetResponseWithDatablock):
            raw = await self._get_blocks(reply)
            if isinstance(raw, Exception):
                return [raw] * count
            return _list_results(raw, count)
        self._unexpected(reply)
        return []

    async def _get_blocks(self, first: A.GetResponseWithDatablock) -> bytes | Exception:
        block = first
        raw = bytearray()
        for _ in range(_MAX_BLOCKS):
            if isinstance(block.raw_data, DataAccessResult):
                return data_access_error(block.raw_data)
            raw += block.raw_data
            if len(raw) > self.client.max_message:
                raise DlmsError("a long GET reply grew past max_message")
            if block.last_block:
                return bytes(raw)
            reply = await self.exchange(A.GetRequestNext(block.block_number, invoke_id=block.invoke_id),
                                        expect=_get_block_after(block.block_number))  # fmt: skip
            if not isinstance(reply, A.GetResponseWithDatablock) or reply.block_number != block.block_number + 1:
                return self._unexpected(reply)
            block = reply
        raise DlmsError("a long GET reply of too many blocks")

    # ----------------------------------------------------------------- SET

    async def set(self, attribute: Attribute, value: Any) -> None:
        """Write the value; raises the DataAccessFailure the meter answers."""
        result = await self._set_one(attribute_of(attribute), value)
        if result is not None:
            raise result

    async def set_many(self, items: Iterable[tuple[Attribute, Any]]) -> list[Exception | None]:
        """None for each write that succeeded, else its DataAccessFailure."""
        pairs = [(attribute_of(a), v) for a, v in items]
        if not self.conformance & Conformance.MULTIPLE_REFERENCES:
            return [await self._set_one(d, v) for d, v in pairs]
        out: list[Exception | None] = []
        for chunk in self._chunks(pairs, lambda p: len(A.encode(A.SetRequestNormal(p[0], p[1]))) - 3):
            if len(chunk) == 1:
                out.append(await self._set_one(*chunk[0]))
                continue
            async with self._lock:
                request = A.SetRequestWithList(tuple(d for d, _ in chunk), tuple(v for _, v in chunk),
                                               invoke_id=self._next_invoke())  # fmt: skip
                reply = await self.exchange(request)
            if not isinstance(reply, A.SetResponseWithList):
                self._unexpected(reply)
            assert isinstance(reply, A.SetResponseWithList)
            out.extend(None if r == DataAccessResult.SUCCESS else data_access_error(r) for r in reply.results)
        return out

    async def _set_one(self, descriptor: AttributeDescriptor, value: Any) -> Exception | None:
        async with self._lock:
            invoke = self._next_invoke()
            request = A.SetRequestNormal(descriptor, value, invoke_id=invoke)
            encoded = A.encode(request)
            if len(encoded) + (_CIPHER_OVERHEAD if self.ciphered else 0) <= self.send_limit:
                reply = await self.exchange(request, plain=encoded)
                if not isinstance(reply, A.SetResponseNormal):
                    return self._unexpected(reply)
                return None if reply.result == DataAccessResult.SUCCESS else data_access_error(reply.result)
            chunks = self._raw_chunks(axdr.encode(value))
            outcome: Exception | None = None
            for _ in range(self.client.retries + 1):
                outcome = await self._set_blocks(descriptor, chunks, invoke)
                if outcome is not _AGAIN:
                    return outcome
            return data_access_error(DataAccessResult.LONG_SET_ABORTED)

    async def _set_blocks(self, descriptor: AttributeDescriptor, chunks: list[bytes], invoke: int) -> Exception | None:
        for number, chunk in enumerate(chunks, 1):
            last = number == len(chunks)
            if number == 1:
                block: A.Apdu = A.SetRequestWithFirstDatablock(descriptor, last, 1, chunk, invoke_id=invoke)
            else:
                block = A.SetRequestWithDatablock(last, number, chunk, invoke_id=invoke)
            reply = await self.exchange(block, expect=_set_block_answer(number, last))
            if isinstance(reply, A.SetResponseLastDatablock):
                if self.repeated and reply.result in _LOST_BLOCK_SET:
                    # the meter's answer to this block was lost and it refused the
                    # repeat: write again from block 1 (a SET takes effect with its
                    # last block, and at worst writes the same value twice)
                    return _AGAIN
                return None if reply.result == DataAccessResult.SUCCESS else data_access_error(reply.result)
            if not isinstance(reply, A.SetResponseDatablock) or reply.block_number != number:
                return self._unexpected(reply)
        return self._unexpected(None)

    def _raw_chunks(self, raw: bytes) -> list[bytes]:
        size = max(1, self.send_limit - 24 - (_CIPHER_OVERHEAD if self.ciphered else 0))
        return [raw[i : i + size] for i in range(0, len(raw), size)] or [b""]

    # --------------------------------------------------------------- ACTION

    async def action(self, method: Method, parameters: Any = None) -> Any:
        """Invoke the method: its return value (None when it returns none);
        raises the ActionFailure the meter answers."""
        result = await self._action_one(method_of(method), parameters)
        if isinstance(result, Exception):
            raise result
        return result

    async def action_many(self, items: Iterable[tuple[Method, Any]]) -> list[Any]:
        """Each method's return value (None when none) or its ActionFailure."""
        pairs = [(method_of(m), p) for m, p in items]
        if not self.conformance & Conformance.MULTIPLE_REFERENCES:
            return [await self._action_one(m, p) for m, p in pairs]
        out: list[Any] = []
        for chunk in self._chunks(pairs, lambda p: len(A.encode(A.ActionRequestNormal(p[0], p[1]))) - 3):
            if len(chunk) == 1:
                out.append(await self._action_one(*chunk[0]))
                continue
            async with self._lock:
                request = A.ActionRequestWithList(tuple(m for m, _ in chunk), tuple(p for _, p in chunk),
                                                  invoke_id=self._next_invoke())  # fmt: skip
                reply = await self.exchange(request)
                if isinstance(reply, A.ActionResponseWithPblock):
                    reply = await self._action_blocks(reply, _ACTION_WITH_LIST)
            if not isinstance(reply, A.ActionResponseWithList):
                self._unexpected(reply)
            assert isinstance(reply, A.ActionResponseWithList)
            out.extend(_action_result(code, returned) for code, returned in reply.results)
        return out

    async def _action_one(self, method: MethodDescriptor, parameters: Any) -> Any:
        async with self._lock:
            invoke = self._next_invoke()
            request = A.ActionRequestNormal(method, parameters, invoke_id=invoke)
            encoded = A.encode(request)
            reply: A.Apdu | None = None
            if len(encoded) + (_CIPHER_OVERHEAD if self.ciphered else 0) <= self.send_limit:
                reply = await self.exchange(request, plain=encoded)
            else:
                chunks = self._raw_chunks(axdr.encode(parameters))
                for _ in range(self.client.retries + 1):
                    reply = await self._action_pblocks(method, chunks, invoke)
                    if reply is not None:
                        break
                else:
                    return action_error(ActionResult.LONG_ACTION_ABORTED)
            if isinstance(reply, A.ActionResponseWithPblock):
                reply = await self._action_blocks(reply, _ACTION_NORMAL)
            if isinstance(reply, A.ActionResponseNormal):
                return _action_result(reply.result, reply.return_parameters)
            return self._unexpected(reply)

    async def _action_pblocks(self, method: MethodDescriptor, chunks: list[bytes], invoke: int) -> A.Apdu | None:
        """The reply to an ACTION request sent in pblocks; None to send it
        again from block 1 (an answer to a block before the last was lost)."""
        for number, chunk in enumerate(chunks, 1):
            last = number == len(chunks)
            block: A.Apdu = (
                A.ActionRequestWithFirstPblock(method, last, 1, chunk, invoke_id=invoke)
                if number == 1
                else A.ActionRequestWithPblock(last, number, chunk, invoke_id=invoke)
            )
            reply = await self.exchange(block, expect=_action_block_answer(number, last))
            if last:
                # a repeated last block refused: the method may have run, so it
                # is not invoked again (the caller gets the meter's refusal)
                return reply
            if isinstance(reply, A.ActionResponseNextPblock) and reply.block_number == number:
                continue
            if isinstance(reply, A.ActionResponseNormal):
                if self.repeated and reply.result in _LOST_BLOCK_ACTION:
                    return None  # nothing ran yet: the method runs with the last block
                return reply
            self._unexpected(reply)
        raise AssertionError("unreachable: the last block returns")

    async def _action_blocks(self, first: A.ActionResponseWithPblock, choice: int) -> A.Apdu:
        """A long ACTION reply in pblocks, asked for block by block: the reply
        (normal or with-list, ``choice``) whose encoding after the invoke-id
        the blocks carry, as the Server sends them (UNVERIFIED against a meter)."""
        block = first
        raw = bytearray()
        for _ in range(_MAX_BLOCKS):
            raw += block.raw_data
            if len(raw) > self.client.max_message:
                raise DlmsError("a long ACTION reply grew past max_message")
            if block.last_block:
                head = A.encode(first)[:3]  # tag, choice, invoke-id-and-priority
                try:
                    return A.decode(bytes((head[0], choice, head[2])) + bytes(raw))
                except DecodeError:
                    raise DlmsError("a long ACTION reply in pblocks does not decode") from None
            reply = await self.exchange(A.ActionRequestNextPblock(block.block_number, invoke_id=block.invoke_id),
                                        expect=_action_pblock_after(block.block_number))  # fmt: skip
            if not isinstance(reply, A.ActionResponseWithPblock):
                return reply  # the meter's refusal (action-response-normal) or an exception-response
            block = reply
        raise DlmsError("a long ACTION reply of too many blocks")

    # ---------------------------------------------------------- typed reads

    async def get_raw(self, attribute: Attribute, access: SelectiveAccess | None = None) -> bytes:
        """The attribute's value as the A-XDR bytes the meter sent (for
        :mod:`dlmsmesh.columns`); raises the DataAccessFailure it answers."""
        descriptor = attribute_of(attribute, access)
        async with self._lock:
            reply = await self.exchange(A.GetRequestNormal(descriptor, invoke_id=self._next_invoke()))
            if isinstance(reply, A.GetResponseNormal):
                if isinstance(reply.result, DataAccessResult):
                    raise data_access_error(reply.result)
                return self._plaintext[4:]  # C4 01 invoke 00, then the Data as sent
            if isinstance(reply, A.GetResponseWithDatablock):
                raw = await self._get_blocks(reply)
                if isinstance(raw, Exception):
                    raise raw
                return raw
            raise self._unexpected(reply)

    async def scaled(self, register: Any) -> Any:
        """A register's value with its scaler and unit applied
        (:func:`dlmsmesh.client.reading.scaled`)."""
        from .reading import scaled

        return await scaled(self, register)

    async def profile(self, name: Any, start: Any = None, end: Any = None, **options: Any) -> Any:
        """A profile's buffer as :mod:`dlmsmesh.columns` (:func:`dlmsmesh.client.reading.profile`)."""
        from .reading import profile

        return await profile(self, name, start, end, **options)

    # ---------------------------------------------------------------- misc

    def _unexpected(self, reply: A.Apdu | None) -> Exception:
        if isinstance(reply, A.ExceptionResponse):
            self._raise_exception(reply)
        raise DlmsError(f"meter {self.meter_title.hex()} answered {type(reply).__name__} out of turn")


_ACTION_NORMAL, _ACTION_WITH_LIST = 1, 3
#: a block transfer to be started again from block 1
_AGAIN = DlmsError("again")
#: what a meter answers a block it was sent twice (its answer to the first lost)
_LOST_BLOCK_SET = (DataAccessResult.DATA_BLOCK_NUMBER_INVALID, DataAccessResult.NO_LONG_SET_IN_PROGRESS)
_LOST_BLOCK_ACTION = (ActionResult.LONG_ACTION_ABORTED, ActionResult.NO_LONG_ACTION_IN_PROGRESS)
_SERVICE_TAGS = frozenset((0xC0, 0xC1, 0xC3, 0xC4, 0xC5, 0xC7))


def _block_after(received: int) -> Any:
    """Accepts the general-block-transfer block that follows block ``received``."""
    return lambda r: isinstance(r, A.GeneralBlockTransfer) and r.block_number == received + 1


def _get_block_after(received: int) -> Any:
    """Accepts the datablock after block ``received`` (or the meter's refusal to send it)."""
    return lambda r: (
        not isinstance(r, A.GetResponseWithDatablock)
        or (r.block_number == received + 1 or isinstance(r.raw_data, DataAccessResult))
    )


def _set_block_answer(number: int, last: bool) -> Any:
    """Accepts the meter's answer to SET datablock ``number``, not a late one to the block before."""
    if last:
        return lambda r: not isinstance(r, A.SetResponseDatablock)
    return lambda r: not isinstance(r, A.SetResponseDatablock) or r.block_number == number


def _action_block_answer(number: int, last: bool) -> Any:
    """Accepts the meter's answer to ACTION pblock ``number``, not a late one to the block before."""
    if last:
        return lambda r: not isinstance(r, A.ActionResponseNextPblock)
    return lambda r: not isinstance(r, A.ActionResponseNextPblock) or r.block_number == number


def _action_pblock_after(received: int) -> Any:
    """Accepts the pblock after block ``received`` (or the meter's refusal to send it)."""
    return lambda r: not isinstance(r, A.ActionResponseWithPblock) or r.block_number == received + 1


def _value_or_error(result: Any) -> Any:
    return data_access_error(result) if isinstance(result, DataAccessResult) else result


def _action_result(code: ActionResult, returned: Any) -> Any:
    if code != ActionResult.SUCCESS:
        return action_error(code)
    if isinstance(returned, DataAccessResult):
        return data_access_error(returned)
    return returned


def _list_results(raw: bytes, count: int) -> list[Any]:
    """The Get-Data-Results of a with-list reply sent in datablocks."""
    try:
        n, p = read_length(raw, 0, len(raw))
        out: list[Any] = []
        for _ in range(n):
            choice = raw[p]
            p += 1
            if choice == 0:
                value, p = axdr.decode_prefix(raw, p)
                out.append(value)
            else:
                out.append(data_access_error(DataAccessResult(raw[p])))
                p += 1
    except (DecodeError, Fail, IndexError, ValueError):
        raise DlmsError("a with-list GET reply in datablocks does not decode") from None
    if n != count or p != len(raw):
        raise DlmsError(f"a with-list GET reply of {n} results for {count} attributes")
    return out
