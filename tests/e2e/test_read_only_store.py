"""A store this user may only read (someone else's CI store, a shared
volume mounted read-only) can still be inspected; writing to it fails with
exit 3 and a message that says why, and leaves it unchanged."""
import hashlib
import os
import shutil
import subprocess

from support import RELAY, RelayTestCase, main

NOBODY = 65534


class ReadOnlyStoreTest(RelayTestCase):
    def setUp(self):
        super().setUp()
        self.write("p.yaml", "tasks:\n  a: { run: 'echo hi' }\n  b: { needs: [a], run: 'true' }\n")
        self.relay("run", "p.yaml", check=0)
        self.binary = RELAY
        self.as_user = None
        store_dir = os.path.dirname(self.store)
        if os.geteuid() == 0:
            # root may write anything: read as an ordinary user instead, with
            # a copy of the binary that user can reach.
            os.chmod(self.dir, 0o755)
            self.binary = os.path.join(self.dir, "relay-copy")
            shutil.copy(RELAY, self.binary)
            os.chmod(self.binary, 0o755)
            self.as_user = NOBODY
            for root, dirs, files in os.walk(store_dir):
                for d in dirs:
                    os.chmod(os.path.join(root, d), 0o755)
                for f in files:
                    os.chmod(os.path.join(root, f), 0o644)
        os.chmod(self.store, 0o444)
        os.chmod(store_dir, 0o555)

    def tearDown(self):
        os.chmod(os.path.dirname(self.store), 0o755)  # so that it can be removed
        super().tearDown()

    def run_as_reader(self, *args):
        user = self.as_user

        def drop():
            if user is not None:
                os.setgid(user)
                os.setuid(user)

        return subprocess.run([self.binary, *args, "--store", self.store], cwd=self.dir,
                              env=self.env(), stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, preexec_fn=drop, timeout=60)

    def digest(self):
        with open(self.store, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()

    def test_inspecting_works_and_writing_says_why_it_cannot(self):
        before = self.digest()
        runs = self.run_as_reader("runs")
        self.assertEqual(runs.returncode, 0, runs.stderr)
        self.assertIn("succeeded", runs.stdout)
        show = self.run_as_reader("show", "last")
        self.assertEqual(show.returncode, 0, show.stderr)
        self.assertIn("b", show.stdout)
        verify = self.run_as_reader("ledger", "verify")
        self.assertEqual(verify.returncode, 0, verify.stderr)
        self.assertIn("ledger ok", verify.stdout)

        run = self.run_as_reader("run", "p.yaml")
        self.assertEqual(run.returncode, 3, run.stdout + run.stderr)
        self.assertIn("read-only", run.stderr)
        self.assertIn(self.store, run.stderr)
        self.assertEqual(self.digest(), before)
        self.assertFalse(os.path.exists(self.store + "-wal"))


if __name__ == "__main__":
    main()
