"""Shared helpers for relay's end-to-end tests: they drive the built binary
the way a user does, each test in its own temporary directory and store."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest

RELAY = os.environ.get("RELAY_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "relay")
SOURCE_DIR = os.environ.get("RELAY_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
# Sanitized builds are slower; tests scale their waits by this.
SLOW = 3 if os.environ.get("RELAY_SANITIZED") else 1


class RelayTestCase(unittest.TestCase):
    """A temp dir as cwd; `self.relay(...)` runs the binary there."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="relay-e2e-")
        self.store = os.path.join(self.dir, ".relay", "relay.db")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(textwrap.dedent(text))
        return path

    def env(self, extra=None):
        env = dict(os.environ)
        env.pop("RELAY_STORE", None)
        env.pop("RELAY_TEST_KILL_AFTER_COMMIT", None)
        env["NO_COLOR"] = "1"
        if extra:
            env.update(extra)
        return env

    def relay(self, *args, env=None, timeout=120, check=None):
        """Runs relay; returns CompletedProcess with text stdout/stderr."""
        p = subprocess.run([RELAY, *args], cwd=self.dir, env=self.env(env),
                           stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, errors="replace", timeout=timeout * SLOW)
        if check is not None and p.returncode != check:
            self.fail(f"relay {' '.join(args)} exited {p.returncode}, expected {check}\n"
                      f"stdout:\n{p.stdout}\nstderr:\n{p.stderr}")
        return p

    def relay_json(self, *args, **kw):
        p = self.relay(*args, "--output", "json", check=0, **kw)
        return json.loads(p.stdout)

    def show(self, run="last"):
        return self.relay_json("show", run)

    def task_states(self, run="last"):
        return {t["name"]: t["state"] for t in self.show(run)["tasks"]}

    def sqlite(self, sql):
        """Runs SQL against the store with the sqlite3 command-line tool."""
        return subprocess.run(["sqlite3", self.store, sql], capture_output=True,
                              text=True, check=True).stdout


def main():
    unittest.main(verbosity=2)
