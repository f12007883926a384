"""Sub-pipelines (`uses:` / `with:`) as a user meets them: a parent with two
children, one of them a matrix of child runs; outputs flowing up from a
child's tasks to its pipeline outputs, to the parent task, to the parent's
own pipeline outputs; `relay show` of both sides; the ledger; the change feed
(`relay events --all`); cancelling either side; and the validation errors a
cycle of pipelines or a bad `with:` gives."""
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import SLOW, wait_until  # noqa: E402
from test_crash_random import CrashTestCase, live_processes_of  # noqa: E402

# Each child run records itself in side.txt ("child RUN_ID ARCH"), so the
# test knows which child runs ran their command, and how often.
CHILD = """\
name: child
inputs:
  arch: { type: string, required: true }
  n: { type: number, default: 1 }
outputs:
  image: ${{ tasks.build.outputs.image }}
  doubled: ${{ tasks.build.outputs.twice }}
  checked: ${{ tasks.check.result }}
tasks:
  build:
    run: >-
      echo "child $RELAY_RUN_ID ${{ inputs.arch }}" >> side.txt &&
      echo "image=img-${{ inputs.arch }}" >> "$RELAY_OUTPUT" &&
      echo "twice=$(( ${{ inputs.n }} * 2 ))" >> "$RELAY_OUTPUT"
    outputs: [image, twice]
  check:
    needs: build
    run: test "${{ needs.build.outputs.image }}" = "img-${{ inputs.arch }}"
"""

PARENT = """\
name: parent
outputs:
  first: ${{ tasks.one.outputs.image }}
  doubled: ${{ tasks.one.outputs.doubled }}
  matrixed: ${{ tasks.many.outputs.image }}
  summary:
    value: ${{ tasks.use.outputs.line }}
    description: what the last task made of its needs
  result: ${{ tasks.many.result }}
tasks:
  one:
    uses: ./sub/child.yaml
    with: { arch: solo, n: 21 }
  many:
    uses: ./sub/child.yaml
    matrix: { arch: [amd64, arm64] }
    with:
      arch: ${{ matrix.arch }}
  use:
    needs: [one, many]
    run: >-
      echo "parent use" >> side.txt &&
      echo "line=${{ needs.one.outputs.image }}/${{ needs.one.outputs.doubled }}/${{ needs.many.outputs.image }}/${{ needs.many.outputs.checked }}" >> "$RELAY_OUTPUT"
    outputs: [line]
"""

# A child that runs until it is stopped, beside a parent task that does too.
SLOW_CHILD = """\
name: slow-child
tasks:
  quick:
    run: echo "quick $RELAY_RUN_ID" >> side.txt
  long:
    needs: quick
    run: echo "long start" >> side.txt; sleep 30; echo "long done" >> side.txt
"""
SLOW_PARENT = """\
name: slow-parent
tasks:
  kid:
    uses: ./slow-child.yaml
  beside:
    run: sleep 30
  after:
    needs: [kid, beside]
    run: echo "after" >> side.txt
"""


class SubPipelineTest(CrashTestCase):

    def feed(self, *extra):
        p = self.relay("events", "--all", "--jsonl", *extra, check=0)
        return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]

    def run_events(self, run_id):
        p = self.relay("events", run_id, "--jsonl", check=0)
        return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]

    def assert_feed_is_every_event(self, run_ids):
        """`relay events --all`: every event of every run, once, at positions
        1, 2, 3, … in commit order (each run's events in its own order)."""
        feed = self.feed()
        positions = [e["pos"] for e in feed]
        self.assertEqual(positions, list(range(1, len(feed) + 1)),
                         "feed positions are not 1, 2, 3, … without gaps")
        self.assertEqual({e["run"] for e in feed}, set(run_ids))
        for run_id in run_ids:
            own = [(e["seq"], e["hash"]) for e in self.run_events(run_id)]
            in_feed = [(e["seq"], e["hash"]) for e in feed if e["run"] == run_id]
            self.assertEqual(in_feed, own, f"run {run_id}: the feed does not list its ledger, in order")
        # --after N starts after position N, and reads the same events.
        middle = len(feed) // 2
        rest = self.feed("--after", str(middle))
        self.assertEqual([(e["pos"], e["hash"]) for e in rest],
                         [(e["pos"], e["hash"]) for e in feed[middle:]])
        return feed

    def side_lines(self):
        path = os.path.join(self.dir, "side.txt")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return f.read().splitlines()

    # -- outputs flowing up, show of both sides, ledger, feed ------------------

    def test_outputs_flow_from_children_to_parent(self):
        self.write("sub/child.yaml", CHILD)
        self.write("parent.yaml", PARENT)
        p = self.relay("run", "parent.yaml", "-j", "2")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        # `last` is the run the user started, not the newest of its children.
        parent = self.show("last")
        pid = parent["id"]
        self.assertTrue(p.stdout.startswith(f"relay: run {pid} of parent"), p.stdout)
        self.assertEqual(parent["status"], "succeeded")
        self.assertIsNone(parent["caller_run"])
        # Child output image -> parent task one -> parent's outputs; a
        # matrix gives its last instance's (arm64); the number input was typed.
        self.assertEqual(parent["outputs"], {
            "first": "img-solo", "doubled": "42", "matrixed": "img-arm64",
            "summary": "img-solo/42/img-arm64/success", "result": "success"})
        tasks = {t["name"]: t for t in parent["tasks"]}
        self.assertEqual(sorted(tasks), ["many[arch=amd64]", "many[arch=arm64]", "one", "use"])
        children = {}
        for name in ("one", "many[arch=amd64]", "many[arch=arm64]"):
            t = tasks[name]
            self.assertEqual(t["state"], "succeeded", t)
            self.assertIn("child_run", t, f"{name}: relay show --output json gives no child_run")
            children[name] = t["child_run"]
        self.assertNotIn("child_run", tasks["use"])
        self.assertEqual(len(set(children.values())), 3, "each instance must have a child run of its own")
        self.assertEqual(tasks["one"]["outputs"], {"image": "img-solo", "doubled": "42", "checked": "success"})
        self.assertEqual(tasks["many[arch=amd64]"]["outputs"]["image"], "img-amd64")
        self.assertEqual(tasks["use"]["outputs"], {"line": "img-solo/42/img-arm64/success"})

        # The child side: its own run, its own ledger, its caller named.
        for name, cid in children.items():
            arch = "solo" if name == "one" else name[len("many[arch="):-1]
            child = self.show(cid)
            self.assertEqual(child["caller_run"], pid, f"{name}: child run {cid} does not name its caller")
            self.assertEqual(child["pipeline"], "child")
            self.assertEqual(child["status"], "succeeded")
            self.assertEqual(child["outputs"]["image"], f"img-{arch}")
            self.assertEqual({t["name"]: t["state"] for t in child["tasks"]},
                             {"build": "succeeded", "check": "succeeded"})
            text = self.relay("show", cid, check=0).stdout
            self.assertIn(f"called by run {pid}", text)
            self.assertIn('"image":"img-%s"' % arch, text.replace(" ", ""))
        text = self.relay("show", pid, check=0).stdout
        outputs_line = [l for l in text.splitlines() if l.startswith("outputs")]
        self.assertEqual(len(outputs_line), 1, f"relay show prints no outputs line:\n{text}")
        self.assertIn("img-solo/42/img-arm64/success", outputs_line[0])

        # Each child ran its command once, in its own run; the parent's task once.
        side = self.side_lines()
        self.assertEqual(sorted(side), sorted([f"child {children['one']} solo",
                                               f"child {children['many[arch=amd64]']} amd64",
                                               f"child {children['many[arch=arm64]']} arm64",
                                               "parent use"]))
        # The plain output marks a child's tasks with the task that called it.
        self.assertIn("one \u203a build", p.stdout)
        self.assertIn("many[arch=arm64] \u203a check", p.stdout)

        runs = {r["id"]: r for r in self.relay_json("runs", "-n", "0")}
        self.assertEqual(set(runs), {pid, *children.values()})
        v = self.relay("ledger", "verify")
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        self.assertIn("in 4 runs verified", v.stdout)
        for cid in children.values():
            # Every child has a chain of its own, from its own `created`.
            events = self.run_events(cid)
            self.assertEqual(events[0]["cause"], "created")
            self.assertEqual([e["seq"] for e in events], list(range(1, len(events) + 1)))
        # The parent's ledger says which run each sub-pipeline task started.
        started = {e["subject"]: e for e in self.run_events(pid) if e["cause"] == "child_started"}
        for name, cid in children.items():
            self.assertIn(cid, json.dumps(started[name]), f"{name}: child_started does not name {cid}")
        feed = self.assert_feed_is_every_event([pid, *children.values()])
        # A child's run is created in the feed after its caller's task was
        # queued, and its end precedes the caller's child_succeeded.
        where = {(e["run"], e["seq"]): e["pos"] for e in feed}
        for name, cid in children.items():
            child_events = self.run_events(cid)
            done = [e for e in self.run_events(pid) if e["subject"] == name and e["cause"] == "child_succeeded"]
            self.assertEqual(len(done), 1)
            self.assertLess(where[(cid, child_events[-1]["seq"])], where[(pid, done[0]["seq"])])

    def test_feed_pages_and_follows(self):
        """More events than one page of the feed (1000), read whole and
        from the middle; -f prints what later commits add."""
        self.write("m.yaml", "name: many\ntasks:\n  t:\n    matrix: { i: [%s] }\n    run: \"true\"\n"
                   % ", ".join(str(i) for i in range(260)))
        self.relay("run", "m.yaml", "-j", "2", check=0)
        first = self.show()["id"]
        feed = self.assert_feed_is_every_event([first])
        self.assertGreater(len(feed), 1000, "too few events to cross a page of the feed")
        follower = self.start("events", "--all", "--jsonl", "-f", "--after", str(len(feed)))
        self.write("one.yaml", "name: one\ntasks:\n  a:\n    run: \"true\"\n")
        self.relay("run", "one.yaml", check=0)
        second = self.show()["id"]
        want = len(self.run_events(second))

        def followed():
            lines = [json.loads(l) for l in follower.out().splitlines() if l.strip()]
            return lines if len(lines) >= want else None
        got = wait_until(followed, 10, lambda: f"events -f to print run {second}'s {want} events")
        self.assertEqual([e["pos"] for e in got], list(range(len(feed) + 1, len(feed) + 1 + want)))
        self.assertEqual({e["run"] for e in got}, {second})

    # -- cancelling either side ------------------------------------------------

    def start_slow_parent(self):
        """`relay run` of SLOW_PARENT in the background, returned once the
        child's long task is running; returns (bg, parent id, child id)."""
        self.write("slow-child.yaml", SLOW_CHILD)
        self.write("p.yaml", SLOW_PARENT)
        bg = self.start("run", "p.yaml", "-j", "4")
        ids = {}

        def child_long_runs():
            self.assertIsNone(bg.proc.poll(), f"relay run ended early:\n{bg.out()}\n{bg.err()}")
            if not os.path.exists(self.store):
                return False
            p = self.relay("show", "last", "--output", "json")
            if p.returncode != 0:
                return False
            run = json.loads(p.stdout)
            if run["caller_run"]:  # `last` may be the child
                run = self.show(run["caller_run"])
            kid = next(t for t in run["tasks"] if t["name"] == "kid")
            if kid["state"] != "waiting_child" or "child_run" not in kid:
                return False
            ids.update(parent=run["id"], child=kid["child_run"])
            states = self.task_states(kid["child_run"])
            sleeping = [c for _, c in live_processes_of(kid["child_run"]) if c.startswith("sleep")]
            return states["long"] == "running" and bool(sleeping)
        wait_until(child_long_runs, 20, "the child's long task to run")
        return bg, ids["parent"], ids["child"]

    def assert_both_cancelled(self, bg, parent_id, child_id, asked_at):
        rc = bg.wait(10)
        took = time.monotonic() - asked_at
        self.assertEqual(rc, 1, f"relay run of a cancelled run exited {rc}\n{bg.out()}\n{bg.err()}")
        self.assertLess(took, 6 * SLOW, f"relay took {took:.1f}s to stop after the cancel")
        parent = self.show(parent_id)
        child = self.show(child_id)
        self.assertEqual(parent["status"], "cancelled", parent)
        self.assertEqual(child["status"], "cancelled", child)
        states = {t["name"]: t["state"] for t in parent["tasks"]}
        self.assertEqual(states, {"kid": "cancelled", "beside": "cancelled", "after": "cancelled"})
        self.assertEqual(self.task_states(child_id), {"quick": "succeeded", "long": "cancelled"})
        self.assert_no_leftovers(parent_id, "after cancel")
        self.assert_no_leftovers(child_id, "after cancel")
        self.assertNotIn("long done", self.side_lines())
        self.assertNotIn("after", self.side_lines())
        v = self.relay("ledger", "verify")
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        # Final: neither side can be resumed.
        for run_id in (parent_id, child_id):
            r = self.relay("resume", run_id)
            self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        return parent, child

    def test_cancel_parent_cancels_child(self):
        bg, parent_id, child_id = self.start_slow_parent()
        c = self.relay("cancel", parent_id)
        asked = time.monotonic()
        self.assertEqual(c.returncode, 0, c.stdout + c.stderr)
        _, child = self.assert_both_cancelled(bg, parent_id, child_id, asked)
        causes = [e["cause"] for e in self.run_events(child_id) if e["kind"] == "run"]
        self.assertIn("parent_cancelled", causes, f"the child's run events: {causes}")

    def test_cancel_child_cancels_parent(self):
        bg, parent_id, child_id = self.start_slow_parent()
        c = self.relay("cancel", child_id)
        asked = time.monotonic()
        self.assertEqual(c.returncode, 0, c.stdout + c.stderr)
        parent, _ = self.assert_both_cancelled(bg, parent_id, child_id, asked)
        causes = [e["cause"] for e in self.run_events(parent_id) if e["kind"] == "run"]
        self.assertIn("child_cancelled", causes, f"the parent's run events: {causes}")
        self.assertIn(child_id, parent["reason"] + json.dumps(self.run_events(parent_id)))

    def test_a_child_that_never_started_still_verifies_and_reruns(self):
        """The run keeps its children's definitions from the start: a run
        whose uses: task never started (its need failed) verifies, and a
        rerun of it runs the child from the stored definition."""
        self.write("sub/child.yaml", CHILD)
        self.write("p.yaml", """\
            name: p
            tasks:
              first:
                run: test -e fixed
              one:
                needs: first
                uses: ./sub/child.yaml
                with: { arch: later }
            """)
        p = self.relay("run", "p.yaml")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        run_id = self.show()["id"]
        self.assertEqual(self.task_states(run_id), {"first": "failed", "one": "skipped"})
        v = self.relay("ledger", "verify")
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        # The child file changes on disk; the rerun uses the definition the run kept.
        self.write("sub/child.yaml", CHILD.replace("img-", "changed-"))
        self.write("fixed", "")
        r = self.relay("rerun", run_id, "--failed")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        rerun = self.show()
        self.assertEqual(rerun["status"], "succeeded")
        one = {t["name"]: t for t in rerun["tasks"]}["one"]
        self.assertEqual(one["outputs"]["image"], "img-later")
        v = self.relay("ledger", "verify")
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)

    # -- runtime and validation errors ------------------------------------------

    def test_with_that_does_not_fit_at_run_time_fails_the_task(self):
        """A `with:` template that renders a value the child's input refuses
        fails that task (the run fails; nothing of the child runs)."""
        self.write("sub/child.yaml", CHILD)
        self.write("p.yaml", """\
            name: p
            inputs:
              count: { type: string, default: lots }
            tasks:
              one:
                uses: ./sub/child.yaml
                with: { arch: x, n: "${{ inputs.count }}" }
            """)
        p = self.relay("run", "p.yaml")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        run = self.show()
        one = run["tasks"][0]
        self.assertEqual(one["state"], "failed")
        self.assertEqual(one["cause"], "child_invalid")
        self.assertIn("lots", one["reason"])
        self.assertEqual(self.side_lines(), [])
        self.assertEqual(len(self.relay_json("runs")), 1, "a child run was created for a bad with:")

    def assert_invalid(self, top, *expected):
        """`relay validate` and `relay run` both exit 2, write no store, and
        print each `expected` regex (FILE:LINE:COL: error: …)."""
        v = self.relay("validate", top)
        self.assertEqual(v.returncode, 2, v.stdout + v.stderr)
        text = v.stdout + v.stderr
        for e in expected:
            self.assertRegex(text, e)
        r = self.relay("run", top)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        for e in expected:
            self.assertRegex(r.stdout + r.stderr, e)
        self.assertFalse(os.path.exists(self.store), "an invalid pipeline created a store")
        return text

    def test_cycle_of_pipelines_is_a_validation_error(self):
        self.write("a.yaml", "name: a\ntasks:\n  first:\n    uses: ./b.yaml\n")
        self.write("b.yaml", "name: b\ntasks:\n  prep:\n    run: \"true\"\n  back:\n    uses: ./a.yaml\n")
        text = self.assert_invalid("a.yaml", r"b\.yaml:6:11: error: .*cycle of pipelines: .*a\.yaml.*b\.yaml.*a\.yaml")
        # The parent's uses: that leads into the bad child is named too.
        self.assertRegex(text, r"a\.yaml:4:11: error: tasks\.first\.uses")
        # A pipeline that uses itself.
        self.write("self.yaml", "name: s\ntasks:\n  me:\n    uses: ./self.yaml\n")
        self.assert_invalid("self.yaml", r"self\.yaml:4:11: error: .*cycle of pipelines")

    def test_bad_with_is_a_validation_error(self):
        self.write("sub/child.yaml", CHILD)
        self.write("p.yaml", """\
            name: p
            tasks:
              misspelt:
                uses: ./sub/child.yaml
                with: { arhc: x }
              typed:
                uses: ./sub/child.yaml
                with: { arch: x, n: many }
              stray:
                run: echo hi
                with: { arch: x }
            """)
        text = self.assert_invalid(
            "p.yaml",
            # an unknown input, with a suggestion
            r"p\.yaml:5:\d+: error: tasks\.misspelt\.with.*arhc",
            # a required input not given
            r"p\.yaml:\d+:\d+: error: tasks\.misspelt.*arch",
            # a literal of the wrong type
            r"p\.yaml:8:\d+: error: tasks\.typed\.with\.n",
            # with: without uses:
            r"p\.yaml:11:\d+: error: .*with.*no 'uses'")
        self.assertIn("did you mean 'arch'", text)


if __name__ == "__main__":
    support.main()
