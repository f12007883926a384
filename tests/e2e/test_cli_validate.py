"""Bad pipelines: `relay validate` reports every error as FILE:LINE:COL and
exits 2; `relay run` on the same file prints the same diagnostics, exits 2 and
writes nothing to the store."""
import glob
import os
import re

from support import SOURCE_DIR, RelayTestCase, main

LOCATED = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+):(?P<col>\d+): error: ", re.M)

# name → (file contents as bytes, a fragment the message must contain)
BAD = {
    "malformed.yaml": (b"tasks:\n  a: { run: [unclosed\n", "invalid YAML"),
    "unknown_key.yaml": (b"tasks:\n  a: { run: x, neds: [b] }\n  b: { run: x }\n", "did you mean 'needs'"),
    "wrong_type.yaml": (b"tasks:\n  a: { run: x, timeout: [1] }\n", "timeout"),
    "unknown_need.yaml": (b"tasks:\n  build: { run: x }\n  test: { needs: [biuld], run: x }\n",
                          "unknown task 'biuld'"),
    "self_need.yaml": (b"tasks:\n  a: { needs: [a], run: x }\n", "needs itself"),
    "cycle.yaml": (b"tasks:\n  a: { needs: [b], run: x }\n  b: { needs: [c], run: x }\n  c: { needs: [a], run: x }\n",
                   "\u2192"),
    "duplicate_task.yaml": (b"tasks:\n  a: { run: x }\n  a: { run: y }\n", "first defined at line 2"),
    "bad_expr.yaml": (b"tasks:\n  a: { run: 'echo ${{ inputs. }}' }\n", "error"),
    "unknown_name.yaml": (b"inputs:\n  env: { default: x }\ntasks:\n  a: { run: 'echo ${{ inputs.evn }}' }\n",
                          "did you mean 'env'"),
    "bad_duration.yaml": (b"tasks:\n  a: { run: x, timeout: 10x }\n", "10x"),
    "huge_matrix.yaml": (b"tasks:\n  a:\n    run: x\n    matrix:\n      a: [" + b",".join(b"%d" % i for i in range(1001)) +
                         b"]\n      b: [" + b",".join(b"%d" % i for i in range(1000)) + b"]\n", "1000000"),
    "empty.yaml": (b"", "empty"),
    "binary.yaml": (b"tasks:\n  a: { run: x }\n\x00\x01\x02", "NUL"),
    "latin1.yaml": (b"name: caf\xe9\ntasks:\n  a: { run: x }\n", "UTF-8"),
}


class ValidateTest(RelayTestCase):
    def setUp(self):
        super().setUp()
        self.write("good.yaml", "tasks:\n  a: { run: 'true' }\n")
        self.relay("run", "good.yaml", check=0)
        self.runs_before = self.sqlite("SELECT count(*) FROM runs").strip()
        self.ledger_rows_before = self.sqlite("SELECT count(*) FROM ledger").strip()

    def assert_store_unchanged(self):
        self.assertEqual(self.sqlite("SELECT count(*) FROM runs").strip(), self.runs_before)
        self.assertEqual(self.sqlite("SELECT count(*) FROM ledger").strip(), self.ledger_rows_before)

    def check_bad(self, path, fragment=None):
        v = self.relay("validate", path, check=2)
        if fragment:
            self.assertIn(fragment, v.stderr.replace(",", ""))
        r = self.relay("run", path, check=2)
        # The same diagnostics, and nothing written.
        self.assertEqual(r.stderr, v.stderr)
        self.assert_store_unchanged()
        return v.stderr

    def test_each_kind_of_bad_input(self):
        for name, (content, fragment) in BAD.items():
            with self.subTest(name):
                path = os.path.join(self.dir, name)
                with open(path, "wb") as f:
                    f.write(content)
                err = self.check_bad(path, fragment)
                if name not in ("empty.yaml",):
                    m = LOCATED.search(err)
                    self.assertIsNotNone(m, err)
                    self.assertEqual(m.group("file"), path)

    def test_cycle_names_its_path(self):
        path = self.write("c.yaml", "tasks:\n  a: { needs: [c], run: x }\n  b: { needs: [a], run: x }\n"
                                    "  c: { needs: [b], run: x }\n")
        err = self.check_bad(path)
        self.assertRegex(err, r"a \u2192 c \u2192 b \u2192 a|b \u2192 a \u2192 c \u2192 b|c \u2192 b \u2192 a \u2192 c")

    def test_every_error_at_once_with_caret_and_hint(self):
        path = self.write("many.yaml", """\
            tasks:
              build: { run: make, timout: 5m }
              test: { needs: [biuld], run: make test }
            """)
        err = self.check_bad(path)
        self.assertEqual(len(LOCATED.findall(err)), 2, err)
        self.assertIn(f"{path}:2:23: error: ", err)
        self.assertIn("hint: did you mean 'timeout'?", err)
        self.assertIn(f"{path}:3:19: error: tasks.test.needs: unknown task 'biuld'", err)
        self.assertIn("hint: did you mean 'build'?", err)
        self.assertIn("                  ^", err)

    def test_missing_file(self):
        v = self.relay("validate", "nope.yaml", check=2)
        self.assertIn("nope.yaml", v.stderr)
        self.relay("run", "nope.yaml", check=2)
        self.assert_store_unchanged()

    def test_spec_cases_and_examples(self):
        for path in sorted(glob.glob(os.path.join(SOURCE_DIR, "tests", "spec_cases", "bad_schema", "*"))):
            with self.subTest(path):
                self.check_bad(path)
        for path in sorted(glob.glob(os.path.join(SOURCE_DIR, "examples", "*.yaml"))):
            with self.subTest(path):
                self.assertIn("ok", self.relay("validate", path, check=0).stdout)


if __name__ == "__main__":
    main()
