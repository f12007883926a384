"""relay is killed (kill -9) at random moments while pipelines of `sleep`
tasks run, and resumed after a random pause, often long enough for
attempts to end while no relay runs. The keeper keeps every attempt going,
so in the end every task ran exactly once: one attempt (adopted, never
lost), one side effect, its real exit code and end time, a valid ledger,
and no process left behind (keepers included).

Replay a failure with RELAY_KEEPER_SEED=<seed printed in the output>.
"""
import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import datetime

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import SLOW  # noqa: E402
from test_crash_random import FINAL_RUN, CrashTestCase  # noqa: E402

KILLS = 20
LENGTHS = [0.05, 0.1, 0.2, 0.4, 0.7, 1.0, 1.5, 2.0]

# Each task appends "start RUN TASK ATTEMPT PID TIME" when it begins; at its end
# it creates its marker (mkdir fails if it exists: a second run of the task
# would fail) and appends "done RUN TASK ATTEMPT PID TIME".
COMMAND = ('echo "start $RELAY_RUN_ID $RELAY_TASK $RELAY_ATTEMPT $$ $(date +%s.%N)" >> side.txt; sleep {s}; '
           'mkdir -p "marks/$RELAY_RUN_ID" && mkdir "marks/$RELAY_RUN_ID/$RELAY_TASK" && '
           'echo "done $RELAY_RUN_ID $RELAY_TASK $RELAY_ATTEMPT $$ $(date +%s.%N)" >> side.txt')


def iso_seconds(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class KeeperRandomKillTest(CrashTestCase):

    def pipeline(self, rng, n):
        """Chains, a fan-out, a join and long independent roots; returns
        (yaml, {task: sleep seconds})."""
        needs = {
            "a": [],
            "p1": ["a"], "p2": ["a"], "p3": ["a"], "p4": ["a"],
            "c1": ["p1"], "c2": ["c1"], "c3": ["c2"],
            "j": ["c3", "p2", "p3", "p4"],
            "r1": [], "r2": [], "r3": ["r1"],
            "z": ["j", "r2", "r3"],
        }
        lengths = {name: rng.choice(LENGTHS) for name in needs}
        out = [f"name: keeper-random-{n}", "tasks:"]
        for name, deps in needs.items():
            out.append(f"  {name}:")
            if deps:
                out.append(f"    needs: [{', '.join(deps)}]")
            out.append(f"    run: {json.dumps(COMMAND.format(s=lengths[name]))}")
        return "\n".join(out) + "\n", lengths

    def side_lines(self):
        path = os.path.join(self.dir, "side.txt")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [line.split() for line in f.read().splitlines()]

    def background(self, *args):
        n = len(self.procs)
        with open(os.path.join(self.dir, f"relay{n}.out"), "w") as out, \
                open(os.path.join(self.dir, f"relay{n}.err"), "w") as err:
            p = subprocess.Popen([support.RELAY, *args], cwd=self.dir, env=self.env(), stdin=subprocess.DEVNULL,
                                 stdout=out, stderr=err)
        self.procs.append(p)
        return p, n

    def output_of(self, n):
        text = ""
        for ext in ("out", "err"):
            with open(os.path.join(self.dir, f"relay{n}.{ext}"), errors="replace") as f:
                text += f"--- relay{n}.{ext}\n" + f.read()[-3000:]
        return text

    def setUp(self):
        super().setUp()
        self.procs = []
        os.makedirs(os.path.join(self.dir, "marks"))

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        super().tearDown()

    def test_random_kills_keep_every_attempt(self):
        seed = int(os.environ.get("RELAY_KEEPER_SEED") or random.randrange(1 << 30))
        print(f"\nkeeper crash seed: {seed} (replay with RELAY_KEEPER_SEED={seed})", flush=True)
        rng = random.Random(seed)
        began = time.monotonic()
        self.kills = 0
        self.stats = {"runs": 0, "ended_unwatched": 0, "adopted_running": 0, "lost_before_start": 0,
                      "killed_before_creation": 0, "killed_after_end": 0}
        while self.kills < KILLS:
            self.stats["runs"] += 1
            self.assertLessEqual(self.stats["runs"], 12, f"seed {seed}: only {self.kills} kills in 12 runs")
            with self.context(f"seed {seed}, run {self.stats['runs']}"):
                self.one_run(rng, self.stats["runs"])
        v = self.relay("ledger", "verify")
        self.assertEqual(v.returncode, 0, f"seed {seed}: {v.stdout}{v.stderr}")
        # A keeper leaves once nothing runs and no relay is connected.
        deadline = time.monotonic() + 5 * SLOW
        while self.keepers() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.keepers(), [], f"seed {seed}: keepers outlived every run")
        took = time.monotonic() - began
        print(f"seed {seed}: {self.kills} kills in {took:.1f}s; {self.stats}", flush=True)
        self.assertGreater(self.stats["ended_unwatched"], 0,
                           f"seed {seed}: no attempt ended while no relay ran (the test missed its point)")

    def one_run(self, rng, n):
        text, lengths = self.pipeline(rng, n)
        self.write("p.yaml", text)
        known = set(self.stored_run_ids(strict=True))
        proc, out = self.background("run", "p.yaml", "-j", "4")
        run_id = None
        unwatched = []  # [kill time, resume time) (wall clock): no relay ran
        kills_before = self.kills
        while True:
            if self.kills >= KILLS or self.kills - kills_before >= 12:
                # Enough kills: this relay must finish the run by itself.
                try:
                    rc = proc.wait(timeout=60 * SLOW)
                except subprocess.TimeoutExpired:
                    self.fail(f"relay did not finish run {run_id} within {60 * SLOW}s\n"
                              f"{self.output_of(out)}\n{self.relay('show', run_id or 'last').stdout}")
                self.assertEqual(rc, 0, f"relay exited {rc}\n{self.output_of(out)}")
                break
            try:
                rc = proc.wait(timeout=rng.uniform(0.05, 0.8))
                self.assertEqual(rc, 0, f"relay exited {rc} unkilled\n{self.output_of(out)}")
                break
            except subprocess.TimeoutExpired:
                pass
            proc.send_signal(signal.SIGKILL)
            rc = proc.wait(timeout=30)
            if rc != -signal.SIGKILL:
                self.assertEqual(rc, 0, f"relay exited {rc}\n{self.output_of(out)}")
                break
            killed_at = time.time()
            self.kills += 1
            if run_id is None:
                new = set(self.stored_run_ids(strict=True)) - known
                if not new:
                    # Killed before the run's first commit: nothing may run.
                    self.stats["killed_before_creation"] += 1
                    # (side.txt keeps the lines of this test's earlier runs.)
                    self.assertEqual([line for line in self.side_lines() if line[1] not in known], [],
                                     "tasks ran without a run in the store")
                    proc, out = self.background("run", "p.yaml", "-j", "4")
                    continue
                self.assertEqual(len(new), 1)
                run_id = new.pop()
            if self.show(run_id)["status"] in FINAL_RUN:
                self.stats["killed_after_end"] += 1
                break
            # Every third pause or so is long: attempts end with no relay there.
            pause = rng.uniform(1.0, 2.5) if rng.random() < 0.35 else rng.uniform(0.0, 0.5)
            time.sleep(pause)
            unwatched.append((killed_at, time.time()))
            proc, out = self.background("resume", run_id, "-j", "4")
        if run_id is None:
            run_id = (set(self.stored_run_ids(strict=True)) - known).pop()
        self.check_run(run_id, lengths, unwatched)

    def check_run(self, run_id, lengths, unwatched):
        run = self.show(run_id)
        self.assertEqual(run["status"], "succeeded", run)
        tasks = {t["name"]: t for t in run["tasks"]}
        self.assertEqual(set(tasks), set(lengths))
        events, _ = self.assert_valid_events(run_id, tasks)
        lost = self.lost_attempts(events)
        lines = [line for line in self.side_lines() if len(line) > 1 and line[1] == run_id]
        starts = {}
        dones = {}
        for line in lines:
            kind, _, name, attempt, pid = line[:5]
            (starts if kind == "start" else dones).setdefault(name, []).append((int(attempt), int(pid), line[5:]))
        for name, t in tasks.items():
            where = f"run {run_id} task {name} (sleep {lengths[name]})"
            self.assertEqual(t["state"], "succeeded", f"{where}: {t}")
            self.assertEqual(len(starts.get(name, [])), 1, f"{where} started {starts.get(name)}")
            self.assertEqual(len(dones.get(name, [])), 1, f"{where} ended {dones.get(name)}")
            (attempt, pid, (start_ts,)), (done_attempt, done_pid, (done_ts,)) = starts[name][0], dones[name][0]
            self.assertEqual((attempt, pid), (done_attempt, done_pid), f"{where}: one process from start to end")
            # The attempt that ran is the task's only one. Its one exception
            # is by design: relay killed between committing `running` and
            # asking the keeper to spawn it (nothing ran), so that attempt is
            # lost and the next runs (the one that ran).
            never_ran = [a for task, a in lost if task == name]
            self.assertNotIn(attempt, never_ran, f"{where}: the attempt that ran was declared lost")
            self.assertEqual(t["attempts"], attempt, f"{where}: {t}")
            self.assertEqual(attempt, 1 + len(never_ran), f"{where}: {t}; lost {never_ran}")
            self.stats["lost_before_start"] += len(never_ran)
            self.assertTrue(os.path.isdir(os.path.join(self.dir, "marks", run_id, name)), where)
            # Its real result: exit code, and the end the keeper saw (not
            # when a later relay collected it).
            self.assertEqual(t["exit_code"], 0, f"{where}: {t}")
            self.assertEqual(t["cause"], "exit_zero", f"{where}: {t}")
            ended = iso_seconds(t["ended_at"])
            done = float(done_ts)
            self.assertGreaterEqual(ended, done - 0.01, f"{where}: ended_at {t['ended_at']} before its end {done}")
            self.assertLess(ended - done, 0.75 * SLOW,
                            f"{where}: ended_at {t['ended_at']} is {ended - done:.2f}s after it ended")
            self.assertGreaterEqual(t["duration_ms"], lengths[name] * 1000 - 20, f"{where}: {t}")
            if any(a <= done < b for a, b in unwatched):
                self.stats["ended_unwatched"] += 1
            if any(float(start_ts) < a and done >= b for a, b in unwatched):
                self.stats["adopted_running"] += 1
        self.assert_no_leftovers(run_id, "after the run")


if __name__ == "__main__":
    support.main()
