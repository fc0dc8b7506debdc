"""cffi builder for ``dlmsmesh._core`` (API mode, out of line).

Run by setuptools through ``cffi_modules`` in setup.py.  The cdef is read from
``csrc/dlmsmesh.h``, the one public C header, so the two cannot drift apart.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CSRC = os.path.join(ROOT, "csrc")
SOURCES = sorted(os.path.join("csrc", name) for name in os.listdir(CSRC) if name.endswith(".c"))

EXTRA_COMPILE_ARGS = ["-O2", "-std=c99", "-Wall", "-Wextra", "-Werror"]


def _openssl_flags() -> tuple[list[str], list[str], list[str]]:
    """(include dirs, library dirs, libraries) for OpenSSL's libcrypto."""
    try:
        cflags = subprocess.run(
            ["pkg-config", "--cflags", "libcrypto"], capture_output=True, text=True, check=True
        ).stdout
        libs = subprocess.run(["pkg-config", "--libs", "libcrypto"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return [], [], ["crypto"]
    incs = [a[2:] for a in shlex.split(cflags) if a.startswith("-I")]
    libdirs = [a[2:] for a in shlex.split(libs) if a.startswith("-L")]
    names = [a[2:] for a in shlex.split(libs) if a.startswith("-l")] or ["crypto"]
    return incs, libdirs, names


def _check_openssl_headers(include_dirs: list[str]) -> None:
    for d in include_dirs + ["/usr/include", "/usr/local/include"]:
        if os.path.exists(os.path.join(d, "openssl", "evp.h")):
            return
    sys.stderr.write(
        "dlmsmesh: OpenSSL headers (openssl/evp.h) were not found. Install them "
        "(Debian/Ubuntu: apt-get install libssl-dev; Fedora: dnf install openssl-devel) "
        "or set DLMSMESH_BACKEND=pure to run without the C core.\n"
    )


# Compiler-only annotations of dlmsmesh.h that cffi's parser does not know.
_ANNOTATIONS = ("DM_MUST_CHECK",)


def _cdef_from_header(text: str) -> str:
    """The declarations of dlmsmesh.h in the form cffi's cdef accepts."""
    body = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    for name in _ANNOTATIONS:
        body = re.sub(rf"^#define {name}\b.*$", "", body, flags=re.M)
        body = re.sub(rf"\b{name}\s+", "", body)
    lines = []
    for line in body.splitlines():
        s = line.strip()
        if s.startswith(("#include", "#if", "#else", "#elif", "#endif")):
            continue
        if s.startswith("#define DLMSMESH_H"):
            continue
        if s.startswith("#define"):
            name = s.split()[1]
            lines.append(f"#define {name} ...")
            continue
        lines.append(line)
    return "\n".join(lines)


with open(os.path.join(CSRC, "dlmsmesh.h")) as fh:
    _HEADER = fh.read()

_incs, _libdirs, _libs = _openssl_flags()
_check_openssl_headers(_incs)

ffibuilder = FFI()
ffibuilder.cdef(_cdef_from_header(_HEADER))
ffibuilder.set_source(
    "dlmsmesh._core",
    '#include "dlmsmesh.h"',
    sources=SOURCES,
    include_dirs=[CSRC] + _incs,
    library_dirs=_libdirs,
    libraries=_libs,
    extra_compile_args=EXTRA_COMPILE_ARGS,
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
