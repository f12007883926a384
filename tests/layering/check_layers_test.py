#!/usr/bin/env python3
"""The layering check can fail: each rule of src/LAYERS is broken on purpose
in a small temporary tree, and the check must name the file, line and rule."""
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_layers  # noqa: E402

LAYERS = """\
module base  0
module state 1  base
module exec  1  base
module store 2  state base
module sched 3  store state base !exec
private store/sqlite/  store/sqlite/* store/open.cc
cycle sched/a sched/b
header sqlite3.h       store/sqlite/*
header sys/wait.h      exec/*_posix.cc
header signal.h        exec/*_posix.cc
header unistd.h        *
header gtest/          *_test.cc
"""

DOC = """\
| layer | module | what it owns | may include | headers |
|---|---|---|---|---|
| 0 | `src/base` | basics | — | |
| 1 | `src/state` | tables | base | |
| 1 | `src/exec` | processes | base | |
| 2 | `src/store` | the store | state, base | SQLite |
| 3 | `src/sched` | the scheduler | store, state, base, exec (not in the design) | |
"""

GOOD = {
    "base/status.h": "#include <string>\n#include <unistd.h>\n",
    "base/status.cc": '#include "base/status.h"\n\n#include <csignal>\n',
    "state/task.h": '#include "base/status.h"\n',
    "exec/runner_posix.cc": '#include <sys/wait.h>\n#include <signal.h>\n#include "base/status.h"\n',
    "store/store.h": '#include "state/task.h"\n',
    "store/open.cc": '#include "store/sqlite/db.h"\n',
    "store/sqlite/db.h": '#include <sqlite3.h>\n#include "store/store.h"\n',
    "store/store_test.cc": '#include <gtest/gtest.h>\n#include "store/store.h"\n',
    "sched/a.h": '#include "store/store.h"\n',
    "sched/a.cc": '#include "sched/a.h"\n#include "sched/b.h"\n',
    "sched/b.h": '#include "sched/a.h"\n',
    "sched/run.cc": '#include "sched/a.h"\n#include "exec/runner.h"\n',
}


class CheckLayersTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="relay-layers-")
        self.addCleanup(shutil.rmtree, self.root, True)
        self.write("src/LAYERS", LAYERS)
        self.write("docs/architecture.md", DOC)
        for path, text in GOOD.items():
            self.write("src/" + path, text)

    def write(self, path, text):
        full = os.path.join(self.root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(textwrap.dedent(text))

    def check(self):
        return check_layers.run(self.root)

    def assert_fails_with(self, *fragments):
        report = self.check()
        text = "\n".join(report.errors)
        self.assertTrue(report.errors, "expected the check to fail")
        for fragment in fragments:
            self.assertIn(fragment, text)
        return report

    def test_the_good_tree_passes_with_its_notes(self):
        report = self.check()
        self.assertEqual(report.errors, [])
        notes = "\n".join(report.notes)
        self.assertIn("sched includes exec, which DESIGN.md's layer table does not allow "
                      "(1 include: src/sched/run.cc:2)", notes)
        self.assertIn("include cycle allowed for now: sched/a -> sched/b -> sched/a", notes)

    def test_a_lower_layer_including_a_higher_one_fails(self):
        self.write("src/state/task.cc", '#include "state/task.h"\n#include "store/store.h"\n')
        self.assert_fails_with(
            'src/state/task.cc:2: includes "store/store.h": module state (layer 1) may not '
            "include store (layer 2); it may include base (src/LAYERS:2)")

    def test_a_module_not_in_the_list_fails_even_below(self):
        # exec is on a lower layer than store, but store does not list it.
        self.write("src/store/run.cc", '#include "exec/runner.h"\n')
        self.assert_fails_with('src/store/run.cc:1: includes "exec/runner.h": module store')

    def test_an_unlisted_module_fails(self):
        self.write("src/engine/engine.cc", '#include "base/status.h"\n')
        self.assert_fails_with("src/engine/: module engine is not listed in src/LAYERS")

    def test_a_third_party_header_outside_its_files_fails(self):
        self.write("src/store/store.cc", "#include <sqlite3.h>\n")
        self.write("src/sched/spawn.cc", "#include <sys/wait.h>\n")
        self.write("src/exec/runner.cc", "#include <signal.h>\n")
        self.assert_fails_with(
            "src/store/store.cc:1: includes <sqlite3.h>, allowed only in store/sqlite/* "
            "(src/LAYERS:8)",
            "src/sched/spawn.cc:1: includes <sys/wait.h>, allowed only in exec/*_posix.cc",
            "src/exec/runner.cc:1: includes <signal.h>, allowed only in exec/*_posix.cc")

    def test_an_unlisted_header_fails(self):
        self.write("src/base/net.cc", "#include <curl/curl.h>\n")
        self.assert_fails_with("src/base/net.cc:1: includes <curl/curl.h>, which src/LAYERS "
                               "does not list")

    def test_test_only_headers_stay_in_tests(self):
        self.write("src/store/helper.cc", "#include <gtest/gtest.h>\n")
        self.assert_fails_with("src/store/helper.cc:1: includes <gtest/gtest.h>, allowed only "
                               "in *_test.cc")

    def test_a_private_header_fails_elsewhere_in_its_module(self):
        self.write("src/store/store.cc", '#include "store/sqlite/db.h"\n')
        self.write("src/sched/c.cc", '#include "store/sqlite/db.h"\n')
        self.assert_fails_with(
            'src/store/store.cc:1: includes "store/sqlite/db.h": src/store/sqlite/ is private '
            "to store/sqlite/* store/open.cc (src/LAYERS:6)",
            'src/sched/c.cc:1: includes "store/sqlite/db.h": src/store/sqlite/ is private')

    def test_an_include_cycle_fails_with_its_path(self):
        # One noun's header and source are one file: x.cc -> y.h, y.cc -> x.h.
        self.write("src/store/x.h", "")
        self.write("src/store/x.cc", '#include "store/x.h"\n#include "store/y.h"\n')
        self.write("src/store/y.h", "")
        self.write("src/store/y.cc", '#include "store/y.h"\n\n#include "store/x.h"\n')
        self.assert_fails_with(
            "src/store/x.cc:2: include cycle: store/x -> store/y -> store/x "
            "(src/store/x.cc:2; src/store/y.cc:3)")

    def test_a_longer_cycle_is_reported_once_whole(self):
        self.write("src/store/p.h", '#include "store/q.h"\n')
        self.write("src/store/q.h", '#include "store/r.h"\n')
        self.write("src/store/r.h", '#include "store/p.h"\n')
        report = self.assert_fails_with("include cycle: store/p -> store/q -> store/r -> store/p")
        self.assertEqual(sum("include cycle" in e for e in report.errors), 1)

    def test_an_allowed_cycle_that_is_gone_is_noted(self):
        self.write("src/sched/b.h", "")
        report = self.check()
        self.assertEqual(report.errors, [])
        self.assertIn("src/LAYERS:7: note: this cycle is gone: remove the line",
                      "\n".join(report.notes))

    def test_the_layers_file_itself_is_checked(self):
        self.write("src/LAYERS", LAYERS.replace("module state 1  base",
                                                "module state 1  base store"))
        self.assert_fails_with("src/LAYERS:2: module state (layer 1) may not depend on store "
                               "(layer 2): a module depends only on lower layers")
        self.write("src/LAYERS", LAYERS + "module ui 4 nosuch\n")
        self.assert_fails_with("module ui names unknown module nosuch")

    def test_the_architecture_table_must_agree(self):
        self.write("docs/architecture.md", DOC.replace("| 2 | `src/store`", "| 3 | `src/store`")
                   .replace("| store, state, base, exec (not", "| store, state, exec (not"))
        self.assert_fails_with(
            "docs/architecture.md:6: puts store on layer 3, src/LAYERS:4 on layer 2",
            "docs/architecture.md:7: says sched may include exec, state, store; src/LAYERS:5 "
            "says base, exec, state, store")
        self.write("docs/architecture.md", DOC.replace("| 1 | `src/exec` | processes | base | |\n",
                                                       ""))
        self.assert_fails_with("src/LAYERS:3: module exec is missing from the layer table")

    def test_the_command_exits_1_and_prints_the_problems(self):
        self.write("src/base/bad.cc", '#include "sched/a.h"\n')
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "check_layers.py")
        p = subprocess.run([sys.executable, script, self.root], capture_output=True, text=True)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn('src/base/bad.cc:1: includes "sched/a.h"', p.stdout)
        self.assertIn("layering: 1 problem (rules: src/LAYERS)", p.stdout)
        os.remove(os.path.join(self.root, "src/base/bad.cc"))
        p = subprocess.run([sys.executable, script, self.root], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("layering: ok", p.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
