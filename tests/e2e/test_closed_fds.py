"""relay started with stdin, stdout and stderr closed (cron, `<&- >&- 2>&-`)
still keeps a step's stdout and stderr apart and its store intact."""
import subprocess

from support import RELAY, RelayTestCase, main


class ClosedStandardFdsTest(RelayTestCase):
    def test_a_run_with_every_standard_fd_closed(self):
        self.write("p.yaml", """
            tasks:
              a: { run: "echo to-out; echo to-err >&2" }
              b: { needs: [a], run: "cat; echo b-out" }
            """)
        # close_fds plus -1 for all three: the child starts with 0, 1 and 2 closed.
        p = subprocess.run(
            ["/bin/sh", "-c", f'exec "{RELAY}" run p.yaml <&- >&- 2>&-'],
            cwd=self.dir, env=self.env(), timeout=60)
        self.assertEqual(p.returncode, 0)
        logs = self.relay("logs", "last", "a", check=0).stdout.splitlines()
        self.assertEqual([l.split(" ", 1)[1] for l in logs], ["out to-out", "err to-err"])
        logs = self.relay("logs", "last", "b", check=0).stdout.splitlines()
        self.assertEqual([l.split(" ", 1)[1] for l in logs], ["out b-out"])
        self.relay("ledger", "verify", check=0)


if __name__ == "__main__":
    main()
