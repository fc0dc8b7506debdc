"""The pipeline and security backends only compute (issue 11): a backend's
``decode`` returns the per-frame words of an ``Outcome`` and settles
nothing; the orchestration in ``dlmsmesh.pipeline`` settles it once for both;
the pipeline reaches a SecurityContext only through the batch-access names
of ``dlmsmesh.security._batch_access``.  (``tests/test_backend_contract.py``
checks the signatures of ``dlmsmesh._protocols.secure``/``.pipeline``.)"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import pkgutil
import struct
from pathlib import Path

import pytest

import dlmsmesh
from dlmsmesh import _status as S
from dlmsmesh import apdu, pipeline
from dlmsmesh._common import pipeline_items as I
from dlmsmesh._common.pipeline_outcome import Outcome
from dlmsmesh._common.pipeline_plan import Codecs, DecodeJob
from dlmsmesh.pipeline.decode import decode_with
from dlmsmesh.security import MemoryCounterStore, SecurityContext
from dlmsmesh.security._batch_access import BatchContext
from dlmsmesh.types import DoubleLongUnsigned

from .helpers import BACKENDS

single = pytest.mark.single_backend

METER = bytes.fromhex("4D4D4D0000BC614E")
HEAD_END = bytes.fromhex("4D4D4D0000000001")
EK = bytes(range(16))
AK = bytes(range(0xD0, 0xE0))
PACKAGE = Path(dlmsmesh.__file__).parent


def _pair() -> tuple[SecurityContext, SecurityContext]:
    meter = SecurityContext(METER, peer_system_title=HEAD_END, ek=EK, ak=AK, role="server")
    head_end = SecurityContext(HEAD_END, peer_system_title=METER, ek=EK, ak=AK, counters=MemoryCounterStore())
    return meter, head_end


def _wrapped(apdu_bytes: bytes) -> bytes:
    return struct.pack(">HHHH", 1, 1, 0x66, len(apdu_bytes)) + apdu_bytes


def _notifications(meter: SecurityContext, count: int) -> list[bytes]:
    notes = [
        apdu.encode(apdu.DataNotification(DoubleLongUnsigned(1000 + i), long_invoke_id=i + 1)) for i in range(count)
    ]
    return [_wrapped(meter.protect(n, general=True)) for n in notes]


@single
@pytest.mark.parametrize("name", BACKENDS)
def test_codecs_name_the_backends_own_modules(name: str) -> None:
    backend = importlib.import_module(f"dlmsmesh._{name}.pipeline")
    codecs = backend.codecs()
    assert isinstance(codecs, Codecs)
    assert codecs.name == name
    assert codecs.secure is importlib.import_module(f"dlmsmesh._{name}.secure")
    assert codecs.apdu is importlib.import_module(f"dlmsmesh._{name}.apdu")
    assert (codecs.load_program is None) == (name == "pure")


@single
@pytest.mark.parametrize("name", BACKENDS)
def test_backend_decode_fills_an_outcome_and_settles_nothing(name: str) -> None:
    """The backend checks counters in its table but commits none to the store
    and builds no APDU: that is the orchestration's."""
    backend = importlib.import_module(f"dlmsmesh._{name}.pipeline")
    meter, head_end = _pair()
    frames = pipeline.FrameBuffer.join(_notifications(meter, 3))
    plan = pipeline.decode_plan(layer="wrapper", security=head_end)
    secure = backend.codecs().secure
    ring, contexts = plan.ring(secure)
    table = plan.table(name, ring, contexts)
    assert table is not None
    table.load(0)  # peer 0, unicast: loaded, so the backend checks it itself
    job = DecodeJob(plan.layer, plan.flags, None, None, ring, table.words)
    out = backend.decode(frames, job, backend.Workspace())
    assert isinstance(out, Outcome)
    assert [out.status(i) for i in range(3)] == [0, 0, 0]
    assert [out.word(i, I.IC) for i in range(3)] == [1, 2, 3]
    assert all(out.word(i, I.FLAGS) & I.F_CIPHERED for i in range(3))
    # the unicast entry moved to 3 in the table; the store has not seen it
    assert out.touched == [0]
    assert table.words[0] == 3
    scope = head_end.counter_scope("rx", METER, 0)
    assert head_end.counters.last_accepted(scope) is None
    assert out.objects == {} and out.errors == {}
    assert bytes(out.plaintext(0))[:1] == b"\x0f"


@single
@pytest.mark.parametrize("name", BACKENDS)
def test_decode_with_settles_once_above_the_backend(name: str) -> None:
    backend = importlib.import_module(f"dlmsmesh._{name}.pipeline")
    meter, head_end = _pair()
    frames = pipeline.FrameBuffer.join(_notifications(meter, 3))
    plan = pipeline.decode_plan(layer="wrapper", security=head_end)
    result = decode_with(backend, frames, plan, backend.Workspace())
    assert result.status == [0, 0, 0]
    assert [result.apdu(i).body for i in range(3)] == [
        DoubleLongUnsigned(1000),
        DoubleLongUnsigned(1001),
        DoubleLongUnsigned(1002),
    ]
    assert head_end.counters.last_accepted(head_end.counter_scope("rx", METER, 0)) == 3
    again = decode_with(backend, frames, pipeline.decode_plan(layer="wrapper", security=head_end))
    assert again.status == [S.PIPE_REPLAY] * 3


@single
def test_both_backends_fill_the_same_words() -> None:
    if len(BACKENDS) < 2:
        pytest.skip("the native backend is not built")
    words = {}
    for name in BACKENDS:
        backend = importlib.import_module(f"dlmsmesh._{name}.pipeline")
        meter, head_end = _pair()
        frames = _notifications(meter, 4)
        frames[2] = frames[2][:-1] + bytes((frames[2][-1] ^ 1,))  # a tag that does not verify
        plan = pipeline.decode_plan(layer="wrapper", security=head_end, replay_check=False)
        ring, _ = plan.ring(backend.codecs().secure)
        out = backend.decode(
            pipeline.FrameBuffer.join(frames), DecodeJob(plan.layer, plan.flags, None, None, ring, None)
        )
        # the C core builds hot APDUs as loader programs where the pure twin
        # leaves every APDU to the codec (F_DEFER_APDU): all else is the same
        words[name] = [
            [
                out.word(i, f) & ~I.F_DEFER_APDU if f == I.FLAGS else out.word(i, f)
                for f in range(I.WORDS)
                if f not in (I.PROGRAM, I.PROGRAM_LEN)
            ]
            for i in range(4)
        ]
        assert out.status(2) == S.SEC_AUTH
    assert words["native"] == words["pure"]


def _private_reaches(path: Path) -> list[str]:
    """``x._name`` where ``x`` is not ``self``/``cls`` and ``_name`` is not
    defined in the same file (a private member of another module's object)."""
    tree = ast.parse(path.read_text())
    own = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    own |= {
        n.attr
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store) and isinstance(n.value, ast.Name)
    }
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        attr = node.attr
        if not attr.startswith("_") or attr.startswith("__") or attr in own:
            continue
        if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
            continue
        found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    return found


@single
@pytest.mark.parametrize("package", ["pipeline", "security"])
def test_no_private_member_is_reached_across_objects(package: str) -> None:
    files = sorted((PACKAGE / package).glob("*.py"))
    assert files
    assert [hit for f in files for hit in _private_reaches(f)] == []


@single
def test_the_private_reach_check_finds_one(tmp_path: Path) -> None:
    src = tmp_path / "m.py"
    src.write_text(
        "def _mine(x):\n    return x\n\ndef f(ctx):\n    return ctx._scope('rx') + self._ok + ctx._mine(1)\n"
    )
    assert _private_reaches(src) == ["m.py:5: ctx._scope"]


@single
def test_security_context_implements_the_batch_access_names() -> None:
    wanted = {
        n for n, v in vars(BatchContext).items() if not n.startswith("_") and (callable(v) or isinstance(v, property))
    }
    assert wanted >= {"batch_ring", "counter_scope", "open_deferred", "send_setup", "send_key", "reserve_counters"}
    for name in wanted:
        impl = getattr(SecurityContext, name)
        assert not name.startswith("_")
        member = vars(BatchContext)[name]
        if callable(member) and not isinstance(impl, property):
            want = list(inspect.signature(member).parameters)
            assert list(inspect.signature(impl).parameters) == want, name


@single
@pytest.mark.parametrize("backend_pkg", ["_pure", "_native"])
def test_backend_pipeline_and_secure_import_no_layer_above(backend_pkg: str) -> None:
    """The import lines themselves (lint-imports checks the whole graph)."""
    above = ("dlmsmesh.pipeline", "dlmsmesh.security", "dlmsmesh.lowpan", "dlmsmesh.stack", "dlmsmesh.cli")
    for stem in ("pipeline", "pipeline_encode", "secure"):
        path = PACKAGE / backend_pkg / f"{stem}.py"
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                target = importlib.util.resolve_name("." * node.level + (node.module or ""), f"dlmsmesh.{backend_pkg}")
                assert not target.startswith(above), f"{path.name}: from {target}"
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith(above) for a in node.names), path.name


@single
def test_protocol_modules_cover_secure_and_pipeline() -> None:
    import dlmsmesh._protocols

    names = {m.name for m in pkgutil.iter_modules(dlmsmesh._protocols.__path__)}
    assert {"secure", "pipeline"} <= names
