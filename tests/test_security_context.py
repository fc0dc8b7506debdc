"""SecurityContext and Keyring: every protection form round trip, policy and
suite rules, key hygiene (repr, logs, exceptions, pickling), general-signing,
HLS mechanisms 6/7 and LLS, counter exhaustion, batches from many meters."""

from __future__ import annotations

import logging
import pickle

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from dlmsmesh import security as sec
from dlmsmesh.errors import AuthenticationError, DecodeError, DlmsError, EncodeError, ReplayError, SecurityError
from dlmsmesh.security import (
    DEFAULT_POLICY,
    KeyInfoKind,
    Keyring,
    KeySet,
    MemoryCounterStore,
    Protection,
    Role,
    SecurityContext,
    SecurityPolicy,
    hls,
)

CLIENT = bytes.fromhex("4D4D4D0000000001")
METER = bytes.fromhex("4D4D4D0000BC614E")
EK = bytes.fromhex("8F1C7A2E5B3D49A0C6E1F2D3B4A59687")
AK = bytes.fromhex("1A2B3C4D5E6F708192A3B4C5D6E7F809")
BK = bytes.fromhex("F0E1D2C3B4A5968778695A4B3C2D1E0F")
DK = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
KEK = bytes.fromhex("00FF11EE22DD33CC44BB55AA66997788")
SECRETS = (EK, AK, BK, DK, KEK)
GET = bytes.fromhex("C0010000080000010000FF0200")
NOTIFY = bytes.fromhex("0F000000010002020906000001000000FF1200E6")


def pair(**kw: object) -> tuple[SecurityContext, SecurityContext]:
    """(client, meter) sharing keys."""
    keys = {"ek": EK, "ak": AK, "bk": BK, "dk": DK, "kek": KEK}
    keys.update(kw)  # type: ignore[arg-type]
    client = SecurityContext(CLIENT, peer_system_title=METER, **keys)  # type: ignore[arg-type]
    meter = SecurityContext(METER, peer_system_title=CLIENT, role=Role.SERVER, **keys)  # type: ignore[arg-type]
    return client, meter


@pytest.mark.parametrize(
    "kwargs, tag",
    [
        ({}, "glo-get-request"),
        ({"dedicated": True}, "ded-get-request"),
        ({"general": True}, "general-glo-ciphering"),
        ({"general": True, "dedicated": True}, "general-ded-ciphering"),
        ({"general": True, "broadcast": True}, "general-glo-ciphering"),
        ({"broadcast": True}, "glo-get-request"),
    ],
)
def test_protect_forms_round_trip(backend: str, kwargs: dict[str, bool], tag: str) -> None:
    client, meter = pair()
    frame = client.protect(GET, **kwargs)
    opened = meter.unprotect(frame)
    assert opened.plaintext == GET
    assert opened.info.name == tag
    assert opened.info.system_title == CLIENT
    want = (
        KeySet.DEDICATED if kwargs.get("dedicated") else KeySet.BROADCAST if kwargs.get("broadcast") else KeySet.UNICAST
    )
    assert opened.info.key_set is want


@pytest.mark.parametrize(
    "key_info, broadcast, key_set",
    [
        (KeyInfoKind.NONE, False, KeySet.UNICAST),
        (KeyInfoKind.NONE, True, KeySet.BROADCAST),
        (KeyInfoKind.IDENTIFIED, False, KeySet.UNICAST),
        (KeyInfoKind.IDENTIFIED, True, KeySet.BROADCAST),
        (KeyInfoKind.WRAPPED, False, KeySet.UNICAST),
    ],
)
def test_general_ciphering_key_info(backend: str, key_info: KeyInfoKind, broadcast: bool, key_set: KeySet) -> None:
    client, meter = pair()
    frame = client.protect_general_ciphering(
        NOTIFY, key_info=key_info, broadcast=broadcast, date_time=bytes(12), other_information=b"\x01\x02"
    )
    opened = meter.unprotect(frame)
    assert opened.plaintext == NOTIFY
    info = opened.info
    assert (info.key_info, info.key_set, info.date_time, info.other_information) == (
        key_info,
        key_set,
        bytes(12),
        b"\x01\x02",
    )
    with pytest.raises(ReplayError):
        meter.unprotect(frame)
    if key_info is KeyInfoKind.WRAPPED:
        # the content key is fresh per frame and travels wrapped
        again = client.protect_general_ciphering(NOTIFY, key_info=key_info)
        assert again[-30:] != frame[-30:]
        no_kek = SecurityContext(METER, peer_system_title=CLIENT, ek=EK, ak=AK, role=Role.SERVER)
        with pytest.raises(SecurityError):
            no_kek.unprotect(again)
        wrong_kek = SecurityContext(METER, peer_system_title=CLIENT, ek=EK, ak=AK, kek=BK, role=Role.SERVER)
        with pytest.raises(AuthenticationError):
            wrong_kek.unprotect(again)


def test_agreed_key_is_not_supported(backend: str) -> None:
    client, meter = pair()
    with pytest.raises(EncodeError, match="agreed-key"):
        client.protect_general_ciphering(GET, key_info=KeyInfoKind.AGREED)
    frame = client.protect_general_ciphering(GET, key_info=KeyInfoKind.IDENTIFIED)
    env = sec.parse(frame)
    # rewrite key-info as agreed-key {01, 64 bytes}
    at = env.header + env.header_len
    agreed = frame[:at] + bytes.fromhex("0102") + b"\x01\x01\x40" + bytes(64) + frame[at + 3 :]
    with pytest.raises(SecurityError, match="agreed-key"):
        meter.unprotect(agreed)


def test_policy_both_ways(backend: str) -> None:
    client, meter = pair()
    with pytest.raises(EncodeError, match="weaker"):
        client.protect(GET, protection=Protection.AUTHENTICATION)
    lax_client = SecurityContext(CLIENT, peer_system_title=METER, ek=EK, ak=AK, policy=SecurityPolicy.NONE)
    frame = lax_client.protect(GET, protection=Protection.AUTHENTICATION)
    with pytest.raises(SecurityError, match="weaker than the security policy"):
        meter.unprotect(frame)
    meter.policy = SecurityPolicy.AUTHENTICATED_REQUEST
    assert meter.unprotect(frame).plaintext == GET
    assert sec.parse(lax_client.protect(GET)).sc == 0x30  # nothing asked: the strongest
    with pytest.raises(EncodeError, match="protects nothing"):
        lax_client.protect(GET, protection=Protection.NONE)


def test_suite_and_key_sizes(backend: str) -> None:
    with pytest.raises(EncodeError, match="32 bytes for suite 2"):
        SecurityContext(CLIENT, suite=2, ek=EK)
    with pytest.raises(EncodeError, match="suite must be"):
        SecurityContext(CLIENT, suite=3)
    client, _ = pair()
    suite1 = SecurityContext(METER, peer_system_title=CLIENT, suite=1, ek=EK, ak=AK, role=Role.SERVER)
    with pytest.raises(SecurityError, match="suite differs"):
        suite1.unprotect(client.protect(GET))


def test_missing_keys(backend: str) -> None:
    client = SecurityContext(CLIENT, peer_system_title=METER, ek=EK, ak=AK)
    with pytest.raises(EncodeError, match="no dedicated key"):
        client.protect(GET, dedicated=True)
    with pytest.raises(EncodeError, match="no authentication key"):
        SecurityContext(CLIENT, ek=EK).protect(GET)
    with pytest.raises(EncodeError, match="never a broadcast"):
        client.protect(GET, dedicated=True, broadcast=True)
    with pytest.raises(EncodeError, match="no service-specific"):
        client.protect(NOTIFY)
    with pytest.raises(EncodeError, match="cannot send"):
        SecurityContext(peer_system_title=METER, ek=EK, ak=AK).protect(GET)


def test_dedicated_key_lifecycle(backend: str) -> None:
    client, meter = pair(dk=None)
    dk = client.new_dedicated_key()
    assert len(dk) == 16 and dk != client.new_dedicated_key()
    dk = client.new_dedicated_key()
    meter.set_keys(dk=dk)
    frame = client.protect(GET, dedicated=True)
    assert meter.unprotect(frame).plaintext == GET
    meter.drop_dedicated_key()
    with pytest.raises(SecurityError, match="no key"):
        meter.unprotect(client.protect(GET, dedicated=True))
    # a new key starts its own counters
    assert client.next_invocation_counter(KeySet.DEDICATED) == 3
    client.new_dedicated_key()
    assert client.next_invocation_counter(KeySet.DEDICATED) == 1


def test_protect_batch_uses_consecutive_counters(backend: str) -> None:
    client, meter = pair()
    frames = client.protect_batch([GET] * 5)
    assert [sec.parse(f).ic for f in frames] == [1, 2, 3, 4, 5]
    result = meter.unprotect_batch(frames)
    assert result.plaintexts == [GET] * 5 and result.ok == 5
    info = result.info(4)
    assert info is not None and info.invocation_counter == 5 and info.key_set is KeySet.UNICAST
    assert client.protect_batch([]) == []


def test_counter_exhaustion_is_an_error_not_a_wrap(backend: str) -> None:
    client = SecurityContext(
        CLIENT, peer_system_title=METER, ek=EK, ak=AK, counters=MemoryCounterStore(first_counter=0xFFFFFFFE)
    )
    assert sec.parse(client.protect(GET)).ic == 0xFFFFFFFE
    with pytest.raises(SecurityError, match="exhausted"):
        client.protect_batch([GET, GET])
    assert sec.parse(client.protect(GET)).ic == 0xFFFFFFFF
    with pytest.raises(SecurityError, match="exhausted"):
        client.protect(GET)
    with pytest.raises(SecurityError, match="exhausted"):
        client.hls_gmac_response(b"12345678")


def test_unknown_peer_title_then_learned(backend: str) -> None:
    client, meter = pair()
    anyone = SecurityContext(METER, ek=EK, ak=AK, role=Role.SERVER)
    # a service-specific frame carries no title: nothing to build the IV from
    with pytest.raises(SecurityError, match="no system title"):
        anyone.unprotect(client.protect(GET))
    opened = anyone.unprotect(client.protect(GET, general=True))
    assert opened.info.system_title == CLIENT
    anyone.peer_system_title = CLIENT
    assert anyone.unprotect(client.protect(GET)).plaintext == GET


# --------------------------------------------------------------------------
# key hygiene
# --------------------------------------------------------------------------


def _leaks(text: str) -> list[str]:
    found = []
    for key in SECRETS:
        for form in (key.hex(), key.hex().upper(), repr(key), str(list(key))):
            if form in text:
                found.append(form)
    return found


def _flip_last(frame: bytes) -> bytes:
    """The frame with its last tag byte changed (XOR: overwriting with a constant was a no-op 1 time in 256)."""
    return frame[:-1] + bytes([frame[-1] ^ 0x01])


def _failures(client: SecurityContext, meter: SecurityContext) -> list[DlmsError]:
    frame = client.protect(GET)
    wrapped = client.protect_general_ciphering(GET, key_info=KeyInfoKind.WRAPPED)
    errors: list[DlmsError] = []
    attempts = [
        lambda: meter.unprotect(_flip_last(frame)),
        lambda: meter.unprotect(frame),
        lambda: meter.unprotect(frame),  # replay
        lambda: meter.unprotect(frame[:5]),
        lambda: meter.unprotect(b"\xc8\x01"),
        lambda: SecurityContext(METER, peer_system_title=CLIENT, ek=EK, ak=AK, suite=1).unprotect(frame),
        lambda: SecurityContext(CLIENT, ek=EK[:5]),
        lambda: meter.verify_hls_gmac(b"challenge", b"\x10" + bytes(16)),
        lambda: meter.unwrap(b"\x00" * 24),
        lambda: client.protect(NOTIFY),
        lambda: client.protect_general_ciphering(GET, key_info=KeyInfoKind.AGREED),
        lambda: meter.unprotect(_flip_last(wrapped)),
    ]
    for attempt in attempts:
        try:
            attempt()
        except DlmsError as err:
            errors.append(err)
    return errors


def test_keys_never_in_repr_logs_or_exceptions(backend: str, caplog: pytest.LogCaptureFixture) -> None:
    client, meter = pair()
    for ctx in (client, meter):
        assert not _leaks(repr(ctx)) and not _leaks(str(ctx))
        assert "keys set: ek,ak,bk,dk,kek" in repr(ctx)
    with caplog.at_level(logging.DEBUG, logger="dlmsmesh"):
        errors = _failures(client, meter)
    assert len(errors) >= 11
    assert {type(e) for e in errors} >= {AuthenticationError, ReplayError, DecodeError, SecurityError, EncodeError}
    for err in errors:
        text = " ".join([str(err), repr(err), repr(err.args), repr(vars(err))])
        assert not _leaks(text), (type(err), text)
    assert caplog.records, "failures are logged at debug level"
    for record in caplog.records:
        assert not _leaks(record.getMessage()) and not _leaks(repr(record.args))
    # the backend key objects and the counter store do not show keys either
    from dlmsmesh import _backend

    mod = _backend.live.secure
    assert not _leaks(repr(mod.new_key(EK, AK)))
    assert not _leaks(repr(client.counters)) and not _leaks(repr(vars(client.counters)))


def test_context_is_not_picklable(backend: str) -> None:
    client, _ = pair()
    with pytest.raises(TypeError, match="not picklable"):
        pickle.dumps(client)


# --------------------------------------------------------------------------
# suites 1/2: general-signing and HLS mechanism 7
# --------------------------------------------------------------------------


@pytest.mark.parametrize("suite, curve", [(1, ec.SECP256R1()), (2, ec.SECP384R1())])
def test_general_signing(backend: str, suite: int, curve: ec.EllipticCurve) -> None:
    size = 16 if suite == 1 else 32
    ek, ak = bytes(range(size)), bytes(range(100, 100 + size))
    client_key, meter_key = ec.generate_private_key(curve), ec.generate_private_key(curve)
    client = SecurityContext(
        CLIENT, peer_system_title=METER, suite=suite, ek=ek, ak=ak,
        signing_key=client_key, peer_signing_key=meter_key.public_key(),
    )  # fmt: skip
    meter = SecurityContext(
        METER, peer_system_title=CLIENT, suite=suite, ek=ek, ak=ak, role=Role.SERVER,
        signing_key=meter_key, peer_signing_key=client_key.public_key(),
    )  # fmt: skip
    signed = client.sign(GET, date_time=bytes(12))
    env = sec.parse(signed)
    assert env.signature_len == (64 if suite == 1 else 96)
    opened = meter.unprotect(signed)
    assert opened.plaintext == GET
    assert opened.info.name == "general-signing" and opened.info.security_control is None
    # signing a ciphered APDU: verified, then deciphered (and replay-checked)
    nested = client.sign(client.protect(GET))
    opened = meter.unprotect(nested)
    assert opened.plaintext == GET
    assert opened.info.inner is not None and opened.info.inner.name == "glo-get-request"
    for i in (3, len(signed) // 2, len(signed) - 1):
        bad = bytearray(signed)
        bad[i] ^= 0x01
        with pytest.raises(DlmsError) as caught:
            meter.unprotect(bytes(bad))
        assert not isinstance(caught.value, ReplayError)
    with pytest.raises(AuthenticationError, match="signature"):
        meter.unprotect(signed[:-1] + bytes((signed[-1] ^ 1,)))
    # HLS mechanism 7
    ctos, stoc = hls.new_challenge(), hls.new_challenge(32)
    f_stoc = hls.ecdsa_reply(client_key, CLIENT, METER, stoc, ctos)
    hls.verify_ecdsa_reply(f_stoc, client_key.public_key(), CLIENT, METER, stoc, ctos)
    with pytest.raises(AuthenticationError):
        hls.verify_ecdsa_reply(f_stoc, client_key.public_key(), METER, CLIENT, ctos, stoc)
    with pytest.raises(AuthenticationError):
        hls.verify_ecdsa_reply(f_stoc, meter_key.public_key(), CLIENT, METER, stoc, ctos)


def test_policy_asking_for_signatures(backend: str) -> None:
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = SecurityContext(CLIENT, peer_system_title=METER, suite=1, ek=EK, ak=AK, kek=KEK, signing_key=client_key)
    meter = SecurityContext(
        METER, peer_system_title=CLIENT, suite=1, ek=EK, ak=AK, kek=KEK, role=Role.SERVER,
        peer_signing_key=client_key.public_key(), policy=DEFAULT_POLICY | SecurityPolicy.DIGITALLY_SIGNED_REQUEST,
    )  # fmt: skip
    unsigned = [client.protect(GET), client.protect_general_ciphering(GET, key_info=KeyInfoKind.WRAPPED)]
    for frame in unsigned:
        with pytest.raises(SecurityError, match="weaker than the security policy"):
            meter.unprotect(frame)
    signed = client.sign(client.protect(GET))
    result = meter.unprotect_batch([*unsigned, signed])
    assert result.plaintexts == [None, None, GET]
    assert all("weaker" in str(e) for e in result.errors[:2])
    assert meter.unprotect(client.sign(client.protect(GET))).plaintext == GET


def test_wrapped_key_must_name_the_master_key(backend: str) -> None:
    client, meter = pair()
    frame = client.protect_general_ciphering(GET, key_info=KeyInfoKind.WRAPPED)
    env = sec.parse(frame)
    at = env.header + env.header_len  # 01 01 <kek-id> ...
    assert frame[at : at + 3] == b"\x01\x01\x00"
    other_kek = frame[: at + 2] + b"\x01" + frame[at + 3 :]
    with pytest.raises(SecurityError, match="no key"):
        meter.unprotect(other_kek)


def test_signing_rules(backend: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(EncodeError, match="suite 0 has no digital signatures"):
        SecurityContext(CLIENT, signing_key=key)
    with pytest.raises(EncodeError, match="suite 2 signs with secp384r1"):
        SecurityContext(CLIENT, suite=2, signing_key=key)
    with pytest.raises(EncodeError, match="needs a signing key"):
        SecurityContext(CLIENT, suite=1).sign(GET)
    signer = SecurityContext(CLIENT, suite=1, signing_key=key)
    with pytest.raises(SecurityError, match="no public key"):
        SecurityContext(METER, peer_system_title=CLIENT, suite=1).unprotect(signer.sign(GET))


def test_lls_and_challenges() -> None:
    assert hls.lls_password_matches(b"12345678", b"12345678")
    assert not hls.lls_password_matches(b"12345678", b"12345679")
    assert not hls.lls_password_matches(b"12345678", b"1234567")
    with pytest.raises(AuthenticationError):
        hls.verify_lls_password(b"12345678", b"")
    a, b = hls.new_challenge(), hls.new_challenge()
    assert len(a) == 16 and a != b
    with pytest.raises(EncodeError):
        hls.new_challenge(7)


# --------------------------------------------------------------------------
# many meters
# --------------------------------------------------------------------------


def test_keyring_batch_from_many_meters(backend: str) -> None:
    meters, ring = [], Keyring()
    for i in range(40):
        title = bytes.fromhex("4D4D4D00000000") + bytes((i * 7 % 256,))
        ek, ak = bytes([i]) * 16, bytes([255 - i]) * 16
        meters.append(SecurityContext(title, peer_system_title=CLIENT, ek=ek, ak=ak, role=Role.SERVER))
        ring.add(SecurityContext(CLIENT, peer_system_title=title, ek=ek, ak=ak))
    frames = []
    for n in range(3):
        for m in meters:
            frames.append(m.protect(NOTIFY[:-1] + bytes((n,)), general=True))
    stranger = SecurityContext(bytes(8), peer_system_title=CLIENT, ek=EK, ak=AK, role=Role.SERVER)
    frames.append(stranger.protect(NOTIFY, general=True))
    frames.append(frames[0])  # replay
    result = ring.unprotect_batch(frames)
    assert result.plaintexts[:120] == [NOTIFY[:-1] + bytes((n,)) for n in range(3) for _ in meters]
    assert isinstance(result.errors[120], SecurityError) and "no key for this sender" in str(result.errors[120])
    assert isinstance(result.errors[121], ReplayError)
    info = result.info(5)
    assert info is not None and info.system_title == meters[5].system_title
    assert ring.unprotect(meters[3].protect(NOTIFY, general=True)).plaintext == NOTIFY
    # a key change is picked up by the cached ring
    ctx = ring.get(meters[3].system_title)
    assert ctx is not None
    ctx.set_keys(ek=EK)
    with pytest.raises(AuthenticationError):
        ring.unprotect(meters[3].protect(NOTIFY, general=True))
    with pytest.raises(EncodeError):
        ring.add(SecurityContext(CLIENT))


def test_a_keyring_sees_a_key_changed_after_its_ring_was_built() -> None:
    """The keyring's ring is checked again only after some context changed
    (the change epoch): a key replaced between two batches is the one the
    next batch opens with."""
    from dlmsmesh.security import Keyring

    meter_a, meter_b = bytes.fromhex("4D4D4D0000000001"), bytes.fromhex("4D4D4D0000000002")
    head_end = bytes.fromhex("4845530000000001")
    old, new, ak = bytes(range(16)), bytes(range(1, 17)), bytes(range(16, 32))
    receivers = {t: SecurityContext(head_end, peer_system_title=t, ek=old, ak=ak) for t in (meter_a, meter_b)}
    ring = Keyring(receivers.values())
    apdu = bytes.fromhex("0F0000000100")

    def sent(title: bytes, ek: bytes) -> bytes:
        return SecurityContext(title, ek=ek, ak=ak, role="server").protect(apdu, general=True)

    first = ring.unprotect_batch([sent(meter_a, old), sent(meter_b, old)])
    assert first.errors == [None, None]
    unrelated = SecurityContext(head_end, ek=old, ak=ak)  # changes elsewhere bump the epoch too
    unrelated.set_keys(ek=new)
    assert ring.unprotect_batch([sent(meter_a, old)], replay_check=False).errors == [None]
    receivers[meter_b].set_keys(ek=new)
    second = ring.unprotect_batch([sent(meter_a, old), sent(meter_b, new), sent(meter_b, old)], replay_check=False)
    assert second.errors[0] is None and second.errors[1] is None and second.errors[2] is not None
