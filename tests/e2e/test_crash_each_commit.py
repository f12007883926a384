"""Crash recovery at every commit: RELAY_TEST_KILL_AFTER_COMMIT=N makes relay
SIGKILL itself right after its Nth store commit. For N = 1, 2, … until a run
finishes unkilled, `relay resume` must finish the run from exactly what was
committed. A second test kills the resume itself, then resumes again.

Each N gets a fresh directory and store, so commit N of the run is commit N
of the process (the store's own setup commits do not count)."""
import json
import os
import shutil
import signal
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import SLOW  # noqa: E402
from test_crash_random import FINAL_RUN, LOST_RETRY, CrashTestCase, kill_strays, live_processes_of, task_command  # noqa: E402

# Deterministic; with -j 2 the fan-outs leave instances `queued`, the flaky
# tasks fail their first attempt (one waits 300ms in retry_wait, durably;
# one retries at once), `never` is skipped by its condition and `after_never`
# because its need was skipped.
PIPELINE = f"""\
name: crash-each-commit
defaults:
  retry: {LOST_RETRY}
tasks:
  a:
    run: {json.dumps(task_command(0.05))}
  b:
    needs: [a]
    run: {json.dumps(task_command(0.05))}
  c:
    needs: [a]
    run: {json.dumps(task_command())}
  d:
    needs: [a]
    run: {json.dumps(task_command(0.3))}
  flaky:
    needs: [a]
    run: {json.dumps(task_command(0.05, fail_first=True))}
    retry: {{ attempts: 3, delay: 300ms, on: [failure, lost] }}
  flaky0:
    needs: [c]
    run: {json.dumps(task_command(fail_first=True))}
    retry: {{ attempts: 3, delay: 0s, on: [failure, lost] }}
  never:
    needs: [a]
    if: ${{{{ false }}}}
    run: {json.dumps(task_command())}
  after_never:
    needs: [never]
    run: {json.dumps(task_command())}
  m:
    needs: [b]
    matrix: {{ x: [1, 2, 3] }}
    run: {json.dumps(task_command(0.05))}
  z:
    needs: [d, flaky, flaky0, m, after_never]
    if: ${{{{ !failure() }}}}
    run: {json.dumps(task_command())}
"""
SKIPPED = ("never", "after_never")
MAX_COMMITS = 400


class EachCommitTest(CrashTestCase):

    def setUp(self):
        super().setUp()
        self.write("p.yaml", PIPELINE)

    def fresh(self):
        """A new empty directory and store for the next kill point."""
        kill_strays(self.dir)
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = tempfile.mkdtemp(prefix="relay-e2e-")
        self.store = os.path.join(self.dir, ".relay", "relay.db")
        self.write("p.yaml", PIPELINE)

    def killed_at(self, args, n):
        """Runs relay with the kill hook at commit n; True if it was killed."""
        p = self.relay(*args, env={"RELAY_TEST_KILL_AFTER_COMMIT": str(n)}, timeout=60)
        if p.returncode == -signal.SIGKILL:
            return True
        self.assertEqual(p.returncode, 0, f"relay {' '.join(args)} with kill at commit {n}: "
                         f"exit {p.returncode}\n{p.stdout}\n{p.stderr}")
        return False

    def snapshot(self, run_id):
        tasks = self.tasks_of(run_id)
        lines = {}
        for kind, name, attempt in self.side():
            lines.setdefault(name, []).append((kind, attempt))
        return tasks, lines

    def merge_done(self, before, later):
        """Tasks that had finished at either of two kill points."""
        tasks = dict(before[0])
        lines = dict(before[1])
        for name, t in later[0].items():
            if t["state"] in ("succeeded", "skipped"):
                tasks[name] = t
                lines[name] = later[1].get(name, [])
        return tasks, lines

    def resume_and_check(self, run_id, before, what):
        status = self.show(run_id)["status"]
        if status in FINAL_RUN:
            self.assertEqual(status, "succeeded", what)
            p = self.relay("resume", run_id)
            self.assertEqual(p.returncode, 2, f"{what}: resume of a finished run\n{p.stdout}{p.stderr}")
        else:
            p = self.relay("resume", run_id, "-j", "2")
            self.assertEqual(p.returncode, 0, f"{what}: resume exited {p.returncode}\n{p.stdout}\n{p.stderr}")
        self.assert_recovered(run_id, before[0], before[1], expect_skipped=SKIPPED)

    def kill_point(self, n, seen):
        """Runs the pipeline killed after commit n and resumes it; returns
        False when the run had fewer than n commits (it finished unkilled)."""
        self.fresh()
        if not self.killed_at(["run", "p.yaml", "-j", "2"], n):
            return False
        run_id = self.show()["id"]
        seen["orphans"] += bool(live_processes_of(run_id))  # before they end on their own
        before = self.snapshot(run_id)
        seen["task"] |= {t["state"] for t in before[0].values()}
        seen["run"].add(self.show(run_id)["status"])
        self.resume_and_check(run_id, before, f"killed after commit {n}")
        # Attempts committed as running whose process was not started yet:
        # lost and retried (assert_recovered checks none of them had run).
        seen["lost"] += len(self.lost_attempts(self.events(run_id)))
        return True

    def test_kill_after_each_commit(self):
        seen = {"task": set(), "run": set(), "orphans": 0, "lost": 0}
        n = 0
        while True:
            n += 1
            self.assertLessEqual(n, MAX_COMMITS, "the run never finished without being killed")
            with self.context(f"kill after commit {n}"):
                finished = not self.kill_point(n, seen)
            if finished:
                break
        # The run with no kill is the reference: it must succeed like the others.
        self.assert_recovered(self.show()["id"], {}, {}, expect_skipped=SKIPPED)
        # How many commits a run takes varies with timing (what one commit
        # batches; more so on a loaded machine), so the last commit, the
        # run's final transition, may have been missed: aim at it again,
        # over the last few commit numbers.
        for again in range(24):
            if "succeeded" in seen["run"]:
                break
            with self.context(f"kill after commit {n - 1 - again % 4}"):
                self.kill_point(n - 1 - again % 4, seen)
        print(f"\n{n - 1} kill points; task states seen at a kill: {sorted(seen['task'])}; "
              f"run states: {sorted(seen['run'])}; {seen['orphans']} left processes behind (adopted); "
              f"{seen['lost']} attempts killed before their start lost", flush=True)
        self.assertGreaterEqual(n - 1, 5, "suspiciously few commits for this pipeline")
        # Whether a kill point finds a task process still alive depends on
        # timing (a slow sanitized build may finish every task between two
        # commits), so it is reported, not asserted; test_crash_random and
        # test_crash_cancel check that leftovers are killed.
        # `claimed` is committed together with `running` (one batch), so it is
        # never the stored state at a commit boundary.
        for s in ("pending", "queued", "running", "retry_wait", "succeeded", "skipped"):
            self.assertIn(s, seen["task"], "no kill point left a task in this state")
        # The run is created in the commit that starts it (its first commit
        # holds created and started), so no kill point can leave it pending.
        for s in ("running", "succeeded"):
            self.assertIn(s, seen["run"], "no kill point left the run in this state")

    def test_rerun_killed_at_each_commit(self):
        """`relay rerun --from flaky` reuses every result that flaky does not
        feed; killed at any commit and resumed, it still runs only flaky and
        what needs it, and leaves the original run alone."""
        self.relay("run", "p.yaml", "-j", "2", check=0)
        original = self.show()["id"]
        original_tasks = self.tasks_of(original)
        rerun = {"flaky", "z"}
        n = 0
        while True:
            n += 1
            self.assertLessEqual(n, MAX_COMMITS, "the rerun never finished without being killed")
            self.reset_side()
            with self.context(f"kill after commit {n}"):
                killed = self.killed_at(["rerun", original, "--from", "flaky", "-j", "2"], n)
                run_id = self.show()["id"]
                self.assertNotEqual(run_id, original)
                if killed:
                    self.resume_and_check(run_id, self.snapshot(run_id), f"rerun killed after commit {n}")
                else:
                    self.assert_recovered(run_id, {}, {}, expect_skipped=SKIPPED)
                tasks = self.tasks_of(run_id)
                for name, t in tasks.items():
                    if name not in rerun and name not in SKIPPED:
                        self.assertEqual(t["cause"], "reused", f"{name}: {t}")
                self.assertEqual({name for _, name, _ in self.side()}, rerun)
                self.assertEqual(self.tasks_of(original), original_tasks, "the rerun changed the original run")
                self.assertEqual(self.show(original)["status"], "succeeded")
            if not killed:
                break
        self.assertGreaterEqual(n - 1, 3, "suspiciously few commits for a rerun")

    def ledger_rows(self, run_id):
        """How many ledger rows the run has: one per commit that recorded a
        transition of it (docs/store-schema.md), so at most its commits."""
        return int(self.sqlite(
            f"SELECT COUNT(*) FROM ledger, runs WHERE runs.id = '{run_id}' "
            f"AND ledger.id >= runs.num * 4294967296 AND ledger.id < (runs.num + 1) * 4294967296"))

    def test_resume_killed_too(self):
        """Double crash: the run dies at commit N, its resume at commit K.
        The points spread over the run's commits, as counted on a run that
        was not killed (how many there are changes with relay's batching)."""
        self.relay("run", "p.yaml", "-j", "2", check=0)
        commits = self.ledger_rows(self.show()["id"])
        self.assertGreaterEqual(commits, 6, "suspiciously few commits for this pipeline")
        at = [2, commits // 3, commits // 2, 2 * commits // 3, commits - 2]
        points = [(at[0], 1), (at[0], 3), (at[1], 1), (at[1], 2), (at[2], 2), (at[2], 4),
                  (at[3], 1), (at[3], 3), (at[4], 2)]
        if SLOW > 1:
            points = points[::2]
        missed = []
        for n, k in points:
            self.fresh()
            with self.context(f"run killed after commit {n} (of about {commits}), resume after commit {k}"):
                if not self.killed_at(["run", "p.yaml", "-j", "2"], n):
                    # This run batched more than the one counted: it finished.
                    self.assert_recovered(self.show()["id"], {}, {}, expect_skipped=SKIPPED)
                    missed.append(n)
                    continue
                run_id = self.show()["id"]
                first = self.snapshot(run_id)
                if self.show(run_id)["status"] in FINAL_RUN:
                    continue
                if self.killed_at(["resume", run_id, "-j", "2"], k):
                    second = self.snapshot(run_id)
                    # What the first kill left done stays done in the second.
                    for name, t in first[0].items():
                        if t["state"] in ("succeeded", "skipped"):
                            self.assertEqual(second[0][name]["state"], t["state"], name)
                            self.assertEqual(second[0][name]["attempts"], t["attempts"], name)
                    self.resume_and_check(run_id, self.merge_done(first, second),
                                          f"run killed at commit {n}, resume at commit {k}")
                else:
                    self.assert_recovered(run_id, first[0], first[1], expect_skipped=SKIPPED)
        print(f"\n{len(points)} double kills on a run of about {commits} commits; "
              f"points past the run's end: {missed}", flush=True)
        self.assertLessEqual(len(missed), 1, f"kill points {missed} were past the end of the run")


if __name__ == "__main__":
    support.main()
