"""RFC 4944 fragmentation and reassembly: fragment -> reassemble is the
identity under shuffled, duplicated and dropped fragments; dropped ones time
out and free their memory; overlapping and inconsistent fragments are
rejected; a flood of first fragments stays within the memory budget."""

from __future__ import annotations

import random
import tracemalloc
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dlmsmesh
from dlmsmesh import DecodeError, EncodeError, _backend, ipv6, lowpan
from dlmsmesh.lowpan import Fragmenter, MeshHeader, Reassembler
from dlmsmesh.lowpan.reassembly import ENTRY_OVERHEAD

from .conftest import BACKENDS
from .transport_vectors import COLLECTOR, METER

CONTEXTS = {0: "2001:db8:1::/64"}
SOURCES = ["fe80::212:4b00:1:203", "2001:db8:1::212:4b00:1:203", "2001:db8:1::99"]
DESTINATIONS = ["fe80::212:4b00:4:506", "2001:db8:ffff::10", "ff02::1"]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def datagram(payload: bytes, src: str = SOURCES[1], dst: str = DESTINATIONS[1], port: int = 4059) -> bytes:
    return ipv6.build(src, dst, payload, source_port=port, destination_port=port)


def uncompressed_coverage(frames: list[bytes], size: int) -> list[tuple[int, int]]:
    """(offset, end) in the datagram of each fragment, from the headers."""
    spans = []
    for k, f in enumerate(frames):
        if f[0] & 0xF8 == 0xE0:
            start = f[4] * 8
            end = start + len(f) - 5 if k < len(frames) - 1 else size
            spans.append((start, min(end, size)))
        else:
            spans.append((0, -1))
    return spans


def feed(frames: list[bytes], r: Reassembler, **kw: Any) -> list[lowpan.LowpanFrame]:
    return [lowpan.decode_frame(f, reassembler=r, **kw) for f in frames]


# --------------------------------------------------------------------------
# fragmenting
# --------------------------------------------------------------------------


def test_a_datagram_that_fits_is_one_unfragmented_frame(backend: str) -> None:
    d = datagram(b"x" * 40)
    frames = lowpan.fragment(d, mtu=127, tag=7, ll_src=METER, ll_dst=COLLECTOR, contexts=CONTEXTS)
    assert frames == [lowpan.compress_datagram(d, ll_src=METER, ll_dst=COLLECTOR, contexts=CONTEXTS)]


def test_1280_byte_datagram_at_mtu_64(backend: str) -> None:
    payload = bytes(range(256)) * 4 + bytes(1232 - 1024)
    d = datagram(payload)
    assert len(d) == 1280
    frames = lowpan.fragment(d, mtu=64, tag=0xBEEF, ll_src=METER, ll_dst=COLLECTOR, contexts=CONTEXTS)
    assert all(len(f) <= 64 for f in frames)
    assert frames[0][:4] == bytes.fromhex("c500beef")  # FRAG1, size 0x500 = 1280, tag
    assert all(f[:4] == bytes.fromhex("e500beef") for f in frames[1:])
    # FRAG1 covers 48 header bytes + 8k payload bytes; FRAGNs 56 (59 rounded down to 8s)
    offsets = [f[4] * 8 for f in frames[1:]]
    assert offsets[0] % 8 == 0 and all(b - a == 56 for a, b in zip(offsets, offsets[1:]))
    r = Reassembler()
    out = feed(frames, r, ll_src=METER, ll_dst=COLLECTOR, contexts=CONTEXTS)
    assert out[-1].datagram == d and all(x.pending for x in out[:-1])


@pytest.mark.single_backend
def test_both_backends_cut_the_same_frames() -> None:
    if len(BACKENDS) < 2:
        pytest.skip("the native backend is not built")
    rng = random.Random(5)
    before = _backend.backend()
    try:
        for _ in range(200):
            d = datagram(rng.randbytes(rng.randrange(0, 1233)), rng.choice(SOURCES), rng.choice(DESTINATIONS))
            kw: dict[str, Any] = {
                "mtu": rng.randrange(64, 128),
                "tag": rng.randrange(65536),
                "ll_src": METER,
                "ll_dst": COLLECTOR,
                "contexts": CONTEXTS,
                "elide_checksum": rng.random() < 0.3,
                "prefix": rng.choice([b"", MeshHeader(3, METER, b"\x00\x01").encode()]),
            }
            results = []
            for b in BACKENDS:
                dlmsmesh.set_backend(b)
                results.append(lowpan.fragment(d, **kw))
            assert results[0] == results[1]
    finally:
        dlmsmesh.set_backend(before)


def test_what_cannot_be_fragmented(backend: str) -> None:
    with pytest.raises(EncodeError, match="larger than 2047"):
        lowpan.fragment(datagram(bytes(2000)), mtu=127, tag=1)
    with pytest.raises(EncodeError, match="MTU too small"):
        lowpan.fragment(datagram(bytes(100)), mtu=40, tag=1)  # 4 + 2 + 32 + 7 header bytes do not fit
    with pytest.raises(EncodeError, match="MTU too small"):
        lowpan.fragment(datagram(bytes(100)), mtu=12, tag=1, ll_src=METER, ll_dst=COLLECTOR)
    with pytest.raises(DecodeError) as info:
        lowpan.fragment(b"\x60" + bytes(10), mtu=127, tag=1)
    assert info.value.layer == "ipv6"
    with pytest.raises(ValueError):
        lowpan.fragment(datagram(b""), mtu=127, tag=0x10000)


def test_fragmenter_numbers_fragmented_datagrams(backend: str) -> None:
    frag = Fragmenter(mtu=80, first_tag=0xFFFF)
    big, small = datagram(bytes(300)), datagram(bytes(4))
    assert frag(big)[0][2:4] == b"\xff\xff"
    assert len(frag(small)) == 1 and frag.next_tag == 0  # unfragmented: no tag used
    assert frag(big)[0][2:4] == b"\x00\x00" and frag.next_tag == 1
    assert 0 <= Fragmenter(mtu=80).next_tag <= 0xFFFF


def test_mesh_prefix_gives_the_reassembly_key_and_the_iids(backend: str) -> None:
    mesh = MeshHeader(5, METER, bytes.fromhex("0001"))
    d = datagram(bytes(range(200)), "fe80::212:4b00:1:203", "fe80::ff:fe00:1", port=0xF0B0)
    frames = lowpan.fragment(d, mtu=70, tag=9, ll_src=METER, ll_dst=b"\x00\x01", prefix=mesh.encode())
    assert all(f.startswith(mesh.encode()) and len(f) <= 70 for f in frames)
    assert frames[0][len(mesh.encode()) + 4 : len(mesh.encode()) + 6] == bytes.fromhex(
        "7e33"
    )  # IIDs from the mesh addresses
    r = Reassembler()
    # every hop has other MAC addresses; the mesh originator/final stay
    out = [
        lowpan.decode_frame(f, ll_src=bytes((0, k)), ll_dst=b"\x00\x05", reassembler=r) for k, f in enumerate(frames)
    ]
    assert out[-1].datagram == d and out[0].dispatch == "mesh"


# --------------------------------------------------------------------------
# the identity under shuffling, duplication and loss
# --------------------------------------------------------------------------


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    payload_size=st.integers(0, 1232),
    mtu=st.integers(64, 127),
    tag=st.integers(0, 0xFFFF),
    seed=st.integers(0, 2**32 - 1),
    src=st.sampled_from(SOURCES),
    dst=st.sampled_from(DESTINATIONS),
    elide=st.booleans(),
    mode=st.sampled_from(["shuffle", "duplicate", "drop"]),
)
def test_fragment_then_reassemble_is_the_identity(
    backend: str, payload_size: int, mtu: int, tag: int, seed: int, src: str, dst: str, elide: bool, mode: str
) -> None:
    rng = random.Random(seed)
    d = datagram(rng.randbytes(payload_size), src, dst)
    kw: dict[str, Any] = {"ll_src": METER, "ll_dst": COLLECTOR, "contexts": CONTEXTS}
    frames = lowpan.fragment(d, mtu=mtu, tag=tag, elide_checksum=elide, **kw)
    assert all(len(f) <= mtu for f in frames)
    if len(frames) > 1:
        for start, end in uncompressed_coverage(frames, len(d))[1:-1]:
            assert start % 8 == 0 and end % 8 == 0  # every fragment but the last covers 8-byte units
    sent = list(frames)
    if mode == "duplicate":
        sent += [rng.choice(frames) for _ in range(rng.randrange(1, 4))]
    dropped = mode == "drop" and len(frames) > 1
    if dropped:
        sent.remove(rng.choice(frames))
    rng.shuffle(sent)
    clock = Clock()
    r = Reassembler(clock=clock, timeout=60)
    done = [x.datagram for x in feed(sent, r, **kw) if x.datagram is not None]
    if dropped:
        assert done == [] and r.pending == 1 and r.memory == len(d) + ENTRY_OVERHEAD
        clock.now += 59.9
        assert r.expire() == 0 and r.pending == 1
        clock.now += 0.2
        assert r.expire() == 1
        assert r.pending == 0 and r.memory == 0 and r.stats.timed_out == 1
    else:
        # a duplicate after completion starts a new partial datagram that times out too
        assert done and all(x == d for x in done)
        assert r.stats.completed == (len(done) if len(frames) > 1 else 0)
        clock.now += 61
        r.expire()
        assert r.pending == 0 and r.memory == 0


# --------------------------------------------------------------------------
# inconsistent input
# --------------------------------------------------------------------------


def _three_fragments() -> tuple[bytes, list[bytes]]:
    d = datagram(bytes(range(150)))
    frames = lowpan.fragment(d, mtu=80, tag=0x42)
    assert len(frames) == 3
    return d, frames


def test_duplicates_are_ignored(backend: str) -> None:
    d, frames = _three_fragments()
    r = Reassembler()
    out = feed([frames[0], frames[0], frames[1], frames[1], frames[2]], r)
    assert out[-1].datagram == d and r.stats.duplicates == 2 and r.stats.inconsistent == 0


def test_an_overlap_with_other_bytes_restarts_the_datagram(backend: str) -> None:
    d, frames = _three_fragments()
    r = Reassembler()
    forged = frames[1][:5] + bytes(len(frames[1]) - 5)  # same place, other bytes
    out = feed([frames[0], frames[1], forged, frames[2]], r)
    assert r.stats.inconsistent == 1
    assert all(x.pending for x in out)  # the first fragment went with the discarded state
    assert feed([frames[0]], r)[0].datagram is not None  # which forged + last + first complete
    assert r.stats.completed == 1


def test_a_partial_overlap_restarts_the_datagram(backend: str) -> None:
    d, frames = _three_fragments()
    shifted = bytearray(frames[2])
    shifted[4] -= 1  # eight bytes earlier: overlaps the second fragment's end
    r = Reassembler()
    feed([frames[1], bytes(shifted)], r)
    assert r.stats.inconsistent == 1 and r.pending == 1


def test_a_different_size_for_the_same_tag_restarts(backend: str) -> None:
    d, frames = _three_fragments()
    other = lowpan.fragment(datagram(bytes(range(151))), mtu=80, tag=0x42)
    r = Reassembler()
    feed([frames[0], other[1]], r)
    assert r.stats.inconsistent == 1 and r.pending == 1
    assert r.has_partial(b"", b"", len(d) + 1, 0x42) and not r.has_partial(b"", b"", len(d), 0x42)


def test_a_datagram_beyond_the_budget_is_refused(backend: str) -> None:
    d, frames = _three_fragments()
    r = Reassembler(max_bytes=len(d) + ENTRY_OVERHEAD - 1)
    with pytest.raises(DecodeError, match="reassembly memory budget"):
        lowpan.decode_frame(frames[0], reassembler=r)
    assert r.memory == 0


def test_eviction_keeps_the_newest(backend: str) -> None:
    r = Reassembler(max_datagrams=2)
    firsts = [lowpan.fragment(datagram(bytes(150)), mtu=80, tag=t)[0] for t in (1, 2, 3)]
    feed(firsts, r)
    assert r.pending == 2 and r.stats.evicted == 1
    assert not r.has_partial(b"", b"", 198, 1) and r.has_partial(b"", b"", 198, 3)


def test_elided_checksum_is_filled_in_on_completion(backend: str) -> None:
    d, _ = _three_fragments()
    frames = lowpan.fragment(d, mtu=80, tag=1, elide_checksum=True)
    assert frames[0][4 + 2 + 32] == 0xF4  # NHC-UDP with C=1: no checksum on the air
    out = feed(list(reversed(frames)), Reassembler())
    assert out[-1].datagram == d and ipv6.parse(d).checksum_ok


# --------------------------------------------------------------------------
# a flood of first fragments
# --------------------------------------------------------------------------


def test_flood_of_100000_first_fragments_stays_within_the_budget(backend: str) -> None:
    budget = 64 * 1024
    r = Reassembler(max_bytes=budget, max_datagrams=1000, clock=Clock())
    d = datagram(bytes(1000))
    first = lowpan.fragment(d, mtu=100, tag=0, ll_src=METER, ll_dst=COLLECTOR)[0]
    size_bits, body = first[:2], first[4:]

    def flood(i: int) -> None:
        # 65,536 tags per sender: two senders give 100,000 distinct keys
        frame = size_bits + (i & 0xFFFF).to_bytes(2, "big") + body
        lowpan.decode_frame(frame, ll_src=(i >> 16).to_bytes(2, "big"), ll_dst=COLLECTOR, reassembler=r)
        assert r.memory <= budget

    for i in range(60_000):
        flood(i)
    # the last 40,000 under tracemalloc (which sees only what is allocated after
    # it starts: by 80,000 every partial datagram held is a traced one); from
    # then on what Python holds must not grow
    tracemalloc.start()
    try:
        for i in range(60_000, 80_000):
            flood(i)
        start = tracemalloc.get_traced_memory()[0]
        for i in range(80_000, 100_000):
            flood(i)
        grown = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    assert r.pending == budget // (len(d) + ENTRY_OVERHEAD) and r.memory <= budget
    assert r.stats.evicted == 100_000 - r.pending
    assert grown < 4096, f"{grown} bytes more after 20,000 more fragments"
