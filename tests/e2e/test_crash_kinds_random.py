"""Random kill -9 of relay running a pipeline with every new kind at once: a
matrix of sub-pipelines (whose outputs the parent passes on), an approval
that decides itself on a timeout, and a task-level concurrency group with a
queue; sometimes the first `relay resume` is killed too. The last resume
must finish the run: every task ran to its end exactly once (side.txt),
no attempt started twice, one child run per matrix instance (none created
again), outputs intact, group members never overlapping, nothing left
running, and `relay ledger verify` ok.

Replay a failure with RELAY_CRASH_SEED=<seed printed in the output>."""
import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import SLOW  # noqa: E402
from test_crash_random import CrashTestCase, live_processes_of  # noqa: E402

MARK = 'echo "start $RELAY_RUN_ID/$RELAY_TASK $RELAY_ATTEMPT" >> side.txt'
DONE = 'echo "done $RELAY_RUN_ID/$RELAY_TASK $RELAY_ATTEMPT" >> side.txt'
LOST = "{ attempts: 5, delay: 0s, on: [lost] }"


def cmd(*middle):
    return json.dumps("; ".join([MARK, *middle, DONE]))


CHILD = f"""\
name: child
inputs:
  v: x
outputs:
  o: ${{{{ tasks.c2.outputs.o }}}}
tasks:
  c1:
    run: {cmd("sleep 0.1")}
    retry: {LOST}
  c2:
    needs: c1
    run: {cmd("sleep 0.2", 'echo "o=${{ inputs.v }}" >> "$RELAY_OUTPUT"')}
    outputs: [o]
    retry: {LOST}
"""

PARENT = f"""\
name: parent
outputs:
  o: ${{{{ tasks.kids.outputs.o }}}}
  seen: ${{{{ tasks.post.outputs.seen }}}}
tasks:
  pre:
    run: {cmd("sleep 0.1")}
    retry: {LOST}
  kids:
    needs: pre
    uses: ./child.yaml
    matrix: {{ v: [a, b] }}
    with: {{ v: "${{{{ matrix.v }}}}" }}
  gated:
    needs: pre
    approval: {{ timeout: 300ms, on_timeout: approve }}
    run: {cmd("sleep 0.1")}
    retry: {LOST}
  gpu:
    needs: pre
    matrix: {{ s: [1, 2, 3] }}
    concurrency: {{ group: gpu, limit: 1 }}
    run: {cmd('echo "in $RELAY_RUN_ID/$RELAY_TASK $(date +%s.%N)" >> spans.txt', "sleep 0.15",
               'echo "out $RELAY_RUN_ID/$RELAY_TASK $(date +%s.%N)" >> spans.txt')}
    retry: {LOST}
  post:
    needs: [kids, gated, gpu]
    run: {cmd('echo "seen=${{ needs.kids.outputs.o }}" >> "$RELAY_OUTPUT"')}
    outputs: [seen]
    retry: {LOST}
"""


class RandomKindsKillTest(CrashTestCase):

    ROUNDS = 12 if SLOW == 1 else 6

    def read_lines(self, name):
        path = os.path.join(self.dir, name)
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return f.read().splitlines()

    def test_random_kills_then_resume(self):
        seed = int(os.environ.get("RELAY_CRASH_SEED") or random.randrange(1 << 30))
        print(f"\ncrash seed: {seed} (replay with RELAY_CRASH_SEED={seed})", flush=True)
        rng = random.Random(seed)
        self.write("child.yaml", CHILD)
        self.write("p.yaml", PARENT)
        kills = 0
        for round_no in range(self.ROUNDS):
            with self.context(f"seed {seed}, round {round_no}"):
                kills += self.one_round(rng, round_no)
        print(f"seed {seed}: {kills} kills in {self.ROUNDS} rounds", flush=True)
        self.assertGreaterEqual(kills, self.ROUNDS // 3, f"seed {seed}: too few kills landed to test anything")

    def kill_after(self, args, delay):
        """Runs relay with `args`, SIGKILLed after `delay` s unless it ends
        first; returns its exit status (-9 when killed)."""
        bg = self.start(*args)
        try:
            return bg.proc.wait(timeout=delay)
        except Exception:
            return bg.kill()

    def one_round(self, rng, round_no):
        for name in ("side.txt", "spans.txt"):
            if os.path.exists(os.path.join(self.dir, name)):
                os.unlink(os.path.join(self.dir, name))
        known = self.run_ids()
        # The run takes about 0.7 s (mostly the tasks' sleeps, which a
        # sanitized build does not slow down): the window is not scaled by SLOW.
        rc = self.kill_after(["run", "p.yaml", "-j", "3"], rng.uniform(0.0, 0.7))
        new = self.run_ids() - known
        tops = [r for r in new if not self.show(r)["caller_run"]]
        if not tops:
            self.assertEqual(self.read_lines("side.txt"), [], "tasks ran without a run in the store")
            return 0
        self.assertEqual(len(tops), 1)
        top = tops[0]
        kills = int(rc == -9)
        if rc == -9 and rng.random() < 0.5:
            # The resume is killed too, somewhere in its own work.
            if self.show(top)["status"] not in ("succeeded", "failed", "cancelled"):
                kills += self.kill_after(["resume", top, "-j", "3"], rng.uniform(0.0, 0.8)) == -9
        status = self.show(top)["status"]
        if status not in ("succeeded", "failed", "cancelled"):
            # It takes about a second; one that stops making progress is a hang.
            resume = self.start("resume", top, "-j", "3")
            try:
                rc = resume.wait(20)
            except AssertionError:
                stuck = {r: {t["name"]: t["state"] for t in self.show(r)["tasks"]}
                         for r in self.run_ids() - known}
                self.fail(f"relay resume {top} hung (an adopted attempt's end never reached it?): "
                          f"{stuck}\n{resume.out()}")
            self.assertEqual(rc, 0, f"resume of {top}: {resume.out()}\n{resume.err()}")
        self.check(top, self.run_ids() - known)
        return kills

    def check(self, top, runs):
        parent = self.show(top)
        self.assertEqual(parent["status"], "succeeded", parent)
        self.assertEqual(parent["outputs"], {"o": "b", "seen": "b"})
        tasks = {t["name"]: t for t in parent["tasks"]}
        for name, t in tasks.items():
            self.assertEqual(t["state"], "succeeded", f"{name}: {t}")
        children = {tasks[f"kids[v={v}]"]["child_run"] for v in "ab"}
        self.assertEqual(runs, {top} | children, "a sub-pipeline run was created again (or is missing)")
        for c in children:
            self.assertEqual(self.show(c)["status"], "succeeded")
        # Each task of each run ran to its end exactly once; no attempt started twice.
        expected = {f"{top}/{n}" for n in tasks if not n.startswith("kids")}
        expected |= {f"{c}/{n}" for c in children for n in ("c1", "c2")}
        starts, dones = {}, {}
        for line in self.read_lines("side.txt"):
            kind, who, attempt = line.split()
            (starts if kind == "start" else dones).setdefault(who, []).append(int(attempt))
        self.assertEqual(set(dones), expected, f"side.txt: {starts} {dones}")
        for who in expected:
            self.assertEqual(len(dones[who]), 1, f"{who} ran to its end {len(dones[who])} times")
            self.assertEqual(len(starts[who]), len(set(starts[who])), f"{who}: an attempt started twice")
        # The group's members never overlapped, across kills and resumes.
        spans = {}
        for line in self.read_lines("spans.txt"):
            kind, who, t = line.split()
            spans.setdefault(who, {}).setdefault(kind, []).append(float(t))
        ordered = sorted((min(s["in"]), max(s.get("out", [float("inf")]))) for s in spans.values())
        for (_, a_out), (b_in, _) in zip(ordered, ordered[1:]):
            self.assertLessEqual(a_out, b_in, f"gpu instances overlapped: {spans}")
        v = self.relay("ledger", "verify")
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        for run_id in runs:
            self.assert_no_leftovers(run_id, "after resume")


if __name__ == "__main__":
    support.main()
