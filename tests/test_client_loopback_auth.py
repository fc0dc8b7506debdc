"""COSEM-OPEN through the Client against the Server with every
authentication mechanism (none, LLS, HLS-GMAC, HLS-SHA256, HLS-ECDSA) and
the ciphered contexts of suites 0, 1 and 2 (global and dedicated keys), and
the pre-established association (no AARQ, general-glo-ciphering)."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from dlmsmesh import wrapper
from dlmsmesh.client.errors import AssociationRefused, AuthenticationFailed, HlsFailed
from dlmsmesh.client.opening import policy_of
from dlmsmesh.server import PRE_ESTABLISHED_CLIENT, MeterKeys
from dlmsmesh.types import Long

from .loopback_support import AK, AUTHENC, EK, HEAD_END, PASSWORD, TITLE, loopback, make_meter, record

LDN = (1, "0.0.42.0.0.255", 2)
TIME_ZONE = (8, "0.0.1.0.0.255", 3)
IC_OBJECT = (1, "0.0.43.1.0.255", 2)
HLS_SECRET = b"a very secret HLS-SHA256 secret!"
NAME = b"MMM0000012345678"
#: plain, glo- and ded- get-requests; general-glo-ciphering
GET, GLO_GET, DED_GET, GENERAL_GLO = 0xC0, 0xC8, 0xD0, 0xDB
CURVES = {1: ec.SECP256R1, 2: ec.SECP384R1}


def suite_keys(suite: int) -> dict[str, Any]:
    size = 32 if suite == 2 else 16
    return {name: bytes((base + i) & 0xFF for i in range(size)) for name, base in (("ek", 0), ("ak", 64), ("bk", 128))}


async def use(meter: Any) -> None:
    """What every opened association must do: read, write, read back."""
    assert await meter.get(LDN) == NAME
    await meter.set(TIME_ZONE, Long(-30))
    assert await meter.get(TIME_ZONE) == Long(-30)


@pytest.mark.asyncio
async def test_no_authentication_public_client() -> None:
    async with loopback() as lb:
        sent = record(lb.client)
        async with lb.client.associate(TITLE) as meter:
            assert meter.open and await meter.get(LDN) == NAME
        assert sent[0][0] == 0x60 and sent[-1][0] == 0x62  # AARQ ... RLRQ
        assert not meter.open
        assert lb.server.stats.associations_opened == 1 and lb.server.stats.associations_released == 1
        assert lb.client.stats.associations_released == 1


@pytest.mark.asyncio
async def test_lls() -> None:
    async with loopback(make_meter(authentication="lls", secret=PASSWORD)) as lb:
        async with lb.client.associate(TITLE, client_sap=1, auth="lls", password=PASSWORD) as meter:
            await use(meter)
        # the password as text works the same
        async with lb.client.associate(TITLE, client_sap=1, auth="lls", password=PASSWORD.decode()) as meter:
            assert await meter.get(TIME_ZONE) == Long(-30)


@pytest.mark.asyncio
async def test_lls_wrong_password_is_authentication_failed() -> None:
    async with loopback(make_meter(authentication="lls", secret=PASSWORD)) as lb:
        with pytest.raises(AuthenticationFailed):
            async with lb.client.associate(TITLE, client_sap=1, auth="lls", password=b"87654321"):
                pytest.fail("opened with the wrong password")
        assert lb.server.stats.associations_refused == 1
        # nothing is left behind: the right password opens the same SAPs
        async with lb.client.associate(TITLE, client_sap=1, auth="lls", password=PASSWORD) as meter:
            assert await meter.get(LDN) == NAME


@pytest.mark.asyncio
@pytest.mark.parametrize("security", ["auth", "enc", "authenc"])
async def test_hls_gmac_suite_0(security: str) -> None:
    # the meter's Security setup policy is the one the client asks for (another is refused)
    async with loopback(make_meter(authentication="hls-gmac", policy=int(policy_of(security)))) as lb:
        sent = record(lb.client)
        async with lb.client.associate(TITLE, client_sap=1, auth="hls-gmac", security=security, ek=EK, ak=AK) as meter:
            await use(meter)
        assert sent[0][0] == 0x60
        assert GLO_GET in {p[0] for p in sent} and GET not in {p[0] for p in sent}


@pytest.mark.asyncio
async def test_hls_gmac_wrong_key_fails() -> None:
    async with loopback(make_meter(authentication="hls-gmac", policy=int(AUTHENC))) as lb:
        # the meter cannot verify the ciphered InitiateRequest: it refuses the AARQ (no reason given)
        with pytest.raises(AssociationRefused):
            async with lb.client.associate(TITLE, client_sap=1, auth="hls-gmac", security="authenc", ek=EK,
                                           ak=bytes(16)):  # fmt: skip
                pytest.fail("opened with the wrong authentication key")
        assert lb.server.stats.associations_opened == 0 and lb.server.stats.associations_refused == 1


@pytest.mark.asyncio
async def test_hls_sha256_plain_context() -> None:
    async with loopback(make_meter(authentication="hls-sha256", secret=HLS_SECRET)) as lb:
        async with lb.client.associate(TITLE, client_sap=1, auth="hls-sha256", secret=HLS_SECRET) as meter:
            await use(meter)
        with pytest.raises(HlsFailed):
            async with lb.client.associate(TITLE, client_sap=1, auth="hls-sha256", secret=b"x" * 32):
                pytest.fail("opened with the wrong secret")


@pytest.mark.asyncio
@pytest.mark.parametrize("suite", [1, 2])
async def test_hls_gmac_ciphered_in_suites_1_and_2(suite: int) -> None:
    keys = suite_keys(suite)
    meter = make_meter(authentication="hls-gmac", policy=int(AUTHENC), suite=suite, keys=MeterKeys(suite=suite, **keys))
    async with loopback(meter) as lb:
        sent = record(lb.client)
        async with lb.client.associate(TITLE, client_sap=1, auth="hls-gmac", security="authenc", suite=suite,
                                       **keys) as opened:  # fmt: skip
            await use(opened)
        assert GLO_GET in {p[0] for p in sent}


@pytest.mark.asyncio
@pytest.mark.parametrize("suite", [1, 2])
async def test_hls_ecdsa(suite: int) -> None:
    keys = suite_keys(suite)
    server_key = ec.generate_private_key(CURVES[suite]())
    client_key = ec.generate_private_key(CURVES[suite]())
    meter_keys = MeterKeys(suite=suite, signing_key=server_key, client_signing_keys={HEAD_END: client_key.public_key()},
                           **keys)  # fmt: skip
    meter = make_meter(authentication="hls-ecdsa", policy=int(AUTHENC), suite=suite, keys=meter_keys)
    settings: dict[str, Any] = {"client_sap": 1, "auth": "hls-ecdsa", "security": "authenc", "suite": suite, **keys}
    async with loopback(meter) as lb:
        async with lb.client.associate(TITLE, signing_key=client_key, peer_signing_key=server_key.public_key(),
                                       **settings) as opened:  # fmt: skip
            await use(opened)
        # the meter's proof checked against the key the client holds for it
        impostor = ec.generate_private_key(CURVES[suite]())
        with pytest.raises(HlsFailed):
            async with lb.client.associate(TITLE, signing_key=client_key, peer_signing_key=impostor.public_key(),
                                           **settings):  # fmt: skip
                pytest.fail("accepted a proof signed by another key")


@pytest.mark.asyncio
@pytest.mark.parametrize("suite", [0, 1, 2])
async def test_dedicated_key_gives_ded_ciphering(suite: int) -> None:
    keys = suite_keys(suite) if suite else {"ek": EK, "ak": AK}
    meter = make_meter(authentication="hls-gmac", policy=int(AUTHENC), suite=suite,
                       keys=MeterKeys(suite=suite, **keys) if suite else None)  # fmt: skip
    async with loopback(meter) as lb:
        sent = record(lb.client)
        async with lb.client.associate(TITLE, client_sap=1, auth="hls-gmac", security="authenc", suite=suite,
                                       dedicated=True, **keys) as opened:  # fmt: skip
            assert opened.opening.dedicated_key is not None
            await use(opened)
        tags = {p[0] for p in sent}
        assert DED_GET in tags and GLO_GET not in tags and GET not in tags


@pytest.mark.asyncio
async def test_pre_established_association_opens_without_aarq() -> None:
    async with loopback() as lb:
        sent = record(lb.client)
        replies: list[bytes] = []
        original = lb.server.transport.send

        async def tap(data: bytes, destination: Any, **kwargs: Any) -> None:
            replies.append(wrapper.decode(data)[1])
            await original(data, destination, **kwargs)

        lb.server.transport.send = tap  # type: ignore[method-assign,assignment]
        async with lb.client.associate(TITLE, client_sap=PRE_ESTABLISHED_CLIENT, pre_established=True,
                                       security="authenc", ek=EK, ak=AK) as meter:  # fmt: skip
            assert await meter.get(LDN) == NAME
            assert await meter.get_many([LDN, TIME_ZONE]) == [NAME, Long(0)]
        # no AARQ, no RLRQ: general-glo both ways
        assert {p[0] for p in sent} == {p[0] for p in replies} == {GENERAL_GLO} and len(replies) == 2
        assert lb.server.stats.associations_opened == 0
        assert lb.client.stats.associations_opened == 1
