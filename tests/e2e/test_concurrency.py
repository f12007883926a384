"""Concurrency groups across several `relay run` processes on one store, as a
user sees them: with limit 1, what the group guards never overlaps (the
start and end times `relay show --output json` records, and what the tasks
themselves wrote); a queued run waits in state `queued`, a queued task in
`blocked`, each naming its group; on_conflict skip and cancel-running; and the
change feed stays gap-free while several relays commit to the store."""
import json
import os
import sys
import time
from datetime import datetime

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import SLOW, wait_until  # noqa: E402
from test_crash_random import CrashTestCase  # noqa: E402


def ts(text):
    """Seconds since the epoch of relay's timestamps (2026-12-07T16:52:56.703Z)."""
    return datetime.strptime(text.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


# Each guarded command writes "start TAG t" and "end TAG t" (wall-clock
# seconds) to side.txt: what the group is for, seen from the work itself.
def guarded(tag_expr, seconds):
    return (f'echo "start {tag_expr} $(date +%s.%N)" >> side.txt; sleep {seconds}; '
            f'echo "end {tag_expr} $(date +%s.%N)" >> side.txt')


RUN_GROUP = f"""\
name: deploy
inputs:
  tag: x
concurrency: {{ group: "deploy-${{{{ inputs.target }}}}", limit: 1 }}
tasks:
  work:
    run: {json.dumps(guarded("${{ inputs.tag }}", 1.0 * SLOW))}
""".replace("${{ inputs.target }}", "prod")

TASK_GROUP = f"""\
name: gpu
inputs:
  tag: x
tasks:
  prep:
    run: "true"
  train:
    needs: prep
    matrix: {{ shard: [1, 2, 3] }}
    concurrency: {{ group: gpu, limit: 1 }}
    run: {json.dumps(guarded("${{ inputs.tag }}${{ matrix.shard }}", 0.3))}
  report:
    needs: train
    run: echo "report ${{{{ inputs.tag }}}}" >> side.txt
"""


def intervals_from_side(lines):
    """{tag: (start, end)} from side.txt."""
    out = {}
    for line in lines:
        kind, tag, t = line.split()
        out.setdefault(tag, [None, None])[0 if kind == "start" else 1] = float(t)
    return {k: tuple(v) for k, v in out.items()}


class ConcurrencyTest(CrashTestCase):

    def side_lines(self):
        path = os.path.join(self.dir, "side.txt")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return f.read().splitlines()

    def run_state(self, bg):
        """The status of the run `bg` drives, by the id its first line prints."""
        first = bg.out().split("\n", 1)[0]
        if not first.startswith("relay: run "):
            return None, None
        run_id = first.split()[2]
        return run_id, self.show(run_id)

    def wait_run(self, bg, pred, what):
        def check():
            run_id, run = self.run_state(bg)
            return run if run and pred(run) else None
        return wait_until(check, 15, lambda: f"{what}:\n{bg.out()}\n{bg.err()}")

    def assert_no_overlap(self, spans, what):
        """spans: [(name, start, end)]; sorted by start, each ends before the next starts."""
        spans = sorted(spans, key=lambda s: s[1])
        for (a, a_start, a_end), (b, b_start, b_end) in zip(spans, spans[1:]):
            self.assertIsNotNone(a_end, f"{what}: {a} has no end")
            self.assertLessEqual(a_end, b_start, f"{what}: {a} [{a_start}, {a_end}] overlaps "
                                 f"{b} [{b_start}, {b_end}]")
        return [s[0] for s in spans]

    def assert_feed_gap_free(self):
        p = self.relay("events", "--all", "--jsonl", check=0)
        feed = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
        self.assertEqual([e["pos"] for e in feed], list(range(1, len(feed) + 1)),
                         "feed positions have gaps or repeats after several relays committed")
        total = 0
        for r in self.relay_json("runs", "-n", "0"):
            own = [json.loads(l) for l in self.relay("events", r["id"], "--jsonl", check=0).stdout.splitlines()]
            self.assertEqual([(e["seq"], e["hash"]) for e in feed if e["run"] == r["id"]],
                             [(e["seq"], e["hash"]) for e in own], f"run {r['id']} in the feed")
            total += len(own)
        self.assertEqual(total, len(feed))

    def verify(self):
        v = self.relay("ledger", "verify")
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)

    # -------------------------------------------------------------------------

    def test_run_group_limit_one_across_relays(self):
        self.write("p.yaml", RUN_GROUP)
        a = self.start("run", "p.yaml", "-i", "tag=A")
        self.wait_run(a, lambda r: r["tasks"][0]["state"] == "running", "run A to start its task")
        b = self.start("run", "p.yaml", "-i", "tag=B")
        run_b = self.wait_run(b, lambda r: r["status"] == "queued", "run B to queue")
        self.assertIn("deploy-prod", run_b["reason"])
        self.assertEqual(run_b["tasks"][0]["state"], "pending")
        self.assertIsNone(run_b["started_at"])
        listed = {r["id"]: r["status"] for r in self.relay_json("runs")}
        self.assertEqual(listed[run_b["id"]], "queued")
        c = self.start("run", "p.yaml", "-i", "tag=C")
        self.wait_run(c, lambda r: r["status"] == "queued", "run C to queue")
        self.assertIn("wait   the run: waiting for concurrency group 'deploy-prod'", b.out())
        for bg in (a, b, c):
            self.assertEqual(bg.wait(20), 0, bg.out() + bg.err())
        runs = [self.run_state(bg)[1] for bg in (a, b, c)]
        # The runs, and their tasks, one after the other, in order of arrival.
        order = self.assert_no_overlap([(r["id"], ts(r["started_at"]), ts(r["ended_at"])) for r in runs], "runs")
        self.assertEqual(order, [r["id"] for r in runs], "the group was not taken in order of arrival")
        self.assert_no_overlap([(r["id"], ts(r["tasks"][0]["started_at"]), ts(r["tasks"][0]["ended_at"]))
                                for r in runs], "tasks")
        side = intervals_from_side(self.side_lines())
        self.assertEqual(self.assert_no_overlap([(k, *v) for k, v in side.items()], "side.txt"), ["A", "B", "C"])
        causes = [(e["from"], e["to"], e["cause"]) for e in self.events(runs[1]["id"]) if e["kind"] == "run"]
        self.assertEqual(causes[:3], [("", "pending", "created"), ("pending", "queued", "concurrency_wait"),
                                      ("queued", "running", "started")])
        self.verify()
        self.assert_feed_gap_free()

    def test_task_group_across_relays(self):
        self.write("p.yaml", TASK_GROUP)
        a = self.start("run", "p.yaml", "-i", "tag=A", "-j", "4")
        b = self.start("run", "p.yaml", "-i", "tag=B", "-j", "4")
        blocked = self.wait_run(b, lambda r: any(t["state"] == "blocked" for t in r["tasks"]),
                                "a task of run B to be blocked")
        t = next(t for t in blocked["tasks"] if t["state"] == "blocked")
        self.assertIn("concurrency group 'gpu'", t["reason"])
        for bg in (a, b):
            self.assertEqual(bg.wait(20), 0, bg.out() + bg.err())
        spans = []
        for bg in (a, b):
            run = self.run_state(bg)[1]
            self.assertEqual(run["status"], "succeeded")
            for t in run["tasks"]:
                self.assertEqual(t["state"], "succeeded", t)
                if t["task"] == "train":
                    spans.append((run["id"] + " " + t["name"], ts(t["started_at"]), ts(t["ended_at"])))
        self.assertEqual(len(spans), 6)
        self.assert_no_overlap(spans, "train instances of both runs")
        side = intervals_from_side(l for l in self.side_lines() if not l.startswith("report"))
        self.assertEqual(len(side), 6)
        self.assert_no_overlap([(k, *v) for k, v in side.items()], "side.txt")
        self.assertEqual(sorted(l for l in self.side_lines() if l.startswith("report")), ["report A", "report B"])
        self.verify()
        self.assert_feed_gap_free()

    def test_limit_two(self):
        """limit: 2 lets two in at once, never three."""
        self.write("p.yaml", f"""\
            name: two
            tasks:
              t:
                matrix: {{ i: [1, 2, 3, 4, 5, 6] }}
                concurrency: {{ group: pair, limit: 2 }}
                run: {json.dumps(guarded("${{ matrix.i }}", 0.3))}
            """)
        p = self.relay("run", "p.yaml", "-j", "6")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        side = intervals_from_side(self.side_lines())
        points = sorted([(s, 1) for s, _ in side.values()] + [(e, -1) for _, e in side.values()],
                        key=lambda x: (x[0], x[1]))
        running = peak = 0
        for _, d in points:
            running += d
            peak = max(peak, running)
        self.assertEqual(peak, 2, f"at most 2 at once, and 2 at some point: {side}")

    def test_skip(self):
        """on_conflict: skip — a task instance is skipped (reason names the
        group), a run ends cancelled without running anything."""
        self.write("hold.yaml", f"""\
            name: hold
            concurrency: deploy
            tasks:
              hold:
                concurrency: db
                run: {json.dumps(guarded("hold", 30))}
            """)
        self.write("skip-run.yaml", """\
            name: skip-run
            concurrency: { group: deploy, on_conflict: skip }
            tasks:
              work:
                run: echo skip-run >> side.txt
            """)
        self.write("skip-task.yaml", """\
            name: skip-task
            tasks:
              migrate:
                concurrency: { group: db, on_conflict: skip }
                run: echo migrate >> side.txt
              other:
                run: echo other >> side.txt
            """)
        a = self.start("run", "hold.yaml")
        self.wait_run(a, lambda r: r["tasks"][0]["state"] == "running", "the holder to run")
        began = time.monotonic()
        p = self.relay("run", "skip-run.yaml")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertLess(time.monotonic() - began, 5 * SLOW)
        run = self.show()
        self.assertEqual(run["status"], "cancelled")
        self.assertIn("'deploy'", run["reason"])
        self.assertIn("skip", run["reason"])
        self.assertEqual(run["tasks"][0]["state"], "cancelled")
        self.assertEqual(run["tasks"][0]["attempts"], 0)
        p = self.relay("run", "skip-task.yaml")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        tasks = {t["name"]: t for t in self.show()["tasks"]}
        self.assertEqual(tasks["migrate"]["state"], "skipped")
        self.assertEqual(tasks["migrate"]["cause"], "concurrency_skip")
        self.assertIn("'db'", tasks["migrate"]["reason"])
        self.assertEqual(tasks["other"]["state"], "succeeded")
        self.assertEqual(sorted(l.split()[0] for l in self.side_lines()), ["other", "start"])
        self.relay("cancel", self.run_state(a)[0], check=0)
        self.assertEqual(a.wait(10), 1)
        self.verify()

    CANCEL_RUNNING_RUN = f"""\
        name: release
        inputs:
          tag: x
        concurrency: {{ group: release, cancel-in-progress: true }}
        tasks:
          work:
            run: {json.dumps(guarded("${{ inputs.tag }}", "${{ inputs.tag == 'old' && 30 || 0.2 }}"))}
        """

    def cancel_running_run(self):
        """The old run holds the group; a newer one with cancel-in-progress
        arrives. Returns (old run, new run, the old run's cancelling event)."""
        self.write("p.yaml", self.CANCEL_RUNNING_RUN)
        old = self.start("run", "p.yaml", "-i", "tag=old")
        old_run = self.wait_run(old, lambda r: r["tasks"][0]["state"] == "running", "the old run to run")
        wait_until(lambda: self.side_lines(), 5, "the old run's task to start")
        began = time.monotonic()
        new = self.start("run", "p.yaml", "-i", "tag=new")
        self.assertEqual(old.wait(10), 1, old.out() + old.err())
        self.assertEqual(new.wait(10), 0, new.out() + new.err())
        self.assertLess(time.monotonic() - began, 8 * SLOW)
        old_run = self.show(old_run["id"])
        new_run = self.run_state(new)[1]
        cancelling = [e for e in self.events(old_run["id"]) if e["kind"] == "run" and e["to"] == "cancelling"]
        self.assertEqual(len(cancelling), 1)
        return old, old_run, new_run, cancelling[0]

    def test_cancel_running_run(self):
        """A newer run with cancel-in-progress takes the group: the older
        run is cancelled, saying why, and the newer one runs after it."""
        old, old_run, new_run, cancelling = self.cancel_running_run()
        self.assertEqual(old_run["status"], "cancelled")
        self.assertEqual(old_run["tasks"][0]["state"], "cancelled")
        self.assertEqual(new_run["status"], "succeeded")
        self.assertLessEqual(ts(old_run["tasks"][0]["ended_at"]), ts(new_run["tasks"][0]["started_at"]))
        self.assertNotIn("end old", " ".join(self.side_lines()))
        # Why, where the user looks: the old relay's output and the ledger.
        self.assertIn(new_run["id"], cancelling["reason"])
        self.assertIn("'release'", cancelling["reason"])
        self.assertIn(f"run {new_run['id']} takes its place in concurrency group 'release'", old.out())
        self.verify()

    def test_cancel_running_run_is_recorded_as_such(self):
        """The ledger's cause is the state table's concurrency_cancel, not
        cancel_requested, though the holder is driven by another relay (the
        request through the inbox carries the cause; was a bug, fixed in
        058aabf)."""
        _, _, _, cancelling = self.cancel_running_run()
        self.assertEqual(cancelling["cause"], "concurrency_cancel", cancelling)

    def cancel_running_task(self):
        self.write("p.yaml", f"""\
            name: builder
            inputs:
              tag: x
            tasks:
              build:
                concurrency: {{ group: builder, on_conflict: cancel-running }}
                run: {json.dumps(guarded("${{ inputs.tag }}", "${{ inputs.tag == 'old' && 30 || 0.2 }}"))}
              after:
                needs: build
                run: "true"
            """)
        old = self.start("run", "p.yaml", "-i", "tag=old")
        old_run = self.wait_run(old, lambda r: r["tasks"][0]["state"] == "running", "the old task to run")
        wait_until(lambda: self.side_lines(), 5, "the old task to start")
        new = self.start("run", "p.yaml", "-i", "tag=new")
        self.assertEqual(new.wait(15), 0, new.out() + new.err())
        old_rc = old.wait(10)
        return old_rc, old, self.show(old_run["id"]), self.run_state(new)[1]

    def test_cancel_running_task(self):
        """A newer instance of a task group with cancel-running stops the
        holder's task (its reason names the newer run) and runs after it."""
        _, _, old_run, new_run = self.cancel_running_task()
        tasks = {t["name"]: t for t in old_run["tasks"]}
        self.assertEqual(tasks["build"]["state"], "cancelled", old_run)
        self.assertEqual(tasks["after"]["state"], "skipped", old_run)
        self.assertEqual(self.task_states(new_run["id"]), {"build": "succeeded", "after": "succeeded"})
        self.assertIn(new_run["id"], tasks["build"]["reason"])
        self.assertIn("'builder'", tasks["build"]["reason"])
        self.assertLessEqual(ts(tasks["build"]["ended_at"]), ts(new_run["tasks"][0]["started_at"]))
        self.assertNotIn("end old", " ".join(self.side_lines()))
        self.verify()

    def test_a_run_whose_task_was_cancelled_does_not_succeed(self):
        """The old run's build was stopped half-way and its dependant
        skipped: the run ends cancelled, as Actions' runs do, and its relay
        exits 1 (it "succeeded: every task succeeded or was skipped" with
        exit 0 before 058aabf)."""
        old_rc, old, old_run, _ = self.cancel_running_task()
        self.assertEqual(old_run["status"], "cancelled", f"{old_run['status']}: {old_run['reason']}")
        self.assertEqual(old_rc, 1, old.out())

    def test_a_dead_waiter_does_not_hold_the_queue(self):
        """B queued for the group, then its relay was killed; C queued
        behind it. Once B has been quiet for the store's staleness limit
        (60 s of no heartbeat), C takes its turn even though nothing else
        changes in the store. (B's heartbeat is set back with sqlite3 to
        56 s ago before the holder A ends, so C first finds B fresh, and B
        goes stale 4 s later, with no commit to wake C.)"""
        self.write("p.yaml", f"""\
            name: deploy
            inputs:
              tag: x
            concurrency: {{ group: deploy, limit: 1 }}
            tasks:
              work:
                run: {json.dumps('echo "start ${{ inputs.tag }}" >> side.txt; '
                                 'while [ ! -e go ]; do sleep 0.05; done')}
            """)
        a = self.start("run", "p.yaml", "-i", "tag=A")
        wait_until(lambda: self.side_lines(), 15, lambda: f"A to start:\n{a.out()}{a.err()}")
        b = self.start("run", "p.yaml", "-i", "tag=B")
        b_run = self.wait_run(b, lambda r: r["status"] == "queued", "B to queue")
        b.kill()
        c = self.start("run", "p.yaml", "-i", "tag=C")
        c_run = self.wait_run(c, lambda r: r["status"] == "queued", "C to queue")
        stale_in = 4.0
        self.sqlite(f"UPDATE runs SET heartbeat_at = {int((time.time() - 60 + stale_in) * 1e6)} "
                    f"WHERE id = '{b_run['id']}'")
        self.write("go", "")
        self.assertEqual(a.wait(10), 0, a.out() + a.err())
        time.sleep(1)
        self.assertEqual(self.show(c_run["id"])["status"], "queued", "C did not wait for B while B was fresh")
        # Soon after B goes stale (waiters ask their group again every second or so).
        self.assertEqual(c.wait(stale_in + 12), 0, c.out() + c.err())
        self.assertEqual([l.split()[1] for l in self.side_lines()], ["A", "C"])
        self.assertEqual(self.show(b_run["id"])["status"], "queued")
        self.verify()

if __name__ == "__main__":
    support.main()
