"""`relay cancel` of a run with a live relay (the relay stops its tasks and
exits 1) and of a run whose relay was killed (cancel finishes it itself and
kills the orphaned processes)."""
import json
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import SLOW  # noqa: E402
from test_crash_random import MARK_DONE, MARK_START, CrashTestCase, live_processes_of  # noqa: E402

# `long` sleeps well past the test's patience; `after` waits for it; `quick`
# finishes first, so a cancel must leave it succeeded.
PIPELINE = f"""\
name: crash-cancel
tasks:
  quick:
    run: {json.dumps(MARK_START + "; " + MARK_DONE)}
  long:
    run: {json.dumps(MARK_START + "; sleep 30; " + MARK_DONE)}
    retry: {{ attempts: 5, delay: 0s, on: [failure, lost] }}
  after:
    needs: [long, quick]
    run: {json.dumps(MARK_START + "; " + MARK_DONE)}
"""


class CancelTest(CrashTestCase):

    def setUp(self):
        super().setUp()
        self.write("p.yaml", PIPELINE)
        self.proc = None

    def tearDown(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc and self.proc.stderr:
            self.proc.stderr.close()
        super().tearDown()

    def start_until_long_runs(self):
        """Starts `relay run` in the background; returns the run id once the
        `long` task's sleep is running."""
        self.proc = subprocess.Popen([support.RELAY, "run", "p.yaml", "-j", "2"], cwd=self.dir, env=self.env(),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 20 * SLOW
        while time.monotonic() < deadline:
            self.assertIsNone(self.proc.poll(), "relay run ended before the long task ran")
            if os.path.exists(self.store):
                p = self.relay("show", "last", "--output", "json")
                if p.returncode == 0:
                    run = json.loads(p.stdout)
                    states = {t["name"]: t["state"] for t in run["tasks"]}
                    sleeping = [c for _, c in live_processes_of(run["id"]) if c.startswith("sleep")]
                    if states["long"] == "running" and states["quick"] == "succeeded" and sleeping:
                        return run["id"]
            time.sleep(0.05)
        self.fail("the long task never started")

    def assert_cancelled(self, run_id):
        run = self.show(run_id)
        self.assertEqual(run["status"], "cancelled", run)
        tasks = self.tasks_of(run_id)
        self.assertEqual(tasks["quick"]["state"], "succeeded")
        self.assertEqual(tasks["long"]["state"], "cancelled", tasks["long"])
        self.assertEqual(tasks["after"]["state"], "cancelled", tasks["after"])
        self.assertEqual(tasks["long"]["attempts"], 1, "the cancelled task was started again")
        self.assertEqual(tasks["after"]["attempts"], 0)
        self.assert_no_leftovers(run_id, "after cancel")
        self.assertEqual([(k, t, a) for k, t, a in self.side() if t != "quick"], [("start", "long", 1)])
        v = self.relay("ledger", "verify")
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        _, run_state = self.assert_valid_events(run_id, tasks)
        self.assertEqual(run_state, "cancelled")
        # A second cancel of a finished run changes nothing.
        again = self.relay("cancel", run_id)
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertEqual(self.show(run_id)["status"], "cancelled")

    def test_cancel_stops_the_live_relay(self):
        run_id = self.start_until_long_runs()
        c = self.relay("cancel", "last")
        self.assertEqual(c.returncode, 0, c.stdout + c.stderr)
        asked = time.monotonic()
        try:
            rc = self.proc.wait(timeout=5 * SLOW)
        except subprocess.TimeoutExpired:
            self.fail("relay run did not stop within 5s of `relay cancel`")
        took = time.monotonic() - asked
        err = self.proc.stderr.read()
        self.assertEqual(rc, 1, f"relay run of a cancelled run exited {rc}: {err}")
        print(f"\nrelay stopped {took:.2f}s after the cancel", flush=True)
        self.assert_cancelled(run_id)

    def test_cancel_after_relay_was_killed(self):
        run_id = self.start_until_long_runs()
        self.proc.send_signal(signal.SIGKILL)
        self.assertEqual(self.proc.wait(timeout=10), -signal.SIGKILL)
        orphans = [c for _, c in live_processes_of(run_id) if c.startswith("sleep")]
        self.assertTrue(orphans, "the sleep should outlive its relay (else this test tests nothing)")
        c = self.relay("cancel", "last", timeout=30)
        self.assertEqual(c.returncode, 0, c.stdout + c.stderr)
        self.assert_cancelled(run_id)

    def test_cancel_when_the_killed_relay_is_not_reaped_yet(self):
        """A SIGKILLed relay whose parent has not reaped it yet is a zombie:
        its pid exists, but it will never act on a cancel request again."""
        run_id = self.start_until_long_runs()
        self.proc.send_signal(signal.SIGKILL)
        deadline = time.monotonic() + 10
        while self.zombie_state(self.proc.pid) != "Z":
            self.assertLess(time.monotonic(), deadline, "relay did not die")
            time.sleep(0.01)
        c = self.relay("cancel", "last", timeout=30)
        self.assertEqual(c.returncode, 0, c.stdout + c.stderr)
        self.assertEqual(self.show(run_id)["status"], "cancelled",
                         f"a dead (zombie) relay was taken for the live owner: {c.stdout}")
        self.assert_cancelled(run_id)

    @staticmethod
    def zombie_state(pid):
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
        return text[text.rfind(")") + 2]

    def test_resume_after_cancel_of_dead_run_refuses(self):
        """A run cancelled after its relay died is final: resume does not
        revive it."""
        run_id = self.start_until_long_runs()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.assertEqual(self.relay("cancel", run_id).returncode, 0)
        p = self.relay("resume", run_id)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assert_cancelled(run_id)


if __name__ == "__main__":
    support.main()
