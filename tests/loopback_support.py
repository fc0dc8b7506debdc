"""The Client against the Server on the in-process network (real clock):
meters of :func:`dlmsmesh.cosem.default_meter` at a fixed time, served at
``fd00::1``, and one Client at ``fd00::2`` whose resolver knows them."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, ClassVar

from dlmsmesh.client import Client
from dlmsmesh.client.resolver import MemoryResolver
from dlmsmesh.cosem import CosemObject, attribute, default_meter, method
from dlmsmesh.cosem.access import AttributeAccess
from dlmsmesh.cosem.typespec import ANY
from dlmsmesh.server import Meter, MeterKeys, Server
from dlmsmesh.transport import Address, InProcessNetwork, LinkProfile, RealClock
from dlmsmesh.transport.clock import VirtualClock
from dlmsmesh.types import BitString, DoubleLongUnsigned, OctetString, Structure
from dlmsmesh.xdlms_initiate import Conformance

from .server_support import AK, AUTHENC, BK, EK, KEK, NOW, PASSWORD, TITLE

__all__ = ["Loopback", "loopback", "make_meter", "HEAD_END", "PORT", "SERVER_HOST", "CLIENT_HOST", "MOVED_HOST", "OTHER_HOST",
           "AK", "AUTHENC", "BK", "EK", "KEK", "NOW", "PASSWORD", "TITLE", "SCRATCH", "ECHO", "MEASURE", "Scratch"]  # fmt: skip

HEAD_END = bytes.fromhex("4845530000000001")
SERVER_HOST = "fd00::1"
MOVED_HOST = "fd00::5"
#: where a second meter answers
OTHER_HOST = "fd00::7"
CLIENT_HOST = "fd00::2"
PORT = 4059
#: no conformance bit
NOTHING = Conformance(0)
#: every wait of a test: nothing here takes a fraction of it
BOUND = 60.0


class Scratch(CosemObject):
    """A writable value of any size and a method that answers with what it is given
    (the default meter has neither: long SET and ACTION requests need them)."""

    class_id = 9002
    version = 0

    value = attribute(2, ANY, access=AttributeAccess.READ_WRITE, default=OctetString(b""))

    @method(1, ANY)
    def echo(self, parameters: Any) -> Any:
        return parameters

    @method(2, ANY)
    def measure(self, parameters: Any) -> Any:
        Scratch.measured += 1  # counted across meters: read it before and after
        return DoubleLongUnsigned(len(bytes(parameters)))

    #: calls of ``measure`` on every Scratch
    measured: ClassVar[int] = 0


SCRATCH = (9002, "0.0.96.98.0.255", 2)
ECHO = (9002, "0.0.96.98.0.255", 1)
MEASURE = (9002, "0.0.96.98.0.255", 2)


def make_meter(
    *,
    title: bytes = TITLE,
    authentication: str = "none",
    secret: bytes = b"",
    policy: int = 0,
    suite: int = 0,
    keys: MeterKeys | None = None,
    address: str | None = SERVER_HOST,
    scratch: bool = False,
    gbt: bool = True,
    selective: bool = True,
    withhold: Conformance = NOTHING,
) -> Meter:
    objects = default_meter(title, now=lambda: NOW, authentication=authentication, secret=secret, policy=policy,
                            suite=suite)  # fmt: skip
    if scratch:
        thing = Scratch("0.0.96.98.0.255")
        objects.logical_devices[1].add(thing)
        for association in objects.associations.values():
            association.objects.add(thing)
    withheld = (
        withhold
        | (Conformance(0) if gbt else Conformance.GENERAL_BLOCK_TRANSFER)
        | (Conformance(0) if selective else Conformance.SELECTIVE_ACCESS)
    )
    if withheld:
        # a meter that does not offer general-block-transfer (long replies go in
        # datablocks) or selective access
        for association in objects.associations.values():
            info = association.xdlms_context_info
            offered = Conformance.from_octets(info[0].to_bytes()) & ~withheld
            association.xdlms_context_info = Structure((BitString.from_bytes(offered.octets()), *info[1:]))
    if keys is None and suite == 0:
        keys = MeterKeys(ek=EK, ak=AK, bk=BK, kek=KEK)
    return Meter.from_objects(objects, keys=keys, address=address)


@dataclass
class Loopback:
    net: InProcessNetwork
    server: Server
    client: Client
    resolver: MemoryResolver


@contextlib.asynccontextmanager
async def loopback(
    *meters: Meter,
    server_pdu: int | None = None,
    link: LinkProfile | None = None,
    seed: int = 1,
    idle_timeout: float | None = None,
    virtual: bool = False,
    **client_kwargs: Any,
) -> AsyncIterator[Loopback]:
    """A started Server (``meters``, or one default meter) and Client; both
    closed after.  ``virtual``: the network runs on a virtual clock, moved on
    by a task whenever every coroutine waits (so a reply is never late
    because the machine is busy: timing tests do not depend on its load)."""
    net = InProcessNetwork(seed=seed, clock=VirtualClock() if virtual else RealClock(), link=link)
    server_kwargs: dict[str, Any] = {}
    if server_pdu is not None:
        server_kwargs["max_pdu_size"] = server_pdu
    if idle_timeout is not None:
        server_kwargs["idle_timeout"] = idle_timeout
    server = Server(net.endpoint(SERVER_HOST, PORT, aliases=[MOVED_HOST, OTHER_HOST]), **server_kwargs)
    resolver = MemoryResolver()
    for meter in meters or (make_meter(),):
        server.add_meter(meter)
        resolver.set(meter.system_title, Address(meter.address or SERVER_HOST, PORT))
    client_kwargs.setdefault("timeout", 0.5)
    client = Client(net.endpoint(CLIENT_HOST, PORT), system_title=HEAD_END, resolver=resolver, **client_kwargs)
    async with asyncio.timeout(BOUND), server, client:
        driver = asyncio.get_running_loop().create_task(_drive(net)) if virtual else None
        try:
            yield Loopback(net, server, client, resolver)
        finally:
            if driver is not None:
                driver.cancel()
                await asyncio.gather(driver, return_exceptions=True)


async def _drive(net: InProcessNetwork) -> None:
    """Move the virtual clock on, a millisecond at a time, whenever the loop is idle."""
    while True:
        await net.advance(0.001)


def record(client: Client) -> list[bytes]:
    """The APDUs the client sends from now on (wrapper taken off), in order."""
    from dlmsmesh import wrapper

    sent: list[bytes] = []
    transport = client.transport
    original = transport.send

    async def send(data: bytes, destination: Any) -> None:
        sent.append(wrapper.decode(data)[1])
        await original(data, destination)

    transport.send = send  # type: ignore[method-assign,assignment]
    return sent


def loopback_multicast_refusal(group: str = "ff03::d1:fffe") -> str | None:
    """None when this host carries IPv6 multicast over its loopback interface
    (network tests send to loopback only: a group address sent out of another
    interface would reach the link); else why not."""
    try:
        lo = socket.if_nametoindex("lo")
    except OSError:
        return "no loopback interface named lo"
    receiver = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    sender = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    try:
        receiver.bind(("::", 0))
        receiver.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP,
                            socket.inet_pton(socket.AF_INET6, group) + struct.pack("@I", lo))  # fmt: skip
        receiver.settimeout(1.0)
        sender.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, lo)
        sender.sendto(b"probe", (group, receiver.getsockname()[1]))
        receiver.recvfrom(16)
    except OSError as exc:
        return f"IPv6 multicast over loopback is not available here: {exc}"
    finally:
        receiver.close()
        sender.close()
    return None
