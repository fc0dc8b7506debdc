"""BER TLV walker and header writer: known answers, bad input, both backends,
and native-vs-pure differential runs on random and mutated input."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dlmsmesh
from dlmsmesh import _backend, _status, acse
from dlmsmesh._common.ber import APPLICATION, CONTEXT, PRIVATE, UNIVERSAL, Node
from dlmsmesh._pure import ber as pure_ber
from dlmsmesh.errors import DecodeError, EncodeError

from .helpers import hexbytes

FIXTURE_OK = settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)


def ber():  # the live backend's BER module
    return _backend.live.ber


def N(cls: int, constructed: bool, number: int, header: int, content: int, length: int, depth: int = 0) -> Node:
    return Node(cls, constructed, number, header, content, length, depth)


B1 = hexbytes("60 1D A1 09 06 07 60 85 74 05 08 01 01 BE 10 04 0E 01 00 00 00 06 5F 1F 04 00 00 7E 1F 04 00")

WALKS = [
    ("short form", "04 03 01 02 03", [N(UNIVERSAL, False, 4, 0, 2, 3)]),
    ("empty content", "05 00", [N(UNIVERSAL, False, 5, 0, 2, 0)]),
    ("two top-level TLVs", "02 01 05 02 01 FF", [N(0, False, 2, 0, 2, 1), N(0, False, 2, 3, 5, 1)]),
    ("81 form", "04 81 80" + " 00" * 128, [N(0, False, 4, 0, 3, 128)]),
    ("82 form", "04 82 01 00" + " 00" * 256, [N(0, False, 4, 0, 4, 256)]),
    ("83 form", "04 83 01 00 00" + " 00" * 65536, [N(0, False, 4, 0, 5, 65536)]),
    ("84 form, non-minimal accepted", "04 84 00 00 00 02 AA BB", [N(0, False, 4, 0, 6, 2)]),
    ("81 form, non-minimal accepted", "80 81 01 07", [N(CONTEXT, False, 0, 0, 3, 1)]),
    ("application 31 (5F 1F)", "5F 1F 04 00 00 7E 1F", [N(APPLICATION, False, 31, 0, 3, 4)]),
    ("three-octet tag number", "9F 87 68 00", [N(CONTEXT, False, 1000, 0, 4, 0)]),
    ("four-octet tag number", "DF FF FF FF 7F 00", [N(PRIVATE, False, (1 << 28) - 1, 0, 6, 0)]),
    ("constructed empty", "A0 00", [N(CONTEXT, True, 0, 0, 2, 0)]),
    (
        "nested",
        "30 08 A1 03 02 01 07 04 01 09",
        [
            N(UNIVERSAL, True, 16, 0, 2, 8, 0),
            N(CONTEXT, True, 1, 2, 4, 3, 1),
            N(UNIVERSAL, False, 2, 4, 6, 1, 2),
            N(UNIVERSAL, False, 4, 7, 9, 1, 1),
        ],
    ),
    (
        "AARQ B1",
        B1.hex(),
        [
            N(APPLICATION, True, 0, 0, 2, 29, 0),
            N(CONTEXT, True, 1, 2, 4, 9, 1),
            N(UNIVERSAL, False, 6, 4, 6, 7, 2),
            N(CONTEXT, True, 30, 13, 15, 16, 1),
            N(UNIVERSAL, False, 4, 15, 17, 14, 2),
        ],
    ),
    ("nothing", "", []),
]


@pytest.mark.parametrize(("name", "data", "expected"), WALKS, ids=[w[0] for w in WALKS])
def test_walk_known_answers(backend: str, name: str, data: str, expected: list[Node]) -> None:
    assert ber().walk(hexbytes(data)) == expected


def test_node_properties() -> None:
    conf = pure_ber.walk(hexbytes("5F 1F 04 00 00 7E 1F"))[0]
    assert conf.end == 7
    assert conf.ident == 0x5F
    aarq = pure_ber.walk(B1, one=True)[0]
    assert aarq.ident == 0x60
    assert aarq.end == len(B1)


def test_walk_flat_and_one(backend: str) -> None:
    assert ber().walk(B1, flat=True) == [N(APPLICATION, True, 0, 0, 2, 29)]
    assert ber().walk(B1, 2, None, flat=True) == [N(CONTEXT, True, 1, 2, 4, 9), N(CONTEXT, True, 30, 13, 15, 16)]
    # one: only the first TLV, bytes after it are not looked at
    assert ber().walk(B1 + b"\xff", one=True, flat=True) == [N(APPLICATION, True, 0, 0, 2, 29)]
    assert len(ber().walk(B1 + b"\x80", one=True)) == 5
    # a range inside the input: offsets stay absolute
    assert ber().walk(B1, 4, 13) == [N(UNIVERSAL, False, 6, 4, 6, 7)]


def test_walk_many_nodes_grows_the_node_array(backend: str) -> None:
    data = b"\x05\x00" * 5000
    nodes = ber().walk(data)
    assert len(nodes) == 5000
    assert nodes[-1] == N(UNIVERSAL, False, 5, 9998, 10000, 0)
    # and a small call after the big one still works
    assert ber().walk(b"\x05\x00") == [N(UNIVERSAL, False, 5, 0, 2, 0)]


def _nested(depth: int) -> bytes:
    data = b""
    for _ in range(depth):
        data = bytes((0x30, len(data))) + data if len(data) < 128 else b"\x30\x81" + bytes((len(data),)) + data
    return data


def test_depth_limit(backend: str) -> None:
    data = _nested(5)  # nodes at depth 0..4
    assert [n.depth for n in ber().walk(data, max_depth=4)] == [0, 1, 2, 3, 4]
    with pytest.raises(DecodeError) as exc:
        ber().walk(data, max_depth=3)
    assert (exc.value.layer, exc.value.offset, exc.value.reason) == ("acse", 8, _status.MESSAGES[_status.TOO_DEEP])
    assert len(ber().walk(_nested(65), max_depth=64)) == 65
    with pytest.raises(DecodeError):
        ber().walk(_nested(66), max_depth=64)
    # flat never descends, so depth does not matter
    assert len(ber().walk(_nested(66), max_depth=0, flat=True)) == 1


@pytest.mark.parametrize("max_depth", [-1, 65, 1000])
def test_max_depth_out_of_range(backend: str, max_depth: int) -> None:
    with pytest.raises(ValueError):
        ber().walk(b"\x05\x00", max_depth=max_depth)


@pytest.mark.parametrize(("offset", "end"), [(3, None), (0, 3), (2, 1), (-1, None)])
def test_range_out_of_bounds(backend: str, offset: int, end: int | None) -> None:
    with pytest.raises(ValueError):
        ber().walk(b"\x05\x00", offset, end)


ERRORS = [
    ("indefinite length", "30 80 00 00", _status.BER_INDEFINITE, 1),
    ("length of 5 octets", "04 85 00 00 00 00 01 00", _status.BAD_LENGTH, 1),
    ("reserved FF length", "04 FF", _status.BAD_LENGTH, 1),
    ("content missing", "04 05 01", _status.TRUNCATED, 2),
    ("length missing", "04", _status.TRUNCATED, 1),
    ("long length cut", "04 82 01", _status.TRUNCATED, 1),
    ("high tag cut", "5F", _status.TRUNCATED, 1),
    ("high tag cut in the middle", "5F 81", _status.TRUNCATED, 2),
    ("tag number of 5 octets", "5F 81 81 81 81 01 00", _status.BER_TAG, 0),
    ("child overruns its parent", "30 03 04 05 00 00 00 00", _status.TRUNCATED, 4),
    ("child header overruns its parent", "30 01 04 00", _status.TRUNCATED, 3),
    ("second TLV cut", "05 00 04", _status.TRUNCATED, 3),
    ("error deep inside", "30 06 30 04 A0 02 04 80", _status.BER_INDEFINITE, 7),
]


@pytest.mark.parametrize(("name", "data", "code", "offset"), ERRORS, ids=[e[0] for e in ERRORS])
def test_walk_errors(backend: str, name: str, data: str, code: int, offset: int) -> None:
    with pytest.raises(DecodeError) as exc:
        ber().walk(hexbytes(data))
    assert exc.value.layer == "acse"
    assert exc.value.offset == offset
    assert exc.value.reason == _status.MESSAGES[code]


def test_one_on_empty_range_is_truncated(backend: str) -> None:
    with pytest.raises(DecodeError) as exc:
        ber().walk(b"\x05\x00", 2, one=True)
    assert exc.value.offset == 2


def test_walk_accepts_buffers(backend: str) -> None:
    expected = ber().walk(B1)
    assert ber().walk(bytearray(B1)) == expected
    assert ber().walk(memoryview(B1)) == expected
    assert acse.ber_walk(B1) == expected


HEADERS = [
    ((APPLICATION, True, 0, 29), "60 1D"),
    ((APPLICATION, False, 31, 4), "5F 1F 04"),
    ((CONTEXT, True, 30, 16), "BE 10"),
    ((CONTEXT, False, 29, 0), "9D 00"),
    ((UNIVERSAL, False, 4, 127), "04 7F"),
    ((UNIVERSAL, False, 4, 128), "04 81 80"),
    ((UNIVERSAL, False, 4, 255), "04 81 FF"),
    ((UNIVERSAL, False, 4, 256), "04 82 01 00"),
    ((UNIVERSAL, False, 4, 65535), "04 82 FF FF"),
    ((UNIVERSAL, False, 4, 65536), "04 83 01 00 00"),
    ((UNIVERSAL, False, 4, 1 << 24), "04 84 01 00 00 00"),
    ((UNIVERSAL, False, 4, 0xFFFFFFFF), "04 84 FF FF FF FF"),
    ((CONTEXT, True, 1000, 70000), "BF 87 68 83 01 11 70"),
    ((PRIVATE, False, (1 << 28) - 1, 0), "DF FF FF FF 7F 00"),
    ((CONTEXT, False, 127, 1), "9F 7F 01"),
    ((CONTEXT, False, 128, 1), "9F 81 00 01"),
]


@pytest.mark.parametrize(("args", "expected"), HEADERS, ids=[h[1] for h in HEADERS])
def test_encode_header(backend: str, args: tuple[int, bool, int, int], expected: str) -> None:
    assert ber().encode_header(*args) == hexbytes(expected)


@pytest.mark.parametrize(
    "args",
    [
        (0x20, False, 1, 1),
        (0x41, False, 1, 1),
        (0, False, -1, 0),
        (0, False, 1 << 28, 0),
        (0, False, 4, -1),
        (0, False, 4, 1 << 32),
    ],  # fmt: skip
)
def test_encode_header_rejects(backend: str, args: tuple[int, bool, int, int]) -> None:
    with pytest.raises(EncodeError):
        ber().encode_header(*args)


def test_encode_length_and_tlv(backend: str) -> None:
    assert ber().encode_length(0) == b"\x00"
    assert ber().encode_length(300) == hexbytes("82 01 2C")
    assert ber().encode_tlv(UNIVERSAL, False, 4, b"abc") == hexbytes("04 03 61 62 63")
    assert ber().encode_tlv(APPLICATION, False, 31, bytes(4)) == hexbytes("5F 1F 04 00 00 00 00")


# --------------------------------------------------------------------------
# generated trees: encode with encode_tlv, walk back
# --------------------------------------------------------------------------

_tags = st.tuples(
    st.sampled_from([UNIVERSAL, APPLICATION, CONTEXT, PRIVATE]),
    st.one_of(st.integers(0, 40), st.integers(0, (1 << 28) - 1)),
)
_trees = st.recursive(
    st.tuples(_tags, st.binary(max_size=300)),
    lambda children: st.tuples(_tags, st.lists(children, max_size=4)),
    max_leaves=12,
)


def _encode_tree(tree, module) -> bytes:  # type: ignore[no-untyped-def]
    (cls, number), body = tree
    if isinstance(body, bytes):
        return module.encode_tlv(cls, False, number, body)
    return module.encode_tlv(cls, True, number, b"".join(_encode_tree(t, module) for t in body))


def _count(tree) -> int:  # type: ignore[no-untyped-def]
    body = tree[1]
    return 1 if isinstance(body, bytes) else 1 + sum(_count(t) for t in body)


@FIXTURE_OK
@given(trees=st.lists(_trees, min_size=1, max_size=3))
def test_generated_trees_walk_back(backend: str, trees: list) -> None:  # type: ignore[type-arg]
    data = b"".join(_encode_tree(t, ber()) for t in trees)
    assert data == b"".join(_encode_tree(t, pure_ber) for t in trees)
    nodes = ber().walk(data, max_depth=64)
    assert len(nodes) == sum(_count(t) for t in trees)
    tops = [n for n in nodes if n.depth == 0]
    assert [(n.cls, n.number) for n in tops] == [t[0] for t in trees]
    assert tops[0].header == 0 and tops[-1].end == len(data)
    for node in nodes:
        head = ber().encode_header(node.cls, node.constructed, node.number, node.length)
        assert data[node.header : node.content] == head


# --------------------------------------------------------------------------
# differential: native and pure give the same nodes or the same error
# --------------------------------------------------------------------------

native_only = pytest.mark.skipif(not dlmsmesh.native_available(), reason="the C core is not built")


def _outcome(module, data: bytes, **kw):  # type: ignore[no-untyped-def]
    try:
        return module.walk(data, **kw)
    except DecodeError as exc:
        return ("error", exc.reason, exc.offset, exc.layer)


def _both(data: bytes, **kw) -> None:  # type: ignore[no-untyped-def]
    from dlmsmesh._native import ber as native_ber

    got = _outcome(native_ber, data, **kw)
    assert got == _outcome(pure_ber, data, **kw), data.hex()


SEEDS = [
    B1,
    hexbytes("61 29 A1 09 06 07 60 85 74 05 08 01 01 A2 03 02 01 00 A3 05 A1 03 02 01 00 BE 10 04 0E 08 00 06 5F 1F 04 00 00 12 1D 02 00 00 07"),
    hexbytes("5F 1F 04 00 00 7E 1F"),
    hexbytes("BF 87 68 83 00 00 04 30 02 05 00 04 82 00 00"),
    _nested(20),
]  # fmt: skip


@pytest.mark.single_backend
@native_only
@settings(deadline=None, max_examples=400)
@given(data=st.binary(max_size=64), max_depth=st.integers(0, 6), flat=st.booleans(), one=st.booleans())
def test_differential_random(data: bytes, max_depth: int, flat: bool, one: bool) -> None:
    _both(data, max_depth=max_depth, flat=flat, one=one)


@pytest.mark.single_backend
@native_only
def test_differential_mutations() -> None:
    rnd = random.Random(20240601)
    for _ in range(6000):
        data = bytearray(rnd.choice(SEEDS))
        for _ in range(rnd.randint(1, 4)):
            op = rnd.random()
            i = rnd.randrange(len(data)) if data else 0
            if op < 0.5 and data:
                data[i] = rnd.randrange(256)
            elif op < 0.7 and data:
                del data[i]
            elif op < 0.85:
                data.insert(i, rnd.choice((0x80, 0x81, 0x84, 0x1F, 0xFF, rnd.randrange(256))))
            else:
                del data[i:]
        _both(bytes(data), max_depth=rnd.randint(0, 20), flat=rnd.random() < 0.2, one=rnd.random() < 0.3)


@pytest.mark.single_backend
@native_only
def test_differential_truncations() -> None:
    for seed in SEEDS:
        for n in range(len(seed) + 1):
            _both(seed[:n])
            _both(seed[:n], one=True)


# --------------------------------------------------------------------------
# one home for the BER facts (python/dlmsmesh/_common/ber.py)
# --------------------------------------------------------------------------


def test_both_walkers_share_the_common_facts() -> None:
    from dlmsmesh import limits
    from dlmsmesh._common import ber as common

    modules = [pure_ber, acse]
    if dlmsmesh.native_available():
        from dlmsmesh._core import lib

        from dlmsmesh._native import ber as native_ber

        modules.append(native_ber)
        assert lib.DM_BER_DEPTH_LIMIT == common.DEPTH_LIMIT == 64
    for module in modules:
        assert module.Node is common.Node
        assert module.DEFAULT_MAX_DEPTH == limits.BER_DEFAULT_MAX_DEPTH == 16
        assert module.DEPTH_LIMIT is common.DEPTH_LIMIT
        assert module.encode_length is common.encode_length
    for module in (pure_ber, *modules[2:]):
        assert (module.UNIVERSAL, module.APPLICATION, module.CONTEXT, module.PRIVATE) == (0x00, 0x40, 0x80, 0xC0)
        assert module.LAYER == "acse"


def test_default_depth_is_the_library_limit(backend: str) -> None:
    # the BER walk's default depth is limits.BER_DEFAULT_MAX_DEPTH (16), as before
    # limits.py; deeper walks ask for it with max_depth (up to DEPTH_LIMIT)
    assert [n.depth for n in ber().walk(_nested(17))] == list(range(17))
    assert len(acse.ber_walk(_nested(17))) == 17
    data = _nested(18)
    with pytest.raises(DecodeError) as exc:
        ber().walk(data)
    assert exc.value.reason == _status.MESSAGES[_status.TOO_DEEP]
    assert exc.value.offset == len(data) - 2  # the innermost 30 00, at depth 17
    assert len(ber().walk(_nested(65), max_depth=64)) == 65


def test_ber_length_octets_are_the_axdr_length_octets(backend: str) -> None:
    from dlmsmesh._common import length

    for n in (0, 1, 0x7F, 0x80, 0xFF, 0x100, 0xFFFF, 0x10000, 0xFFFFFF, 0x1000000, 0xFFFFFFFF):
        assert ber().encode_length(n) == length.encode_length(n)
        assert ber().encode_header(UNIVERSAL, False, 4, n)[1:] == length.encode_length(n)
    assert ber().encode_length(0x10000) == hexbytes("83 01 00 00")
    with pytest.raises(EncodeError, match="BER length cannot be negative"):
        ber().encode_length(-1)
    with pytest.raises(EncodeError, match="BER length is at most"):
        ber().encode_length(1 << 32)
    with pytest.raises(EncodeError, match="BER length cannot be negative"):
        ber().encode_header(UNIVERSAL, False, 4, -1)


def _imports(path: str) -> set[str]:
    """The absolute names of the modules ``path`` (a dlmsmesh file) imports."""
    import ast
    import os

    import dlmsmesh as pkg

    root = os.path.dirname(pkg.__file__)
    rel = os.path.relpath(path, root)[: -len(".py")].split(os.sep)
    package = ["dlmsmesh", *rel[:-1]]
    found: set[str] = set()
    with open(path, encoding="utf-8") as fh:
        tree = ast.parse(fh.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            if node.module:
                found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


_BACKENDS = ("dlmsmesh._pure", "dlmsmesh._native", "dlmsmesh._backend")


@pytest.mark.parametrize(
    ("name", "forbidden"),
    [
        ("_common/ber.py", _BACKENDS + ("dlmsmesh.acse",)),
        ("_native/ber.py", ("dlmsmesh._pure", "dlmsmesh.acse")),
        ("_pure/ber.py", ("dlmsmesh._native", "dlmsmesh.acse")),
        ("acse.py", ("dlmsmesh._pure", "dlmsmesh._native")),
        ("acse_pdu.py", _BACKENDS + ("dlmsmesh.acse",)),
        ("xdlms_initiate.py", _BACKENDS + ("dlmsmesh.acse", "dlmsmesh.acse_pdu")),
    ],
)
def test_ber_and_acse_import_no_backend_they_should_not(name: str, forbidden: tuple[str, ...]) -> None:
    import os

    path = os.path.join(os.path.dirname(dlmsmesh.__file__), *name.split("/"))
    bad = sorted(m for m in _imports(path) if any(m == f or m.startswith(f + ".") for f in forbidden))
    assert bad == [], f"{name} imports {bad}"
