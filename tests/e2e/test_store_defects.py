"""What relay does when the store or a task misbehaves: a store another
process holds locked is waited out (the run completes, nothing is killed),
and past RELAY_STORE_BUSY_LIMIT relay exits 3 leaving its tasks running for
`relay resume`; `relay ledger verify` names events removed from the end of a
run; a store file truncated to 0 or 1 byte is refused and left as it is;
outputs over 1 MiB fail their task without relay reading them whole; and
children a task moved to their own session (setsid) die with it on cancel
and on timeout."""
import hashlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import SLOW, wait_until  # noqa: E402
from test_crash_random import CrashTestCase, keeper_of, live_processes_of, pid_alive  # noqa: E402

START = 'echo "start $RELAY_TASK $RELAY_ATTEMPT $$" >> side.txt'
DONE = 'echo "done $RELAY_TASK $RELAY_ATTEMPT $$" >> side.txt'


def command(*middle):
    return json.dumps("; ".join([START, *middle, DONE]))




def chain(a_sleep):
    return f"""\
name: chain
tasks:
  a:
    run: {command(f'sleep {a_sleep}')}
  b:
    needs: [a]
    run: {command('sleep 1')}
  c:
    needs: [b]
    run: {command('sleep 1')}
"""


def vm_hwm_kb(pid):
    """The peak resident set of a live process (VmHWM), in KiB; 0 if gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class StoreDefectsTest(CrashTestCase):

    def setUp(self):
        super().setUp()
        self.procs = []
        self.holders = []

    def tearDown(self):
        for con in self.holders:
            con.close()
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        super().tearDown()

    def start(self, *args, env=None):
        n = len(self.procs)
        with open(os.path.join(self.dir, f"relay{n}.out"), "w") as out, \
                open(os.path.join(self.dir, f"relay{n}.err"), "w") as err:
            p = subprocess.Popen([support.RELAY, *args], cwd=self.dir, env=self.env(env),
                                 stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        p.n = n
        self.procs.append(p)
        return p

    def output(self, p):
        with open(os.path.join(self.dir, f"relay{p.n}.out"), errors="replace") as out, \
                open(os.path.join(self.dir, f"relay{p.n}.err"), errors="replace") as err:
            return out.read(), err.read()

    def marks(self):
        out = {}
        path = os.path.join(self.dir, "side.txt")
        if os.path.exists(path):
            with open(path) as f:
                for line in f.read().splitlines():
                    kind, name, attempt, pid = line.split()
                    key = (kind, name, int(attempt))
                    self.assertNotIn(key, out, f"{key} written twice")
                    out[key] = int(pid)
        return out

    def hold_write_lock(self):
        """Takes the store's write lock as another program would (a backup,
        a long transaction); released by rollback()."""
        con = sqlite3.connect(self.store, timeout=10 * SLOW, isolation_level=None)
        self.holders.append(con)
        con.execute("BEGIN IMMEDIATE")
        return con

    def verify(self):
        v = self.relay("ledger", "verify")
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)

    def assert_chain_ran_once(self, run_id):
        tasks = self.tasks_of(run_id)
        for name in ("a", "b", "c"):
            t = tasks[name]
            self.assertEqual((t["state"], t["attempts"], t["exit_code"]), ("succeeded", 1, 0), t)
        marks = self.marks()
        self.assertEqual(sorted(marks), sorted((k, n, 1) for n in "abc" for k in ("start", "done")))
        for name in "abc":
            self.assertEqual(marks[("start", name, 1)], marks[("done", name, 1)], f"{name} ran twice")
        self.assertEqual(self.lost_attempts(self.events(run_id)), [])
        self.verify()
        return tasks

    # -- a busy store -------------------------------------------------------

    def run_with_lock_held(self, a_sleep=0.5, env=None):
        """Starts the chain; once `a` runs, takes the store's write lock.
        Returns the relay, the lock's connection and when it was taken."""
        self.write("init.yaml", "name: init\ntasks:\n  i: { run: 'true' }\n")
        self.relay("run", "init.yaml", check=0)  # the store exists before the lock is taken
        self.write("p.yaml", chain(a_sleep))
        relay = self.start("run", "p.yaml", env=env)
        wait_until(lambda: ("start", "a", 1) in self.marks(), 10, "a to start")
        con = self.hold_write_lock()
        locked_at = time.monotonic()
        return relay, con, locked_at

    def test_busy_store_is_waited_out(self):
        relay, con, locked_at = self.run_with_lock_held()
        time.sleep(max(0.0, locked_at + 3.0 - time.monotonic()))
        self.assertIsNone(relay.poll(), f"relay gave up on a store busy for 3s: {self.output(relay)}")
        con.rollback()
        rc = relay.wait(timeout=30 * SLOW)
        out, err = self.output(relay)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("the store is busy", out + err)
        self.assert_chain_ran_once(self.show()["id"])

    def test_busy_wait_is_not_counted_in_durations(self):
        relay, con, locked_at = self.run_with_lock_held()
        time.sleep(max(0.0, locked_at + 3.0 - time.monotonic()))
        con.rollback()
        self.assertEqual(relay.wait(timeout=30 * SLOW), 0, self.output(relay))
        tasks = self.tasks_of(self.show()["id"])
        # b was decided when a ended, while the store was locked; it could
        # start only after the commit that recorded it, seconds later.
        self.assertLess(tasks["b"]["duration_ms"], 1000 + 500 * SLOW, tasks["b"])

    def test_busy_limit_exits_3_and_resume_finishes(self):
        # a outlives relay's patience: it must go on under the keeper.
        relay, con, locked_at = self.run_with_lock_held(5, env={"RELAY_STORE_BUSY_LIMIT": "1s"})
        a_pid = self.marks()[("start", "a", 1)]
        try:
            rc = relay.wait(timeout=3.5 * SLOW)
        except subprocess.TimeoutExpired:
            self.fail(f"relay waited past RELAY_STORE_BUSY_LIMIT=1s: {self.output(relay)}")
        gave_up = time.monotonic() - locked_at
        out, err = self.output(relay)
        self.assertEqual(rc, 3, out + err)
        self.assertIn("locked by another process", err)
        self.assertIn("relay resume", err)
        # Its task goes on under the keeper and ends there.
        self.assertTrue(pid_alive(a_pid), "a died with relay")
        self.assertNotIn(("done", "a", 1), self.marks())
        wait_until(lambda: ("done", "a", 1) in self.marks(), 5, "a to end under the keeper")
        con.rollback()
        run_id = self.show()["id"]
        self.relay("resume", run_id, check=0)
        self.assertEqual(self.show(run_id)["status"], "succeeded")
        self.assert_chain_ran_once(run_id)
        print(f"\nrelay gave up {gave_up:.2f}s after the lock was taken", flush=True)

    # -- the ledger and the store file ---------------------------------------

    def test_verify_names_events_removed_from_the_end_of_a_run(self):
        self.write("p.yaml", f"""\
            name: gap
            tasks:
              a:
                run: {command()}
              b:
                needs: [a]
                run: {command('sleep 30')}
            """)
        relay = self.start("run", "p.yaml")
        wait_until(lambda: ("start", "b", 1) in self.marks(), 10, "b to start")
        run_id = self.show()["id"]
        relay.send_signal(signal.SIGKILL)
        relay.wait(timeout=10)
        self.verify()
        num = int(self.sqlite(f"SELECT num FROM runs WHERE id = '{run_id}'"))
        span = f"id >= {num} * 4294967296 AND id < {num + 1} * 4294967296"
        rows = int(self.sqlite(f"SELECT COUNT(*) FROM ledger WHERE {span}"))
        self.assertGreaterEqual(rows, 2, "the run needs two commits for this test")
        events = len(self.events(run_id))
        self.sqlite(f"DELETE FROM ledger WHERE id = (SELECT MAX(id) FROM ledger WHERE {span})")
        left = len(self.events(run_id))
        self.assertLess(left, events)
        for args in (["ledger", "verify"], ["ledger", "verify", run_id]):
            v = self.relay(*args)
            self.assertEqual(v.returncode, 1, v.stdout + v.stderr)
            text = v.stdout + v.stderr
            self.assertIn(run_id, text)
            self.assertIn("missing", text)
            self.assertIn(f"events {left + 1} to {events}", text)
        # relay show says so too.
        self.assertIn("the head file says otherwise", self.relay("show", run_id, check=0).stdout)
        self.assertFalse(self.show(run_id)["ledger"]["anchored"])
        # And relay resume refuses it: from the shorter ledger, `a` (which
        # finished) would look unfinished and run again.
        before = len([m for m in self.marks() if m[:2] == ("start", "a")])
        r = self.relay("resume", run_id)
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        self.assertIn("not resumed", r.stderr)
        self.assertEqual(len([m for m in self.marks() if m[:2] == ("start", "a")]), before)

    def test_truncated_store_is_refused_and_left_alone(self):
        self.write("p.yaml", "name: t\ntasks:\n  a: { run: 'true' }\n")
        self.relay("run", "p.yaml", check=0)
        for size in (0, 1):
            with self.subTest(size=size):
                with open(self.store, "r+b") as f:
                    f.truncate(size)
                for extra in ("-wal", "-shm"):
                    if os.path.exists(self.store + extra):
                        os.unlink(self.store + extra)
                with open(self.store, "rb") as f:
                    before = f.read()
                heads = self.store + ".heads"
                with open(heads, "rb") as f:
                    heads_before = f.read()
                for args in (["run", "p.yaml"], ["runs"], ["show", "last"], ["resume", "last"],
                             ["ledger", "verify"]):
                    p = self.relay(*args)
                    self.assertEqual(p.returncode, 3, f"relay {' '.join(args)}: {p.stdout}{p.stderr}")
                    self.assertIn(".relay/relay.db", p.stderr)
                    self.assertIn("not a relay store", p.stderr)
                    with open(self.store, "rb") as f:
                        self.assertEqual(f.read(), before, f"relay {' '.join(args)} changed the store file")
                    with open(heads, "rb") as f:
                        self.assertEqual(f.read(), heads_before)
                    self.assertFalse(os.path.exists(self.store + "-wal"))
                self.assertEqual(self.keepers(), [])

    # -- outputs --------------------------------------------------------------

    def test_outputs_over_1_mib_fail_the_task(self):
        self.write("p.yaml", """\
            name: big
            tasks:
              big:
                run: printf 'big=' >> "$RELAY_OUTPUT"; head -c 2097152 /dev/zero | tr '\\0' x >> "$RELAY_OUTPUT"
                outputs: [big]
              after:
                needs: [big]
                run: echo "${{ needs.big.outputs.big }}" > after.txt
            """)
        p = self.relay("run", "p.yaml", check=1)
        tasks = self.tasks_of("last")
        big = tasks["big"]
        self.assertEqual((big["state"], big["cause"], big["attempts"]), ("failed", "outputs_too_large", 1), big)
        self.assertIn("1 MiB", big["reason"])
        self.assertEqual(big["outputs"], {})
        self.assertEqual(tasks["after"]["state"], "skipped")
        self.assertIn("larger than 1 MiB", p.stdout)
        self.verify()

    def peak_rss(self, out_command):
        """Runs a task that writes $RELAY_OUTPUT with `out_command` beside a
        task that keeps the run going 1.5s more; returns the peak resident
        sets (KiB) of relay and of its keeper, and the failed task."""
        self.write("p.yaml", f"""\
            name: rss
            tasks:
              big:
                run: {json.dumps(out_command)}
                outputs: [big]
              other:
                run: sleep 1.5
            """)
        relay = self.start("run", "p.yaml")
        keeper = wait_until(lambda: keeper_of(relay.pid), 10, "relay's keeper")
        peak = {"relay": 0, "keeper": 0}
        while relay.poll() is None:
            peak["relay"] = max(peak["relay"], vm_hwm_kb(relay.pid))
            peak["keeper"] = max(peak["keeper"], vm_hwm_kb(keeper))
            time.sleep(0.02)
        self.assertEqual(relay.returncode, 1 if "truncate" in out_command else 0, self.output(relay))
        return peak, self.tasks_of("last")["big"]

    def test_huge_outputs_are_not_read_whole(self):
        small, _ = self.peak_rss('echo "big=small" >> "$RELAY_OUTPUT"')
        # 256 MiB of outputs (a sparse file: no disk, and no time to write).
        huge, big = self.peak_rss('truncate -s 256M "$RELAY_OUTPUT"')
        self.assertEqual(big["cause"], "outputs_too_large", big)
        print(f"\npeak RSS (KiB): small outputs {small}, 256 MiB outputs {huge}", flush=True)
        for who in ("relay", "keeper"):
            self.assertGreater(huge[who], 0)
            self.assertLess(huge[who] - small[who], 16 * 1024,
                            f"{who} grew by {huge[who] - small[who]} KiB reading outputs it refuses")

    # -- setsid children ---------------------------------------------------------

    def start_setsid_task(self, timeout=None):
        """Starts a run whose task leaves a `setsid sleep 100` in a session of
        its own, then waits; returns the relay, the run id and that sleep."""
        self.write("p.yaml", f"""\
            name: setsid
            tasks:
              t:
                run: {command('setsid sleep 100 & sleep 30')}
                {f'timeout: {timeout}' if timeout else ''}
            """)
        relay = self.start("run", "p.yaml")
        step = wait_until(lambda: self.marks().get(("start", "t", 1)), 10, "t to start")
        run_id = self.show()["id"]

        def escaped():
            for pid, cmd in live_processes_of(run_id):
                if cmd.strip() == "sleep 100" and os.getsid(pid) != os.getsid(step):
                    return pid
            return None
        sleeper = wait_until(escaped, 10, "the setsid sleep")
        return relay, run_id, sleeper

    def test_cancel_kills_what_the_task_moved_to_its_own_session(self):
        relay, run_id, sleeper = self.start_setsid_task()
        self.relay("cancel", run_id, check=0)
        self.assertEqual(relay.wait(timeout=10 * SLOW), 1, self.output(relay))
        self.assertEqual(self.tasks_of(run_id)["t"]["state"], "cancelled")
        wait_until(lambda: not pid_alive(sleeper), 3, "the setsid sleep to be killed")
        self.assert_no_leftovers(run_id, "after cancel")

    def test_cancel_of_a_dead_relays_run_kills_it_too(self):
        relay, run_id, sleeper = self.start_setsid_task()
        relay.send_signal(signal.SIGKILL)
        relay.wait(timeout=10)
        self.assertTrue(pid_alive(sleeper))
        self.relay("cancel", run_id, check=0)
        self.assertEqual(self.show(run_id)["status"], "cancelled")
        self.assertEqual(self.tasks_of(run_id)["t"]["attempts"], 1)
        wait_until(lambda: not pid_alive(sleeper), 3, "the setsid sleep to be killed")
        self.assert_no_leftovers(run_id, "after cancel")

    def test_timeout_kills_what_the_task_moved_to_its_own_session(self):
        relay, run_id, sleeper = self.start_setsid_task(timeout="1s")
        self.assertEqual(relay.wait(timeout=10 * SLOW), 1, self.output(relay))
        t = self.tasks_of(run_id)["t"]
        self.assertEqual((t["state"], t["cause"]), ("failed", "timeout"), t)
        wait_until(lambda: not pid_alive(sleeper), 3, "the setsid sleep to be killed")
        self.assert_no_leftovers(run_id, "after the timeout")


if __name__ == "__main__":
    support.main()
