"""What the keeper does for a relay killed with kill -9: the attempt's
process lives on and keeps writing its log, `relay resume` adopts it (one
attempt, one log); a result that arrives while no relay runs is recorded
with its real exit code and end time (no retry because of the kill); a
timeout fires at the deadline set when the attempt started; and only when
the keeper is killed too is the attempt lost: its leftover is killed and it
runs again."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import unittest
from datetime import datetime

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import SLOW, wait_until  # noqa: E402
from test_crash_random import CrashTestCase, keeper_of, pid_alive  # noqa: E402

START = 'echo "start $RELAY_TASK $RELAY_ATTEMPT $$ $(date +%s.%N)" >> side.txt'
DONE = 'echo "done $RELAY_TASK $RELAY_ATTEMPT $$ $(date +%s.%N)" >> side.txt'
# A retry on everything a kill could be mistaken for: if relay took the kill
# for a failure of the attempt, the task would run a second attempt.
RETRY = "{ attempts: 3, delay: 0s, on: [failure, timeout, lost] }"


def command(*middle):
    return json.dumps("; ".join([START, *middle, DONE]))


def iso_seconds(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class KeeperAdoptionTest(CrashTestCase):

    def setUp(self):
        super().setUp()
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        super().tearDown()

    def start(self, *args):
        err = open(os.path.join(self.dir, f"relay{len(self.procs)}.err"), "w")
        with err:
            p = subprocess.Popen([support.RELAY, *args], cwd=self.dir, env=self.env(),
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        self.procs.append(p)
        return p

    def marks(self):
        """{(kind, task, attempt): (pid, time)} from side.txt; a line twice fails."""
        out = {}
        for kind, name, attempt, pid, ts in self.side_lines():
            key = (kind, name, int(attempt))
            self.assertNotIn(key, out, f"{key} written twice")
            out[key] = (int(pid), float(ts))
        return out

    def side_lines(self):
        path = os.path.join(self.dir, "side.txt")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [line.split() for line in f.read().splitlines() if len(line.split()) == 5]

    def wait_mark(self, kind, task, attempt=1, timeout=20):
        return wait_until(lambda: self.marks().get((kind, task, attempt)), timeout,
                          f"{kind} {task} {attempt} in side.txt")

    def kill_relay(self, proc):
        os.kill(proc.pid, signal.SIGKILL)
        self.assertEqual(proc.wait(timeout=10), -signal.SIGKILL)

    def no_lost(self, run_id):
        lost = self.lost_attempts(self.events(run_id))
        self.assertEqual(lost, [], "an attempt was lost though its keeper lived")

    def verify(self):
        v = self.relay("ledger", "verify")
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)

    def log_of(self, run_id, task):
        path = self.tasks_of(run_id)[task]["log"]
        self.assertIsNotNone(path, f"{task} has no log")
        return path if os.path.isabs(path) else os.path.join(self.dir, path)

    def ticks(self, path):
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [int(m.group(1)) for m in re.finditer(r" out tick (\d+)$", f.read(), re.M)]

    def test_running_attempt_lives_on_and_is_adopted(self):
        self.write("p.yaml", f"""\
            name: adopt
            tasks:
              long:
                run: {command('i=0; while [ $i -lt 25 ]; do i=$((i+1)); echo "tick $i"; sleep 0.1; done')}
                retry: {RETRY}
              after:
                needs: [long]
                run: {command()}
            """)
        relay = self.start("run", "p.yaml")
        pid, _ = self.wait_mark("start", "long")
        run_id = self.show()["id"]
        log = wait_until(lambda: self.tasks_of(run_id)["long"]["log"] and self.log_of(run_id, "long"), 10,
                         "long's log")
        wait_until(lambda: len(self.ticks(log)) >= 3, 10, "long to print 3 ticks")
        self.kill_relay(relay)
        at_kill = len(self.ticks(log))
        self.assertTrue(pid_alive(pid), "the attempt's process died with relay")
        # While no relay runs, it goes on and its log grows.
        wait_until(lambda: len(self.ticks(log)) >= at_kill + 3, 5, "long's log to grow with relay dead")
        self.assertTrue(pid_alive(pid), "the attempt's process died with relay")
        self.assertNotIn(("done", "long", 1), self.marks(), "long ended too soon for the test")

        p = self.relay("resume", run_id, check=0)
        self.assertIn("adopted 'long' attempt 1", p.stdout)
        tasks = self.tasks_of(run_id)
        self.assertEqual(self.show(run_id)["status"], "succeeded")
        self.assertEqual((tasks["long"]["state"], tasks["long"]["attempts"], tasks["long"]["exit_code"]),
                         ("succeeded", 1, 0), tasks["long"])
        self.assertEqual(tasks["after"]["attempts"], 1)
        marks = self.marks()
        self.assertEqual(sorted(marks), [("done", "after", 1), ("done", "long", 1),
                                         ("start", "after", 1), ("start", "long", 1)])
        self.assertEqual(marks[("done", "long", 1)][0], pid, "long's end was written by another process")
        # One log, continued across the kill: every tick once, in order.
        self.assertEqual(self.ticks(log), list(range(1, 26)))
        shown = self.relay("logs", run_id, "long", check=0).stdout
        self.assertEqual(re.findall(r"tick (\d+)", shown), [str(i) for i in range(1, 26)])
        self.no_lost(run_id)
        self.verify()
        self.assert_no_leftovers(run_id, "after the resume")

    @unittest.skipUnless(shutil.which("strace"), "needs strace to slow the resume's adopt")
    def test_attempt_that_ends_as_it_is_adopted(self):
        """The keeper answers the adopt ("still running"), then the attempt
        ends before the resume reads the answer: both frames arrive in one
        read. strace delays the resume's poll for the answer (its second
        poll; the first waits for its own keeper's hello) for 2.5s. (Before
        the fix the end was dropped and the resume waited for ever.)"""
        self.write("p.yaml", f"""\
            name: race
            tasks:
              y:
                run: {command('sleep 2')}
                retry: {RETRY}
            """)
        relay = self.start("run", "p.yaml")
        _, started = self.wait_mark("start", "y")
        run_id = self.show()["id"]
        time.sleep(max(0.0, started + 0.3 - time.time()))
        self.kill_relay(relay)
        p = subprocess.run(["strace", "-o", "/dev/null", "-e", "trace=poll",
                            "-e", "inject=poll:delay_enter=2500000:when=2", support.RELAY, "resume", run_id],
                           cwd=self.dir, env=self.env({"ASAN_OPTIONS": "detect_leaks=0"}),
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30 * SLOW)
        if p.returncode != 0 and "strace:" in p.stderr:
            self.skipTest(f"strace cannot trace here: {p.stderr}")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("adopted 'y' attempt 1", p.stdout, "y was not running when it was adopted")
        y = self.tasks_of(run_id)["y"]
        self.assertEqual((y["state"], y["attempts"], y["exit_code"]), ("succeeded", 1, 0), y)
        self.no_lost(run_id)
        self.verify()

    def test_result_that_arrives_while_relay_is_dead_is_recorded(self):
        self.write("p.yaml", f"""\
            name: unwatched
            tasks:
              fails:
                run: {json.dumps('echo working; ' + START + '; sleep 1.2; ' + DONE + '; exit 7')}
                retry: {{ attempts: 3, delay: 0s, on: [timeout, lost] }}
              ok:
                run: {json.dumps('echo working; ' + START + '; sleep 1; ' + DONE)}
                retry: {RETRY}
              after:
                needs: [ok]
                run: {command()}
            """)
        relay = self.start("run", "p.yaml")
        self.wait_mark("start", "fails")
        self.wait_mark("start", "ok")
        self.kill_relay(relay)
        self.assertNotIn(("done", "ok", 1), self.marks(), "ok ended before the kill: too soon for the test")
        run_id = self.show()["id"]
        wait_until(lambda: all(self.tasks_of(run_id)[t]["log"] for t in ("fails", "ok")), 10, "both logs")
        logs = {t: self.log_of(run_id, t) for t in ("fails", "ok")}
        _, fails_end = self.wait_mark("done", "fails", timeout=10)
        _, ok_end = self.wait_mark("done", "ok", timeout=10)
        # The keeper writes each result nobody took beside its log, then
        # leaves: nothing runs, no relay is there.
        for task, log in logs.items():
            wait_until(lambda: os.path.exists(log[:-len(".log")] + ".exit"), 5, f"{task}'s exit record")
        wait_until(lambda: not self.keepers(), 5, "the keeper to exit")
        time.sleep(0.5)
        resumed_at = time.time()

        p = self.relay("resume", run_id, check=1)
        tasks = self.tasks_of(run_id)
        self.assertEqual(self.show(run_id)["status"], "failed")
        fails, ok = tasks["fails"], tasks["ok"]
        self.assertEqual((fails["state"], fails["cause"], fails["exit_code"], fails["attempts"]),
                         ("failed", "exit_nonzero", 7, 1), fails)
        self.assertEqual((ok["state"], ok["exit_code"], ok["attempts"]), ("succeeded", 0, 1), ok)
        self.assertEqual((tasks["after"]["state"], tasks["after"]["attempts"]), ("succeeded", 1), p.stdout)
        # The end the keeper saw, not the resume's time.
        for t, end, took in ((fails, fails_end, 1.2), (ok, ok_end, 1.0)):
            ended = iso_seconds(t["ended_at"])
            self.assertLess(ended, resumed_at, f"{t['name']}: ended_at is the resume's time: {t}")
            self.assertLess(abs(ended - end), 0.3 * SLOW, f"{t['name']}: ended {end}, recorded {t['ended_at']}")
            self.assertGreaterEqual(t["duration_ms"], took * 1000 - 20, t)
            self.assertLess(t["duration_ms"], took * 1000 + 500 * SLOW, t)
        self.assertEqual(sorted(k for k in self.marks() if k[0] == "start"),
                         [("start", "after", 1), ("start", "fails", 1), ("start", "ok", 1)])
        # Taken: the records are gone.
        for task, log in logs.items():
            self.assertFalse(os.path.exists(log[:-len(".log")] + ".exit"), f"{task}'s exit record is left")
        self.no_lost(run_id)
        self.verify()

    def timed_out_run(self):
        """Starts a run whose task times out after 4s; returns the relay and
        the run id once the task runs."""
        self.write("p.yaml", f"""\
            name: timeout
            tasks:
              slow:
                run: {command('sleep 30')}
                timeout: 4s
            """)
        relay = self.start("run", "p.yaml")
        pid, started = self.wait_mark("start", "slow")
        return relay, self.show()["id"], pid, started

    def assert_timed_out_at_deadline(self, run_id, pid, started):
        slow = self.tasks_of(run_id)["slow"]
        self.assertEqual((slow["state"], slow["cause"], slow["attempts"]), ("failed", "timeout", 1), slow)
        ended = iso_seconds(slow["ended_at"])
        # The deadline is 4s after the start; a timer started again by the
        # resume would fire 4s after it, at least 6s after the start.
        self.assertGreaterEqual(ended - started, 3.9, slow)
        self.assertLess(ended - started, 4.0 + 1.0 * SLOW, f"the timeout fired late: {slow}")
        self.assertFalse(pid_alive(pid), "the timed-out step still runs")
        self.no_lost(run_id)
        self.verify()
        self.assert_no_leftovers(run_id, "after the timeout")

    def test_timeout_fires_at_the_original_deadline_after_resume(self):
        relay, run_id, pid, started = self.timed_out_run()
        time.sleep(max(0.0, started + 1.0 - time.time()))
        self.kill_relay(relay)
        time.sleep(max(0.0, started + 2.0 - time.time()))
        self.assertTrue(pid_alive(pid), "the step died with relay")
        self.relay("resume", run_id, check=1)
        self.assert_timed_out_at_deadline(run_id, pid, started)

    def test_timeout_fires_while_no_relay_runs(self):
        relay, run_id, pid, started = self.timed_out_run()
        time.sleep(max(0.0, started + 1.0 - time.time()))
        self.kill_relay(relay)
        wait_until(lambda: not pid_alive(pid), 8, "the keeper to stop the step at its deadline")
        resumed_at = time.time()
        self.relay("resume", run_id, check=1)
        self.assert_timed_out_at_deadline(run_id, pid, started)
        self.assertLess(iso_seconds(self.tasks_of(run_id)["slow"]["ended_at"]), resumed_at)

    def test_relay_and_keeper_killed_attempt_is_lost_and_retried(self):
        self.write("p.yaml", f"""\
            name: lost
            tasks:
              work:
                run: {command('if [ "$RELAY_ATTEMPT" = 1 ]; then sleep 60; else sleep 0.2; fi')}
                retry: {{ attempts: 2, delay: 0s, on: [lost] }}
            """)
        relay = self.start("run", "p.yaml")
        pid, _ = self.wait_mark("start", "work")
        run_id = self.show()["id"]
        keeper = keeper_of(relay.pid)
        self.assertIsNotNone(keeper, "relay's keeper not found")
        self.assertIn(keeper, self.keepers())
        self.kill_relay(relay)
        os.kill(keeper, signal.SIGKILL)
        wait_until(lambda: not pid_alive(keeper), 5, "the keeper to die")
        self.assertTrue(pid_alive(pid), "the step died with its keeper: nothing left over to test")

        p = self.relay("resume", run_id, check=0)
        work = self.tasks_of(run_id)["work"]
        self.assertEqual((work["state"], work["attempts"]), ("succeeded", 2), work)
        self.assertEqual(self.lost_attempts(self.events(run_id)), [("work", 1)])
        lost = [e for e in self.events(run_id) if e["to"] == "lost"]
        self.assertEqual(lost[0]["cause"], "owner_died", lost)
        self.assertIn("no keeper knows of it", lost[0]["reason"])
        self.assertFalse(pid_alive(pid), "attempt 1's leftover still runs")
        marks = self.marks()
        self.assertNotIn(("done", "work", 1), marks, "attempt 1 ran to its end")
        self.assertIn(("done", "work", 2), marks, p.stdout)
        self.assertLess(marks[("start", "work", 1)][1], marks[("start", "work", 2)][1])
        self.verify()
        self.assert_no_leftovers(run_id, "after the resume")


if __name__ == "__main__":
    support.main()
