"""The listener's batch path: rule 1 of spec note mesh-profile §4.5 frame by
frame (general-glo with A+E, title in body = title in header, tag, fresh
counter), one transaction per batch, quarantine of titles without keys,
rejections that never touch the stored binding nor log secrets, replay
state that survives a restart, and every outcome counted."""

from __future__ import annotations

import asyncio
import logging
import random
from pathlib import Path

import pytest

from dlmsmesh import wrapper
from dlmsmesh.registration.announce import AnnouncementKind, decode_body, encode_body, notification
from dlmsmesh.registration.listener import Listener, ListenerStats, RegistryCounterStore, _canonical, parse_body
from dlmsmesh.registration.registry import Outcome, Registration, Registry, Status
from dlmsmesh.security import KeySet, Protection, SecurityPolicy
from dlmsmesh.transport import Address, Incoming, InProcessNetwork, RealClock

from .registration_support import (
    HES,
    address,
    announcement,
    entry,
    frame,
    keyring,
    keys_of,
    meter_context,
    title,
)

LISTENER = Address("2001:db8:ffff::10", 61616)
UPDATE = AnnouncementKind.UPDATE
AUTH_ONLY = SecurityPolicy.both_ways(Protection.AUTHENTICATION)


def _in(data: bytes, host: str = "2001:db8::99", port: int = 61616) -> Incoming:
    return Incoming(data, Address(host, port), LISTENER)


@pytest.fixture
def registry(tmp_path: Path):  # type: ignore[no-untyped-def]
    reg = Registry.open(tmp_path / "registry.sqlite")
    yield reg
    reg.close()


def _listener(registry: Registry, titles: list[bytes], **options: object) -> Listener:
    network = InProcessNetwork(seed=1, clock=RealClock())
    return Listener(network.endpoint(*LISTENER), registry, keyring(titles, registry), system_title=HES, **options)  # type: ignore[arg-type]


async def _arrived(listener: Listener, count: int) -> None:
    """Wait (bounded) until the listener took ``count`` datagrams off its port."""
    for _ in range(5000):
        if listener.stats.received >= count:
            return
        await asyncio.sleep(0.001)
    raise AssertionError(f"{listener.stats.received} datagrams arrived, not {count}")


async def _feed(listener: Listener, datagrams: list[Incoming]) -> None:
    await listener.handle_batch(datagrams)
    await listener.drain(timeout=10)


@pytest.mark.asyncio
async def test_a_batch_of_registrations_is_one_transaction(registry: Registry) -> None:
    titles = [title(i) for i in range(50)]
    commits: list[tuple[list[Registration], list[Outcome]]] = []
    listener = _listener(registry, titles, on_commit=lambda r, o: commits.append((list(r), list(o))))
    batch = [_in(frame(meter_context(t), announcement(t, [address(i)])), address(i)) for i, t in enumerate(titles)]
    await _feed(listener, batch)
    assert len(commits) == 1  # one transaction for the whole batch
    records, outcomes = commits[0]
    assert outcomes == [Outcome.RECORDED] * 50
    assert [r.system_title for r in records] == titles
    assert records[7].invocation_counter == 1 and records[7].wport == 1 and records[7].kind == "registration"
    assert records[7].source == address(7)
    for i, t in enumerate(titles):
        binding = registry.lookup(t)
        assert binding is not None and binding.status is Status.REGISTERED
        assert binding.addresses == (address(i),) and binding.port == 61616 and binding.invocation_counter == 1
    assert listener.stats.as_dict() == {**ListenerStats().as_dict(), "received": 50, "batches": 1, "recorded": 50}


@pytest.mark.asyncio
async def test_repetitions_replays_and_stale_updates_leave_the_binding(registry: Registry) -> None:
    t = title(1)
    ctx = meter_context(t)
    listener = _listener(registry, [t])
    first = frame(ctx, announcement(t, [address(1, 1)]))  # IC 1
    newer = frame(ctx, announcement(t, [address(1, 3)], kind=UPDATE, sequence=3))  # IC 2
    older = frame(ctx, announcement(t, [address(1, 2)], kind=UPDATE, sequence=2))  # IC 3, sequence below
    await _feed(listener, [_in(first), _in(first), _in(first)])
    assert (listener.stats.recorded, listener.stats.duplicates) == (1, 2)
    await _feed(listener, [_in(newer)])
    binding = registry.lookup(t)
    assert binding is not None and binding.addresses == (address(1, 3),) and binding.invocation_counter == 2
    # the first frame again (counter 1 < 2): a replay, refused before the registry
    await _feed(listener, [_in(first)])
    assert listener.stats.replays == 1
    # a later counter with an older sequence number: stale, by the registry's order
    await _feed(listener, [_in(older)])
    assert listener.stats.stale == 1
    binding = registry.lookup(t)
    assert binding is not None and binding.addresses == (address(1, 3),) and binding.invocation_counter == 2
    assert binding.kind == "update"


@pytest.mark.asyncio
async def test_updates_within_one_batch_apply_in_counter_order(registry: Registry) -> None:
    t = title(2)
    ctx = meter_context(t)
    listener = _listener(registry, [t])
    frames = [frame(ctx, announcement(t, [address(2, g)], kind=UPDATE)) for g in range(1, 4)]  # IC 1, 2, 3
    # arrive 3, 1, 2: only the newest counter may win; the late ones are replays
    await _feed(listener, [_in(frames[2]), _in(frames[0]), _in(frames[1])])
    binding = registry.lookup(t)
    assert binding is not None and binding.addresses == (address(2, 3),) and binding.invocation_counter == 3
    assert (listener.stats.recorded, listener.stats.replays) == (1, 2)


@pytest.mark.asyncio
async def test_security_failures_are_rejected_logged_without_secrets(
    registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    a, b = title(10), title(11)
    listener = _listener(registry, [a, b])
    await _feed(listener, [_in(frame(meter_context(a), announcement(a, [address(10)])))])
    secret_address = address(10, 9)
    good = frame(meter_context(a), announcement(a, [secret_address]))
    corrupt = good[:-1] + bytes([good[-1] ^ 1])  # the tag fails
    plain = wrapper.encode(1, 0x66, notification(announcement(a, [secret_address])))  # not ciphered
    auth_only = frame(meter_context(a, AUTH_ONLY), announcement(a, [secret_address]))
    spoof = frame(meter_context(b), announcement(a, [secret_address]))  # b's keys, a's title in the body
    wrong_keys = wrapper.encode(
        1, 0x66, meter_context(b).protect(notification(announcement(a, [secret_address])), general=True)
    )
    wrong_keys = wrong_keys[:10] + a + wrong_keys[18:]  # a's title in the header, b's keys: the tag fails
    caplog.set_level(logging.DEBUG, logger="dlmsmesh.registration.listener")
    await _feed(listener, [_in(corrupt), _in(plain), _in(auth_only), _in(spoof), _in(wrong_keys)])
    assert listener.stats.security_failures == 5 and listener.stats.recorded == 1
    binding = registry.lookup(a)
    assert binding is not None and binding.addresses == (address(10),) and binding.invocation_counter == 1
    assert registry.lookup(b) is None
    text = caplog.text
    assert text.count("rejected") == 5
    assert "tag did not verify" in text and f"announces system title {a.hex().upper()}" in text
    for key in (*keys_of(a), *keys_of(b)):
        assert key.hex() not in text.lower()
    assert secret_address not in text and "db8:9::" not in text


@pytest.mark.asyncio
async def test_authentication_without_encryption_is_refused_even_when_the_keys_allow_it(registry: Registry) -> None:
    a = title(12)
    network = InProcessNetwork(seed=1, clock=RealClock())
    ring = keyring([a], registry, policy=AUTH_ONLY)  # the pipeline lets A-only frames through
    listener = Listener(network.endpoint(*LISTENER), registry, ring, system_title=HES)
    await _feed(listener, [_in(frame(meter_context(a, AUTH_ONLY), announcement(a, [address(12)])))])
    assert listener.stats.security_failures == 1 and registry.lookup(a) is None


@pytest.mark.asyncio
async def test_malformed_frames_are_counted(registry: Registry) -> None:
    a = title(20)
    ctx = meter_context(a)
    listener = _listener(registry, [a])
    not_announcement = wrapper.encode(
        1, 0x66, ctx.protect(bytes.fromhex("0F0000000100") + bytes.fromhex("0906") + bytes(6), general=True)
    )
    wrong_wport = wrapper.encode(1, 0x10, ctx.protect(notification(announcement(a, [address(20)])), general=True))
    await _feed(listener, [_in(b"\x00\x01\x00"), _in(not_announcement), _in(wrong_wport)])
    assert listener.stats.malformed == 3 and registry.lookup(a) is None


@pytest.mark.asyncio
async def test_a_title_without_keys_is_quarantined_not_dropped(registry: Registry) -> None:
    known, stranger = title(30), title(31)
    listener = _listener(registry, [known])
    unknown_frame = frame(meter_context(stranger), announcement(stranger, [address(31)]))
    await _feed(listener, [_in(unknown_frame, "2001:db8::31", 61616), _in(unknown_frame, "2001:db8::31", 61616)])
    assert listener.stats.quarantined == 1  # one title, one quarantine record per batch
    binding = registry.lookup(stranger)
    assert binding is not None and binding.status is Status.QUARANTINED
    assert binding.addresses == ("2001:db8::31",)  # from the datagram: the body cannot be read
    assert binding.invocation_counter is None
    # a registered title is never overwritten by a frame its keys cannot verify
    await _feed(listener, [_in(frame(meter_context(known), announcement(known, [address(30)])))])
    listener.keyring.remove(known)
    await _feed(listener, [_in(frame(meter_context(known), announcement(known, [address(30, 5)])), "2001:db8::66")])
    binding = registry.lookup(known)
    assert binding is not None and binding.status is Status.REGISTERED and binding.addresses == (address(30),)


@pytest.mark.parametrize("lazy", [True, False], ids=["registry-counters", "seeded-memory-counters"])
@pytest.mark.asyncio
async def test_replay_state_survives_a_restart(tmp_path: Path, lazy: bool) -> None:
    t = title(40)
    ctx = meter_context(t)
    frames = [frame(ctx, announcement(t, [address(40, g)], kind=UPDATE)) for g in range(1, 6)]  # IC 1..5
    path = tmp_path / "r.sqlite"
    with Registry.open(path) as registry:
        listener = _listener(registry, [t])
        await _feed(listener, [_in(frames[3])])  # IC 4 recorded
        await listener.close()
    with Registry.open(path) as registry:
        network = InProcessNetwork(seed=2, clock=RealClock())
        ring = keyring([t], registry if lazy else None)
        listener = Listener(network.endpoint(*LISTENER), registry, ring, system_title=HES)
        await listener.start()
        try:
            # replays of what the first listener recorded, and older frames
            await _feed(listener, [_in(frames[3]), _in(frames[1]), _in(frames[0])])
            assert listener.stats.recorded == 0
            assert listener.stats.duplicates + listener.stats.replays == 3
            binding = registry.lookup(t)
            assert binding is not None and binding.addresses == (address(40, 4),)
            await _feed(listener, [_in(frames[4])])
            assert listener.stats.recorded == 1
        finally:
            await listener.close()


def test_registry_counter_store_reads_titles_once(tmp_path: Path) -> None:
    with Registry.open(tmp_path / "r.sqlite") as registry:
        t = title(50)
        registry.record_many([Registration(t, (address(50),), 61616, 1, "registration", 9, None, 1.0, "x")])
        store = RegistryCounterStore(registry)
        ctx = entry(t).context(HES, counters=store)

        scope = ctx.counter_scope("rx", t, KeySet.UNICAST)
        assert store.last_accepted(scope) == 9
        assert store.accept_many([scope, scope, scope], [9, 10, 10]) == [False, True, False]
        assert store.last_accepted(scope) == 10
        store.forget([t])
        assert store.last_accepted(scope) == 9  # the registry is the truth
        # preloaded: every registered title read in one pass, unknown ones need no read
        other = title(51)
        registry.record_many([Registration(other, (address(51),), 61616, 1, "registration", 3, None, 1.0, "x")])
        fresh = RegistryCounterStore(registry)
        assert fresh.preload() == 2
        other_scope = entry(other).context(HES, counters=fresh).counter_scope("rx", other, KeySet.UNICAST)
        registry.close()  # from here on, a read of the registry would fail
        assert fresh.last_accepted(other_scope) == 3
        assert fresh.last_accepted(f"rx:{title(52).hex()}:unicast:00") is None
        assert fresh.accept_many([other_scope], [4]) == [True]
    with Registry.open(tmp_path / "r.sqlite") as registry:
        fresh.registry = registry
        fresh.forget([other])  # forgotten after a preload: read from the registry again
        assert fresh.last_accepted(other_scope) == 3
        assert store.last_accepted(f"rx:{t.hex()}:broadcast:0123") is None
        assert RegistryCounterStore.title_of("tx:00:unicast:ab") is None


def test_fast_body_parser_agrees_with_decode_body() -> None:
    rng = random.Random(14)
    for n in range(400):
        count = rng.randint(1, 4)
        addresses = [f"2001:db8:{rng.randrange(65536):x}::{rng.randrange(1, 65536):x}" for _ in range(count)]
        if n % 7 == 0:
            addresses.append(f"::ffff:127.0.{rng.randrange(256)}.{rng.randrange(1, 255)}")
        if n % 11 == 0:
            addresses.append("fe80::1")
        a = announcement(
            title(n), addresses, kind=rng.choice(list(AnnouncementKind)), port=rng.randint(1, 65535),
            sequence=rng.choice([None, rng.randrange(1 << 32)]),
        )  # fmt: skip
        body = encode_body(a)
        assert parse_body(body) == (a.kind.value, a.system_title, a.addresses, a.port, a.sequence)
        # mutations: the fast parser either agrees with decode_body or leaves it to it
        for _ in range(5):
            mutated = bytearray(body)
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            fast = parse_body(bytes(mutated))
            if fast is None:
                continue
            slow = decode_body(bytes(mutated))
            assert fast == (slow.kind.value, slow.system_title, slow.addresses, slow.port, slow.sequence)
    assert parse_body(encode_body(announcement(title(1), ["::1.2.3.4"]))) is None  # C writes it otherwise


def test_fast_body_parser_of_one_address_agrees_at_every_byte() -> None:
    """The one-address body (read in one unpack) with each byte changed in
    turn: the fast parser agrees with decode_body or leaves it to it."""
    rng = random.Random(15)
    for n in range(40):
        a = announcement(
            title(n), [f"2001:db8::{rng.randrange(1, 65536):x}"], kind=rng.choice(list(AnnouncementKind)),
            port=rng.randint(1, 65535), sequence=None if n % 2 else rng.randrange(1 << 32),
        )  # fmt: skip
        body = encode_body(a)
        assert len(body) == (43 if a.sequence is None else 48)
        assert parse_body(body) == (a.kind.value, a.system_title, a.addresses, a.port, a.sequence)
        for pos in range(len(body)):
            for value in {0, 1, 4, 5, 6, 0x12, 0xFF, body[pos] ^ 1}:
                mutated = bytearray(body)
                mutated[pos] = value
                fast = parse_body(bytes(mutated))
                if fast is None:
                    continue
                slow = decode_body(bytes(mutated))
                assert fast == (slow.kind.value, slow.system_title, slow.addresses, slow.port, slow.sequence), (n, pos)
        # one byte longer or shorter: never read as the one-address form
        for changed in (body + b"\x00", body[:-1]):
            fast = parse_body(changed)
            if fast is not None:
                slow = decode_body(changed)
                assert fast == (slow.kind.value, slow.system_title, slow.addresses, slow.port, slow.sequence)



class _Judge:
    """What Listener._verified reads of its listener: the stats, the wPort, the reject log."""

    def __init__(self) -> None:
        self.stats = ListenerStats()
        self.wport = 0x66
        self.rejected: list[str] = []

    def _reject(self, source: object, title: object, reason: str) -> None:
        self.rejected.append(reason)


def _verified(data: bytes, plaintext: bytes) -> Registration | None:
    judge = _Judge()
    return Listener._verified(judge, data, plaintext, Address("2001:db8::9", 61616), 5.0)  # type: ignore[arg-type]


def test_canonical_frame_reader_agrees_with_the_field_by_field_one_at_every_byte() -> None:
    """The listener reads a meter's usual announcement (one address, no
    date-time) with two unpacks; every byte of the frame's header and of
    the plaintext changed in turn: it gives what the field-by-field reading
    gives, or leaves the frame to it."""
    rng = random.Random(16)
    taken = 0
    for n in range(24):
        t = title(n)
        a = announcement(
            t, [f"2001:db8::{rng.randrange(1, 65536):x}"], kind=rng.choice(list(AnnouncementKind)),
            port=rng.randint(1, 65535), sequence=None if n % 2 else rng.randrange(1 << 32),
        )  # fmt: skip
        data = frame(meter_context(t), a)
        plaintext = notification(a)
        fast = _canonical(data, plaintext, 0x66)
        slow = _verified(data, plaintext)
        assert fast is not None and slow is not None
        assert Registration(*fast[:7], 5.0, "2001:db8::9") == Registration(
            slow.system_title, slow.addresses, slow.port, slow.wport, slow.kind, slow.invocation_counter,
            slow.sequence, 5.0, "2001:db8::9",
        )  # fmt: skip
        assert (fast[0], fast[1], fast[2], fast[4], fast[6]) == (t, a.addresses, a.port, a.kind.value, a.sequence)
        cases = []
        for pos in range(24):
            for value in {0, 1, 8, 0x30, 0x66, 0x80, 0xDB, data[pos] ^ 1}:
                cases.append((data[:pos] + bytes([value]) + data[pos + 1 :], plaintext))
        for pos in range(len(plaintext)):
            for value in {0, 1, 4, 5, 6, 9, 0x0F, 0x12, 0xFF, plaintext[pos] ^ 1}:
                cases.append((data, plaintext[:pos] + bytes([value]) + plaintext[pos + 1 :]))
        cases += [(data, plaintext + b"\x00"), (data, plaintext[:-1]), (data[:20], plaintext)]
        for d, p in cases:
            fast = _canonical(d, p, 0x66)
            if fast is None:
                continue
            taken += 1
            slow = _verified(d, p)
            assert slow is not None, (n, d.hex(), p.hex())
            assert fast == (slow.system_title, slow.addresses, slow.port, slow.wport, slow.kind,
                            slow.invocation_counter, slow.sequence), (n, d.hex(), p.hex())  # fmt: skip
    assert taken > 24 * 20  # mutations the fast reader still takes (ports, counters, addresses) were compared


@pytest.mark.asyncio
async def test_a_batch_with_known_and_unknown_titles_is_one_commit(registry: Registry) -> None:
    known, stranger = title(60), title(61)
    commits: list[list[Outcome]] = []
    listener = _listener(registry, [known], on_commit=lambda r, o: commits.append(list(o)))
    await _feed(
        listener,
        [
            _in(frame(meter_context(known), announcement(known, [address(60)]))),
            _in(frame(meter_context(stranger), announcement(stranger, [address(61)])), "2001:db8::61"),
        ],
    )
    assert commits == [[Outcome.RECORDED, Outcome.QUARANTINED]]
    assert (listener.stats.recorded, listener.stats.quarantined) == (1, 1)


@pytest.mark.asyncio
async def test_a_failing_registry_is_retried_then_given_up(
    registry: Registry, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    t = title(70)
    ctx = meter_context(t)
    listener = _listener(registry, [t])
    record = registry.record_many
    failures = [2]

    def flaky(items: object) -> list[Outcome]:
        if failures[0]:
            failures[0] -= 1
            raise OSError("disk I/O error")
        return record(items)  # type: ignore[arg-type]

    monkeypatch.setattr(registry, "record_many", flaky)
    await _feed(listener, [_in(frame(ctx, announcement(t, [address(70, 1)])))])
    assert listener.stats.recorded == 1 and listener.stats.store_errors == 0  # third attempt
    failures[0] = 99
    caplog.set_level(logging.WARNING, logger="dlmsmesh.registration.listener")
    await _feed(listener, [_in(frame(ctx, announcement(t, [address(70, 2)], kind=UPDATE)))])
    assert listener.stats.store_errors == 1 and "not recorded" in caplog.text
    binding = registry.lookup(t)
    assert binding is not None and binding.addresses == (address(70, 1),)
    # the counter store went back to the registry's counter (1), not the lost frame's (2)
    ring_ctx = listener.keyring.get(t)
    assert ring_ctx is not None
    assert ring_ctx.counters.last_accepted(ring_ctx.counter_scope("rx", t, KeySet.UNICAST)) == 1
    # the next announcement (a new counter) is recorded once the registry works again
    failures[0] = 0
    await _feed(listener, [_in(frame(ctx, announcement(t, [address(70, 3)], kind=UPDATE)))])
    binding = registry.lookup(t)
    assert binding is not None and binding.addresses == (address(70, 3),) and binding.invocation_counter == 3


@pytest.mark.asyncio
async def test_close_commits_what_was_decoded_and_drain_waits_for_it(registry: Registry) -> None:
    network = InProcessNetwork(seed=8, clock=RealClock())
    titles = [title(80 + i) for i in range(20)]
    listener = Listener(network.endpoint(*LISTENER), registry, keyring(titles, registry), system_title=HES)
    meter = network.endpoint("2001:db8::80", 61616)
    async with listener:
        await meter.send(frame(meter_context(titles[0]), announcement(titles[0], [address(80)])), LISTENER)
        await _arrived(listener, 1)
        await listener.drain(timeout=10)  # the first: recorded when drain returns
        assert listener.stats.recorded == 1
        for i, t in enumerate(titles[1:], 1):
            await meter.send(frame(meter_context(t), announcement(t, [address(80 + i)])), LISTENER)
        await _arrived(listener, 20)  # the rest is in hand: closing now still commits it
    assert listener.stats.recorded == 20
    assert listener.transport.closed
    assert all(registry.lookup(t) is not None for t in titles)
