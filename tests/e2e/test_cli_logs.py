"""relay logs: copied in chunks with bounded memory, followed by offsets, and
a run that just ended is never mistaken for one whose relay stopped."""
import hashlib
import os
import re
import subprocess
import time

from support import RELAY, SLOW, RelayTestCase, main

# A task printing ~200 MB in 1000-byte lines: its log (with timestamps) is
# ~206 MB, far above what relay needs to run at all.
BIG_TASK = "yes \"$(printf '%0999d' 0)\" | head -c 200000000"


class LogsTest(RelayTestCase):
    def start_run(self, pipeline="p.yaml"):
        proc = subprocess.Popen([RELAY, "run", pipeline], cwd=self.dir, env=self.env(),
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: proc.poll() is None and (proc.kill(), proc.wait()))
        return proc

    def wait_for(self, what, predicate, timeout=20):
        deadline = time.time() + timeout * SLOW
        while time.time() < deadline:
            if predicate():
                return
            time.sleep(0.02)
        self.fail(f"timed out waiting for {what}")

    def run_id(self):
        runs = self.relay_json("runs")
        return runs[0]["id"] if runs else None

    def logs_of(self, task, run="last"):
        """Every attempt's log file of `task`, oldest first."""
        show = self.show(run)
        row = [t for t in show["tasks"] if t["name"] == task][0]
        log_dir = os.path.dirname(row["log"])
        return sorted((os.path.join(log_dir, f) for f in os.listdir(log_dir)
                       if re.match(rf"\d+-{re.escape(task)}\.\d+\.log$", f)),
                      key=lambda p: int(p.rsplit(".", 2)[1]))

    def read(self, path):
        with open(path, "rb") as f:
            return f.read()

    def relay_measured(self, args, pauses=()):
        """Runs relay, hashing its stdout as it comes (never holding it).
        At each byte count in `pauses` it stops reading until relay blocks on
        the full pipe and samples relay's own peak RSS (VmHWM, which starts
        afresh at exec). Returns (exit status, sha256, bytes, stderr, the
        samples in KiB, ru_maxrss in KiB from wait4)."""
        err_path = os.path.join(self.dir, "stderr.txt")
        samples = []
        with open(err_path, "wb") as err:
            proc = subprocess.Popen([RELAY, *args], cwd=self.dir, env=self.env(),
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=err)
            digest, size = hashlib.sha256(), 0
            pending = sorted(pauses)
            while True:
                want = min(1 << 20, pending[0] - size) if pending else 1 << 20
                chunk = proc.stdout.read(want)
                if not chunk:
                    break
                digest.update(chunk)
                size += len(chunk)
                if pending and size >= pending[0]:
                    pending.pop(0)
                    time.sleep(0.2 * SLOW)
                    with open(f"/proc/{proc.pid}/status") as f:
                        samples.append(int(re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1)))
            proc.stdout.close()
            # wait4: the child's ru_maxrss, which also counts this Python
            # process's pages from before the exec: a floor, not relay's own.
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
        with open(err_path, encoding="utf-8", errors="replace") as f:
            stderr = f.read()
        return proc.returncode, digest.hexdigest(), size, stderr, samples, usage.ru_maxrss

    def test_a_large_log_is_copied_in_bounded_memory(self):
        self.write("p.yaml", """
            tasks:
              big:
                run: |
                  %s
              small: { run: "echo hi" }
            """ % BIG_TASK)
        self.relay("run", "p.yaml", check=0, timeout=300)
        [big_log] = self.logs_of("big")
        size = os.path.getsize(big_log)
        self.assertGreater(size, 200_000_000)
        digest = hashlib.sha256()
        with open(big_log, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)

        *_, small_maxrss = self.relay_measured(("logs", "last", "small"))
        for args in (("logs", "last", "big"), ("logs", "last", "big", "-f")):
            with self.subTest(args=args):
                code, got, got_size, stderr, (early, late), maxrss = self.relay_measured(
                    args, pauses=(size // 10, size - (1 << 20)))
                self.assertEqual((code, stderr), (0, ""))
                self.assertEqual(got_size, size)
                self.assertEqual(got, digest.hexdigest())
                # Before, the whole log was read into memory (~270 MB of RSS).
                # Now it is one 64 KiB buffer: the peak stays small and does not
                # grow from 10% of the copy to its end, whatever relay's own
                # baseline (a sanitizer's is larger).
                print(f"relay {' '.join(args)}: a {size}-byte log: VmHWM {early} KiB at 10%, "
                      f"{late} KiB near the end; ru_maxrss {maxrss} KiB "
                      f"({small_maxrss} KiB for a one-line log)")
                if SLOW == 1:  # a sanitizer's own baseline is larger (ASan: ~120 MB)
                    self.assertLess(late, 64 * 1024)
                self.assertLess(late - early, 4 * 1024)
                self.assertLess(maxrss - small_maxrss, 8 * 1024)

        # A reader that goes away (`| head`) ends the copy at once, quietly.
        proc = subprocess.Popen([RELAY, "logs", "last", "big"], cwd=self.dir, env=self.env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(len(proc.stdout.read(100)), 100)
        proc.stdout.close()
        _, err = proc.communicate(timeout=30 * SLOW)
        self.assertEqual((proc.returncode, err), (0, b""))

    def test_follow_prints_what_was_appended_once(self):
        # Two tasks print numbered lines over a second or so; followers, one
        # of a task and one of the run, start before the first line.
        self.write("p.yaml", """
            tasks:
              gate: { run: "while [ ! -e go ]; do sleep 0.01; done" }
              tick: { needs: [gate], run: "for i in $(seq 1 80); do echo tick-$i; sleep 0.01; done" }
              tock: { needs: [gate], run: "for i in $(seq 1 80); do echo tock-$i $(printf '%0500d' $i); sleep 0.013; done" }
            """)
        run = self.start_run()
        self.wait_for("the run", lambda: os.path.exists(self.store) and self.run_id())
        one = subprocess.Popen([RELAY, "logs", "last", "tick", "-f"], cwd=self.dir,
                               env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        every = subprocess.Popen([RELAY, "logs", "last", "-f"], cwd=self.dir,
                                 env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(0.3 * SLOW)  # the followers are polling logs not there yet
        open(os.path.join(self.dir, "go"), "w").close()
        one_out, one_err = one.communicate(timeout=60 * SLOW)
        every_out, every_err = every.communicate(timeout=60 * SLOW)
        self.assertEqual(run.wait(timeout=60 * SLOW), 0)
        self.assertEqual((one.returncode, one_err), (0, b""))
        self.assertEqual((every.returncode, every_err), (0, b""))

        [tick_log] = self.logs_of("tick")
        [tock_log] = self.logs_of("tock")
        self.assertEqual(one_out, self.read(tick_log))
        lines = re.findall(rb"tick-(\d+)\n", one_out)
        self.assertEqual(lines, [str(i).encode() for i in range(1, 81)])

        # Following the whole run, every line says whose it is, and each
        # task's lines are its log, whole and in order, however the two
        # interleave.
        by_task = {}
        for line in every_out.splitlines(keepends=True):
            name, sep, rest = line.partition(b" | ")
            self.assertTrue(sep, line)
            by_task.setdefault(name, []).append(rest)
        self.assertEqual(set(by_task), {b"tick", b"tock"})
        self.assertEqual(b"".join(by_task[b"tick"]), self.read(tick_log))
        self.assertEqual(b"".join(by_task[b"tock"]), self.read(tock_log))

    def test_follow_shows_every_attempt_of_a_retried_task(self):
        self.write("p.yaml", """
            tasks:
              flaky:
                run: sleep 0.3; echo "attempt $RELAY_ATTEMPT"; test "$RELAY_ATTEMPT" -ge 3
                retry: { attempts: 3, delay: 200ms }
            """)
        run = self.start_run()
        self.wait_for("the run", lambda: os.path.exists(self.store) and self.run_id())
        out = self.relay("logs", "last", "flaky", "-f", check=0, timeout=60).stdout
        self.assertEqual(run.wait(timeout=60 * SLOW), 0)
        self.assertEqual(re.findall(r"out (attempt \d)\n", out),
                         ["attempt 1", "attempt 2", "attempt 3"])
        self.assertEqual(out.encode(), b"".join(self.read(p) for p in self.logs_of("flaky")))

    def test_a_run_that_just_succeeded_is_not_called_stopped(self):
        # The race: a follower reads the run (running), then its logs; the run
        # ends and its relay exits meanwhile; the follower then finds the
        # relay gone and, trusting the state it read before, said "stopped,
        # resume it". Here the window is held open on purpose: the follower
        # blocks writing a log bigger than its pipe, which is only read once
        # the run's relay has exited. Each round is one run.
        self.write("p.yaml", """
            tasks:
              t:
                run: |
                  head -c 2000000 /dev/zero | tr '\\0' x | fold -w 500
                  while [ ! -e done ]; do sleep 0.01; done
            """)
        done = os.path.join(self.dir, "done")
        for round in range(3):
            with self.subTest(round=round):
                if os.path.exists(done):
                    os.unlink(done)
                before = self.run_id() if os.path.exists(self.store) else None
                run = self.start_run()
                self.wait_for("the run", lambda: os.path.exists(self.store)
                              and self.run_id() not in (None, before))
                run_id = self.run_id()
                self.wait_for("output", lambda: "x" in self.relay("logs", run_id, "t").stdout)
                follower = subprocess.Popen([RELAY, "logs", run_id, "t", "-f"],
                                            cwd=self.dir, env=self.env(),
                                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                time.sleep(0.5 * SLOW)  # it read the run and blocks on its full pipe
                open(done, "w").close()
                self.assertEqual(run.wait(timeout=60 * SLOW), 0)
                out, err = follower.communicate(timeout=60 * SLOW)
                self.assertNotIn(b"relay resume", err)
                self.assertEqual((follower.returncode, err), (0, b""))
                self.assertEqual(out, self.read(self.logs_of("t", run_id)[0]))
                self.assertEqual(self.show(run_id)["status"], "succeeded")

    def test_many_short_runs_followed_to_their_end(self):
        # The same path at its natural pace (the race is rarely hit this way;
        # the test above holds it open): each follower of a short run ends
        # with the run, having printed its lines once, never saying it stopped.
        self.write("p.yaml", "tasks:\n  t: { run: 'for i in 1 2 3; do echo $i; sleep 0.05; done' }\n")
        for round in range(5):
            with self.subTest(round=round):
                before = self.run_id() if os.path.exists(self.store) else None
                run = self.start_run()
                self.wait_for("the run", lambda: os.path.exists(self.store)
                              and self.run_id() not in (None, before))
                p = self.relay("logs", self.run_id(), "t", "-f", timeout=60)
                self.assertEqual(run.wait(timeout=60 * SLOW), 0)
                self.assertEqual((p.returncode, p.stderr), (0, ""))
                self.assertEqual(re.findall(r"out (\d)\n", p.stdout), ["1", "2", "3"])


if __name__ == "__main__":
    main()
