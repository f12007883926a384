"""Where the store is: --store and RELAY_STORE values that cannot work are
refused with a message that names the store and says why."""
import os
import shutil
import subprocess
import unittest

from support import RELAY, RelayTestCase, main

NOBODY = 65534


class StorePathTest(RelayTestCase):
    def setUp(self):
        super().setUp()
        self.write("p.yaml", "tasks:\n  a: { run: 'echo hi' }\n")

    def test_empty_store_option_is_a_usage_error(self):
        p = self.relay("--store", "", "run", "p.yaml", check=2)
        self.assertIn("relay: --store needs a path", p.stderr)
        self.relay("runs", "--store", "", check=2)
        self.assertFalse(os.path.exists(self.store))

    def test_empty_relay_store_variable_counts_as_unset(self):
        self.relay("run", "p.yaml", env={"RELAY_STORE": ""}, check=0)
        self.assertTrue(os.path.exists(self.store))
        self.assertEqual(len(self.relay_json("runs", env={"RELAY_STORE": ""})), 1)

    def test_a_file_in_place_of_the_directory_names_the_store(self):
        p = self.relay("run", "p.yaml", "--store", "p.yaml/relay.db", check=3)
        self.assertIn("relay: cannot create store p.yaml/relay.db: p.yaml is not a directory",
                      p.stderr)
        p = self.relay("run", "p.yaml", "--store", "p.yaml/deeper/relay.db", check=3)
        self.assertIn("cannot create store p.yaml/deeper/relay.db: p.yaml is not a directory",
                      p.stderr)

    def test_a_directory_as_the_store(self):
        os.makedirs(os.path.join(self.dir, "d"))
        p = self.relay("run", "p.yaml", "--store", "d", check=3)
        self.assertIn("store d is a directory, not a store file (pass e.g. d/relay.db)", p.stderr)

    def test_sqlite_url_with_a_relative_path_keeps_logs_next_to_the_store(self):
        # sqlite://REL is relative to the current directory, for the logs too
        # (they once went to /REL/logs). A unique name: a regression must not
        # touch anything at / that this test did not create.
        sub = os.path.basename(self.dir)
        url = f"sqlite://{sub}/r.db"
        misplaced = os.path.join("/", sub)
        try:
            self.relay("run", "p.yaml", "--store", url, check=0)
            self.assertTrue(os.path.exists(os.path.join(self.dir, sub, "r.db")))
            show = self.relay_json("show", "last", "--store", url)
            log = show["tasks"][0]["log"]
            self.assertTrue(log.startswith(os.path.join(self.dir, sub, "logs") + os.sep), log)
            self.assertTrue(os.path.exists(log))
        finally:
            shutil.rmtree(misplaced, ignore_errors=True)

    # access() says root may write anywhere, so as root the check runs as the
    # unprivileged user `nobody` (with a copy of the binary it can reach);
    # as another user it runs as that user. Skipped when neither can work.
    def test_unwritable_directory_says_so(self):
        locked = os.path.join(self.dir, "locked")
        os.makedirs(locked)
        binary, drop = RELAY, None
        if os.geteuid() == 0:
            os.chmod(self.dir, 0o755)
            binary = os.path.join(self.dir, "relay-copy")
            shutil.copy(RELAY, binary)
            os.chmod(binary, 0o755)

            def drop():
                os.setgid(NOBODY)
                os.setuid(NOBODY)
        os.chmod(locked, 0o555)
        try:
            probe = subprocess.run([binary, "--version"], preexec_fn=drop, capture_output=True)
            if probe.returncode != 0:
                raise unittest.SkipTest("cannot run relay as an unprivileged user here")
            for store in ("locked/relay.db", "locked/sub/relay.db"):
                p = subprocess.run([binary, "run", "p.yaml", "--store", store], cwd=self.dir,
                                   env=self.env(), stdin=subprocess.DEVNULL, capture_output=True,
                                   text=True, preexec_fn=drop, timeout=60)
                self.assertEqual(p.returncode, 3, p.stdout + p.stderr)
                self.assertIn(f"relay: cannot create store {store}: directory locked is not "
                              "writable", p.stderr)
            self.assertEqual(os.listdir(locked), [])
        finally:
            os.chmod(locked, 0o755)


if __name__ == "__main__":
    main()
