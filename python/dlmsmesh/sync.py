"""A blocking facade over :class:`dlmsmesh.client.Client` for scripts and notebooks.

The same methods as the asyncio client, without ``await``::

    from dlmsmesh import sync

    with sync.Client("127.0.0.1", system_title=b"HES00001") as client:
        with client.associate(meter_title, address=("127.0.0.1", 61616)) as meter:
            meter.get((8, "0.0.1.0.0.255", 2))

The asyncio client runs on an event loop of its own, in a dedicated daemon
thread; each call is handed to it with :func:`asyncio.run_coroutine_threadsafe`
and waited for at most ``call_timeout`` seconds.  The calling thread's own
loop, if it has one (Jupyter, or a script inside ``asyncio.run``), is never
touched: it is blocked for the length of the call, as any blocking call
blocks it.  Results and exceptions are the asyncio client's own objects: a
refused association raises the same :class:`~dlmsmesh.client.errors.AuthenticationFailed`,
a failed read the same :class:`~dlmsmesh.client.errors.ObjectUndefined`.

Leaving the ``with`` block (or :meth:`Client.close`, which may be called
any number of times) releases the associations still open, closes the
transport and stops the thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Iterator
from typing import Any, TypeVar, Union

from .apdu_model import SelectiveAccess
from .client import Association as AsyncAssociation
from .client import Client as AsyncClient
from .client import ClientStats
from .client.association import Attribute, Method
from .client.core import DEFAULT_MAX_PDU_SIZE
from .client.pacing import DEFAULT_RETRIES
from .client.resolver import AddressResolver
from .errors import DlmsError, DlmsTimeout
from .security import InvocationCounterStore
from .transport import Datagram, UdpTransport

__all__ = ["Client", "Association", "DEFAULT_CALL_TIMEOUT", "DEFAULT_HOST"]

T = TypeVar("T")

#: the longest one blocking call may take, in seconds, before it is cancelled
#: and raises DlmsTimeout: a safety net above the client's own timeouts and
#: retries, long enough for a month of load profile over a slow mesh
DEFAULT_CALL_TIMEOUT = 600.0
#: the address the UDP socket binds by default: every IPv6 address (meters
#: live on an IPv6 mesh).  Bind an IPv4 address ("0.0.0.0", "127.0.0.1") to
#: reach IPv4 peers: a dual-stack socket sees their replies come from
#: ::ffff:a.b.c.d, which the client does not match to a.b.c.d
DEFAULT_HOST = "::"
#: how long a cancelled request may take to clean up
_CANCEL_GRACE = 5.0
#: how long closing may take (releasing associations, stopping the thread)
_CLOSE_TIMEOUT = 30.0

#: an endpoint, or a coroutine function making one on the facade's loop
#: (an endpoint is tied to the loop it was made on)
TransportSource = Union[Datagram, Callable[[], Awaitable[Datagram]]]


async def _bounded(coroutine: Coroutine[Any, Any, T], timeout: float, what: str) -> T:
    """``coroutine`` cut off after ``timeout`` seconds, on the facade's loop:
    the cancelled request has run its cleanup (an association half opened is
    forgotten) before the caller hears of the timeout and calls again."""
    task = asyncio.ensure_future(coroutine)
    try:
        done, _ = await asyncio.wait((task,), timeout=timeout)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if not done:
        task.cancel()
        await asyncio.wait((task,), timeout=_CANCEL_GRACE)
        raise DlmsTimeout(f"{what} took longer than {timeout:g} s (call_timeout)")
    return task.result()


class _LoopThread:
    """An event loop running in a daemon thread, and calls into it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="dlmsmesh.sync", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float, what: str) -> T:
        if threading.current_thread() is self._thread:
            coroutine.close()
            raise RuntimeError("a dlmsmesh.sync call from the facade's own event loop would wait for itself")
        if not self._thread.is_alive():
            coroutine.close()
            raise DlmsError("the client is closed")
        future = asyncio.run_coroutine_threadsafe(_bounded(coroutine, timeout, what), self.loop)
        try:
            # not future.result(timeout): DlmsTimeout is a TimeoutError, and
            # the call's own timeout must not pass for the bound's
            concurrent.futures.wait((future,), timeout + 2 * _CANCEL_GRACE)
        except BaseException:
            # Ctrl-C in a notebook: the request stops too, not only the wait
            future.cancel()
            raise
        if not future.done():  # the loop itself is stuck
            future.cancel()
            raise DlmsTimeout(f"{what} took longer than {timeout:g} s (call_timeout)")
        return future.result()

    def stop(self, timeout: float) -> None:
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout)
        if not self._thread.is_alive() and not self.loop.is_closed():
            self.loop.close()


class Association:
    """An open association (made by :meth:`Client.associate`): the methods of
    :class:`dlmsmesh.client.Association`, blocking."""

    def __init__(self, client: Client, association: AsyncAssociation) -> None:
        self._client = client
        #: the asyncio association underneath (use it only on the client's loop)
        self.association = association

    @property
    def meter_title(self) -> bytes:
        return self.association.meter_title

    @property
    def client_sap(self) -> int:
        return self.association.client_sap

    @property
    def server_sap(self) -> int:
        return self.association.server_sap

    @property
    def open(self) -> bool:
        return self.association.open

    @property
    def conformance(self) -> Any:
        return self.association.conformance

    def get(self, attribute: Attribute, access: SelectiveAccess | None = None) -> Any:
        """The attribute's value; raises the DataAccessFailure the meter answers."""
        return self._client._call(self.association.get(attribute, access), "get")

    def get_many(self, attributes: Iterable[Attribute]) -> list[Any]:
        """Every attribute's value or its DataAccessFailure (an exception object, not raised), in order."""
        return self._client._call(self.association.get_many(list(attributes)), "get_many")

    def set(self, attribute: Attribute, value: Any) -> None:
        """Write the value; raises the DataAccessFailure the meter answers."""
        self._client._call(self.association.set(attribute, value), "set")

    def set_many(self, items: Iterable[tuple[Attribute, Any]]) -> list[Exception | None]:
        """None for each write that succeeded, else its DataAccessFailure."""
        return self._client._call(self.association.set_many(list(items)), "set_many")

    def action(self, method: Method, parameters: Any = None) -> Any:
        """Invoke the method: its return value (None when none); raises the ActionFailure the meter answers."""
        return self._client._call(self.association.action(method, parameters), "action")

    def action_many(self, items: Iterable[tuple[Method, Any]]) -> list[Any]:
        """Each method's return value (None when none) or its ActionFailure."""
        return self._client._call(self.association.action_many(list(items)), "action_many")

    def release(self) -> None:
        """COSEM-RELEASE now (leaving the ``with`` block does it too)."""
        self._client.release(self)


class Client:
    """A blocking head-end: :class:`dlmsmesh.client.Client` on a loop of its own.

    By default it opens a UDP socket at ``host`` and ``port`` (the local
    address: :data:`DEFAULT_HOST`, any free port; give an IPv4 address such
    as ``"127.0.0.1"`` for IPv4 meters).  ``transport`` replaces
    it: a coroutine function that makes the endpoint (it runs on the
    facade's loop), or an endpoint that works from that loop.  The other
    keywords are the asyncio client's; ``call_timeout`` bounds every
    blocking call.
    """

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        port: int = 0,
        *,
        system_title: bytes,
        transport: TransportSource | None = None,
        resolver: AddressResolver | None = None,
        counters: InvocationCounterStore | None = None,
        timeout: float | None = None,
        retries: int = DEFAULT_RETRIES,
        max_pdu_size: int = DEFAULT_MAX_PDU_SIZE,
        call_timeout: float = DEFAULT_CALL_TIMEOUT,
        **pacing: Any,
    ) -> None:
        if not call_timeout > 0:
            raise ValueError("call_timeout is > 0 seconds")
        self.call_timeout = float(call_timeout)
        self._closed = False
        self._open: list[Association] = []
        self._runner = _LoopThread()
        try:
            self.client: AsyncClient = self._call(
                self._start(host, port, transport, system_title=system_title, resolver=resolver,
                            counters=counters, timeout=timeout, retries=retries, max_pdu_size=max_pdu_size,
                            **pacing),
                "opening the transport",
            )  # fmt: skip
        except BaseException:
            self._closed = True
            self._runner.stop(_CLOSE_TIMEOUT)
            raise

    @staticmethod
    async def _start(host: str, port: int, transport: TransportSource | None, **settings: Any) -> AsyncClient:
        if transport is None:
            endpoint: Datagram = await UdpTransport.open(host, port)
        elif callable(transport) and not isinstance(transport, Datagram):
            endpoint = await transport()
        else:
            endpoint = transport
        try:
            client = AsyncClient(endpoint, **settings)
            await client.start()
        except BaseException:
            await endpoint.close()
            raise
        return client

    def _call(self, coroutine: Coroutine[Any, Any, T], what: str) -> T:
        if self._closed:
            coroutine.close()
            raise DlmsError("the client is closed")
        return self._runner.call(coroutine, self.call_timeout, what)

    # ------------------------------------------------------------- settings

    @property
    def system_title(self) -> bytes:
        return self.client.system_title

    @property
    def resolver(self) -> AddressResolver:
        return self.client.resolver

    @property
    def stats(self) -> ClientStats:
        return self.client.stats

    @property
    def local_address(self) -> tuple[str, int] | None:
        """The address the transport is bound to (None when it has none)."""
        return getattr(self.client.transport, "local_address", None)

    @property
    def closed(self) -> bool:
        return self._closed

    # ---------------------------------------------------------- associating

    def open(self, system_title: bytes, **settings: Any) -> Association:
        """COSEM-OPEN (the keywords of :meth:`dlmsmesh.client.Client.associate`);
        call :meth:`release` after, or use :meth:`associate`."""
        association = Association(self, self._call(self.client.open(system_title, **settings), "COSEM-OPEN"))
        self._open.append(association)
        return association

    def release(self, association: Association) -> None:
        """COSEM-RELEASE (RLRQ/RLRE); releasing twice does nothing."""
        if association in self._open:
            self._open.remove(association)
            self._call(self.client.release(association.association), "COSEM-RELEASE")

    @contextlib.contextmanager
    def associate(self, system_title: bytes, **settings: Any) -> Iterator[Association]:
        """``with client.associate(meter_title, ...) as meter:``: COSEM-OPEN,
        then COSEM-RELEASE on leaving the block (keywords as
        :meth:`dlmsmesh.client.Client.associate`: address, auth, security,
        client_sap, server_sap, ek, ak, password, ...)."""
        association = self.open(system_title, **settings)
        try:
            yield association
        finally:
            if not self._closed:
                self.release(association)

    # ------------------------------------------------------------- closing

    def close(self) -> None:
        """Release what is open, close the transport, stop the thread; a second call does nothing."""
        if self._closed:
            return
        try:
            self._runner.call(self._close(), _CLOSE_TIMEOUT, "closing")
        finally:
            self._closed = True
            self._runner.stop(_CLOSE_TIMEOUT)

    async def _close(self) -> None:
        opened, self._open = self._open, []
        try:
            for association in opened:
                with contextlib.suppress(DlmsError):
                    await self.client.release(association.association)
        finally:
            await self.client.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
