"""A small test client for :class:`dlmsmesh.server.Server`, built only from
dlmsmesh's own encoders: requests go in as wrapper datagrams through
``server.handle`` (or a real transport), replies come back decoded.

Every meter here is :func:`dlmsmesh.cosem.default_meter` at a fixed time, so
values are deterministic."""

from __future__ import annotations

import datetime as dt
from typing import Any

from dlmsmesh import acse, wrapper
from dlmsmesh import apdu as A
from dlmsmesh.acse_pdu import AARE, AARQ, RLRE, RLRQ, ApplicationContext, Mechanism
from dlmsmesh.apdu_model import AttributeDescriptor, MethodDescriptor
from dlmsmesh.cosem import default_meter
from dlmsmesh.cosem.typespec import octets
from dlmsmesh.security import Role, SecurityContext, SecurityPolicy
from dlmsmesh.security.hls import gmac_reply, new_challenge, sha256_reply, verify_gmac_reply, verify_sha256_reply
from dlmsmesh.server import Meter, MeterKeys, Server
from dlmsmesh.transport import Address, Incoming
from dlmsmesh.xdlms_initiate import Conformance, InitiateRequest, decode_user_information, encode_user_information

TITLE = bytes.fromhex("4D4D4D0000BC614E")
TITLE_B = bytes.fromhex("4D4D4D0000BC614F")
CLIENT_TITLE = bytes.fromhex("4845530000000001")
EK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
AK = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
BK = bytes.fromhex("101112131415161718191A1B1C1D1E1F")
KEK = bytes.fromhex("202122232425262728292A2B2C2D2E2F")
DK = bytes.fromhex("303132333435363738393A3B3C3D3E3F")
PASSWORD = b"12345678"
HLS_SECRET = b"a very secret HLS-SHA256 secret!"
NOW = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.timezone.utc)

SERVER = Address("fd00::1", 4059)
SERVER_B = Address("fd00::b", 4059)
PEER = Address("fd00::2", 50000)
OTHER_PEER = Address("fd00::3", 50000)

#: authenticated and encrypted requests and responses (security setup v1 bits)
AUTHENC = (
    SecurityPolicy.AUTHENTICATED_REQUEST | SecurityPolicy.ENCRYPTED_REQUEST
    | SecurityPolicy.AUTHENTICATED_RESPONSE | SecurityPolicy.ENCRYPTED_RESPONSE
)  # fmt: skip

CLOCK = AttributeDescriptor(8, "0.0.1.0.0.255", 2)
LDN = AttributeDescriptor(1, "0.0.42.0.0.255", 2)
IC_OBJECT = AttributeDescriptor(1, "0.0.43.1.0.255", 2)
IMPORT = AttributeDescriptor(3, "1.0.1.8.0.255", 2)
IMPORT_SCALER = AttributeDescriptor(3, "1.0.1.8.0.255", 3)
PROFILE = AttributeDescriptor(7, "1.0.99.1.0.255", 2)
CURRENT_ASSOCIATION = "0.0.40.0.0.255"
HLS_REPLY = MethodDescriptor(15, CURRENT_ASSOCIATION, 1)

FULL = (
    Conformance.GET | Conformance.SET | Conformance.ACTION | Conformance.SELECTIVE_ACCESS
    | Conformance.MULTIPLE_REFERENCES | Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ
    | Conformance.BLOCK_TRANSFER_WITH_SET_OR_WRITE | Conformance.BLOCK_TRANSFER_WITH_ACTION
)  # fmt: skip
WITH_GBT = FULL | Conformance.GENERAL_BLOCK_TRANSFER


def make_meter(
    *,
    title: bytes = TITLE,
    authentication: str = "none",
    secret: bytes = b"",
    policy: int = 0,
    keys: bool = True,
    address: str | None = None,
) -> Meter:
    objects = default_meter(title, now=lambda: NOW, authentication=authentication, secret=secret, policy=policy)
    meter_keys = MeterKeys(ek=EK, ak=AK, bk=BK, kek=KEK) if keys else None
    return Meter.from_objects(objects, keys=meter_keys, address=address)


def make_server(*meters: Meter, **kwargs: Any) -> Server:
    from dlmsmesh.transport import InProcessNetwork

    server = Server(InProcessNetwork(seed=1).endpoint(SERVER.host, SERVER.port), **kwargs)
    for meter in meters or (make_meter(),):
        server.add_meter(meter)
    return server


def client_context(*, policy: SecurityPolicy = AUTHENC, ek: bytes = EK, ak: bytes = AK, dk: bytes | None = None,
                   peer: bytes = TITLE, title: bytes = CLIENT_TITLE) -> SecurityContext:  # fmt: skip
    return SecurityContext(
        title, peer_system_title=peer, ek=ek, ak=ak, bk=BK, dk=dk, kek=KEK, policy=policy, role=Role.CLIENT
    )


def initiate(conformance: Conformance = FULL, max_pdu: int = 1200, **kwargs: Any) -> InitiateRequest:
    return InitiateRequest(conformance=conformance, max_receive_pdu_size=max_pdu, **kwargs)


class Client:
    """One client (SAP, address) of one server, talking through ``server.handle``."""

    def __init__(
        self,
        server: Server,
        *,
        client_sap: int = 16,
        server_sap: int = 1,
        source: Address = PEER,
        destination: Address = SERVER,
        ctx: SecurityContext | None = None,
    ) -> None:
        self.server = server
        self.client_sap = client_sap
        self.server_sap = server_sap
        self.source = source
        self.destination = destination
        self.ctx = ctx
        self.stoc: bytes | None = None
        self.ctos: bytes | None = None

    # -- raw datagrams ---------------------------------------------------------

    def datagram(self, apdu: bytes) -> bytes:
        return wrapper.encode(self.client_sap, self.server_sap, apdu)

    async def send_raw(self, apdu: bytes) -> list[bytes]:
        """The APDUs the server answers ``apdu`` with (wrapper checked)."""
        out = await self.server.handle(Incoming(self.datagram(apdu), self.source, self.destination))
        apdus = []
        for datagram in out:
            header, payload = wrapper.decode(datagram)
            assert header.destination_wport == self.client_sap
            expect_from = self.server_sap if self.server_sap != 0x7F else header.source_wport
            assert header.source_wport == expect_from
            apdus.append(payload)
        return apdus

    async def send(self, apdu: bytes) -> bytes:
        """The one APDU the server answers ``apdu`` with."""
        out = await self.send_raw(apdu)
        assert len(out) == 1, out
        return out[0]

    # -- protection ------------------------------------------------------------

    def protect(self, plain: bytes, cipher: str | None) -> bytes:
        if cipher is None:
            return plain
        assert self.ctx is not None
        return self.ctx.protect(plain, general=cipher.startswith("general"), dedicated=cipher.endswith("ded"))

    def open(self, frame: bytes) -> bytes:
        """The plaintext of a response (plain ones pass through)."""
        if frame[0] in (0xC4, 0xC5, 0xC7, 0xD8, 0xE0, 0x61, 0x63, 0x0E):
            return frame
        assert self.ctx is not None
        return self.ctx.unprotect(frame).plaintext

    # -- xDLMS ----------------------------------------------------------------

    async def request(self, request: A.Apdu, cipher: str | None = None) -> A.Apdu:
        frame = await self.send(self.protect(A.encode(request), cipher))
        return A.decode(self.open(frame))

    async def get(self, descriptor: AttributeDescriptor, cipher: str | None = None) -> Any:
        response = await self.request(A.GetRequestNormal(descriptor), cipher)
        assert isinstance(response, A.GetResponseNormal), response
        return response.result

    async def get_blocks(
        self, descriptor: AttributeDescriptor, cipher: str | None = None, limit: int = 500
    ) -> tuple[Any, int]:
        """A GET answered in datablocks, walked to the end: (value, blocks)."""
        from dlmsmesh import axdr

        response = await self.request(A.GetRequestNormal(descriptor), cipher)
        assert isinstance(response, A.GetResponseWithDatablock), response
        raw = bytearray(response.raw_data)  # type: ignore[arg-type]
        count = 1
        while not response.last_block:
            assert count < limit
            response = await self.request(A.GetRequestNext(response.block_number), cipher)
            assert isinstance(response, A.GetResponseWithDatablock), response
            assert response.block_number == count + 1
            raw += response.raw_data  # type: ignore[operator]
            count += 1
        return axdr.decode(bytes(raw)), count

    # -- ACSE -----------------------------------------------------------------

    async def associate(self, aarq: AARQ) -> AARE:
        reply = await self.send(acse.encode(aarq))
        aare = acse.decode(reply)
        assert isinstance(aare, AARE)
        if aare.responding_authentication_value is not None:
            self.stoc = aare.responding_authentication_value
        return aare

    async def release(self, rlrq: RLRQ | None = None) -> RLRE:
        rlre = acse.decode(await self.send(acse.encode(rlrq or RLRQ())))
        assert isinstance(rlre, RLRE)
        return rlre

    def ciphered_initiate(self, request: InitiateRequest) -> Any:
        assert self.ctx is not None
        return decode_user_information(self.ctx.protect(encode_user_information(request)))

    def hls_aarq(self, mechanism: Mechanism, request: InitiateRequest | None = None, *, ciphered: bool = True) -> AARQ:
        self.ctos = new_challenge(16)
        info: Any = request or initiate()
        if ciphered:
            info = self.ciphered_initiate(info)
        return AARQ(
            application_context=ApplicationContext.LOGICAL_NAME_CIPHERED
            if ciphered
            else ApplicationContext.LOGICAL_NAME,
            calling_ap_title=self.ctx.system_title if self.ctx is not None else CLIENT_TITLE,
            sender_acse_requirements="1",
            mechanism=mechanism,
            calling_authentication_value=self.ctos,
            user_information=info,
        )

    async def hls_gmac(self, request: InitiateRequest | None = None, cipher: str = "glo") -> A.ActionResponseNormal:
        """AARQ with HLS-GMAC, then pass 3; f(CtoS) checked."""
        aare = await self.associate(self.hls_aarq(Mechanism.HIGH_GMAC, request))
        assert aare.accepted, aare
        assert self.ctx is not None and self.stoc is not None and self.ctos is not None
        response = await self.request(A.ActionRequestNormal(HLS_REPLY, octets(gmac_reply(self.ctx, self.stoc))), cipher)
        assert isinstance(response, A.ActionResponseNormal), response
        assert response.result == 0, response
        verify_gmac_reply(self.ctx, self.ctos, bytes(response.return_parameters))
        return response

    async def hls_sha256(self, secret: bytes = HLS_SECRET) -> A.ActionResponseNormal:
        aare = await self.associate(self.hls_aarq(Mechanism.HIGH_SHA256, ciphered=False))
        assert aare.accepted, aare
        assert self.stoc is not None and self.ctos is not None
        assert aare.responding_ap_title == TITLE
        reply = sha256_reply(secret, CLIENT_TITLE, TITLE, self.stoc, self.ctos)
        response = await self.request(A.ActionRequestNormal(HLS_REPLY, octets(reply)))
        assert isinstance(response, A.ActionResponseNormal), response
        assert response.result == 0, response
        verify_sha256_reply(bytes(response.return_parameters), secret, TITLE, CLIENT_TITLE, self.ctos, self.stoc)
        return response


async def public_client(server: Server, **kwargs: Any) -> Client:
    """A public client (16) associated with no security."""
    client = Client(server, **kwargs)
    aare = await client.associate(AARQ(user_information=initiate()))
    assert aare.accepted, aare
    return client


async def management_client(server: Server, *, conformance: Conformance = FULL, max_pdu: int = 1200,
                            **kwargs: Any) -> Client:  # fmt: skip
    """The management client (1) of a meter made with ``authentication="hls-gmac"``
    and policy AUTHENC, through pass 3."""
    client = Client(server, client_sap=1, ctx=kwargs.pop("ctx", None) or client_context(), **kwargs)
    await client.hls_gmac(initiate(conformance, max_pdu))
    return client
