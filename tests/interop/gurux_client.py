"""A blocking gurux-dlms client over real UDP with the wrapper (IEC 62056-4-7).

The peer oracle for the server interop tests: gurux-dlms builds and parses
every APDU (its GXDLMSSecureClient, InterfaceType.WRAPPER); this module only
moves its datagrams over a plain UDP socket, one WPDU per datagram, and keeps
every byte it sent and received so a test can assert on the wire.

With the wrapper there is no SNRM/UA: association is AARQ/AARE, then for HLS
the pass-3/4 exchange (reply_to_HLS_authentication on the current
Association LN).  Long replies come back either as GET-with-datablock (what
gurux proposes by default) or, with ``general_block_transfer=True``, as GBT;
either way gurux's GXReplyData tells when more is coming and
``receiverReady`` builds the next request.

Every wait is bounded: each datagram by ``timeout`` seconds, each exchange by
``max_datagrams`` datagrams, each long reply by ``max_blocks`` blocks.

gurux-dlms is GPL: it is a test-only oracle and nothing here ships in the
wheel (tests/ is not packaged).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

from gurux_dlms import GXByteBuffer, GXDLMSException, GXReplyData
from gurux_dlms.enums import Authentication, Conformance, DataType, InterfaceType, Security
from gurux_dlms.objects import GXDLMSObject, GXDLMSProfileGeneric
from gurux_dlms.secure import GXDLMSSecureClient

__all__ = [
    "TX",
    "RX",
    "WRAPPER_HEADER_LEN",
    "Datagram",
    "GuruxUdpClient",
    "PeerError",
    "wrapper_header",
]

TX = "tx"
RX = "rx"
WRAPPER_HEADER_LEN = 8
WRAPPER_VERSION = 1
# the profile's APDU budget: the 1280-byte IPv6 minimum MTU (RFC 8200) less the IPv6, UDP and wrapper headers
MESH_MAX_PDU = 1224


class PeerError(Exception):
    """The server answered in a way the wrapper/UDP transport forbids
    (wrong source address, not one WPDU per datagram, no answer in time)."""


@dataclass(frozen=True)
class Datagram:
    """One datagram on the wire as this client saw it."""

    direction: str  # TX or RX
    data: bytes
    peer: tuple[Any, ...]

    @property
    def apdu(self) -> bytes:
        return self.data[WRAPPER_HEADER_LEN:]


def wrapper_header(datagram: bytes) -> tuple[int, int, int, int]:
    """(version, source wPort, destination wPort, length) of a WPDU."""
    if len(datagram) < WRAPPER_HEADER_LEN:
        raise PeerError(f"datagram of {len(datagram)} bytes is shorter than the wrapper header")
    return (
        int.from_bytes(datagram[0:2], "big"),
        int.from_bytes(datagram[2:4], "big"),
        int.from_bytes(datagram[4:6], "big"),
        int.from_bytes(datagram[6:8], "big"),
    )


class GuruxUdpClient:
    """gurux-dlms's LN client talking to one server logical device over UDP.

    ``exchanges`` lists every datagram as ``(direction, bytes)`` with
    direction ``"tx"`` or ``"rx"`` (whole WPDUs, header included);
    ``datagrams`` has the same with the peer address.  ``client`` is the
    underlying GXDLMSSecureClient for what a test wants to inspect
    (negotiated conformance, max PDU size, the server's system title).
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        client_address: int,
        server_address: int = 1,
        authentication: Authentication = Authentication.NONE,
        password: bytes = b"",
        security: Security = Security.NONE,
        system_title: bytes = b"GRX00001",
        block_cipher_key: bytes | None = None,
        authentication_key: bytes | None = None,
        invocation_counter: int = 1,
        max_receive_pdu_size: int = MESH_MAX_PDU,
        general_block_transfer: bool = False,
        timeout: float = 2.0,
        max_datagrams: int = 64,
        max_blocks: int = 10_000,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive: every wait is bounded")
        if len(system_title) != 8:
            raise ValueError("a system title is 8 bytes")
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
        family, _, _, _, address = infos[0]
        self.server = address
        self.timeout = timeout
        self.max_datagrams = max_datagrams
        self.max_blocks = max_blocks
        self.datagrams: list[Datagram] = []

        # the positional True is useLogicalNameReferencing: GXDLMSSecureClient defaults to SN
        client = GXDLMSSecureClient(
            True,
            client_address,
            server_address,
            authentication,
            bytes(password) if password else None,
            InterfaceType.WRAPPER,
        )
        client.maxReceivePDUSize = max_receive_pdu_size
        if general_block_transfer:
            client.proposedConformance |= Conformance.GENERAL_BLOCK_TRANSFER
        cipher = client.ciphering
        cipher.systemTitle = bytearray(system_title)
        if block_cipher_key is not None:
            cipher.blockCipherKey = bytearray(block_cipher_key)
        if authentication_key is not None:
            cipher.authenticationKey = bytearray(authentication_key)
        cipher.security = security
        cipher.invocationCounter = invocation_counter
        self.client = client

        self._sock = socket.socket(family, socket.SOCK_DGRAM)
        self._sock.settimeout(timeout)
        # an ephemeral loopback port of the same family as the server
        self._sock.bind(("::1", 0, 0, 0) if family == socket.AF_INET6 else ("127.0.0.1", 0))

    # -- the wire -------------------------------------------------------

    @property
    def exchanges(self) -> list[tuple[str, bytes]]:
        return [(d.direction, d.data) for d in self.datagrams]

    @property
    def local_address(self) -> tuple[Any, ...]:
        return tuple(self._sock.getsockname())

    def sent(self) -> list[bytes]:
        return [d.data for d in self.datagrams if d.direction == TX]

    def received(self) -> list[bytes]:
        return [d.data for d in self.datagrams if d.direction == RX]

    def clear_capture(self) -> None:
        self.datagrams.clear()

    def send_raw(self, datagram: bytes) -> None:
        """Send bytes gurux did not build (a test's malformed or replayed WPDU)."""
        self._send(datagram)

    def receive_raw(self) -> bytes:
        """The next datagram from the server (PeerError after ``timeout``)."""
        return self._recv()

    def _send(self, data: bytes | bytearray) -> None:
        payload = bytes(data)
        self._sock.sendto(payload, self.server)
        self.datagrams.append(Datagram(TX, payload, tuple(self.server)))

    def _recv(self) -> bytes:
        try:
            payload, peer = self._sock.recvfrom(65535)
        except TimeoutError as exc:  # socket.timeout is TimeoutError since 3.10
            raise PeerError(f"no datagram from {self.server} within {self.timeout} s") from exc
        self.datagrams.append(Datagram(RX, payload, tuple(peer)))
        # UDP wrapper (IEC 62056-4-7): the answer comes from where the request went
        if tuple(peer[:2]) != tuple(self.server[:2]):
            raise PeerError(f"reply from {peer[:2]}, request went to {self.server[:2]}")
        version, source, destination, length = wrapper_header(payload)
        if version != WRAPPER_VERSION:
            raise PeerError(f"wrapper version {version:#06x}")
        # gurux itself would take a reply with other wPorts for a notification and wait on: say why instead
        expected = (self.client.serverAddress, self.client.clientAddress)
        if (source, destination) != expected:
            raise PeerError(
                f"reply wPorts {source}->{destination}, not the request's swapped {expected[0]}->{expected[1]}"
            )
        if length != len(payload) - WRAPPER_HEADER_LEN:
            raise PeerError(
                f"wrapper length {length} but {len(payload) - WRAPPER_HEADER_LEN} APDU bytes: one WPDU per datagram"
            )
        return payload

    # -- request/response through gurux --------------------------------

    def _packet(self, data: bytes | bytearray | None, reply: GXReplyData) -> None:
        """Send one request (None: a GBT stream continues unasked) and feed
        datagrams to gurux until it has a whole reply."""
        notify = GXReplyData()
        reply.error = 0
        if data is not None:
            self._send(data)
        buffer = GXByteBuffer()
        for _ in range(self.max_datagrams):
            if self.client.getData(buffer, reply, notify):
                break
            if notify.data.size != 0:
                # an unsolicited data-notification is not the reply: keep waiting
                notify.clear()
            buffer.set(self._recv())
        else:
            raise PeerError(f"no complete reply in {self.max_datagrams} datagrams")
        if reply.error != 0:
            raise GXDLMSException(reply.error)

    def _transact(self, messages: list[bytearray] | bytearray | None, reply: GXReplyData | None = None) -> GXReplyData:
        """Every message of a request, then the blocks of a long reply."""
        reply = GXReplyData() if reply is None else reply
        if messages is None:
            return reply
        if isinstance(messages, (bytes, bytearray)):
            messages = [messages]
        for message in messages:
            reply.clear()
            self._packet(message, reply)
            for _ in range(self.max_blocks):
                if not reply.isMoreData():
                    break
                self._packet(None if reply.isStreaming() else self.client.receiverReady(reply), reply)
            else:
                raise PeerError(f"reply still incomplete after {self.max_blocks} blocks")
        return reply

    # -- the services ----------------------------------------------------

    def associate(self) -> None:
        """AARQ/AARE, then for HLS the reply_to_HLS_authentication action (pass 3/4)."""
        reply = self._transact(self.client.aarqRequest())
        self.client.parseAareResponse(reply.data)
        if self.client.authentication > Authentication.LOW:
            reply = self._transact(self.client.getApplicationAssociationRequest())
            self.client.parseApplicationAssociationResponse(reply.data)

    def read(self, obj: GXDLMSObject, attribute_index: int) -> Any:
        """GET one attribute into ``obj`` (gurux's object model) and return its value."""
        reply = self._transact(self.client.read(obj, attribute_index))
        if obj.getDataType(attribute_index) == DataType.NONE:
            obj.setDataType(attribute_index, reply.valueType)
        return self.client.updateValue(obj, attribute_index, reply.value)

    def read_rows_by_entry(self, profile: GXDLMSProfileGeneric, index: int, count: int) -> Any:
        """Profile buffer by entry selective access (rows ``index``..``index+count-1``, 1-based)."""
        reply = self._transact(self.client.readRowsByEntry(profile, index, count))
        return self.client.updateValue(profile, 2, reply.value)

    def read_rows_by_range(self, profile: GXDLMSProfileGeneric, start: Any, end: Any) -> Any:
        """Profile buffer by range selective access on the first capture object."""
        reply = self._transact(self.client.readRowsByRange(profile, start, end))
        return self.client.updateValue(profile, 2, reply.value)

    def write(self, obj: GXDLMSObject, attribute_index: int) -> None:
        self._transact(self.client.write(obj, attribute_index))

    def method(self, obj: GXDLMSObject, method_index: int, value: Any, data_type: DataType) -> Any:
        reply = self._transact(self.client.method(obj, method_index, value, data_type))
        return reply.value

    def release(self) -> None:
        """RLRQ and wait for the RLRE; nothing is sent if gurux is not associated."""
        self._transact(self.client.releaseRequest())

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> GuruxUdpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
