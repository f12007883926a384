"""The store seen from the command line: ledger verification, reruns, the
stored definition, and infrastructure errors (exit 3, nothing half-written)."""
import json
import os
import sqlite3
import subprocess

from support import RelayTestCase, main


class LedgerTest(RelayTestCase):
    def test_verify_detects_an_edited_event(self):
        self.write("p.yaml", "tasks:\n  a: { run: 'true' }\n  b: { needs: [a], run: 'true' }\n")
        self.relay("run", "p.yaml", check=0)
        ok = self.relay("ledger", "verify", check=0)
        self.assertIn("ledger ok", ok.stdout)
        run = self.show()["id"]
        # Event 5 (a claimed→running) is in the ledger row of the run's second
        # commit; edit only it.
        first = f"(SELECT num FROM runs WHERE id = '{run}') * 4294967296"
        row = f"(SELECT MAX(id) FROM ledger WHERE id <= {first} + 5)"
        self.sqlite(f"UPDATE ledger SET events = replace(events, '\"claimed\",\"running\"', "
                    f"'\"claimed\",\"failed\"') WHERE id = {row}")
        broken = self.relay("ledger", "verify", check=1)
        self.assertIn("event 5", broken.stdout)
        self.relay("ledger", "verify", run[:8], check=1)

    def test_an_edited_ledger_is_reported_not_taken_as_state(self):
        """The ledger is the state: an edit is an error everywhere, never a
        task state that show, resume or rerun would act on."""
        self.write("p.yaml", "tasks:\n  a: { run: 'false' }\n  b: { needs: [a], run: 'true' }\n")
        self.relay("run", "p.yaml", check=1)
        run = self.show()["id"]
        # a's failure rewritten as a success.
        self.sqlite("UPDATE ledger SET events = replace(events, '\"running\",\"failed\"', "
                    "'\"running\",\"succeeded\"')")
        show = self.relay("show", run, check=3)
        self.assertIn("does not verify", show.stderr)
        self.assertIn(f"relay ledger verify {run}", show.stderr)
        self.relay("rerun", run, "--failed", check=3)
        self.relay("ledger", "verify", run, check=1)
        # Bytes that are not an event at all are shown as such.
        self.sqlite("UPDATE ledger SET events = 'junk' || char(10) || substr(events, "
                    "instr(events, char(10)) + 1) WHERE id = (SELECT MIN(id) FROM ledger)")
        events = self.relay("events", run, check=1)
        self.assertIn("cannot be read", events.stdout)
        lines = [json.loads(l) for l in self.relay("events", run, "--jsonl", check=1).stdout.splitlines()]
        self.assertIn("malformed", lines[0])

    def test_verify_reports_every_broken_run_and_rows_changed_beside_the_chain(self):
        self.write("p.yaml", "inputs: { n: 1 }\ntasks:\n  a: { run: 'false' }\n")
        self.write("q.yaml", "tasks:\n  q: { run: 'false' }\n")  # a definition of its own
        for f in ("p.yaml",) * 4 + ("q.yaml",):
            self.relay("run", f, check=1)
        runs = [r["id"] for r in reversed(self.relay_json("runs"))]  # oldest first
        self.relay("ledger", "verify", check=0)
        # Event 2 of the first two runs rewritten; then, for the next three,
        # the row's status, its inputs, its stored definition.
        for run in runs[:2]:
            first = f"(SELECT num FROM runs WHERE id = '{run}') * 4294967296"
            self.sqlite("UPDATE ledger SET events = replace(events, '\"pending\",\"running\"', "
                        "'\"pending\",\"failed\"') WHERE id = "
                        f"(SELECT MAX(id) FROM ledger WHERE id <= {first} + 2)")
        self.sqlite(f"UPDATE runs SET state = 'succeeded' WHERE id = '{runs[2]}'")
        self.sqlite(f"UPDATE runs SET inputs_json = '{{\"n\":2}}' WHERE id = '{runs[3]}'")
        self.sqlite("UPDATE definitions SET text = text || ' ' WHERE hash = "
                    f"(SELECT definition_hash FROM runs WHERE id = '{runs[4]}')")
        out = self.relay("ledger", "verify", check=1).stdout
        for run in runs:
            self.assertIn(f"run {run}", out)
        self.assertIn("5 of 5 runs broken", out)
        self.assertIn("its status is succeeded but its last run event", out)
        self.assertIn("inputs do not match the inputs_hash", out)
        self.assertIn("does not match its hash", out)

    def test_rerun_refuses_inputs_or_options_changed_outside_relay(self):
        self.write("p.yaml", "inputs: { msg: hello }\n"
                   "tasks:\n  a: { run: 'echo a ${{ inputs.msg }} >> side.txt' }\n"
                   "  b: { needs: [a], run: 'false' }\n")
        self.relay("run", "p.yaml", check=1)
        run = self.show()["id"]
        self.sqlite(f"UPDATE runs SET inputs_json = '{{\"msg\":\"EVIL\"}}' WHERE id = '{run}'")
        p = self.relay("rerun", run, "--failed", check=3)
        self.assertIn("inputs do not match the inputs_hash", p.stderr)
        self.sqlite(f"UPDATE runs SET inputs_json = '{{\"msg\":\"hello\"}}' WHERE id = '{run}'")
        self.relay("ledger", "verify", run, check=0)
        self.sqlite("UPDATE runs SET options_json = '{\"from\":[],\"only\":[\"a\"],"
                    f"\"until\":[]}}' WHERE id = '{run}'")
        p = self.relay("rerun", run, "--failed", check=3)
        self.assertIn("options do not match the options_hash", p.stderr)
        self.relay("ledger", "verify", run, check=1)
        with open(os.path.join(self.dir, "side.txt")) as f:
            self.assertEqual(f.read(), "a hello\n")

    def test_rows_that_would_skip_or_change_the_checks_are_refused(self):
        self.write("p.yaml", "inputs: { msg: hello }\n"
                   "tasks:\n  a: { run: 'true' }\n  b: { needs: [a], run: 'false' }\n")
        self.relay("run", "p.yaml", check=1)
        run = self.show()["id"]
        # A checkpoint that would start the fold after the created event.
        self.sqlite(f"UPDATE runs SET tasks_seq = 1 WHERE id = '{run}'")
        p = self.relay("rerun", run, "--failed", check=3)
        self.assertIn("lists its tasks but says its rows reflect events up to 1", p.stderr)
        self.relay("ledger", "verify", run, check=1)
        self.sqlite(f"UPDATE runs SET tasks_seq = 0 WHERE id = '{run}'")
        self.relay("ledger", "verify", run, check=0)
        # A task list that is not the plan's.
        self.sqlite("UPDATE run_instances SET list = replace(list, '\"b\"', '\"zzz\"')")
        out = self.relay("ledger", "verify", run, check=1).stdout
        self.assertIn("names task 'b', which the run does not have", out)

    def test_events_of_an_edited_run_say_it_is_broken(self):
        self.write("p.yaml", "tasks:\n  a: { run: 'true' }\n")
        self.relay("run", "p.yaml", check=0)
        self.sqlite("UPDATE ledger SET events = replace(events, '\"exit 0', '\"exit 9')")
        p = self.relay("events", "last", check=1)
        self.assertIn("exit 9", p.stdout)
        self.assertIn("does not verify", p.stderr)

    def test_events_jsonl_is_a_chain(self):
        self.write("p.yaml", "tasks:\n  a: { run: 'true' }\n")
        self.relay("run", "p.yaml", check=0)
        events = [json.loads(l) for l in self.relay("events", "last", "--jsonl", check=0).stdout.splitlines()]
        self.assertEqual([e["seq"] for e in events], list(range(1, len(events) + 1)))
        for prev, e in zip(events, events[1:]):
            self.assertEqual(e["prev_hash"], prev["hash"])
        self.assertEqual(events[0]["to"], "pending")
        self.assertEqual(events[-1]["to"], "succeeded")
        self.assertEqual(events[-1]["kind"], "run")


class RerunTest(RelayTestCase):
    PIPELINE = """
        tasks:
          build: { run: "echo build >> calls.txt" }
          lint: { run: "echo lint >> calls.txt" }
          test: { needs: [build], run: "echo test >> calls.txt; test -f fixed" }
          package: { needs: [test, lint], run: "echo package >> calls.txt" }
        """

    def calls(self):
        with open(os.path.join(self.dir, "calls.txt")) as f:
            return f.read().split()

    def test_rerun_failed_reuses_what_succeeded(self):
        self.write("p.yaml", self.PIPELINE)
        self.relay("run", "p.yaml", check=1)
        first = self.show()["id"]
        self.assertEqual(sorted(self.calls()), ["build", "lint", "test"])
        open(os.path.join(self.dir, "fixed"), "w").close()
        p = self.relay("rerun", first[:10], "--failed", check=0)
        self.assertIn("reusing 2 of 4", p.stdout)
        self.assertEqual(sorted(self.calls()), ["build", "lint", "package", "test", "test"])
        show = self.show()
        self.assertEqual(show["parent_run"], first)
        build = [t for t in show["tasks"] if t["name"] == "build"][0]
        self.assertEqual(build["state"], "succeeded")
        self.assertIn("reused from run " + first, build["reason"])

    def test_rerun_failed_leaves_what_a_condition_skipped_alone(self):
        self.write("p.yaml", """
            tasks:
              build: { run: "echo build >> calls.txt" }
              docs: { if: "${{ false }}", run: "echo docs >> calls.txt" }
              deploy: { needs: [build, docs], if: "${{ !failure() && !cancelled() }}",
                        run: "echo deploy >> calls.txt" }
              flaky: { run: "echo flaky >> calls.txt; test -f fixed" }
            """)
        self.relay("run", "p.yaml", check=1)
        open(os.path.join(self.dir, "fixed"), "w").close()
        self.relay("rerun", "last", "--failed", check=0)
        self.assertEqual(sorted(self.calls()), ["build", "deploy", "flaky", "flaky"])
        states = {t["name"]: t["state"] for t in self.show()["tasks"]}
        self.assertEqual(states, {"build": "succeeded", "docs": "skipped",
                                  "deploy": "succeeded", "flaky": "succeeded"})

    def test_rerun_from_a_task(self):
        self.write("p.yaml", self.PIPELINE)
        open(os.path.join(self.dir, "fixed"), "w").close()
        self.relay("run", "p.yaml", check=0)
        self.relay("rerun", "last", "--from", "test", check=0)
        self.assertEqual(sorted(self.calls()), ["build", "lint", "package", "package", "test", "test"])
        p = self.relay("rerun", "last", "--from", "nope", check=2)
        self.assertIn("no task 'nope'", p.stderr)

    def test_a_run_keeps_its_definition(self):
        path = self.write("p.yaml", "tasks:\n  a: { run: 'echo one >> out.txt; exit 1' }\n")
        self.relay("run", "p.yaml", check=1)
        self.assertNotIn("changed since", self.relay("show", "last", check=0).stdout)
        with open(path, "w") as f:
            f.write("tasks:\n  a: { run: 'echo two >> out.txt' }\n  b: { run: 'true' }\n")
        self.assertIn("changed since this run started", self.relay("show", "last", check=0).stdout)
        self.assertTrue(self.show()["definition_changed"])
        # The rerun uses the stored definition, not the edited file, and says so.
        p = self.relay("rerun", "last", "--failed", check=1)
        self.assertIn("relay: note: the pipeline file p.yaml changed since this run started",
                      p.stdout)
        with open(os.path.join(self.dir, "out.txt")) as f:
            self.assertEqual(f.read().split(), ["one", "one"])
        self.assertEqual(set(self.task_states()), {"a"})

    def test_run_refs(self):
        self.write("p.yaml", "tasks:\n  a: { run: 'true' }\n")
        self.relay("run", "p.yaml", check=0)
        p = self.relay("show", "ZZZZ", check=2)
        self.assertIn("no run matches 'ZZZZ'", p.stderr)
        p = self.relay("resume", "last", check=2)
        self.assertIn("already finished", p.stderr)


class StoreErrorTest(RelayTestCase):
    def setUp(self):
        super().setUp()
        self.write("p.yaml", "tasks:\n  a: { run: 'true' }\n")

    def test_corrupt_store_exits_3_naming_the_file(self):
        os.makedirs(os.path.dirname(self.store))
        with open(self.store, "wb") as f:
            f.write(b"this is not a database" * 100)
        p = self.relay("run", "p.yaml", check=3)
        self.assertIn(".relay/relay.db", p.stderr)
        self.relay("runs", check=3)

    def test_locked_store_exits_3(self):
        # relay waits out a busy store for RELAY_STORE_BUSY_LIMIT (default 5m)
        # before it gives up; test_store_defects covers waiting it out.
        self.relay("run", "p.yaml", check=0)
        holder = sqlite3.connect(self.store, timeout=0)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            p = self.relay("run", "p.yaml", env={"RELAY_STORE_BUSY_LIMIT": "1s"}, check=3, timeout=60)
            self.assertIn("locked", p.stderr)
        finally:
            holder.rollback()
            holder.close()
        self.assertEqual(len(self.relay_json("runs")), 1)

    def test_store_from_a_newer_relay_is_refused(self):
        self.relay("run", "p.yaml", check=0)
        self.sqlite("INSERT INTO schema_version VALUES (999, 'future', 0)")
        p = self.relay("runs", check=3)
        self.assertIn("newer relay", p.stderr)

    def test_unwritable_store_location_exits_3(self):
        with open(os.path.join(self.dir, "file"), "w") as f:
            f.write("x")
        p = self.relay("run", "p.yaml", "--store", os.path.join(self.dir, "file", "relay.db"), check=3)
        self.assertIn(os.path.join(self.dir, "file"), p.stderr)

    def test_missing_store_for_show(self):
        p = self.relay("show", "last", check=2)
        self.assertIn("no store at", p.stderr)

    def test_no_store_yet_lists_no_runs_and_creates_nothing(self):
        # `relay runs -o json | jq` in a fresh checkout, even after an invalid run.
        with open(os.path.join(self.dir, "bad.yaml"), "w") as f:
            f.write("tasks:\n  a: { run: true, timout: 3s }\n")
        self.relay("run", "bad.yaml", check=2)
        self.assertEqual(self.relay_json("runs"), [])
        self.assertIn("no runs yet", self.relay("runs", check=0).stdout)
        self.assertFalse(os.path.exists(os.path.join(self.dir, ".relay", "relay.db")))
        p = self.relay("runs", "--store", "typo.db", check=2)
        self.assertIn("no store at typo.db", p.stderr)
        self.assertEqual(self.relay("runs", env={"RELAY_STORE": ""}, check=0).stdout,
                         "no runs yet\n")

    def test_durability_power_and_setting(self):
        self.relay("run", "p.yaml", "--durability", "power", check=0)
        self.relay("config", "set", "durability", "power", check=0)
        self.assertEqual(self.sqlite("SELECT value FROM settings WHERE key='durability'").strip(), "power")
        self.relay("config", "set", "durability", "fast", check=2)


if __name__ == "__main__":
    main()
