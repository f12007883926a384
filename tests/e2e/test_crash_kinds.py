"""kill -9 of relay (the process, by pid) while a sub-pipeline's run is
running, while a task waits for approval, and while a concurrency group has
a queue; then `relay resume` finishes everything, nothing that had
succeeded runs again (side.txt says what ran), what ran under the keeper is
adopted rather than run twice, and `relay ledger verify` is ok."""
import json
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import SLOW, wait_until  # noqa: E402
from test_crash_random import MARK_DONE, MARK_START, CrashTestCase, live_processes_of  # noqa: E402
from test_approvals import ME  # noqa: E402


def marked(*middle):
    """A command that marks its start and end in side.txt ("start TASK N",
    "done TASK N") around `middle`."""
    return json.dumps("; ".join([MARK_START, *middle, MARK_DONE]))


LOST = "{ attempts: 3, delay: 0s, on: [lost] }"

CHILD = f"""\
name: crash-child
inputs:
  label: {{ type: string, required: true }}
outputs:
  word: ${{{{ tasks.c2.outputs.word }}}}
tasks:
  c1:
    run: {marked()}
    retry: {LOST}
  c2:
    needs: c1
    run: {marked("sleep 1.5", 'echo "word=hello-${{ inputs.label }}" >> "$RELAY_OUTPUT"')}
    outputs: [word]
    retry: {LOST}
"""

PARENT = f"""\
name: crash-parent
outputs:
  word: ${{{{ tasks.post.outputs.seen }}}}
tasks:
  pre:
    run: {marked()}
    retry: {LOST}
  kid:
    needs: pre
    uses: ./crash-child.yaml
    with: {{ label: x }}
  post:
    needs: kid
    run: {marked('echo "seen=${{ needs.kid.outputs.word }}" >> "$RELAY_OUTPUT"')}
    outputs: [seen]
    retry: {LOST}
"""

APPROVALS = f"""\
name: crash-approval
tasks:
  pre:
    run: {marked()}
    retry: {LOST}
  gate:
    needs: pre
    approval: true
    run: {marked()}
    retry: {LOST}
  timed:
    needs: pre
    approval: {{ timeout: 2s, on_timeout: approve }}
    run: {marked()}
    retry: {LOST}
  post:
    needs: [gate, timed]
    run: {marked()}
    retry: {LOST}
"""

TASK_GROUP = f"""\
name: crash-group
tasks:
  pre:
    run: {marked()}
    retry: {LOST}
  gpu:
    needs: pre
    matrix: {{ shard: [1, 2, 3] }}
    concurrency: {{ group: gpu, limit: 1 }}
    run: {marked('echo "in $RELAY_TASK $(date +%s.%N)" >> spans.txt', "sleep 0.8",
                 'echo "out $RELAY_TASK $(date +%s.%N)" >> spans.txt')}
    retry: {LOST}
"""

RUN_GROUP = f"""\
name: crash-run-group
inputs:
  tag: x
concurrency: {{ group: deploy, limit: 1 }}
tasks:
  work:
    run: {marked('echo "in ${{ inputs.tag }} $(date +%s.%N)" >> spans.txt', "sleep 1.5",
                 'echo "out ${{ inputs.tag }} $(date +%s.%N)" >> spans.txt')}
    retry: {LOST}
"""


class CrashKindsTest(CrashTestCase):

    def verify(self):
        v = self.relay("ledger", "verify")
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)

    def spans(self):
        """{name: [in, out]} from spans.txt."""
        path = os.path.join(self.dir, "spans.txt")
        out = {}
        if os.path.exists(path):
            with open(path) as f:
                for line in f:
                    kind, name, t = line.split()
                    out.setdefault(name, [None, None])[0 if kind == "in" else 1] = float(t)
        return out

    def assert_spans_apart(self, spans):
        ordered = sorted(spans.items(), key=lambda kv: kv[1][0])
        for (a, (_, a_out)), (b, (b_in, _)) in zip(ordered, ordered[1:]):
            self.assertIsNotNone(a_out, f"{a} never ended: {spans}")
            self.assertLessEqual(a_out, b_in, f"{a} and {b} overlapped: {spans}")

    def starts(self, task):
        return [a for k, t, a in self.side() if k == "start" and t == task]

    def dones(self, task):
        return [a for k, t, a in self.side() if k == "done" and t == task]

    def run_of(self, bg):
        first = bg.out().split("\n", 1)[0]
        return first.split()[2] if first.startswith("relay: run ") else None

    # -------------------------------------------------------------------------

    def test_kill_while_a_child_runs_then_resume_the_child_id(self):
        self.write("crash-child.yaml", CHILD)
        self.write("p.yaml", PARENT)
        bg = self.start("run", "p.yaml")
        ids = {}

        def c2_sleeping():
            self.assertIsNone(bg.proc.poll(), bg.out() + bg.err())
            parent_id = self.run_of(bg)
            if not parent_id:
                return False
            kid = {t["name"]: t for t in self.show(parent_id)["tasks"]}["kid"]
            if "child_run" not in kid:
                return False
            ids.update(parent=parent_id, child=kid["child_run"])
            return (self.task_states(kid["child_run"])["c2"] == "running" and
                    any(c.startswith("sleep") for _, c in live_processes_of(kid["child_run"])))
        wait_until(c2_sleeping, 20, "the child's c2 to sleep")
        self.assertEqual(bg.kill(), -9)
        parent_id, child_id = ids["parent"], ids["child"]
        # The relay is gone; its keeper keeps c2 going.
        self.assertEqual(self.show(parent_id)["status"], "running")
        self.assertTrue(any(c.startswith("sleep") for _, c in live_processes_of(child_id)),
                        "the child's task died with relay (the keeper should keep it)")
        self.assertEqual(self.task_states(parent_id)["kid"], "waiting_child")
        before = self.side()
        p = self.relay("resume", child_id)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn(f"run {child_id} is a sub-pipeline of run {parent_id}: resuming that", p.stdout)
        # It says what it adopted, timed from its own start (not the clock's epoch).
        adopted = re.findall(r"^\s*\+(\S+) note\s+adopted 'c2' attempt 1 \(pid \d+\), still running", p.stdout, re.M)
        self.assertEqual(len(adopted), 1, p.stdout)
        self.assertRegex(adopted[0], r"^\d+(\.\d+)?m?s$", f"the note's elapsed time:\n{p.stdout}")
        parent = self.show(parent_id)
        child = self.show(child_id)
        self.assertEqual(parent["status"], "succeeded", parent)
        self.assertEqual(child["status"], "succeeded", child)
        self.assertEqual(parent["outputs"], {"word": "hello-x"})
        self.assertEqual(self.task_states(parent_id), {"pre": "succeeded", "kid": "succeeded", "post": "succeeded"})
        # Nothing that had succeeded ran again; c2 was adopted, not restarted.
        for task in ("pre", "c1"):
            self.assertEqual(self.starts(task), [1], f"{task}: {self.side()}")
        self.assertEqual(self.starts("c2"), [1], f"c2 ran again after the kill: {self.side()}")
        self.assertEqual(self.dones("c2"), [1])
        self.assertEqual(self.starts("post"), [1])
        self.assertEqual([x for x in before if x[1] in ("pre", "c1")], [x for x in self.side() if x[1] in ("pre", "c1")])
        # The child run is still the parent task's child (no second child run).
        self.assertEqual({t["name"]: t.get("child_run") for t in parent["tasks"]}["kid"], child_id)
        self.assertEqual(len(self.relay_json("runs", "-n", "0")), 2)
        self.verify()
        self.assert_no_leftovers(child_id, "after resume")

    def test_kill_while_waiting_for_approval(self):
        self.write("p.yaml", APPROVALS)
        bg = self.start("run", "p.yaml")
        wait_until(lambda: "wait   gate:" in bg.out() and "wait   timed:" in bg.out(), 15,
                   lambda: f"the approval waits:\n{bg.out()}")
        run_id = self.run_of(bg)
        waiting_since = time.monotonic()
        self.assertEqual(bg.kill(), -9)
        self.assertEqual(self.task_states(run_id)["gate"], "waiting_approval")
        # Approved while no relay drives the run: recorded, applied on resume.
        p = self.relay("approve", run_id, "gate", "-m", "while it was down")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("has no live relay", p.stdout)
        self.assertIn(f"relay resume {run_id}", p.stdout)
        # The timed approval's 2s run out while relay is dead...
        time.sleep(max(0.0, waiting_since + 2.2 - time.monotonic()))
        began = time.monotonic()
        p = self.relay("resume", run_id)
        took = time.monotonic() - began
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        # ... so resume decides it at once rather than waiting 2s again.
        self.assertLess(took, 1.8 * SLOW, f"resume took {took:.1f}s: the timeout started over?\n{p.stdout}")
        run = self.show(run_id)
        self.assertEqual(run["status"], "succeeded")
        tasks = {t["name"]: t for t in run["tasks"]}
        self.assertEqual(tasks["gate"]["approved_by"], [ME])
        decisions = {(a["task"], a["decision"], a["by"], a["comment"]) for a in run["approvals"]}
        self.assertEqual(decisions, {("gate", "approved", ME, "while it was down"), ("timed", "timed out", "", "")})
        for task in ("pre", "gate", "timed", "post"):
            self.assertEqual(self.starts(task), [1], f"{task}: {self.side()}")
            self.assertEqual(self.dones(task), [1], f"{task}: {self.side()}")
        self.verify()

    def test_kill_while_waiting_for_approval_then_approve_the_resumed_run(self):
        self.write("p.yaml", APPROVALS.replace("timeout: 2s", "timeout: 1h"))
        bg = self.start("run", "p.yaml")
        wait_until(lambda: "wait   gate:" in bg.out(), 15, lambda: f"the approval wait:\n{bg.out()}")
        run_id = self.run_of(bg)
        self.assertEqual(bg.kill(), -9)
        resumed = self.start("resume", run_id)
        wait_until(lambda: self.show(run_id)["status"] == "running" and
                   self.relay("approve", run_id, "timed").returncode == 0, 10, "the resumed run to take approvals")
        p = self.relay("approve", run_id, "gate")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(p.stdout.strip(), f"approved: gate of run {run_id} by {ME}")
        self.assertEqual(resumed.wait(10), 0, resumed.out() + resumed.err())
        for task in ("pre", "gate", "timed", "post"):
            self.assertEqual(self.starts(task), [1], f"{task}: {self.side()}")
        self.verify()

    def test_kill_while_tasks_queue_for_a_group(self):
        self.write("p.yaml", TASK_GROUP)
        bg = self.start("run", "p.yaml", "-j", "4")

        def queue_formed():
            self.assertIsNone(bg.proc.poll(), bg.out() + bg.err())
            run_id = self.run_of(bg)
            if not run_id:
                return None
            states = self.task_states(run_id)
            gpu = [s for n, s in states.items() if n.startswith("gpu")]
            return run_id if sorted(gpu) == ["blocked", "blocked", "running"] and self.spans() else None
        run_id = wait_until(queue_formed, 15, "one gpu instance running, two blocked")
        self.assertEqual(bg.kill(), -9)
        before = self.tasks_of(run_id)
        p = self.relay("resume", run_id, "-j", "4")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        tasks = self.tasks_of(run_id)
        self.assertEqual({n: t["state"] for n, t in tasks.items()}, {n: "succeeded" for n in tasks})
        spans = self.spans()
        self.assertEqual(len(spans), 3, spans)
        self.assert_spans_apart(spans)
        self.assertEqual(self.starts("pre"), [1])
        for n in tasks:
            if n.startswith("gpu"):
                self.assertEqual(self.starts(n), [1], f"{n}: {self.side()}")
                self.assertEqual(self.dones(n), [1], f"{n}: {self.side()}")
        running = next(n for n, t in before.items() if t["state"] == "running")
        self.assertEqual(tasks[running]["attempts"], 1, "the instance that held the group was run again")
        self.verify()
        self.assert_no_leftovers(run_id, "after resume")

    def test_kill_the_holder_while_another_relay_queues(self):
        """A's relay dies holding the group: B stays queued (A's run still
        holds its place) until A is resumed and ends."""
        self.write("p.yaml", RUN_GROUP)
        a = self.start("run", "p.yaml", "-i", "tag=A")
        wait_until(lambda: "A" in self.spans(), 15, lambda: f"A to start:\n{a.out()}{a.err()}")
        a_id = self.run_of(a)
        b = self.start("run", "p.yaml", "-i", "tag=B")
        wait_until(lambda: self.run_of(b) and self.show(self.run_of(b))["status"] == "queued", 15,
                   lambda: f"B to queue:\n{b.out()}{b.err()}")
        self.assertEqual(a.kill(), -9)
        # A's task runs on under its keeper and ends; its run still holds the group.
        wait_until(lambda: (self.spans().get("A") or [None, None])[1], 10, "A's task to end under the keeper")
        time.sleep(0.5)
        self.assertEqual(self.show(self.run_of(b))["status"], "queued")
        self.assertNotIn("B", self.spans())
        p = self.relay("resume", a_id)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(b.wait(15), 0, b.out() + b.err())
        spans = self.spans()
        self.assertEqual(sorted(spans), ["A", "B"])
        self.assert_spans_apart(spans)
        self.assertEqual(self.starts("work"), [1, 1], self.side())
        self.assertEqual(self.show(a_id)["status"], "succeeded")
        self.verify()

    def test_a_relay_whose_keeper_was_killed_does_not_spin(self):
        """kill -9 of relay's keeper (not relay): the attempt is lost, and
        relay, which can start nothing more, records that and stops (exit 3,
        saying why) rather than lose attempt after attempt; the step the
        keeper ran is killed before the task runs again."""
        self.write("p.yaml", "name: p\ntasks:\n  t:\n    run: sleep 30\n")
        bg = self.start("run", "p.yaml")
        run_id = wait_until(lambda: self.run_of(bg) if self.run_of(bg) and live_processes_of(self.run_of(bg)) else None,
                            15, "the step to run")
        keepers = [pid for pid, cmd in self.keepers_of(bg.pid)]
        self.assertEqual(len(keepers), 1, "cannot tell relay's keeper")
        os.kill(keepers[0], 9)
        self.assertEqual(bg.wait(15 * SLOW), 3, bg.out() + bg.err())
        self.assertIn("keeper of this relay died", bg.err())
        t = self.tasks_of(run_id)["t"]
        self.assertEqual(t["attempts"], 1, t)
        self.assert_no_leftovers(run_id, "after the keeper's loss")
        self.relay("cancel", run_id)
        self.assert_no_leftovers(run_id, "after cancel")

    def keepers_of(self, relay_pid):
        """(pid, cmdline) of processes with relay's command line and working
        directory that are not relay: its keeper (forked, not exec'd;
        reparented to init). The directory tells it from the keepers of
        other tests' relays running the same command at the same time."""
        with open(f"/proc/{relay_pid}/cmdline", "rb") as f:
            cmdline = f.read()
        cwd = os.readlink(f"/proc/{relay_pid}/cwd")
        found = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or int(pid) == relay_pid:
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if f.read() == cmdline and os.readlink(f"/proc/{pid}/cwd") == cwd:
                        found.append((int(pid), cmdline))
            except OSError:
                pass
        return found

    def test_kill_the_queued_relay(self):
        """B's relay dies while B waits in the queue: A goes on; resuming B
        runs it after A."""
        self.write("p.yaml", RUN_GROUP)
        a = self.start("run", "p.yaml", "-i", "tag=A")
        wait_until(lambda: "A" in self.spans(), 15, lambda: f"A to start:\n{a.out()}{a.err()}")
        b = self.start("run", "p.yaml", "-i", "tag=B")
        wait_until(lambda: self.run_of(b) and self.show(self.run_of(b))["status"] == "queued", 15,
                   lambda: f"B to queue:\n{b.out()}{b.err()}")
        b_id = self.run_of(b)
        self.assertEqual(b.kill(), -9)
        self.assertEqual(a.wait(15), 0, a.out() + a.err())
        self.assertEqual(self.show(b_id)["status"], "queued")
        p = self.relay("resume", b_id)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        spans = self.spans()
        self.assertEqual(sorted(spans), ["A", "B"])
        self.assert_spans_apart(spans)
        self.assertEqual(self.show(b_id)["status"], "succeeded")
        self.verify()


if __name__ == "__main__":
    support.main()
