"""Facts the C core and the Python side both hold cannot drift apart: status
codes, the loader's field names, the limits, and the cdef that _build.py
derives from csrc/dlmsmesh.h.  Each check fails when one side changes alone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import dlmsmesh
from dlmsmesh import _status

pytestmark = pytest.mark.skipif(not dlmsmesh.native_available(), reason="C core not built")

if dlmsmesh.native_available():
    from dlmsmesh._core import lib

HEADER = Path(__file__).resolve().parent.parent / "csrc" / "dlmsmesh.h"


def _c_constants(prefix: str) -> dict[str, int]:
    return {name[len(prefix) :]: getattr(lib, name) for name in dir(lib) if name.startswith(prefix)}


def _python_codes() -> dict[str, int]:
    return {
        name: value
        for name, value in vars(_status).items()
        if name.isupper() and isinstance(value, int) and not isinstance(value, bool) and name != "OK"
    }


# C statuses that never leave the native backend, so _status.py has no name
# for them: each is a signal between the C core and its Python wrapper.
C_ONLY = {
    # dm_apdu_decode declines an APDU outside its hot path; _native/apdu.py
    # and pipeline_decode.c then walk it the generic way
    "APDU_NOT_HOT": -23,
}


def test_status_codes_are_the_c_header_codes() -> None:
    c_codes = _c_constants("DM_ERR_")
    py_codes = _python_codes()
    assert sorted(py_codes.items()) == sorted(set(c_codes.items()) - set(C_ONLY.items()))
    assert {name: c_codes.get(name) for name in C_ONLY} == C_ONLY
    assert not set(C_ONLY) & set(py_codes)
    assert _status.OK == lib.DM_OK == 0


def test_status_codes_are_distinct_and_negative() -> None:
    codes = list(_c_constants("DM_ERR_").values())
    assert len(set(codes)) == len(codes)
    assert all(code < 0 for code in codes)


def test_every_decode_status_has_a_message() -> None:
    # NO_SPACE and BAD_ARGUMENT ask the Python caller to retry or are its own
    # mistake; every other code can reach a user as a DecodeError
    internal = {_status.NO_SPACE, _status.BAD_ARGUMENT}
    assert set(_status.MESSAGES) == set(_python_codes().values()) - internal


def test_loader_field_names_follow_the_c_field_order() -> None:
    from dlmsmesh._native.loader import memo_objects

    fields = {name: value for name, value in _c_constants("DM_FIELD_").items() if name != "COUNT"}
    assert sorted(fields.values()) == list(range(lib.DM_FIELD_COUNT))
    objects = memo_objects()
    names = [objects[lib.DM_MEMO_FIELD_BASE + i] for i in range(lib.DM_FIELD_COUNT)]
    assert names == [name.lower() for name, _ in sorted(fields.items(), key=lambda item: item[1])]
    # the slot after the last field is no field name
    assert not isinstance(objects.get(lib.DM_MEMO_FIELD_BASE + lib.DM_FIELD_COUNT), str)


def test_field_names_are_attributes_of_the_apdu_classes() -> None:
    from dlmsmesh import apdu as A

    attributes: set[str] = set()
    for cls in (A.GetResponseNormal, A.DataNotification, A.GeneralBlockTransfer):
        attributes |= set(cls.__dataclass_fields__)
    assert {name.lower() for name in _c_constants("DM_FIELD_") if name != "COUNT"} <= attributes


def test_depth_defaults_are_the_c_limits() -> None:
    from dlmsmesh import axdr
    from dlmsmesh._native import axdr as native_axdr
    from dlmsmesh._native import ber as native_ber
    from dlmsmesh._pure import axdr as pure_axdr
    from dlmsmesh._pure import ber as pure_ber

    assert axdr.DEFAULT_MAX_DEPTH == lib.DM_DEFAULT_MAX_DEPTH
    assert pure_axdr.DEFAULT_MAX_DEPTH == lib.DM_DEFAULT_MAX_DEPTH
    assert native_axdr.DEFAULT_MAX_DEPTH == lib.DM_DEFAULT_MAX_DEPTH
    assert pure_ber.DEFAULT_MAX_DEPTH == lib.DM_BER_DEFAULT_MAX_DEPTH
    assert native_ber.DEFAULT_MAX_DEPTH == lib.DM_BER_DEFAULT_MAX_DEPTH
    assert pure_ber.DEPTH_LIMIT == lib.DM_BER_DEPTH_LIMIT

    from dlmsmesh import limits

    assert limits.DEFAULT_MAX_DEPTH == lib.DM_DEFAULT_MAX_DEPTH
    assert limits.BER_DEFAULT_MAX_DEPTH == lib.DM_BER_DEFAULT_MAX_DEPTH
    assert limits.BER_DEPTH_LIMIT == lib.DM_BER_DEPTH_LIMIT


def test_fragment_size_limit_is_the_c_limit() -> None:
    from dlmsmesh import limits, lowpan
    from dlmsmesh._pure import frag as pure_frag

    assert pure_frag.MAX_DATAGRAM_SIZE is limits.MAX_DATAGRAM_SIZE
    assert limits.MAX_DATAGRAM_SIZE == lib.DM_FRAG_MAX_DATAGRAM
    assert lowpan.MAX_DATAGRAM_SIZE == lib.DM_FRAG_MAX_DATAGRAM


def _declarations(text: str) -> list[str]:
    body = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.findall(r"^[A-Za-z_][\w ]*\bdm_\w+\(", body, flags=re.M)


def test_every_status_returning_function_must_be_checked() -> None:
    declarations = _declarations(HEADER.read_text())
    status = [d for d in declarations if re.search(r"\b(int|int32_t|int64_t) dm_", d)]
    assert len(status) > 20
    assert [d for d in status if not d.startswith("DM_MUST_CHECK ")] == []
    # and nothing else carries it: a void function has no status to check
    assert [d for d in declarations if d.startswith("DM_MUST_CHECK ") and d not in status] == []


@pytest.mark.single_backend
def test_cdef_carries_no_compiler_annotation() -> None:
    # the build script of this checkout (an installed dlmsmesh has no csrc/ beside
    # its _build.py, which runs only at build time)
    import importlib.util

    path = HEADER.parent.parent / "python" / "dlmsmesh" / "_build.py"
    spec = importlib.util.spec_from_file_location("dlmsmesh_build_under_test", path)
    assert spec is not None and spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)

    cdef = build._cdef_from_header(HEADER.read_text())
    assert "DM_MUST_CHECK" not in cdef
    assert "__attribute__" not in cdef
    assert not [line for line in cdef.splitlines() if line.strip().startswith(("#if", "#else", "#endif"))]
    assert re.search(r"^int dm_axdr_decode\(", cdef, flags=re.M)
    assert "#define DM_DEFAULT_MAX_DEPTH ..." in cdef
