"""Crash recovery under random kills: `relay run` is SIGKILLed at a random
moment, `relay resume` must finish the run without redoing finished work,
without leaving the dead relay's processes behind, and with a valid ledger.

This file also holds the invariant checks the other test_crash_* files
import (CrashTestCase), so every crash test asserts the same guarantees.

Replay a failure with RELAY_CRASH_SEED=<seed printed in the output>.
"""
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import SLOW, RelayTestCase  # noqa: E402

# The transition tables of src/state/task.cc and src/state/run.cc, as
# (from, to, cause). An event outside them is a relay bug.
TASK_EDGES = {
    ("pending", "queued", "needs_met"),
    ("pending", "skipped", "condition_false"),
    ("pending", "skipped", "needs_failed"),
    ("pending", "failed", "condition_error"),
    ("pending", "succeeded", "reused"),
    ("pending", "cancelled", "cancelled"),
    ("queued", "claimed", "claimed"),
    ("queued", "cancelled", "cancelled"),
    ("claimed", "running", "started"),
    ("claimed", "queued", "released"),
    ("claimed", "cancelled", "cancelled"),
    ("running", "succeeded", "exit_zero"),
    ("running", "failed", "exit_nonzero"),
    ("running", "failed", "signaled"),
    ("running", "failed", "timeout"),
    ("running", "failed", "spawn_error"),
    ("running", "retry_wait", "retry"),
    ("running", "failed", "bad_outputs"),
    ("running", "failed", "outputs_too_large"),
    ("running", "lost", "owner_died"),
    ("running", "lost", "keeper_died"),
    ("running", "cancelled", "cancelled"),
    ("lost", "retry_wait", "retry"),
    ("retry_wait", "queued", "backoff_elapsed"),
    ("retry_wait", "cancelled", "cancelled"),
}
RUN_EDGES = {
    ("", "pending", "created"),
    ("pending", "running", "started"),
    ("pending", "cancelled", "cancelled"),
    ("running", "running", "resumed"),
    ("running", "succeeded", "all_succeeded"),
    ("running", "failed", "task_failed"),
    ("running", "cancelling", "cancel_requested"),
    ("running", "cancelling", "interrupted"),
    ("cancelling", "cancelling", "resumed"),
    ("cancelling", "cancelled", "cancelled"),
}
FINAL_RUN = {"succeeded", "failed", "cancelled"}

# Every task appends "start TASK ATTEMPT" when it begins and "done TASK
# ATTEMPT" when it ends, so the file tells which attempts ran and in what order.
MARK_START = 'echo "start $RELAY_TASK $RELAY_ATTEMPT" >> side.txt'
MARK_DONE = 'echo "done $RELAY_TASK $RELAY_ATTEMPT" >> side.txt'
# Without a retry on `lost`, a task killed with its relay stays lost.
LOST_RETRY = "{ attempts: 5, delay: 0s, on: [lost] }"


def task_command(sleep_s=0.0, fail_first=False):
    parts = [MARK_START]
    if fail_first:
        parts.append('test "$RELAY_ATTEMPT" -ge 2 || exit 1')
    if sleep_s > 0:
        parts.append(f"sleep {sleep_s:.2f}")
    parts.append(MARK_DONE)
    return "; ".join(parts)


def parse_side(text):
    """[(kind, task, attempt)] in file order; a torn last line is ignored."""
    out = []
    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        name, _, attempt = rest.rpartition(" ")
        if kind in ("start", "done") and name and attempt.isdigit():
            out.append((kind, name, int(attempt)))
    return out


def live_processes_of(run_id):
    """(pid, cmdline) of every live (non-zombie) process whose environment
    has RELAY_RUN_ID=<run_id>: what a run left behind."""
    marker = b"RELAY_RUN_ID=" + run_id.encode()
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read().split(b"\0")
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        state = stat[stat.rfind(b")") + 2:][:1]
        if marker in env and state != b"Z":
            found.append((int(pid), cmd))
    return found


def processes_in(directory):
    """Pids of the processes working in `directory` (the tasks' cwd)."""
    directory = os.path.realpath(directory)
    pids = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if cwd == directory or cwd.startswith(directory + "/"):
            pids.append(int(pid))
    return pids


def kill_strays(directory):
    """SIGKILLs every process working in `directory` (tasks of a failed test
    must not outlive it)."""
    for pid in processes_in(directory):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


# Every process a CrashTestCase starts (relay, its keeper, the tasks and
# whatever they start, even with setsid) inherits this variable with a value
# of its own test: tearDown kills by it what left the test's directory.
TAG_VAR = "RELAY_E2E_TAG"


def processes_carrying(entry):
    """(pid, comm) of every live (non-zombie) process whose environment holds
    the entry `entry` ("NAME=value", bytes)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read().split(b"\0")
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        if entry in env and stat[stat.rfind(b")") + 2:][:1] != b"Z":
            comm = stat[stat.find(b"(") + 1:stat.rfind(b")")].decode(errors="replace")
            found.append((int(pid), comm))
    return found


def kill_pids(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def pid_alive(pid):
    """True while `pid` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2:][:1] != b"Z"


def keeper_of(relay_pid):
    """The pid of the keeper relay `relay_pid` forked, or None. The keeper is
    no child of relay (it is forked through a child that exits at once), so
    it is found by its rendezvous socket, "@relay-keeper/HOST:PID:START"
    (docs/architecture.md, "The keeper"), which names relay's pid."""
    inodes = set()
    with open("/proc/net/unix") as f:
        for line in f.read().splitlines()[1:]:
            parts = line.split()
            if len(parts) >= 8 and parts[7].startswith("@relay-keeper/"):
                owner = parts[7][len("@relay-keeper/"):].split(":")
                if len(owner) >= 3 and owner[-2] == str(relay_pid):
                    inodes.add(f"socket:[{parts[6]}]")
    if not inodes:
        return None
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() != "relay-keeper":
                    continue
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                    return int(pid)
        except OSError:
            continue
    return None


class CrashTestCase(RelayTestCase):
    """Runs relay in the background, kills it, and checks what resume leaves."""

    def setUp(self):
        super().setUp()
        self.tag = f"{os.getpid()}-{random.randrange(1 << 62)}"

    def env(self, extra=None):
        env = super().env(extra)
        env[TAG_VAR] = self.tag
        return env

    def tearDown(self):
        kill_strays(self.dir)
        # What left the directory: keepers that outlived their relay, and
        # processes of the test's runs (setsid children, daemons).
        kill_pids(pid for pid, _ in processes_carrying(f"{TAG_VAR}={self.tag}".encode()))
        for run_id in self.stored_run_ids():
            kill_pids(pid for pid, _ in live_processes_of(run_id))
        super().tearDown()

    def stored_run_ids(self, strict=False):
        """The ids of the runs in the store, read without relay (for
        tearDown: the store may be broken on purpose); [] when unreadable,
        unless strict. A read-only connection may find the store busy for
        a moment (another process recovering the WAL of a killed relay):
        strict retries, then fails the test rather than say "no runs"."""
        import sqlite3
        deadline = time.monotonic() + 10 * SLOW
        while True:
            if not os.path.exists(self.store):
                return []  # no relay got as far as making it
            try:
                con = sqlite3.connect(f"file:{self.store}?mode=ro", uri=True, timeout=1)
                try:
                    return [row[0] for row in con.execute("SELECT id FROM runs")]
                finally:
                    con.close()
            except sqlite3.Error as e:
                if not strict:
                    return []
                if time.monotonic() > deadline:
                    self.fail(f"cannot read the runs of {self.store}: {e}")
                time.sleep(0.05)

    def keepers(self):
        """Pids of the live keepers of this test's relays."""
        return [pid for pid, comm in processes_carrying(f"{TAG_VAR}={self.tag}".encode())
                if comm == "relay-keeper"]

    @contextlib.contextmanager
    def context(self, what):
        """Prefixes a failure with `what` (which kill point, which seed) and
        stops the test there: one broken invariant is enough to report."""
        try:
            yield
        except AssertionError as e:
            raise AssertionError(f"{what}: {e}") from e

    def side(self):
        path = os.path.join(self.dir, "side.txt")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return parse_side(f.read())

    def reset_side(self):
        path = os.path.join(self.dir, "side.txt")
        if os.path.exists(path):
            os.unlink(path)

    def run_ids(self):
        """Ids of the runs in the store (empty when there is no store yet)."""
        if not os.path.exists(self.store):
            return set()
        p = self.relay("runs", "-n", "0", "--output", "json")
        self.assertEqual(p.returncode, 0, p.stderr)
        return {r["id"] for r in json.loads(p.stdout)}

    def tasks_of(self, run_id):
        return {t["name"]: t for t in self.show(run_id)["tasks"]}

    def events(self, run_id):
        p = self.relay("events", run_id, "--jsonl", check=0)
        return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]

    def assert_no_leftovers(self, run_id, why):
        # A process killed by SIGKILL may take a moment to disappear.
        deadline = time.monotonic() + 2 * SLOW
        left = live_processes_of(run_id)
        while left and time.monotonic() < deadline:
            time.sleep(0.05)
            left = live_processes_of(run_id)
        self.assertEqual(left, [], f"{why}: processes of run {run_id} still alive")

    def assert_valid_events(self, run_id, tasks):
        """The run's events form one chain, every transition is in the state
        tables and continues from the subject's previous state, no task
        succeeds twice, and replaying them gives the stored states."""
        events = self.events(run_id)
        self.assertTrue(events, f"run {run_id} has no events")
        state = {name: "pending" for name in tasks}
        run_state = ""
        succeeded = {name: 0 for name in tasks}
        started = {name: 0 for name in tasks}
        prev_hash = None
        for i, e in enumerate(events):
            where = f"run {run_id} event #{e['seq']} {e['kind']} {e['subject']!r} {e['from']}->{e['to']} ({e['cause']})"
            self.assertEqual(e["seq"], i + 1, f"{where}: sequence has a gap")
            if prev_hash is not None:
                self.assertEqual(e["prev_hash"], prev_hash, f"{where}: chain broken")
            prev_hash = e["hash"]
            key = (e["from"], e["to"], e["cause"])
            if e["kind"] == "run":
                self.assertIn(key, RUN_EDGES, f"{where}: not a run transition")
                self.assertEqual(e["from"], run_state, f"{where}: run was {run_state!r}")
                self.assertNotIn(run_state, FINAL_RUN, f"{where}: run changed after it finished")
                run_state = e["to"]
                continue
            self.assertEqual(e["kind"], "task", where)
            name = e["subject"]
            self.assertIn(name, state, f"{where}: unknown task")
            self.assertIn(key, TASK_EDGES, f"{where}: not a task transition")
            self.assertEqual(e["from"], state[name], f"{where}: task was {state[name]!r}")
            state[name] = e["to"]
            succeeded[name] += e["to"] == "succeeded"
            started[name] += e["to"] == "running"
        self.assertEqual(events[0]["cause"], "created")
        for name, t in tasks.items():
            self.assertLessEqual(succeeded[name], 1, f"task {name} succeeded {succeeded[name]} times")
            self.assertEqual(state[name], t["state"], f"task {name}: events end in {state[name]}, row says {t['state']}")
            self.assertEqual(started[name], t["attempts"], f"task {name}: {started[name]} running events, "
                             f"{t['attempts']} attempts")
        return events, run_state

    def assert_side_consistent(self, tasks, side):
        """What the task processes wrote agrees with the store: each attempt
        number started at most once, never beyond the recorded attempts, the
        attempts of a task never overlap (a later one never sees an earlier one
        still writing), and each succeeded task's last attempt ran to its end."""
        lines = {name: [] for name in tasks}
        for kind, name, attempt in side:
            self.assertIn(name, lines, f"side.txt names unknown task {name}")
            lines[name].append((kind, attempt))
        for name, t in tasks.items():
            starts = [a for k, a in lines[name] if k == "start"]
            self.assertEqual(len(starts), len(set(starts)), f"task {name}: an attempt started twice: {lines[name]}")
            self.assertLessEqual(len(starts), t["attempts"], f"task {name}: {lines[name]} but {t['attempts']} attempts")
            if starts:
                self.assertLessEqual(max(starts), t["attempts"], f"task {name}: {lines[name]}")
            order = [a for _, a in lines[name]]
            self.assertEqual(order, sorted(order), f"task {name}: attempts overlapped: {lines[name]}")
            if t["state"] == "succeeded" and t["cause"] == "reused":
                self.assertEqual(lines[name], [], f"task {name} ran, though its result was reused")
            elif t["state"] == "succeeded":
                self.assertIn(("start", t["attempts"]), lines[name], f"task {name}: {lines[name]}")
                self.assertIn(("done", t["attempts"]), lines[name], f"task {name}: {lines[name]}")
        return lines

    @staticmethod
    def lost_attempts(events):
        """[(task, attempt)] of the attempts the events declare lost."""
        started = {}
        lost = []
        for e in events:
            if e["kind"] != "task":
                continue
            if e["to"] == "running":
                started[e["subject"]] = started.get(e["subject"], 0) + 1
            elif e["to"] == "lost":
                lost.append((e["subject"], started.get(e["subject"], 0)))
        return lost

    def assert_recovered(self, run_id, before_tasks, before_lines, expect_skipped=(), keeper_alive=True):
        """After a successful resume: everything succeeded (or skipped as the
        pipeline says), the ledger verifies, nothing that had succeeded ran
        again, nothing of the dead relay lives on. With `keeper_alive` (only
        relay was killed), no attempt whose process ran is declared lost: its
        keeper kept it, and the resume adopted it. (An attempt whose `running`
        was committed just before the kill, but whose process the keeper was
        not asked to start yet, never ran: it is lost and retried.)"""
        tasks = self.tasks_of(run_id)
        run = self.show(run_id)
        self.assertEqual(run["status"], "succeeded", run)
        for name, t in tasks.items():
            want = "skipped" if name in expect_skipped else "succeeded"
            self.assertEqual(t["state"], want, f"task {name}: {t}")
        v = self.relay("ledger", "verify")
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        events, _ = self.assert_valid_events(run_id, tasks)
        side = self.side()
        lines = self.assert_side_consistent(tasks, side)
        if keeper_alive:
            ran = {(name, attempt) for kind, name, attempt in side if kind == "start"}
            for name, attempt in self.lost_attempts(events):
                self.assertNotIn((name, attempt), ran,
                                 f"task {name}: attempt {attempt} ran under a live keeper, yet resume "
                                 f"called it lost (and ran it again) instead of adopting it")
        for name, t in before_tasks.items():
            if t["state"] not in ("succeeded", "skipped"):
                continue
            self.assertEqual(tasks[name]["attempts"], t["attempts"], f"task {name} ran again after it {t['state']}")
            self.assertEqual(lines[name], before_lines.get(name, []),
                             f"task {name} wrote to side.txt after it had {t['state']}")
        self.assert_no_leftovers(run_id, "after resume")
        return tasks


class RandomKillTest(CrashTestCase):
    """One store for every round (so `last`, ids and the ledger of many runs
    are exercised too); side.txt is emptied before each round."""

    KILLS = 20 if SLOW == 1 else 8

    def pipeline(self, rng):
        def s():
            return rng.choice([0, 0.05, 0.1, 0.15, 0.2, 0.3])
        tasks = {
            "setup": ([], task_command(s())),
            "lint": (["setup"], task_command(s())),
            "compile": (["setup"], task_command(s())),
            "docs": (["setup"], task_command(s())),
            "flaky": (["setup"], task_command(s(), fail_first=True)),
            "test": (["compile"], task_command(s())),
            "pkg": (["compile"], task_command(s())),
            "integrate": (["lint", "test", "pkg", "flaky"], task_command(s())),
            "report": (["docs"], task_command(s())),
            "publish": (["integrate", "report"], task_command(s())),
            "notify": (["publish"], task_command(s())),
            "cleanup": (["notify"], task_command(s())),
        }
        out = ["name: crash-random", "tasks:"]
        for name, (needs, cmd) in tasks.items():
            out.append(f"  {name}:")
            if needs:
                out.append(f"    needs: [{', '.join(needs)}]")
            if name == "test":
                out.append("    matrix: { shard: [1, 2, 3] }")
            out.append(f"    run: {json.dumps(cmd)}")
            retry = "{ attempts: 5, delay: 0s, on: [failure, lost] }" if name == "flaky" else LOST_RETRY
            out.append(f"    retry: {retry}")
        return "\n".join(out) + "\n"

    def test_random_kills_then_resume(self):
        seed = int(os.environ.get("RELAY_CRASH_SEED") or random.randrange(1 << 30))
        print(f"\ncrash seed: {seed} (replay with RELAY_CRASH_SEED={seed})", flush=True)
        rng = random.Random(seed)
        kills = rounds = 0
        killed_with = {}
        self.with_orphans = 0
        while kills < self.KILLS:
            rounds += 1
            self.assertLess(rounds, 4 * self.KILLS, f"seed {seed}: only {kills} kills landed in {rounds} rounds")
            with self.context(f"seed {seed}, round {rounds}"):
                killed = self.one_round(rng, rounds)
            if killed:
                killed_with[killed] = killed_with.get(killed, 0) + 1
                kills += killed != "not created"
        print(f"seed {seed}: {kills} kills in {rounds} rounds; run state at kill: {killed_with}; "
              f"{self.with_orphans} kills left task processes behind", flush=True)

    def one_round(self, rng, round_no):
        """Returns the run's status when the kill landed, or None."""
        self.reset_side()
        self.write("p.yaml", self.pipeline(rng))
        known = self.run_ids()
        # The run takes about a second, mostly its tasks' sleeps, which a
        # sanitized build does not slow down: the window is not scaled by SLOW.
        delay = rng.uniform(0.0, 1.5)
        stderr_path = os.path.join(self.dir, "relay.stderr")
        with open(stderr_path, "w") as err:
            proc = subprocess.Popen([support.RELAY, "run", "p.yaml", "-j", "3"], cwd=self.dir, env=self.env(),
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
        rc = proc.wait(timeout=30 * SLOW)
        orphans = bool(processes_in(self.dir))  # now, before they end on their own
        new = self.run_ids() - known
        if rc != -signal.SIGKILL:
            with open(stderr_path) as f:
                self.assertEqual(rc, 0, f"round {round_no}: relay run exited {rc}: {f.read()}")
            return None
        if not new:
            # Killed before the run's first commit: nothing may have run.
            self.assertEqual(self.side(), [], f"round {round_no}: tasks ran without a run in the store")
            return "not created"
        self.assertEqual(len(new), 1)
        run_id = new.pop()
        before_tasks = self.tasks_of(run_id)
        before_lines = {}
        for kind, name, attempt in self.side():
            before_lines.setdefault(name, []).append((kind, attempt))
        status = self.show(run_id)["status"]
        self.with_orphans += orphans
        if status in FINAL_RUN:
            # Killed after the last commit: the run is finished, resume refuses.
            self.assertEqual(status, "succeeded")
            p = self.relay("resume", run_id)
            self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
            self.assert_recovered(run_id, before_tasks, before_lines)
            return status
        p = self.relay("resume", run_id, "-j", "3")
        self.assertEqual(p.returncode, 0, f"round {round_no}: resume of {run_id} exited {p.returncode}\n"
                         f"{p.stdout}\n{p.stderr}")
        self.assert_recovered(run_id, before_tasks, before_lines)
        return status


if __name__ == "__main__":
    support.main()
