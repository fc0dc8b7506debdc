"""Run the fuzz harnesses of tests/fuzz/ for a given time (issue 7).

    python -m tests.fuzz --seconds N [--target NAME ...] [--jobs J]
    python -m tests.fuzz --smoke          # about a minute in all (CI)
    python -m tests.fuzz --merge [--seeds DIR] [--target NAME ...]
    python -m tests.fuzz --list

C targets (libFuzzer, ASan+UBSan; built with ``make -C tests/fuzz fuzzers``,
which this does): axdr ber apdu secure wrapper iphc frag columns pipeline.
Python targets (atheris, both backends, differential): py_axdr py_apdu
py_acse py_transport py_security py_stack py_pipeline.

Each run reads the committed corpus ``tests/fuzz/corpus/<target>`` and writes
what it finds to ``tests/fuzz/build/work/<target>`` (``make -C tests/fuzz
merge`` folds that into the committed corpus, minimized); crashes go to
``tests/fuzz/build/artifacts/<target>/``.  Jobs run under ``nice -n 19`` and
at most ``--jobs`` at a time (default 1; the machine is shared).  Prints one
line per target (execs, execs/s, coverage, time, result) and exits non-zero
when any target found something.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
ROOT = FUZZ.parents[1]
BUILD = Path(os.environ.get("DLMSMESH_FUZZ_BUILD", FUZZ / "build"))
CORPUS = FUZZ / "corpus"
DICT = FUZZ / "dlms.dict"

C_TARGETS = ["axdr", "ber", "apdu", "secure", "wrapper", "iphc", "frag", "columns", "pipeline", "pipe_encode", "push"]
PY_TARGETS = ["py_axdr", "py_apdu", "py_acse", "py_transport", "py_security", "py_stack", "py_pipeline"]
SMOKE_SECONDS = {"c": 4, "py": 3}
MAX_LEN = 4096


@dataclass
class Result:
    target: str
    seconds: float
    rc: int
    execs: int | None = None
    exec_per_sec: int | None = None
    cov: int | None = None
    ft: int | None = None
    corpus: str | None = None
    log: Path | None = None

    @property
    def ok(self) -> bool:
        return self.rc == 0

    def line(self) -> str:
        def fmt(v: object) -> str:
            return "-" if v is None else str(v)

        status = "ok" if self.ok else f"FINDING (exit {self.rc}, see {self.log})"
        return (
            f"{self.target:13} {self.seconds:7.1f}s  execs {fmt(self.execs):>10}  exec/s {fmt(self.exec_per_sec):>7}"
            f"  cov {fmt(self.cov):>5}  ft {fmt(self.ft):>6}  corpus {fmt(self.corpus):>12}  {status}"
        )


def build_c(targets: list[str]) -> bool:
    if not targets:
        return True
    if shutil.which(os.environ.get("CLANG", "clang")) is None:
        print("fuzz: clang not found: the C targets need clang and its libFuzzer runtime", file=sys.stderr)
        return False
    cmd = ["make", "-s", "-j2", "-C", str(FUZZ), f"BUILD={BUILD}"] + [str(BUILD / f"fuzz_{t}") for t in targets]
    return subprocess.run(cmd).returncode == 0


def program(target: str) -> list[str]:
    """The fuzzer of a target: the libFuzzer binary, or Python on the atheris script."""
    if target in C_TARGETS:
        return [str(BUILD / f"fuzz_{target}")]
    return [sys.executable, str(FUZZ / f"atheris_{target[3:]}.py")]


def command(target: str, seconds: int, workdir: Path, artifacts: Path, timeout: int = 10) -> list[str]:
    flags = [
        f"-max_total_time={seconds}",
        "-print_final_stats=1",
        f"-max_len={MAX_LEN}",
        f"-timeout={timeout}",
        "-rss_limit_mb=2048",
        f"-artifact_prefix={artifacts}/",
    ]
    dirs = [str(workdir)]
    seed = CORPUS / target
    if seed.is_dir():
        dirs.append(str(seed))
    return [*program(target), f"-dict={DICT}", *flags, *dirs]


def parse_stats(text: str, result: Result) -> None:
    m = re.search(r"stat::number_of_executed_units:\s*(\d+)", text)
    result.execs = int(m.group(1)) if m else None
    m = re.search(r"stat::average_exec_per_sec:\s*(\d+)", text)
    result.exec_per_sec = int(m.group(1)) if m else None
    found = re.findall(r"cov: (\d+) ft: (\d+) corp: (\d+/\S+)", text)
    if found:
        last = found[-1]
        result.cov, result.ft, result.corpus = int(last[0]), int(last[1]), last[2]


def run(targets: list[str], seconds: int, jobs: int, nice: int) -> list[Result]:
    # libFuzzer's -timeout is wall-clock time: a job at nice 19 on a busy machine
    # can wait a minute for the CPU, so niced runs only call a 5-minute unit a hang
    timeout = 300 if nice else 10
    pending = list(targets)
    running: list[tuple[str, subprocess.Popen[bytes], float, Path]] = []
    results: list[Result] = []
    env = _env()
    while pending or running:
        while pending and len(running) < jobs:
            t = pending.pop(0)
            workdir, artifacts, logs = BUILD / "work" / t, BUILD / "artifacts" / t, BUILD / "logs"
            for d in (workdir, artifacts, logs):
                d.mkdir(parents=True, exist_ok=True)
            log = logs / f"{t}.log"
            cmd = command(t, seconds, workdir, artifacts, timeout)
            if nice and shutil.which("nice"):
                cmd = ["nice", "-n", str(nice), *cmd]
            with open(log, "wb") as fh:
                proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
            running.append((t, proc, time.monotonic(), log))
        time.sleep(0.2)
        for item in list(running):
            t, proc, start, log = item
            if proc.poll() is None:
                if time.monotonic() - start > seconds + 120:  # libFuzzer stops itself; this is a backstop
                    proc.kill()
                continue
            running.remove(item)
            r = Result(t, time.monotonic() - start, proc.returncode, log=log)
            parse_stats(log.read_text(errors="replace"), r)
            results.append(r)
            print(r.line(), flush=True)
            if not r.ok:
                print(log.read_text(errors="replace")[-4000:], file=sys.stderr)
    return results


def merge(targets: list[str], seeds: Path | None, nice: int) -> bool:
    """Minimize corpus/<target> with -merge=1, folding in build/work/<target>
    (what the runs found) and seeds/<target> (python -m tests.fuzz.seeds DIR)."""
    ok = True
    for t in targets:
        new = BUILD / "merged" / t
        shutil.rmtree(new, ignore_errors=True)
        new.mkdir(parents=True)
        sources = [CORPUS / t, BUILD / "work" / t] + ([seeds / t] if seeds else [])
        sources = [d for d in sources if d.is_dir()]
        cmd = [*program(t), "-merge=1", f"-max_len={MAX_LEN}", "-timeout=10", "-rss_limit_mb=2048"]
        cmd += [str(new), *map(str, sources)]
        if nice and shutil.which("nice"):
            cmd = ["nice", "-n", str(nice), *cmd]
        (BUILD / "logs").mkdir(parents=True, exist_ok=True)
        log = BUILD / "logs" / f"merge_{t}.log"
        with open(log, "wb") as fh:
            rc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, cwd=ROOT, env=_env()).returncode
        had = sum(1 for d in sources for f in d.iterdir())
        if rc != 0 or (had and not any(new.iterdir())):
            print(f"{t}: merge failed (exit {rc}, see {log}); corpus left as it was", file=sys.stderr)
            ok = False
            continue
        shutil.rmtree(CORPUS / t, ignore_errors=True)
        shutil.move(str(new), str(CORPUS / t))
        files = list((CORPUS / t).iterdir())
        print(f"{t}: {len(files)} inputs, {sum(f.stat().st_size for f in files)} bytes")
    return ok


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "abort_on_error=1:detect_leaks=1")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=int, default=60, help="time per target (default 60)")
    ap.add_argument("--target", action="append", default=[], help="a target (repeatable; default all)")
    ap.add_argument("--smoke", action="store_true", help="every target briefly, two at a time: about a minute")
    ap.add_argument("--jobs", type=int, default=None, help="targets at a time (default 1; --smoke: 2)")
    ap.add_argument("--nice", type=int, default=19, help="nice level of the jobs (default 19; 0: none)")
    ap.add_argument("--c-only", action="store_true", help="only the libFuzzer (C) targets")
    ap.add_argument("--py-only", action="store_true", help="only the atheris (Python) targets")
    ap.add_argument("--list", action="store_true", help="list the targets")
    ap.add_argument("--no-build", action="store_true", help="use the C fuzzers already in the build folder")
    ap.add_argument("--merge", action="store_true", help="minimize the committed corpora (-merge=1) with the finds")
    ap.add_argument("--seeds", type=Path, default=None, help="with --merge: also fold in DIR/<target>")
    args = ap.parse_args(argv)

    everything = C_TARGETS + PY_TARGETS
    if args.list:
        print("\n".join(everything))
        return 0
    targets = args.target or [
        t for t in everything if not (args.c_only and t in PY_TARGETS) and not (args.py_only and t in C_TARGETS)
    ]
    unknown = [t for t in targets if t not in everything]
    if unknown:
        ap.error(f"unknown target(s) {', '.join(unknown)}; --list shows them")
    c_targets = [t for t in targets if t in C_TARGETS]
    py_targets = [t for t in targets if t in PY_TARGETS]
    problems = 0
    if not args.no_build and not build_c(c_targets):
        return 2
    if py_targets:
        try:
            import atheris  # noqa: F401
        except ImportError:
            print("fuzz: atheris is not installed (pip install atheris): Python targets skipped", file=sys.stderr)
            py_targets = []
            problems += 1
    if args.merge:
        return 0 if merge(c_targets + py_targets, args.seeds, args.nice) and not problems else 1
    jobs = args.jobs or (2 if args.smoke else 1)
    results = []
    if args.smoke:
        results += run(c_targets, SMOKE_SECONDS["c"], jobs, args.nice)
        results += run(py_targets, SMOKE_SECONDS["py"], jobs, args.nice)
    else:
        results += run(c_targets + py_targets, args.seconds, jobs, args.nice)
    bad = [r for r in results if not r.ok]
    total = len(results)
    print(f"fuzz: {total - len(bad)} passed, {len(bad)} failed")
    return 1 if bad or problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
