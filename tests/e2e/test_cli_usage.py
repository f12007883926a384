"""Usage errors seen from the command line: unknown commands, typed -i
values, selections that select nothing (exit 2, nothing written), and what
`show`/`logs` say about a task that printed nothing."""
import json
import os

from support import RelayTestCase, main

COMMANDS = ("validate, plan, graph, run, resume, rerun, cancel, approve, runs, show, logs, events, "
            "ledger, config")


class UnknownCommandTest(RelayTestCase):
    def test_unknown_command_is_named_with_the_list_of_commands(self):
        p = self.relay("bogus", check=2)
        self.assertIn("relay: unknown command 'bogus'\n", p.stderr)
        self.assertIn(COMMANDS, p.stderr)
        self.assertNotIn("A subcommand is required", p.stderr)
        self.assertEqual(p.stdout, "")

    def test_a_typo_gets_a_suggestion(self):
        p = self.relay("rnu", "p.yaml", check=2)
        self.assertIn("relay: unknown command 'rnu' (did you mean 'run'?)", p.stderr)
        p = self.relay("--store", "x.db", "shwo", "last", check=2)
        self.assertIn("unknown command 'shwo' (did you mean 'show'?)", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "x.db")))

    def test_unknown_subcommand_of_a_group(self):
        p = self.relay("ledger", "verfy", check=2)
        self.assertIn("unknown command 'verfy' (did you mean 'verify'?)", p.stderr)
        self.assertIn("relay ledger commands: verify", p.stderr)


class JobsTest(RelayTestCase):
    def test_a_bad_job_count_says_what_is_allowed_and_writes_nothing(self):
        self.write("p.yaml", "tasks:\n  t: { run: \"true\" }\n")
        for bad in ("0", "-1", "99999999999", "two", "1.5"):
            p = self.relay("run", "p.yaml", "-j", bad, check=2)
            self.assertIn(f"must be a whole number from 1 to 100000, not '{bad}'", p.stderr)
            self.assertNotIn("179769", p.stderr)
        self.assertFalse(os.path.exists(self.store))
        self.relay("run", "p.yaml", "-j", "100000", check=0)


class TypedInputTest(RelayTestCase):
    def setUp(self):
        super().setUp()
        self.write("p.yaml", """
            inputs:
              flag: { type: boolean }
              n: { type: number }
            tasks:
              t: { run: "true" }
            """)

    def inputs(self, *args):
        p = self.relay("plan", "p.yaml", "--output", "json", *args, check=0)
        return json.loads(p.stdout)["inputs"]

    def test_a_boolean_is_true_or_false_in_any_case(self):
        self.assertEqual(self.inputs("-i", "flag=true")["flag"], True)
        self.assertEqual(self.inputs("-i", "flag=True")["flag"], True)
        self.assertEqual(self.inputs("-i", "flag=FALSE")["flag"], False)
        for bad in ("yes", "no", "on", "1", "0"):
            p = self.relay("plan", "p.yaml", "-i", f"flag={bad}", check=2)
            self.assertIn(f"input 'flag': '{bad}' is not a boolean (use true or false)", p.stderr)
            p = self.relay("run", "p.yaml", "-i", f"flag={bad}", check=2)
        self.assertFalse(os.path.exists(self.store))

    def test_a_boolean_default_follows_the_same_rule(self):
        self.write("d.yaml", """
            inputs:
              flag: { type: boolean, default: yes }
            tasks:
              t: { run: "true" }
            """)
        p = self.relay("plan", "d.yaml", check=2)
        self.assertIn("expected true or false for a boolean input", p.stderr)

    def test_spaces_around_a_number_are_refused_on_either_side(self):
        self.assertEqual(self.inputs("-i", "n=5")["n"], 5)
        for spaced in (" 5", "5 "):
            p = self.relay("run", "p.yaml", "-i", f"n={spaced}", check=2)
            self.assertIn(f"input 'n': '{spaced}' is not a number: it has spaces around it",
                          p.stderr)
        self.assertFalse(os.path.exists(self.store))

    def test_numbers_are_written_as_in_the_pipeline_file(self):
        self.assertEqual(self.inputs("-i", "n=0o17")["n"], 15)
        self.assertEqual(self.inputs("-i", "n=0x1f")["n"], 31)
        self.assertEqual(self.inputs("-i", "n=1e3")["n"], 1000)
        p = self.relay("plan", "p.yaml", "-i", "n=0x1p3", check=2)
        self.assertIn("'0x1p3' is not a number", p.stderr)


class EmptySelectionTest(RelayTestCase):
    def setUp(self):
        super().setUp()
        self.write("p.yaml", """
            tasks:
              a: { run: "echo a >> calls.txt" }
              b: { needs: [a], run: "echo b >> calls.txt" }
              e: { needs: [b], run: "echo e >> calls.txt" }
            """)

    def test_run_of_no_task_is_a_usage_error_and_writes_nothing(self):
        p = self.relay("run", "p.yaml", "--from", "e", "--until", "a", check=2)
        self.assertIn("relay: nothing to run: --from e --until a selects no task", p.stderr)
        self.assertFalse(os.path.exists(self.store))
        self.assertFalse(os.path.exists(os.path.dirname(self.store)))
        self.assertFalse(os.path.exists(os.path.join(self.dir, "calls.txt")))

    def test_nothing_is_added_to_an_existing_store(self):
        self.relay("run", "p.yaml", check=0)
        self.relay("run", "p.yaml", "--only", "a,b", "--from", "e", check=2)
        self.assertEqual(len(self.relay_json("runs")), 1)

    def test_plan_and_dry_run_of_no_task(self):
        p = self.relay("plan", "p.yaml", "--from", "e", "--until", "a", check=2)
        self.assertIn("nothing to run: --from e --until a selects no task", p.stderr)
        self.assertEqual(p.stdout, "")
        self.relay("run", "p.yaml", "--dry-run", "--only", "a", "--from", "b", check=2)
        self.relay("plan", "p.yaml", "--from", "b", "--until", "b", check=0)

    def test_matrix_that_excludes_everything_is_not_skipped(self):
        self.write("m.yaml", """
            tasks:
              a:
                matrix: { x: [1, 2], exclude: [{ x: 1 }, { x: 2 }] }
                run: echo ${{ matrix.x }}
            """)
        p = self.relay("run", "m.yaml", check=2)
        # Validation or the planner: either way the task is named, nothing runs.
        self.assertRegex(p.stderr, r"(tasks\.a\.matrix|matrix of task 'a').*no instances")
        self.assertFalse(os.path.exists(self.store))


class SilentTaskTest(RelayTestCase):
    def test_show_json_and_logs_for_a_task_that_printed_nothing(self):
        self.write("p.yaml", """
            tasks:
              a: { run: "echo hi" }
              b: { needs: [a], run: "true" }
            """)
        self.relay("run", "p.yaml", check=0)
        tasks = {t["name"]: t for t in self.show()["tasks"]}
        self.assertTrue(os.path.exists(tasks["a"]["log"]))
        self.assertIsNone(tasks["b"]["log"])
        text = self.relay("show", "last", check=0).stdout
        b_row = [l for l in text.splitlines() if l.startswith("b ")][0]
        self.assertTrue(b_row.rstrip().endswith(" -"), b_row)
        p = self.relay("logs", "last", "b", check=0)
        self.assertEqual(p.stdout, "(no output)\n")
        self.assertEqual(p.stderr, "")
        both = self.relay("logs", "last", check=0).stdout
        self.assertIn("==> b (succeeded, attempt 1) <==\n(no output)\n", both)
        self.assertIn(" out hi\n", both)


if __name__ == "__main__":
    main()
