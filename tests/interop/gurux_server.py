"""A small gurux-dlms meter on a loopback UDP socket, to prove gurux_client.py.

This is a check of the test driver, not of dlmsmesh: until ``dlmsmesh serve``
exists, the only real peer for GuruxUdpClient is gurux's own server classes.
gurux-dlms 1.0.203's Python server is unfinished, and the shims below are
what it takes to run it over the wrapper (each says which gap it fills):

* GXDLMSServer.handleRequest calls ``sr.setReply`` / ``sr.getConnectionInfo``
  and the LN command handler ``sr.getCount``/``setCount``, which
  GXServerReply does not have: ``_ServerReply`` adds them.
* The LN command handler calls ``server.notifyRead()``,
  ``server.onPostRead()`` without arguments, ``server.setTransaction`` /
  ``getTransaction`` and ``server.notifyConnected``, none of which
  GXDLMSServer defines: ``GuruxMeter`` defines them; and
  ``transaction.setData``, which GXDLMSLongTransaction lacks:
  ``_LongTransaction`` adds it.
* GXDLMSSecureServer stores its GXCiphering as ``settings.ciphering`` while
  everything reads ``settings.cipher``: ``GuruxMeter`` sets ``cipher``.
* The GET next-data-block handler reads ``settings.gbtWndowSize`` (sic).
* GXDLMSServer.handleAarqRequest builds its AARE with _GXAPDU.generateAARE,
  which mis-encodes the responding-AP-title and responding authentication
  value: ``GuruxMeter.handleAarqRequest`` keeps gurux's parsing and
  authentication flow and encodes the AARE itself.
* GXDLMS.handleGloDedRequest builds its AesGcmParameter with the
  arguments shifted (no block cipher key), so no glo-ciphered request
  decrypts: ``GuruxMeter.handle`` deciphers it with gurux's own
  GXCiphering.decrypt and the right parameters before handing it over;
  gurux ciphers the response itself.
* The ACTION handler calls ``list(e)`` on a ValueEventArgs and
  ``settings.setConnected``, and GXDLMSAssociationLogicalName.invoke does
  ``int(bytearray)`` on the HLS pass-3 parameter: ``GuruxMeter.handle``
  answers reply_to_HLS_authentication itself, computing and checking both
  GMAC proofs with gurux's GXSecure.secure.

gurux-dlms is GPL: test-only, never in the wheel.
"""

from __future__ import annotations

import datetime
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from gurux_dlms import GXByteBuffer, GXCiphering, GXDateTime, GXDLMSException
from gurux_dlms._GXAPDU import _GXAPDU
from gurux_dlms.AesGcmParameter import AesGcmParameter
from gurux_dlms.ConnectionState import ConnectionState
from gurux_dlms.enums import (
    AccessMode,
    AssociationResult,
    Authentication,
    Conformance,
    InterfaceType,
    MethodAccessMode,
    ObjectType,
    Security,
    SourceDiagnostic,
    Unit,
)
from gurux_dlms.GXDLMSLongTransaction import GXDLMSLongTransaction
from gurux_dlms.GXSecure import GXSecure
from gurux_dlms.objects import (
    GXDLMSAssociationLogicalName,
    GXDLMSCaptureObject,
    GXDLMSClock,
    GXDLMSData,
    GXDLMSProfileGeneric,
    GXDLMSRegister,
)
from gurux_dlms.objects.enums import AssociationStatus
from gurux_dlms.secure import GXDLMSSecureServer

WRAPPER_HEADER_LEN = 8
# glo-get/set/action-request
_GLO_REQUESTS = frozenset({0xC8, 0xC9, 0xCB})
_GLO_METHOD_RESPONSE = 0xCF
# action-request-normal, invoke-id (any), Association LN 0.0.40.0.0.255 method 1, parameters present
_HLS_PASS3 = bytes([0xC3, 0x01, 0x00, 0x00, 0x0F, 0, 0, 40, 0, 0, 255, 0x01, 0x01])
_HLS_PASS3_LEN = len(_HLS_PASS3)

PUBLIC_CLIENT = 16
MANAGEMENT_CLIENT = 1
MANAGEMENT_LD = 1

CLOCK_LN = "0.0.1.0.0.255"
LDN_LN = "0.0.42.0.0.255"
ENERGY_LN = "1.0.1.8.0.255"
PROFILE_LN = "1.0.99.1.0.255"
ASSOCIATION_LN = "0.0.40.0.0.255"
EPOCH = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


@dataclass
class MeterConfig:
    """What the management client (SAP 1) must present; SAP 16 is always
    the public client with no authentication and no security."""

    authentication: Authentication = Authentication.NONE
    password: bytes = b""
    security: Security = Security.NONE
    system_title: bytes = b"GRXMTR01"
    block_cipher_key: bytes = bytes(range(16))
    authentication_key: bytes = bytes(range(0xD0, 0xE0))
    max_pdu_size: int = 1024
    logical_device_name: bytes = b"GRXMTR0000000001"
    energy: int = 123456
    energy_scaler: int = -3
    rows: int = 400
    general_block_transfer: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class _ServerReply:
    """GXServerReply with the accessors GXDLMSServer actually calls."""

    def __init__(self, data: bytes) -> None:
        self.data = bytearray(data)
        self.reply: bytes | bytearray | None = None
        self.count = 0
        self.connectionInfo = None

    def isStreaming(self) -> bool:  # noqa: N802 (gurux's name)
        return self.count != 0

    def setReply(self, value: bytes | bytearray | None) -> None:  # noqa: N802
        self.reply = value

    def getConnectionInfo(self) -> None:  # noqa: N802
        return self.connectionInfo

    def getCount(self) -> int:  # noqa: N802
        return self.count

    def setCount(self, value: int) -> None:  # noqa: N802
        self.count = value


class _LongTransaction(GXDLMSLongTransaction):
    """GXDLMSLongTransaction with the setData the next-data-block handler calls."""

    def setData(self, value: GXByteBuffer) -> None:  # noqa: N802
        # like the constructor: keep what is left of the buffer from its position on
        self.data = GXByteBuffer()
        self.data.set(value)


class GuruxMeter(GXDLMSSecureServer):
    """One gurux meter: clock, logical device name, an energy register and a
    load profile of ``config.rows`` rows, served by management LD 1."""

    def __init__(self, config: MeterConfig) -> None:
        super().__init__(True, InterfaceType.WRAPPER)
        self.config = config
        cipher = GXCiphering(bytearray(config.system_title))
        cipher.blockCipherKey = bytearray(config.block_cipher_key)
        cipher.authenticationKey = bytearray(config.authentication_key)
        self.settings.cipher = cipher
        self.settings.maxServerPDUSize = config.max_pdu_size
        if config.general_block_transfer:
            self.conformance |= Conformance.GENERAL_BLOCK_TRANSFER
        # the next-data-block handler reads this misspelt name
        self.settings.gbtWndowSize = self.settings.gbtWindowSize
        self._transaction: Any = None
        self.events: list[tuple[str, Any]] = []

        self.clock = GXDLMSClock(CLOCK_LN)
        self.clock.time = GXDateTime(EPOCH)
        self.ldn = GXDLMSData(LDN_LN)
        self.ldn.value = bytearray(config.logical_device_name)
        self.energy = GXDLMSRegister(ENERGY_LN)
        # gurux keeps the scaler as the multiplier 10**scaler
        self.energy.scaler = 10.0**config.energy_scaler
        self.energy.unit = Unit.ACTIVE_ENERGY
        self.energy.value = config.energy
        self.profile = GXDLMSProfileGeneric(PROFILE_LN)
        self.profile.capturePeriod = 900
        self.profile.captureObjects.append((self.clock, GXDLMSCaptureObject(2, 0)))
        self.profile.captureObjects.append((self.energy, GXDLMSCaptureObject(2, 0)))
        self.profile.buffer = [self.row(i) for i in range(config.rows)]
        self.profile.entriesInUse = config.rows
        self.profile.profileEntries = config.rows
        association = GXDLMSAssociationLogicalName(ASSOCIATION_LN)
        association.authenticationMechanismName.mechanismId = config.authentication
        if config.password:
            association.secret = bytearray(config.password)
        self.association = association
        for obj in (self.clock, self.ldn, self.energy, self.profile, association):
            self.items.append(obj)
            # initialize() would append the whole collection as one item, which the collection refuses
            association.objectList.append(obj)
        self.initialize()

    @staticmethod
    def row(index: int) -> list[Any]:
        return [GXDateTime(EPOCH + datetime.timedelta(minutes=15 * index)), 1000 + 7 * index]

    # -- who may associate -----------------------------------------------

    def isTarget(self, serverAddress: int, clientAddress: int) -> bool:  # noqa: N802,N803
        self.events.append(("target", (serverAddress, clientAddress)))
        return serverAddress == MANAGEMENT_LD and clientAddress in (PUBLIC_CLIENT, MANAGEMENT_CLIENT)

    def onValidateAuthentication(self, authentication: Authentication, password: Any) -> SourceDiagnostic:  # noqa: N802
        client = self.settings.clientAddress
        if client == PUBLIC_CLIENT:
            ok = authentication == Authentication.NONE
        else:
            ok = authentication == self.config.authentication
            if ok and authentication == Authentication.LOW:
                ok = bytes(password or b"") == self.config.password
            if ok and self.config.security != Security.NONE:
                ok = self.settings.cipher.security == self.config.security
        self.events.append(("authenticate", (client, int(authentication), ok)))
        if not ok:
            return SourceDiagnostic.AUTHENTICATION_FAILURE
        return SourceDiagnostic.NONE

    # -- the hooks gurux's handlers call --------------------------------

    def onGetAttributeAccess(self, arg: Any) -> AccessMode:  # noqa: N802
        return AccessMode.READ

    def onGetMethodAccess(self, arg: Any) -> MethodAccessMode:  # noqa: N802
        return MethodAccessMode.ACCESS

    def onFindObject(self, objectType: ObjectType, sn: int, ln: str) -> Any:  # noqa: N802,N803
        return None

    def onPreRead(self, args: Any) -> None:  # noqa: N802
        pass

    def onPostRead(self, args: Any = None) -> None:  # noqa: N802
        pass

    def notifyRead(self) -> None:  # noqa: N802
        pass

    def onPreGet(self, args: Any) -> None:  # noqa: N802
        pass

    def onPostGet(self, args: Any) -> None:  # noqa: N802
        pass

    def onPreWrite(self, args: Any) -> None:  # noqa: N802
        pass

    def onPostWrite(self, args: Any) -> None:  # noqa: N802
        pass

    def onPreAction(self, args: Any) -> None:  # noqa: N802
        pass

    def onPostAction(self, args: Any) -> None:  # noqa: N802
        pass

    def onConnected(self, connectionInfo: Any) -> None:  # noqa: N802,N803
        self.events.append(("connected", self.settings.clientAddress))

    def notifyConnected(self, connectionInfo: Any) -> None:  # noqa: N802,N803
        self.events.append(("connected", self.settings.clientAddress))

    def onInvalidConnection(self, connectionInfo: Any) -> None:  # noqa: N802,N803
        self.events.append(("invalid", self.settings.clientAddress))

    def onDisconnected(self, connectionInfo: Any) -> None:  # noqa: N802,N803
        self.events.append(("disconnected", self.settings.clientAddress))

    def getTransaction(self) -> Any:  # noqa: N802
        return self._transaction

    def setTransaction(self, value: Any) -> None:  # noqa: N802
        if value is not None and not isinstance(value, _LongTransaction):
            value.__class__ = _LongTransaction
        self._transaction = value

    @property
    def transaction(self) -> Any:
        return self._transaction

    @transaction.setter
    def transaction(self, value: Any) -> None:
        self.setTransaction(value)

    def handleAarqRequest(self, data: GXByteBuffer, connectionInfo: Any) -> None:  # noqa: N802,N803
        """gurux's AARQ handling, with an AARE this module encodes: gurux's
        generateAARE writes the responding-AP-title and the responding
        authentication value with wrong lengths (and one call without its
        argument), so no HLS or ciphered association survives it."""
        settings = self.settings
        settings.setCtoSChallenge(None)
        settings.cipher.setDedicatedKey(None)
        self.reset(True)
        result = AssociationResult.ACCEPTED
        try:
            diagnostic = _GXAPDU.parsePDU(settings, settings.cipher, data, None)
            if diagnostic == SourceDiagnostic.NONE:
                diagnostic = self.onValidateAuthentication(settings.authentication, settings.password)
            if diagnostic != SourceDiagnostic.NONE:
                result = AssociationResult.PERMANENT_REJECTED
            elif settings.authentication > Authentication.LOW:
                diagnostic = SourceDiagnostic.AUTHENTICATION_REQUIRED
                settings.setStoCChallenge(GXSecure.generateChallenge())
                self.association.associationStatus = AssociationStatus.ASSOCIATION_PENDING
            else:
                self.association.associationStatus = AssociationStatus.ASSOCIATED
                settings.connected |= ConnectionState.DLMS
        except GXDLMSException as exc:
            result, diagnostic = exc.result, exc.diagnostic
        self.replyData.set(self.aare(result, diagnostic))

    def aare(self, result: int, diagnostic: int) -> bytes:
        settings = self.settings
        cipher = settings.cipher
        ciphered = cipher.security != Security.NONE
        body = bytearray()
        body += bytes([0xA1, 0x09, 0x06, 0x07, 0x60, 0x85, 0x74, 0x05, 0x08, 0x01, 3 if ciphered else 1])
        body += bytes([0xA2, 0x03, 0x02, 0x01, int(result)])
        body += bytes([0xA3, 0x05, 0xA1, 0x03, 0x02, 0x01, int(diagnostic)])
        if ciphered or settings.authentication == Authentication.HIGH_GMAC:
            title = bytes(cipher.systemTitle)
            body += bytes([0xA4, 2 + len(title), 0x04, len(title)]) + title
        if result == AssociationResult.ACCEPTED and settings.authentication > Authentication.LOW:
            challenge = bytes(settings.stoCChallenge)
            body += bytes([0x88, 0x02, 0x07, 0x80])
            body += bytes([0x89, 0x07, 0x60, 0x85, 0x74, 0x05, 0x08, 0x02, int(settings.authentication)])
            body += bytes([0xAA, 2 + len(challenge), 0x80, len(challenge)]) + challenge
        if result == AssociationResult.ACCEPTED:
            initiate = bytes(_GXAPDU.getUserInformation(settings, cipher))
            if ciphered:
                # getUserInformation ciphers with the current IC but does not move it on
                cipher.invocationCounter += 1
            body += bytes([0xBE, 2 + len(initiate), 0x04, len(initiate)]) + initiate
        return bytes([0x61, len(body)]) + bytes(body)

    def handle(self, datagram: bytes) -> bytes | None:
        """One request WPDU in, the reply WPDU (or None) out."""
        header, apdu = datagram[:WRAPPER_HEADER_LEN], datagram[WRAPPER_HEADER_LEN:]
        ciphered = bool(apdu) and apdu[0] in _GLO_REQUESTS and self.settings.cipher.security != Security.NONE
        if ciphered:
            apdu = self._decipher(apdu)
        if apdu[:_HLS_PASS3_LEN] == _HLS_PASS3[:2] + apdu[2:3] + _HLS_PASS3[3:]:
            reply = self._reply_to_hls(apdu)
            if ciphered:
                reply = self._cipher(_GLO_METHOD_RESPONSE, reply)
            # a reply's wPorts are the request's, swapped
            return header[:2] + header[4:6] + header[2:4] + len(reply).to_bytes(2, "big") + reply
        sr = _ServerReply(header[:6] + len(apdu).to_bytes(2, "big") + apdu)
        self.handleRequest(sr)
        return bytes(sr.reply) if sr.reply else None

    def _decipher(self, apdu: bytes) -> bytes:
        cipher = self.settings.cipher
        p = AesGcmParameter(0, self.settings.sourceSystemTitle, cipher.blockCipherKey, cipher.authenticationKey)
        return bytes(GXCiphering.decrypt(self.settings, p, GXByteBuffer(bytearray(apdu))))

    def _cipher(self, tag: int, apdu: bytes) -> bytes:
        cipher = self.settings.cipher
        p = AesGcmParameter(tag, cipher.systemTitle, cipher.blockCipherKey, cipher.authenticationKey)
        p.security = cipher.security
        p.invocationCounter = cipher.invocationCounter
        cipher.invocationCounter += 1
        return bytes(GXCiphering.encrypt(p, bytearray(apdu)))

    def _reply_to_hls(self, apdu: bytes) -> bytes:
        """action-response to reply_to_HLS_authentication: f(CtoS) when the
        client's f(StoC) checks out, else other-reason with no data."""
        settings = self.settings
        invoke_id = apdu[2]
        proof = apdu[_HLS_PASS3_LEN + 2 :]  # after the octet-string tag and length
        ok = settings.authentication == Authentication.HIGH_GMAC and len(proof) == 17
        ic = int.from_bytes(proof[1:5], "big") if ok else -1
        if ok:
            expected = GXSecure.secure(
                settings, settings.cipher, ic, settings.stoCChallenge, settings.sourceSystemTitle
            )
            ok = bytes(expected) == proof
        self.events.append(("hls-pass3", (ok, ic)))
        if not ok:
            self.association.associationStatus = AssociationStatus.NON_ASSOCIATED
            return bytes([0xC7, 0x01, invoke_id, 250, 0x00])
        answer = bytes(
            GXSecure.secure(
                settings,
                settings.cipher,
                settings.cipher.invocationCounter,
                settings.ctoSChallenge,
                settings.cipher.systemTitle,
            )
        )
        settings.cipher.invocationCounter += 1
        self.association.associationStatus = AssociationStatus.ASSOCIATED
        settings.connected |= ConnectionState.DLMS
        return bytes([0xC7, 0x01, invoke_id, 0x00, 0x01, 0x00, 0x09, len(answer)]) + answer


@contextmanager
def serving(config: MeterConfig, host: str = "127.0.0.1") -> Iterator[tuple[GuruxMeter, tuple[str, int]]]:
    """The meter on an ephemeral loopback UDP port, answered from a thread.

    Requests are served strictly one at a time (gurux's server keeps one
    association's state) and replies go to the datagram's source address.
    """
    meter = GuruxMeter(config)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind((host, 0))
    sock.settimeout(0.05)
    stop = threading.Event()
    errors: list[BaseException] = []

    def loop() -> None:
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                reply = meter.handle(data)
            except Exception as exc:  # a test asserts on errors, the thread must not die silently
                errors.append(exc)
                continue
            if reply:
                sock.sendto(reply, peer)

    thread = threading.Thread(target=loop, name="gurux-meter", daemon=True)
    thread.start()
    try:
        yield meter, sock.getsockname()[:2]
    finally:
        stop.set()
        thread.join(timeout=5)
        sock.close()
    if errors:
        raise errors[0]


def buffer_bytes(data: Any) -> bytes:
    return bytes(data.array() if isinstance(data, GXByteBuffer) else data)
