"""Shared helpers for relay's end-to-end tests: they drive the built binary
the way a user does, each test in its own temporary directory and store."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

RELAY = os.environ.get("RELAY_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "relay")
SOURCE_DIR = os.environ.get("RELAY_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
# Sanitized builds are slower; tests scale their waits by this.
SLOW = 3 if os.environ.get("RELAY_SANITIZED") else 1


def wait_until(predicate, timeout, what, interval=0.05):
    """Polls `predicate` until it returns something truthy (returned), for at
    most `timeout` seconds (scaled by SLOW); raises AssertionError naming
    `what` (a string, or a callable giving one: the state seen last)."""
    deadline = time.monotonic() + timeout * SLOW
    while True:
        got = predicate()
        if got:
            return got
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout * SLOW:.1f}s waiting for "
                                 f"{what() if callable(what) else what}")
        time.sleep(interval)


class Background:
    """A relay started by RelayTestCase.start: its output goes to files (never
    a pipe nobody reads), and the test's tearDown kills it by pid."""

    def __init__(self, proc, out_path, err_path):
        self.proc = proc
        self.out_path = out_path
        self.err_path = err_path

    @property
    def pid(self):
        return self.proc.pid

    def out(self):
        with open(self.out_path, errors="replace") as f:
            return f.read()

    def err(self):
        with open(self.err_path, errors="replace") as f:
            return f.read()

    def wait(self, timeout):
        """The exit status, waiting at most `timeout` seconds (scaled by SLOW)."""
        try:
            return self.proc.wait(timeout=timeout * SLOW)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"relay (pid {self.pid}) still running after {timeout * SLOW:.1f}s\n"
                                 f"stdout:\n{self.out()}\nstderr:\n{self.err()}") from None

    def kill(self):
        """SIGKILL, as `kill -9 PID` does, and reap it."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        return self.proc.wait(timeout=30)


class RelayTestCase(unittest.TestCase):
    """A temp dir as cwd; `self.relay(...)` runs the binary there."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="relay-e2e-")
        self.store = os.path.join(self.dir, ".relay", "relay.db")
        self.started = []

    def tearDown(self):
        for bg in getattr(self, "started", []):
            try:
                bg.kill()
            except (OSError, subprocess.TimeoutExpired):
                pass
        shutil.rmtree(self.dir, ignore_errors=True)

    def start(self, *args, env=None):
        """Starts relay in the background (like `relay run … &`); returns a
        Background whose stdout/stderr are files in the test's directory."""
        n = len(self.started)
        out_path = os.path.join(self.dir, f".bg{n}.out")
        err_path = os.path.join(self.dir, f".bg{n}.err")
        with open(out_path, "w") as out, open(err_path, "w") as err:
            proc = subprocess.Popen([RELAY, *args], cwd=self.dir, env=self.env(env),
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        bg = Background(proc, out_path, err_path)
        self.started.append(bg)
        return bg

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
