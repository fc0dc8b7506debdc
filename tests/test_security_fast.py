"""The receive side's fast road (``SecurityContext.open_glo``, ``verify_glo``
and ``accept_glo``) and the send side's sealer give exactly what
``unprotect`` and ``protect`` give, or stand aside with nothing recorded.

Every frame is offered to two contexts in the same state: one through the
fast road (falling back to ``unprotect`` when it stands aside, as its users
do), one through ``unprotect`` alone.  The outcomes (plaintext, or the
error's class and message) and the counters recorded afterwards must be the
same, frame after frame: valid frames, replays, reordered counters inside a
window, tampered tags and bodies, wrong keys, broadcast and dedicated keys,
general-glo frames, long-form lengths, truncations and random bytes.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from dlmsmesh import _backend
from dlmsmesh.errors import DlmsError
from dlmsmesh.security import MemoryCounterStore, Protection, SecurityContext, SecurityPolicy
from dlmsmesh.security.counters import InvocationCounterStore

from .helpers import BACKENDS

CLIENT = bytes.fromhex("4845530000000001")
METER = bytes.fromhex("4D4D4D0000BC614E")
EK = bytes(range(16))
AK = bytes(range(16, 32))
BK = bytes(range(32, 48))
DK = bytes(range(48, 64))
GET = bytes.fromhex("c001c100080000010000ff0200")
REPLY = bytes.fromhex("c401c100090c07ea0c0506") + bytes(9)


class _ListStore(InvocationCounterStore):
    """A store that is not a MemoryCounterStore (the fast road's other branch)."""

    def __init__(self) -> None:
        self.inner = MemoryCounterStore()

    def reserve(self, scope: str, count: int = 1) -> int:
        return self.inner.reserve(scope, count)

    def peek(self, scope: str) -> int:
        return self.inner.peek(scope)

    def accept_many(self, scopes: Any, counters: Any, window: int = 0) -> list[bool]:
        return self.inner.accept_many(scopes, counters, window)

    def last_accepted(self, scope: str) -> int | None:
        return self.inner.last_accepted(scope)


def _receiver(window: int, store: str, policy: SecurityPolicy) -> SecurityContext:
    counters: InvocationCounterStore = MemoryCounterStore() if store == "memory" else _ListStore()
    return SecurityContext(
        METER, peer_system_title=CLIENT, ek=EK, ak=AK, bk=BK, dk=DK, role="server",
        counters=counters, replay_window=window, policy=policy,
    )  # fmt: skip


def _frames(seed: int) -> list[bytes]:
    rng = random.Random(seed)
    sender = SecurityContext(CLIENT, peer_system_title=METER, ek=EK, ak=AK, bk=BK, dk=DK, policy=0)
    wrong = SecurityContext(CLIENT, peer_system_title=METER, ek=bytes(16), ak=AK)
    held: list[bytes] = []
    out: list[bytes] = []
    for _ in range(300):
        roll = rng.random()
        plain = rng.choice([GET, REPLY, GET[:3] + bytes([rng.randrange(256)]) + GET[4:]])
        if roll < 0.45:
            frame = sender.protect(plain)
        elif roll < 0.50:
            frame = sender.protect(plain, protection=Protection.AUTHENTICATION)
        elif roll < 0.54:
            frame = sender.protect(plain, protection=Protection.ENCRYPTION)
        elif roll < 0.58:
            frame = sender.protect(plain, broadcast=True)
        elif roll < 0.62:
            frame = sender.protect(plain, dedicated=True)
        elif roll < 0.66:
            frame = sender.protect(plain, general=True)
        elif roll < 0.70:
            frame = wrong.protect(plain)
        elif roll < 0.76 and held:
            frame = rng.choice(held)  # a replay, or an older counter inside or outside a window
        elif roll < 0.82:
            frame = bytearray(sender.protect(plain))
            frame[rng.randrange(len(frame))] ^= 1 << rng.randrange(8)
            frame = bytes(frame)
        elif roll < 0.86:
            frame = sender.protect(plain)
            frame = frame[: rng.randrange(len(frame))]
        elif roll < 0.89:
            frame = sender.protect(plain)
            frame = frame[:1] + b"\x81" + frame[1:2] + frame[2:]  # the same content, long-form length
        elif roll < 0.92:
            frame = sender.protect(plain) + b"\x00"
        elif roll < 0.95:
            frame = bytes([0xC8]) + rng.randbytes(rng.randrange(0, 40))
        else:
            frame = rng.randbytes(rng.randrange(0, 40))
        if rng.random() < 0.3:
            held.append(frame)
        out.append(frame)
    return out


def _outcome(call: Any) -> tuple[Any, ...]:
    try:
        opened = call()
    except DlmsError as err:
        return ("error", type(err).__name__, str(err))
    return ("opened", opened)


@pytest.mark.parametrize("window", [0, 8])
@pytest.mark.parametrize("store", ["memory", "other"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_open_glo_is_unprotect_or_stands_aside(window: int, store: str, seed: int) -> None:
    policy = SecurityPolicy.both_ways(Protection.AUTHENTICATED_ENCRYPTION) if seed == 3 else SecurityPolicy(0)
    fast, general = _receiver(window, store, policy), _receiver(window, store, policy)
    taken = 0
    for frame in _frames(seed):
        opened = fast.open_glo(frame)
        if opened is not None:
            taken += 1
            got = ("opened", opened[0])
            expected = _outcome(lambda: general.unprotect(frame).plaintext)  # noqa: B023
        else:
            got = _outcome(lambda: fast.unprotect(frame).plaintext)  # noqa: B023
            expected = _outcome(lambda: general.unprotect(frame).plaintext)  # noqa: B023
        assert got == expected, frame.hex()
    # the counters each recorded are the same
    scope = fast.counter_scope("rx", CLIENT, 0)  # type: ignore[arg-type]
    assert fast._counters.last_accepted(scope) == general._counters.last_accepted(scope)
    assert taken > 50  # the fast road took most valid frames


def test_open_glo_gives_the_counter_and_control_byte_unprotect_reports() -> None:
    sender = SecurityContext(CLIENT, peer_system_title=METER, ek=EK, ak=AK, policy=0)
    fast, general = _receiver(0, "memory", SecurityPolicy(0)), _receiver(0, "memory", SecurityPolicy(0))
    for protection in (Protection.AUTHENTICATED_ENCRYPTION, Protection.AUTHENTICATION, Protection.ENCRYPTION):
        frame = sender.protect(GET, protection=protection)
        plain, sc, ic = fast.open_glo(frame)  # type: ignore[misc]
        info = general.unprotect(frame).info
        assert (plain, sc, ic) == (GET, info.security_control, info.invocation_counter)


def test_verify_glo_records_nothing_until_accept_glo() -> None:
    sender = SecurityContext(CLIENT, peer_system_title=METER, ek=EK, ak=AK, policy=0)
    receiver = _receiver(0, "memory", SecurityPolicy(0))
    frame = sender.protect(GET)
    first = receiver.verify_glo(frame)
    assert first is not None and receiver.verify_glo(frame) == first  # verified twice, recorded never
    assert receiver.accept_glo(first[2]) is True
    assert receiver.accept_glo(first[2]) is False  # a replay: refused, nothing recorded
    assert receiver.open_glo(frame) is None
    with pytest.raises(DlmsError, match="not greater"):
        receiver.unprotect(frame)


def test_the_fast_road_is_closed_when_the_policy_wants_signatures_or_the_peer_is_unknown() -> None:
    sender = SecurityContext(CLIENT, peer_system_title=METER, ek=EK, ak=AK, policy=0)
    frame = sender.protect(GET)
    signed = _receiver(0, "memory", SecurityPolicy.DIGITALLY_SIGNED_REQUEST)
    assert signed.open_glo(frame) is None
    with pytest.raises(DlmsError):
        signed.unprotect(frame)
    anonymous = SecurityContext(METER, ek=EK, ak=AK, role="server")
    assert anonymous.open_glo(frame) is None


def test_a_key_change_reaches_the_fast_road() -> None:
    sender = SecurityContext(CLIENT, peer_system_title=METER, ek=EK, ak=AK, policy=0)
    receiver = _receiver(0, "memory", SecurityPolicy(0))
    assert receiver.open_glo(sender.protect(GET)) is not None
    receiver.set_keys(ek=bytes(range(100, 116)))
    assert receiver.open_glo(sender.protect(GET)) is None  # the old key's frame no longer verifies
    sender.set_keys(ek=bytes(range(100, 116)))
    assert receiver.open_glo(sender.protect(GET)) is not None


@pytest.mark.single_backend
def test_the_backends_open_and_seal_alike() -> None:
    """open_glo and the sealer of both backends on the same frames."""
    rng = random.Random(7)
    frames = _frames(4)
    results: dict[str, list[Any]] = {}
    for name in BACKENDS:
        previous = _backend.backend()
        _backend.set_backend(name)
        try:
            receiver = _receiver(4, "memory", SecurityPolicy(0))
            sender = SecurityContext(METER, peer_system_title=CLIENT, ek=EK, ak=AK, role="server")
            seen = [receiver.open_glo(f) for f in frames]
            sealed = [sender.protect(rng.choice([GET, REPLY, b"\xc4"])) for _ in range(50)]
            results[name] = [seen, sealed]
        finally:
            _backend.set_backend(previous)
        rng = random.Random(7)
    values = list(results.values())
    assert all(v == values[0] for v in values[1:])


def test_the_sealer_seals_as_protect_did() -> None:
    """protect() with the default options (the association's sealer) gives
    the frames the general road gives with the same counters."""
    a = SecurityContext(METER, peer_system_title=CLIENT, ek=EK, ak=AK, role="server")
    b = SecurityContext(METER, peer_system_title=CLIENT, ek=EK, ak=AK, role="server")
    for i in range(20):
        apdu = REPLY if i % 2 else GET
        # b asks with the default options spelled out differently: the general plan, same counters
        assert a.protect(apdu) == b.protect(apdu, protection=Protection.AUTHENTICATED_ENCRYPTION)
    with pytest.raises(DlmsError, match="no service-specific ciphered form"):
        a.protect(b"\x99\x02")
    with pytest.raises(DlmsError, match="no service-specific ciphered form"):
        a.protect(b"")
    assert a.protect(bytearray(GET)) == b.protect(memoryview(GET), protection=Protection.AUTHENTICATED_ENCRYPTION)
