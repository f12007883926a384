#!/usr/bin/env python3
"""End-to-end benchmarks: relay against ninja (and make) on the shared workloads.

Usage (from the repository root; `make bench` runs the first line):
  python3 bench/run.py --build build
  python3 bench/run.py --build build --sizes 10000 --reps 5 --only W1,W3
  python3 bench/run.py --build build --json > bench.json

Sections (names accepted by --only):
  W1..W4      relay vs ninja vs make, alternating, median of per-pair ratios
  plan        `relay plan` of a 100,000-instance matrix task
  many        100 runs of W1 100 started at once in one engine against one run of
              W1 10,000 (bench/engine/many_runs.cc, real processes, the keeper)
  callgrind   instructions per task, relay (with its keeper) vs ninja alone (W1)
  durability  W1 with --durability power vs the default
  store       bench/micro/store_bench, when it has been built

Method (../shared/bench/README.md): each workload comes from the shared
generator; every peer runs the same DAG; runs alternate relay, ninja, make,
relay, ...; each relay run starts on an empty store; peak RSS is the largest
single process (wait4's ru_maxrss). Exits 1 when relay fails a run.
Standard library only.
"""
import argparse
import importlib.util
import json
import os
import platform
import re
import shutil
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_WORKLOAD_PY = REPO / ".." / "shared" / "bench" / "workload.py"
WORKLOADS = {"W1": "wide", "W2": "chain", "W3": "layered", "W4": "sleep"}
W4_SIZE = 200
W4_IDEAL_S = 1.25  # 200 tasks / 8 slots * 50 ms
PLAN_AXES = (100, 1000)  # 100,000 instances
CALLGRIND_TASKS = 500
RUN_TIMEOUT_S = 900
SECTIONS = ("W1", "W2", "W3", "W4", "plan", "many", "callgrind", "durability", "store")
MANY_RUNS, MANY_TASKS = 100, 100  # 100 runs of 100 tasks against one run of 10,000


class RelayFailed(Exception):
    pass


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def clean_env():
    """Environment for the measured processes: nothing inherited from an
    enclosing `make bench` (jobserver fds) or a user's relay settings."""
    env = dict(os.environ)
    for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "RELAY_STORE",
              "RELAY_DURABILITY"):
        env.pop(k, None)
    return env


ENV = clean_env()


GNU_TIME = shutil.which("time", path="/usr/bin:/bin")


def rss_method():
    if GNU_TIME:
        return f"GNU time %M ({GNU_TIME}): the largest single process"
    return ("wait4 ru_maxrss from python: the largest single process, but every number is at "
            "least python's own RSS (a forked child starts with its parent's pages); "
            "install Debian's `time` for exact numbers")


def measure(argv, cwd, stdout=subprocess.DEVNULL, timeout=RUN_TIMEOUT_S, rss=True):
    """Runs argv; returns (exit code, wall seconds, peak RSS in MB of the
    largest single process in its tree, stderr bytes).

    wait4's ru_maxrss is a max over the tree, not a sum, but it also counts
    the pages a child inherits from whoever forked it: measured from this
    python process every number would be >= python's ~17 MB. GNU time forks
    from a 2 MB process, so it wraps the command when it is installed."""
    rss_file = None
    if rss and GNU_TIME:
        fd, rss_file = tempfile.mkstemp(prefix="rss-")
        os.close(fd)
        argv = [GNU_TIME, "-f", "%M", "-o", rss_file] + list(argv)
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, cwd=cwd, stdout=stdout, stderr=subprocess.PIPE, env=ENV,
                         start_new_session=True)
    killer = threading.Timer(timeout, lambda: os.killpg(p.pid, signal.SIGKILL))
    killer.start()
    # Drain stderr in a thread so a chatty child cannot block while this
    # thread waits in wait4.
    err = []
    reader = threading.Thread(target=lambda: err.append(p.stderr.read()))
    reader.start()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    killer.cancel()
    p.returncode = os.waitstatus_to_exitcode(status)
    reader.join()
    p.stderr.close()
    peak_kb = ru.ru_maxrss
    if rss_file:
        try:
            lines = Path(rss_file).read_text().split()
            peak_kb = int(lines[-1])
        except (OSError, ValueError, IndexError):
            pass  # killed before time wrote it: keep wait4's number
        os.unlink(rss_file)
    return p.returncode, wall, peak_kb / 1024.0, err[0]


def median(xs):
    return statistics.median(xs) if xs else None


# ---------------------------------------------------------------- environment

def first_line(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, env=ENV, timeout=30)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "not found"


def cmake_cache(build, key):
    try:
        for line in (build / "CMakeCache.txt").read_text().splitlines():
            if line.startswith(key + ":"):
                return line.split("=", 1)[1]
    except OSError:
        pass
    return None


def environment(build, relay):
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    build_type = cmake_cache(build, "CMAKE_BUILD_TYPE") or "unknown"
    sanitize = cmake_cache(build, "RELAY_SANITIZE") or "OFF"
    warnings = []
    if build_type != "Release":
        warnings.append(f"build type is {build_type!r}, not Release: numbers are not representative")
    if sanitize.upper() in ("ON", "TRUE", "1"):
        warnings.append("RELAY_SANITIZE is ON: numbers are not representative")
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "command": " ".join([sys.executable.split("/")[-1]] + sys.argv),
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "kernel": platform.release(),
        "loadavg_at_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "build_dir": str(build),
        "build_type": build_type,
        "relay": first_line([str(relay), "--version"]),
        "ninja": first_line(["ninja", "--version"]),
        "make": first_line(["make", "--version"]),
        "valgrind": first_line(["valgrind", "--version"]),
        "compiler": cmake_cache(build, "CMAKE_CXX_COMPILER") or "unknown",
        "python": platform.python_version(),
        "peak_rss": rss_method(),
        "warnings": warnings,
    }


def filesystem_of(path):
    """fstype of the mount holding path, from /proc/mounts (longest prefix)."""
    best, fstype = "", "unknown"
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            parts = line.split()
            mnt = parts[1].replace("\\040", " ")
            if (str(path) == mnt or str(path).startswith(mnt.rstrip("/") + "/")) and \
                    len(mnt) >= len(best):
                best, fstype = mnt, parts[2]
    except (OSError, IndexError):
        pass
    return fstype


def print_environment(env):
    print("# relay benchmark")
    for k in ("date", "command", "nproc", "cpu", "kernel", "loadavg_at_start", "build_dir",
              "build_type", "compiler", "relay", "ninja", "make", "valgrind", "python", "peak_rss", "tmp_dir"):
        print(f"{k:>17}: {env.get(k, '')}")
    for w in env["warnings"]:
        print(f"WARNING: {w}")
    print(flush=True)


# ------------------------------------------------------------ workload files

def load_generator(path):
    spec = importlib.util.spec_from_file_location("bench_workload", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class Workload:
    """One generated workload in its own directory: dag.tsv, p.yaml,
    ninja/build.ninja and make/Makefile."""

    def __init__(self, gen, gen_path, root, name, n):
        self.name, self.n = name, n
        self.dir = root / f"{name}-{n}"
        self.dir.mkdir(parents=True)
        for fmt, fname in (("tsv", "dag.tsv"), ("yaml", "p.yaml")):
            with open(self.dir / fname, "w") as f:
                subprocess.run([sys.executable, str(gen_path), name, str(n), "--format", fmt],
                               stdout=f, check=True, env=ENV)
        self.meta, self.tasks = gen.load(str(self.dir / "dag.tsv"))
        self.sinks = gen.sinks(self.tasks)
        self.jobs = int(self.meta["parallelism"])
        self.yaml = self.dir / "p.yaml"
        self.store_dir = self.dir / "s"
        self.ninja_dir = self.dir / "ninja"
        self.make_dir = self.dir / "make"
        self._write_ninja()
        self._write_make()

    def _write_ninja(self):
        self.ninja_dir.mkdir()
        cmds = {c for _, _, c in self.tasks}
        assert len(cmds) == 1, "one rule per workload"
        lines = ["rule r", f"  command = {cmds.pop()}", ""]
        for tid, deps, _ in self.tasks:
            lines.append(f"build {tid}: r" + (" " + " ".join(deps) if deps else ""))
        lines.append("default " + " ".join(self.sinks))
        (self.ninja_dir / "build.ninja").write_text("\n".join(lines) + "\n")

    def _write_make(self):
        self.make_dir.mkdir()
        ids = [t for t, _, _ in self.tasks]
        lines = [".PHONY: all " + " ".join(ids), "all: " + " ".join(self.sinks)]
        for tid, deps, cmd in self.tasks:
            lines.append(f"{tid}:" + (" " + " ".join(deps) if deps else ""))
            lines.append(f"\t@{cmd}")
        (self.make_dir / "Makefile").write_text("\n".join(lines) + "\n")

    def reset_store(self):
        shutil.rmtree(self.store_dir, ignore_errors=True)  # db, -wal, -shm, logs/
        self.store_dir.mkdir()

    def run_relay(self, relay, extra=(), jobs=None):
        self.reset_store()
        argv = [str(relay), "run", str(self.yaml), "-j", str(jobs or self.jobs),
                "--store", str(self.store_dir / "relay.db"), *extra]
        rc, wall, rss, err = measure(argv, self.dir)
        if rc != 0:
            raise RelayFailed(f"relay exited {rc} on {self.name} {self.n}: {' '.join(argv)}\n"
                              + err.decode(errors="replace")[-2000:])
        return wall, rss

    def run_ninja(self):
        (self.ninja_dir / ".ninja_log").unlink(missing_ok=True)
        rc, wall, rss, err = measure(["ninja", "-j", str(self.jobs)], self.ninja_dir)
        if rc != 0:
            raise SystemExit(f"ninja exited {rc} on {self.name} {self.n}: {err.decode()[-500:]}")
        return wall, rss

    def run_make(self):
        rc, wall, rss, err = measure(["make", "-s", "-j", str(self.jobs)], self.make_dir)
        if rc != 0:
            raise SystemExit(f"make exited {rc} on {self.name} {self.n}: {err.decode()[-500:]}")
        return wall, rss


# ------------------------------------------------------------------ sections

def compare(wl, relay, reps, with_make):
    """Alternates relay, ninja[, make] reps times; returns one result row."""
    t = {"relay": [], "ninja": [], "make": []}
    rss = {"relay": [], "ninja": [], "make": []}
    for i in range(reps):
        for peer, fn in (("relay", lambda: wl.run_relay(relay)), ("ninja", wl.run_ninja),
                         ("make", wl.run_make)):
            if peer == "make" and not with_make:
                continue
            w, r = fn()
            t[peer].append(w)
            rss[peer].append(r)
        log(f"  {wl.name} {wl.n} rep {i + 1}/{reps}: relay {t['relay'][-1]:.3f}s "
            f"ninja {t['ninja'][-1]:.3f}s" + (f" make {t['make'][-1]:.3f}s" if with_make else ""))
    row = {
        "workload": wl.name, "n": wl.n, "jobs": wl.jobs, "reps": reps,
        "relay_s": t["relay"], "ninja_s": t["ninja"], "make_s": t["make"],
        "relay_median_s": median(t["relay"]), "ninja_median_s": median(t["ninja"]),
        "make_median_s": median(t["make"]),
        "relay_over_ninja": median([a / b for a, b in zip(t["relay"], t["ninja"])]),
        "relay_over_make": median([a / b for a, b in zip(t["relay"], t["make"])]),
        "relay_rss_mb": max(rss["relay"]), "ninja_rss_mb": max(rss["ninja"]),
        "make_rss_mb": max(rss["make"]) if rss["make"] else None,
        "relay_us_per_task_over_ninja": median(
            [(a - b) / wl.n * 1e6 for a, b in zip(t["relay"], t["ninja"])]),
    }
    if wl.name == "sleep":
        row["ideal_s"] = W4_IDEAL_S * wl.n / W4_SIZE
        row["relay_over_ideal"] = row["relay_median_s"] / row["ideal_s"]
        floors = [slot_floor(wl) for _ in range(reps)]
        row["slot_floor_s"] = median(floors)
        row["slot_floor_over_ideal"] = row["slot_floor_s"] / row["ideal_s"]
        row["relay_over_slot_floor"] = row["relay_median_s"] / row["slot_floor_s"]
    return row


def slot_floor(wl):
    """The least time one of the -j slots can take on this machine: its
    share of the tasks run back to back, alone, spawned directly with no
    bookkeeping at all. Unlike the ideal (n / j × 50 ms) it includes every
    process's own exec, dynamic loading and exit, which no runner can
    avoid; running -j of them at once on fewer cores only adds to it."""
    argv = shlex.split(wl.tasks[0][2])
    argv[0] = shutil.which(argv[0]) or argv[0]
    per_slot = -(-wl.n // wl.jobs)
    start = time.perf_counter()
    for _ in range(per_slot):
        pid = os.posix_spawn(argv[0], argv, ENV)
        os.waitpid(pid, 0)
    return time.perf_counter() - start


def plan_bench(relay, root, reps):
    a, b = PLAN_AXES
    d = root / "plan"
    d.mkdir()
    yaml = d / "matrix.yaml"
    yaml.write_text(
        f"name: bench-matrix-{a * b}\n"
        "tasks:\n"
        "  m:\n"
        f"    matrix: {{a: [{', '.join(map(str, range(1, a + 1)))}], "
        f"b: [{', '.join(map(str, range(1, b + 1)))}]}}\n"
        "    run: echo ${{ matrix.a }}-${{ matrix.b }}\n")
    walls, rsss = [], []
    for i in range(reps):
        rc, wall, rss, err = measure([str(relay), "plan", str(yaml)], d)
        if rc != 0:
            raise RelayFailed(f"relay plan exited {rc}: {err.decode(errors='replace')[-2000:]}")
        walls.append(wall)
        rsss.append(rss)
        log(f"  plan {a * b} rep {i + 1}/{reps}: {wall:.3f}s {rss:.1f} MB")
    return {"instances": a * b, "wall_s": walls, "median_s": median(walls),
            "rss_mb": max(rsss)}


def built_bench(build, target, work_dir):
    """(the executable of a bench/ target, a new working directory for it),
    or (None, None), saying how to build it, when it has not been built."""
    exe = build / "bench" / target
    if not exe.exists():
        log(f"  {exe} not built: skipping (cmake --build {build} --target {target})")
        return None, None
    work_dir.mkdir()
    return exe, work_dir


def many_bench(build, gen, gen_path, root, reps):
    """Many runs in one engine against one run of as many tasks, alternating,
    each on an empty store: the engine's cost of holding many runs."""
    exe, d = built_bench(build, "bench_many_runs", root / "many")
    if exe is None:
        return None
    small, big = d / "small.yaml", d / "big.yaml"
    for path, n in ((small, MANY_TASKS), (big, MANY_RUNS * MANY_TASKS)):
        with open(path, "w") as f:
            subprocess.run([sys.executable, str(gen_path), "wide", str(n), "--format", "yaml"],
                           stdout=f, check=True, env=ENV)
    many, one = [], []
    for i in range(reps):
        for label, yaml, runs, out in (("many", small, MANY_RUNS, many), ("one", big, 1, one)):
            store = d / f"s-{label}-{i}"
            store.mkdir()
            p = subprocess.run([str(exe), str(store), str(yaml), str(runs), "2"], cwd=d, env=ENV,
                               capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
            if p.returncode != 0:
                raise RelayFailed(f"bench_many_runs exited {p.returncode}: {p.stderr[-2000:]}")
            got = json.loads(p.stdout)
            out.append(got["seconds"])
            shutil.rmtree(store, ignore_errors=True)
        log(f"  many rep {i + 1}/{reps}: {MANY_RUNS} runs of {MANY_TASKS} {many[-1]:.3f}s, "
            f"one run of {MANY_RUNS * MANY_TASKS} {one[-1]:.3f}s")
    return {"runs": MANY_RUNS, "tasks_per_run": MANY_TASKS, "many_s": many, "one_s": one,
            "many_median_s": median(many), "one_median_s": median(one),
            "many_over_one": median([m / o for m, o in zip(many, one)])}


def callgrind_total(path):
    total = None
    for line in Path(path).read_text(errors="replace").splitlines():
        if line.startswith(("totals:", "summary:")):
            total = int(line.split()[1])
            if line.startswith("totals:"):
                break
    if total is None:
        raise SystemExit(f"no totals/summary line in {path}")
    return total


def short_name(fn):
    """callgrind_annotate's 'file:function [object]' made readable."""
    fn = fn.replace("std::__cxx11::basic_string<char, std::char_traits<char>, "
                    "std::allocator<char> >", "std::string")
    fn = re.sub(r"^\?\?\?:", "", fn)
    return re.sub(r" \[(/[^\]]*/)?([^/\]]+)\]$", r" [\2]", fn)


def top_inclusive(path, count):
    """The `count` functions with the most inclusive instructions, as
    (instructions, name) from callgrind_annotate --inclusive=yes."""
    if not shutil.which("callgrind_annotate"):
        return []
    out = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(path)],
                         capture_output=True, text=True, env=ENV).stdout
    rows = []
    for line in out.splitlines():
        m = re.match(r"^\s*([\d,]+)\s+(?:\([\s\d.]+%\)\s+)?(.*\S)\s*$", line)
        if m and ":" in m.group(2) and "PROGRAM TOTALS" not in m.group(2):
            rows.append((int(m.group(1).replace(",", "")), short_name(m.group(2))))
        if len(rows) >= count:
            break
    return rows


def callgrind_dumps(out_dir, prefix, want, timeout_s=60):
    """The complete profiles `prefix`.<pid> in out_dir once `want` of them
    exist: a forked process writes its own when it exits, and relay's
    keeper (forked, not exec'd) may outlive relay by a moment."""
    deadline = time.monotonic() + timeout_s
    while True:
        done = []
        for f in sorted(out_dir.glob(prefix + ".*")):
            text = f.read_text(errors="replace")
            if "\ntotals:" in text or "\nsummary:" in text:
                done.append(f)
        if len(done) >= want or time.monotonic() > deadline:
            return done
        time.sleep(0.1)


def callgrind_bench(relay, gen, gen_path, root, top, keep_dir):
    if not shutil.which("valgrind"):
        log("  valgrind not found: skipping callgrind")
        return None
    wl = Workload(gen, gen_path, root / "callgrind", "wide", CALLGRIND_TASKS)
    out_dir = Path(keep_dir).resolve() if keep_dir else wl.dir
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in list(out_dir.glob("callgrind.relay.out.*")) + list(out_dir.glob("callgrind.ninja.out.*")):
        old.unlink()
    # Forks are followed whatever --trace-children says; exec'd children
    # (`true`, ninja's `sh`) are not traced.
    vg = ["valgrind", "--tool=callgrind", "--trace-children=no"]
    wl.reset_store()
    rc, wall, _, err = measure(vg + [f"--callgrind-out-file={out_dir}/callgrind.relay.out.%p",
                                     str(relay), "run", str(wl.yaml), "-j", str(wl.jobs),
                                     "--store", str(wl.store_dir / "relay.db")], wl.dir, rss=False)
    if rc != 0:
        raise RelayFailed(f"relay under callgrind exited {rc}: "
                          + err.decode(errors="replace")[-2000:])
    log(f"  callgrind relay: {wall:.1f}s")
    # relay, the short-lived middle process that detaches the keeper, the keeper.
    relay_dumps = callgrind_dumps(out_dir, "callgrind.relay.out", 3)
    (wl.ninja_dir / ".ninja_log").unlink(missing_ok=True)
    rc, wall, _, err = measure(vg + [f"--callgrind-out-file={out_dir}/callgrind.ninja.out.%p",
                                     "ninja", "-j", str(wl.jobs)], wl.ninja_dir, rss=False)
    if rc != 0:
        raise SystemExit(f"ninja under callgrind exited {rc}: {err.decode()[-500:]}")
    log(f"  callgrind ninja: {wall:.1f}s")
    ninja_dumps = callgrind_dumps(out_dir, "callgrind.ninja.out", 1)
    totals = sorted((callgrind_total(f), f) for f in relay_dumps)
    main_total, main_profile = totals[-1]  # relay itself does the most work
    # A forked process's profile starts from its parent's count at the fork.
    # The middle process (smallest) does nothing but fork the keeper, so its
    # total is what relay had counted then, and the keeper's own work is its
    # total minus the middle's.
    r = main_total
    keeper_own = 0
    if len(totals) == 3:
        keeper_own = totals[1][0] - totals[0][0]
        r += keeper_own
    n = sum(callgrind_total(f) for f in ninja_dumps)
    return {"tasks": wl.n, "relay_instructions": r, "ninja_instructions": n,
            "relay_processes": len(totals), "relay_main_instructions": main_total,
            "keeper_instructions": keeper_own,
            "relay_per_task": r / wl.n, "relay_main_per_task": main_total / wl.n,
            "ninja_per_task": n / wl.n, "ratio": r / n,
            "relay_profile": str(main_profile) if keep_dir else None,
            "relay_top_inclusive": [{"instructions": i, "function": f}
                                    for i, f in top_inclusive(main_profile, top)]}


def durability_bench(relay, wl, reps):
    normal, power = [], []
    for i in range(reps):
        normal.append(wl.run_relay(relay)[0])
        power.append(wl.run_relay(relay, extra=("--durability", "power"))[0])
        log(f"  durability {wl.n} rep {i + 1}/{reps}: default {normal[-1]:.3f}s "
            f"power {power[-1]:.3f}s")
    return {"workload": wl.name, "n": wl.n, "default_s": normal, "power_s": power,
            "default_median_s": median(normal), "power_median_s": median(power),
            "power_over_default": median([p / d for p, d in zip(power, normal)])}


def store_bench(build, root):
    exe, d = built_bench(build, "bench_store_bench", root / "store")
    if exe is None:
        return None
    out = subprocess.run([str(exe), "--benchmark_format=json"], capture_output=True, text=True,
                         cwd=d, env={**ENV, "RELAY_BENCH_DIR": str(d)}, timeout=RUN_TIMEOUT_S)
    if out.returncode != 0:
        log(f"  store_bench exited {out.returncode}: {out.stderr[-500:]}")
        return None
    rows = []
    for b in json.loads(out.stdout).get("benchmarks", []):
        rows.append({"name": b.get("name"), "items_per_second": b.get("items_per_second"),
                     "real_time": b.get("real_time"), "time_unit": b.get("time_unit")})
    return rows


# ------------------------------------------------------------------ printing

def fmt(x, spec=".3f"):
    return "—" if x is None else format(x, spec)


def print_table(headers, rows):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    print("  ".join(str(h).rjust(w) for h, w in zip(headers, widths)))
    for r in rows:
        print("  ".join(str(c).rjust(w) for c, w in zip(r, widths)))
    print(flush=True)


def print_results(res):
    if res["workloads"]:
        print("## relay vs ninja / make (alternating; ratio = median of per-pair ratios)")
        rows = []
        for r in res["workloads"]:
            rows.append([r["workload"], r["n"], r["jobs"], fmt(r["relay_median_s"]),
                         fmt(r["ninja_median_s"]), fmt(r["make_median_s"]),
                         fmt(r["relay_over_ninja"], ".2f"), fmt(r["relay_over_make"], ".2f"),
                         fmt(r["relay_us_per_task_over_ninja"], ".0f"),
                         fmt(r["relay_rss_mb"], ".1f"), fmt(r["ninja_rss_mb"], ".1f"),
                         fmt(r["make_rss_mb"], ".1f")])
        print_table(["workload", "size", "-j", "relay s", "ninja s", "make s", "relay/ninja",
                     "relay/make", "µs/task>ninja", "relay MB", "ninja MB", "make MB"], rows)
        for r in res["workloads"]:
            if "ideal_s" in r:
                print(f"W4 sleep {r['n']} @ -j{r['jobs']}: relay {r['relay_median_s']:.3f}s vs "
                      f"ideal {r['ideal_s']:.2f}s = {r['relay_over_ideal']:.3f}× "
                      f"(ninja {r['ninja_median_s'] / r['ideal_s']:.3f}×); one slot's tasks "
                      f"back to back, alone: {r['slot_floor_s']:.3f}s = "
                      f"{r['slot_floor_over_ideal']:.3f}× the ideal, relay/that floor "
                      f"{r['relay_over_slot_floor']:.3f}\n")
    if res.get("plan"):
        p = res["plan"]
        print(f"## relay plan of a {p['instances']:,}-instance matrix task")
        print(f"median {p['median_s']:.3f}s over {len(p['wall_s'])} runs, "
              f"peak RSS {p['rss_mb']:.1f} MB\n")
    if res.get("many"):
        m = res["many"]
        print(f"## many runs in one engine: {m['runs']} runs of {m['tasks_per_run']} tasks vs one "
              f"run of {m['runs'] * m['tasks_per_run']:,} (-j2, alternating)")
        print(f"many {m['many_median_s']:.3f}s, one {m['one_median_s']:.3f}s, many/one "
              f"{m['many_over_one']:.2f} (median of per-pair ratios; target ≤ 1.10)\n")
    if res.get("callgrind"):
        c = res["callgrind"]
        print(f"## instructions per task (callgrind, W1 wide {c['tasks']}; relay's "
              f"{c['relay_processes']} processes with its keeper, children not traced)")
        print(f"relay {c['relay_per_task']:,.0f} (relay process {c['relay_main_per_task']:,.0f}, "
              f"keeper {c['keeper_instructions'] / c['tasks']:,.0f})"
              f"  ninja {c['ninja_per_task']:,.0f}  ratio {c['ratio']:.2f}×  (totals "
              f"{c['relay_instructions']:,} / {c['ninja_instructions']:,})")
        if c["relay_top_inclusive"]:
            print("relay, top functions by inclusive instructions:")
            for e in c["relay_top_inclusive"]:
                print(f"  {e['instructions']:>15,}  {e['function']}")
        print()
    if res.get("durability"):
        d = res["durability"]
        print(f"## durability cost (W1 wide {d['n']}): default {d['default_median_s']:.3f}s, "
              f"power {d['power_median_s']:.3f}s, power/default "
              f"{d['power_over_default']:.2f}\n")
    if res.get("store"):
        print("## store micro-benchmark (bench_store_bench)")
        for b in res["store"]:
            ips = b["items_per_second"]
            print(f"  {b['name']}: " + (f"{ips:,.0f} items/s" if ips else
                                        f"{b['real_time']:.1f} {b['time_unit']}"))
        print()


# ---------------------------------------------------------------------- main

def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n", 1)[1])
    ap.add_argument("--build", default="build", help="CMake build dir holding relay (default build)")
    ap.add_argument("--relay", help="relay binary (default BUILD/relay)")
    ap.add_argument("--sizes", default="2000",
                    help="comma-separated task counts for W1-W3 (default 2000; the issue's is 10000)")
    ap.add_argument("--reps", type=int, default=3, help="runs of each peer (default 3)")
    ap.add_argument("--only", help="comma-separated sections: " + ",".join(SECTIONS))
    ap.add_argument("--skip-callgrind", action="store_true")
    ap.add_argument("--no-make", action="store_true", help="compare with ninja only")
    ap.add_argument("--workload-py", default=str(DEFAULT_WORKLOAD_PY),
                    help="the shared generator (default ../shared/bench/workload.py)")
    ap.add_argument("--callgrind-out", help="keep callgrind profiles in this directory")
    ap.add_argument("--top", type=int, default=15, help="functions to list from relay's profile")
    ap.add_argument("--json", action="store_true", help="print one JSON document instead of tables")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args(argv)
    args.sizes = [int(s) for s in args.sizes.split(",") if s]
    only = set(args.only.split(",")) if args.only else set(SECTIONS)
    bad = only - set(SECTIONS)
    if bad:
        ap.error(f"unknown section(s) {sorted(bad)}; choose from {','.join(SECTIONS)}")
    if args.skip_callgrind:
        only.discard("callgrind")
    args.only = only
    if args.reps < 1:
        ap.error("--reps must be >= 1")
    return args


def resolve_build(name):
    p = Path(name)
    if not p.is_absolute() and not p.exists() and (REPO / p).exists():
        p = REPO / p
    return p.resolve()


def main(argv):
    args = parse_args(argv)
    build = resolve_build(args.build)
    relay = Path(args.relay).resolve() if args.relay else build / "relay"
    if not relay.exists():
        raise SystemExit(f"no relay binary at {relay}: build it first (make build)")
    gen_path = Path(args.workload_py).resolve()
    if not gen_path.exists():
        raise SystemExit(f"no workload generator at {gen_path} (pass --workload-py)")
    for tool in ("ninja",) + (() if args.no_make else ("make",)):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} not found on PATH")
    gen = load_generator(gen_path)

    env = environment(build, relay)
    res = {"environment": env, "workloads": []}
    root = Path(tempfile.mkdtemp(prefix="relay-bench-"))
    status = 0
    fs = filesystem_of(root)
    env["tmp_dir"] = f"{root.parent} ({fs})"
    if fs in ("tmpfs", "ramfs"):
        env["warnings"].append(f"{root.parent} is {fs}: stores never reach a disk, so fsync "
                               "and --durability power cost nothing (set TMPDIR)")
    if not args.json:
        print_environment(env)
    for w in env["warnings"]:
        log(f"WARNING: {w}")
    try:
        for wid, name in WORKLOADS.items():
            if wid not in args.only:
                continue
            for n in ([W4_SIZE] if wid == "W4" else args.sizes):
                log(f"{wid} {name} {n}")
                wl = Workload(gen, gen_path, root, name, n)
                res["workloads"].append({"id": wid, **compare(wl, relay, args.reps,
                                                              not args.no_make)})
        if "plan" in args.only:
            log("plan")
            res["plan"] = plan_bench(relay, root, args.reps)
        if "many" in args.only:
            log("many")
            res["many"] = many_bench(build, gen, gen_path, root, args.reps)
        if "callgrind" in args.only:
            log("callgrind")
            res["callgrind"] = callgrind_bench(relay, gen, gen_path, root, args.top,
                                               args.callgrind_out)
        if "durability" in args.only:
            log("durability")
            wl = Workload(gen, gen_path, root / "durability", "wide", args.sizes[0])
            res["durability"] = durability_bench(relay, wl, args.reps)
        if "store" in args.only:
            log("store")
            res["store"] = store_bench(build, root)
    except RelayFailed as e:
        log(f"FAILED: {e}")
        res["error"] = str(e)
        status = 1
    finally:
        if args.keep:
            log(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)

    if args.json:
        json.dump(res, sys.stdout, indent=2)
        print()
    else:
        print_results(res)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
