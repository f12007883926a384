"""Several `relay resume` of one crashed run at once: exactly one takes the
run over and finishes it; the others stop without touching it — in
particular without killing the processes the winner adopted or started.
With only relay killed, the winner adopts the attempts its keeper kept
running; with relay and its keeper killed, they are lost and the winner runs
them again."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import SLOW  # noqa: E402
from test_crash_random import CrashTestCase, keeper_of, live_processes_of, pid_alive, task_command  # noqa: E402

PIPELINE = "name: crash-concurrent\ntasks:\n" + "".join(
    f"  t{i}:\n    run: {json.dumps(task_command(1.0))}\n"
    f"    retry: {{ attempts: 5, delay: 0s, on: [lost] }}\n" for i in range(4))


class ConcurrentResumeTest(CrashTestCase):

    def setUp(self):
        super().setUp()
        self.write("p.yaml", PIPELINE)
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait()
            for f in (p.stdout, p.stderr):
                if f:
                    f.close()
        super().tearDown()

    def spawn(self, *args, env=None):
        p = subprocess.Popen(list(args), cwd=self.dir, env=self.env(env), stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.procs.append(p)
        return p

    def crash_while_running(self, kill_keeper=False):
        """Starts the run, kills relay (and with `kill_keeper` its keeper
        next) once every task's sleep runs; returns the run id and the task
        rows at the kill."""
        run = self.spawn(support.RELAY, "run", "p.yaml", "-j", "4")
        deadline = time.monotonic() + 20 * SLOW
        while time.monotonic() < deadline:
            if os.path.exists(self.store):
                p = self.relay("show", "last", "--output", "json")
                if p.returncode == 0:
                    run_id = json.loads(p.stdout)["id"]
                    sleeping = [c for _, c in live_processes_of(run_id) if c.startswith("sleep")]
                    if len(sleeping) == 4:
                        keeper = keeper_of(run.pid)
                        self.assertIsNotNone(keeper, "relay's keeper not found")
                        run.kill()
                        run.wait()
                        if kill_keeper:
                            os.kill(keeper, signal.SIGKILL)
                            deadline = time.monotonic() + 5
                            while pid_alive(keeper):
                                self.assertLess(time.monotonic(), deadline, "the keeper did not die")
                                time.sleep(0.01)
                        return run_id, self.tasks_of(run_id)
            time.sleep(0.05)
        self.fail("the tasks never all started")

    def three_resumes(self, run_id):
        resumes = [self.spawn(support.RELAY, "resume", run_id, "-j", "4") for _ in range(3)]
        results = [(p.wait(timeout=60 * SLOW), p.stderr.read()) for p in resumes]
        winners = [r for r in results if r[0] == 0]
        self.assertEqual(len(winners), 1, f"exactly one resume must finish the run: {results}")
        for code, err in results:
            if code != 0:
                self.assertIn(run_id, err, "a losing resume says which run it could not take")

    def test_three_resumes_at_once(self):
        run_id, before = self.crash_while_running()
        self.three_resumes(run_id)
        tasks = self.assert_recovered(run_id, before, {})
        # The keeper kept every attempt running: the winner adopted them, and
        # no loser killed them (each ran to its end, once).
        for name, t in tasks.items():
            self.assertEqual(t["attempts"], 1, f"{name}: the attempt running at the kill is adopted")
        self.assertEqual(sorted(self.side()), sorted([(k, f"t{i}", 1) for i in range(4) for k in ("start", "done")]))

    def test_three_resumes_at_once_without_keeper(self):
        run_id, before = self.crash_while_running(kill_keeper=True)
        self.three_resumes(run_id)
        tasks = self.assert_recovered(run_id, before, {}, keeper_alive=False)
        for name, t in tasks.items():
            self.assertEqual(t["attempts"], 2, f"{name}: one lost attempt, one after the resume")
            self.assertIn(("done", name, 2), self.side(), f"{name}: attempt 2 was stopped")

    @unittest.skipUnless(shutil.which("strace"), "needs strace to hold a resume at its /proc scan")
    def test_resume_held_at_its_leftover_scan(self):
        """Resume A is held (by strace) where it scans /proc for the dead
        relay's leftovers; resume B starts meanwhile; then A goes on. Exactly
        one of them may run the tasks again, and neither may take the other's
        fresh processes for leftovers of the dead relay. (Today A scans before
        it owns the run: B takes it over, starts attempt 2, and A's scan kills
        those processes, so B's run fails.) The keeper is killed too: only
        then are the attempts lost, and their leftovers scanned for."""
        run_id, before = self.crash_while_running(kill_keeper=True)
        a = self.spawn("strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=getdents64",
                       "-e", "inject=getdents64:signal=SIGSTOP:when=1", support.RELAY, "resume", run_id, "-j", "4",
                       env={"ASAN_OPTIONS": "detect_leaks=0"})  # LeakSanitizer cannot run under ptrace
        a_pid = self.wait_until_held_at_proc_scan(a)
        if a_pid is None:
            # A never scanned /proc: no race to provoke here.
            self.assertEqual(a.returncode, 0, a.stderr.read())
            self.assert_recovered(run_id, before, {})
            self.skipTest("relay resume did not scan /proc")
        b = self.spawn(support.RELAY, "resume", run_id, "-j", "4")
        deadline = time.monotonic() + 20 * SLOW
        while b.poll() is None and sum(1 for k, _, n in self.side() if k == "start" and n == 2) < 4:
            self.assertLess(time.monotonic(), deadline, "resume B neither ended nor started attempt 2")
            time.sleep(0.02)
        os.kill(a_pid, signal.SIGCONT)
        results = {"A (held)": (a.wait(timeout=60 * SLOW), a.stderr.read()),
                   "B": (b.wait(timeout=60 * SLOW), b.stderr.read() + b.stdout.read()[-500:])}
        winners = [who for who, (code, _) in results.items() if code == 0]
        self.assertEqual(len(winners), 1, f"exactly one resume must finish the run: {results}")
        tasks = self.assert_recovered(run_id, before, {}, keeper_alive=False)
        for name, t in tasks.items():
            self.assertEqual(t["attempts"], 2, f"{name}: {t}")

    def wait_until_held_at_proc_scan(self, strace):
        """The pid of the relay under `strace` once it sits stopped with /proc
        open (its first getdents64: the leftover scan of `relay resume`);
        None if it ended without one."""
        deadline = time.monotonic() + 20 * SLOW
        while time.monotonic() < deadline:
            if strace.poll() is not None:
                if strace.returncode != 0 and "strace:" in (err := strace.stderr.read()):
                    self.skipTest(f"strace cannot trace here: {err}")
                return None
            for tid in os.listdir(f"/proc/{strace.pid}/task"):
                with open(f"/proc/{strace.pid}/task/{tid}/children") as f:
                    for child in f.read().split():
                        try:
                            fds = [os.readlink(f"/proc/{child}/fd/{fd}") for fd in os.listdir(f"/proc/{child}/fd")]
                            with open(f"/proc/{child}/stat") as st:
                                text = st.read()
                        except OSError:
                            continue
                        if "/proc" in fds and text[text.rfind(")") + 2] in "tT":
                            return int(child)
            time.sleep(0.01)
        self.skipTest("could not hold relay at its /proc scan with strace")


if __name__ == "__main__":
    support.main()
