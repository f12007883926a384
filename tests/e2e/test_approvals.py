"""Approvals as people use them: `relay run` waits on a task with
`approval:`, printing the exact `relay approve RUN TASK` to type; someone
approves or rejects from another terminal (another process, and where this
test can honestly be another OS user, another user), the running relay acts
at once, and who decided, when and why is in `relay show` and the ledger.

Two OS users: when the tests run as root with setpriv(1) and the system users
`nobody` and `daemon`, `relay approve` is run as them (their euid is the
actor relay records). Otherwise the tests that need them are skipped and the
"already approved" refusal stands in for distinct users."""
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import SLOW, wait_until  # noqa: E402
from test_crash_random import CrashTestCase  # noqa: E402

ME = pwd.getpwuid(os.geteuid()).pw_name
OTHERS = ("nobody", "daemon")


def other_users_available():
    """Why two other OS users cannot be used here, or "" when they can."""
    if os.geteuid() != 0:
        return "not root: cannot act as another OS user"
    if not shutil.which("setpriv"):
        return "setpriv(1) is not installed"
    for name in OTHERS:
        try:
            pwd.getpwnam(name)
        except KeyError:
            return f"no user '{name}' on this system"
    return ""


WHY_NO_USERS = other_users_available()

DEPLOY = """\
name: deploy
tasks:
  build:
    run: echo build >> side.txt
  deploy:
    needs: build
    approval: true
    run: echo deploy >> side.txt
  after:
    needs: deploy
    run: echo after >> side.txt
"""


class ApprovalTest(CrashTestCase):

    def side_lines(self):
        path = os.path.join(self.dir, "side.txt")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return f.read().splitlines()

    def start_waiting(self, file, task):
        """`relay run FILE` in the background until it prints the wait line
        for `task`; returns (bg, run id, the command the line says to type)."""
        bg = self.start("run", file)
        pattern = re.compile(r"^\s*\+\S+ wait\s+" + re.escape(task) +
                             r": waiting for approval: (relay approve (\S+) (\S+))", re.M)

        def waiting():
            self.assertIsNone(bg.proc.poll(), f"relay run ended:\n{bg.out()}\n{bg.err()}")
            return pattern.search(bg.out())
        m = wait_until(waiting, 15, lambda: f"the wait line of {task}:\n{bg.out()}")
        command, run_id, named = m.group(1), m.group(2), m.group(3)
        self.assertEqual(named, task)
        tasks = {t["name"]: t for t in self.show(run_id)["tasks"]}
        self.assertEqual(tasks[task]["state"], "waiting_approval")
        self.assertEqual(self.show(run_id)["status"], "running")
        return bg, run_id, command

    def approve_as(self, user, *args):
        """`relay approve …` as OS user `user` (None: as this process's user)."""
        if user is None:
            return self.relay("approve", *args)
        self.open_store_to_others()
        cmd = ["setpriv", f"--reuid={user}", f"--regid={pwd.getpwnam(user).pw_gid}", "--clear-groups",
               support.RELAY, "approve", *args]
        return subprocess.run(cmd, cwd=self.dir, env=self.env(), stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=60 * SLOW)

    def open_store_to_others(self):
        """The store is root's: let the other users read and write it (as a
        shared team store would be set up)."""
        os.chmod(self.dir, 0o777)
        relay_dir = os.path.dirname(self.store)
        os.chmod(relay_dir, 0o777)
        for name in os.listdir(relay_dir):
            path = os.path.join(relay_dir, name)
            if os.path.isfile(path):
                os.chmod(path, 0o666)

    def assert_refused(self, p, *needles):
        self.assertEqual(p.returncode, 1, f"expected a refusal (exit 1):\n{p.stdout}\n{p.stderr}")
        self.assertIn("relay: refused:", p.stderr)
        for n in needles:
            self.assertIn(n, p.stderr)

    def assert_still_waiting(self, run_id, task):
        t = {t["name"]: t for t in self.show(run_id)["tasks"]}[task]
        self.assertEqual(t["state"], "waiting_approval", t)
        self.assertEqual(self.show(run_id)["status"], "running")

    def verify(self):
        v = self.relay("ledger", "verify")
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)

    # -------------------------------------------------------------------------

    def test_approve_from_another_process(self):
        self.write("p.yaml", DEPLOY)
        bg, run_id, command = self.start_waiting("p.yaml", "deploy")
        self.assertEqual(command, f"relay approve {run_id} deploy")
        self.assertEqual(self.side_lines(), ["build"])
        # Typed as the line says (with a comment).
        asked = time.monotonic()
        p = self.relay(*command.split()[1:], "--comment", "ship it, the tests are green")
        answered = time.monotonic() - asked
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(p.stdout.strip(), f"approved: deploy of run {run_id} by {ME}")
        self.assertLess(answered, 3 * SLOW, f"relay approve took {answered:.1f}s to hear back")
        rc = bg.wait(10)
        took = time.monotonic() - asked
        self.assertEqual(rc, 0, bg.out() + bg.err())
        self.assertLess(took, 3 * SLOW, f"the run took {took:.1f}s to finish after the approval")
        self.assertIn(f"approve deploy: approved by {ME}: ship it, the tests are green", bg.out())
        self.assertEqual(self.side_lines(), ["build", "deploy", "after"])

        run = self.show(run_id)
        tasks = {t["name"]: t for t in run["tasks"]}
        self.assertEqual(tasks["deploy"]["approved_by"], [ME])
        self.assertEqual(tasks["deploy"]["attempts"], 1)
        self.assertEqual(len(run["approvals"]), 1)
        a = run["approvals"][0]
        self.assertEqual((a["task"], a["decision"], a["by"], a["comment"]),
                         ("deploy", "approved", ME, "ship it, the tests are green"))
        self.assertRegex(a["at"], r"^\d{4}-\d\d-\d\dT")
        text = self.relay("show", run_id, check=0).stdout
        self.assertRegex(text, rf"approval\s+deploy approved by {ME} at \S+: ship it, the tests are green")
        # The ledger is the record: the decision's event carries comment and actor.
        decided = [e for e in self.events(run_id) if e["from"] == "waiting_approval"]
        self.assertEqual(len(decided), 1)
        self.assertEqual((decided[0]["to"], decided[0]["cause"]), ("queued", "approved"))
        self.assertIn("ship it, the tests are green", json.dumps(decided[0]))
        self.assertIn(ME, json.dumps(decided[0]))
        self.verify()
        # Asking again, once it is decided, is refused.
        p = self.relay("approve", run_id, "deploy")
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn("already finished", p.stderr)

    def test_reject_fails_the_task_with_the_comment(self):
        self.write("p.yaml", DEPLOY)
        bg, run_id, _ = self.start_waiting("p.yaml", "deploy")
        asked = time.monotonic()
        p = self.relay("approve", run_id, "deploy", "--reject", "-m", "not on a Friday")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(p.stdout.strip(), f"rejected: deploy of run {run_id} by {ME}")
        rc = bg.wait(10)
        self.assertEqual(rc, 1, bg.out() + bg.err())
        self.assertLess(time.monotonic() - asked, 3 * SLOW)
        run = self.show(run_id)
        self.assertEqual(run["status"], "failed")
        tasks = {t["name"]: t for t in run["tasks"]}
        self.assertEqual(tasks["deploy"]["state"], "failed")
        self.assertEqual(tasks["deploy"]["cause"], "rejected")
        self.assertIn(f"rejected by {ME}", tasks["deploy"]["reason"])
        self.assertIn("not on a Friday", tasks["deploy"]["reason"])
        self.assertEqual(tasks["deploy"]["attempts"], 0)
        self.assertEqual(tasks["after"]["state"], "skipped")
        self.assertEqual(self.side_lines(), ["build"], "a rejected task ran its command")
        self.assertEqual([(a["task"], a["decision"], a["by"], a["comment"]) for a in run["approvals"]],
                         [("deploy", "rejected", ME, "not on a Friday")])
        self.assertIn("not on a Friday", bg.out())
        self.verify()

    def test_refusals_leave_the_task_waiting(self):
        self.write("p.yaml", """\
            name: guarded
            tasks:
              only-nobody:
                approval: { reviewers: [nobody] }
              not-self:
                approval: { allow_self: false }
              later:
                needs: [only-nobody, not-self]
                approval: true
            """)
        bg, run_id, _ = self.start_waiting("p.yaml", "not-self")
        self.assert_still_waiting(run_id, "only-nobody")
        self.assert_refused(self.relay("approve", run_id, "only-nobody"),
                            f"'{ME}' is not one of the reviewers (nobody)")
        self.assert_refused(self.relay("approve", run_id, "only-nobody", "--reject"),
                            "not one of the reviewers")
        self.assert_refused(self.relay("approve", run_id, "not-self"),
                            f"'{ME}' started this run", "allow_self: false")
        self.assert_refused(self.relay("approve", run_id, "later"), "'later' is pending",
                            "not waiting for approval")
        self.assert_refused(self.relay("approve", run_id, "not-slef"), "no task 'not-slef'",
                            "did you mean 'not-self'")
        self.assert_still_waiting(run_id, "only-nobody")
        self.assert_still_waiting(run_id, "not-self")
        self.assertEqual(self.show(run_id)["approvals"], [], "a refused request was recorded as a decision")
        if WHY_NO_USERS:
            c = self.relay("cancel", run_id)
            self.assertEqual(c.returncode, 0, c.stderr)
            self.assertEqual(bg.wait(10), 1)
            self.skipTest(f"refusals checked; approvals by another user not: {WHY_NO_USERS}")
        # Someone else may: nobody is the reviewer; daemon did not start the run.
        p = self.approve_as("nobody", run_id, "only-nobody", "-m", "as the reviewer")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(p.stdout.strip(), f"approved: only-nobody of run {run_id} by nobody")
        p = self.approve_as("daemon", run_id, "not-self")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        wait_until(lambda: "later" in bg.out() and f"relay approve {run_id} later" in bg.out(), 10,
                   lambda: f"later to wait:\n{bg.out()}")
        self.assertEqual(self.relay("approve", run_id, "later").returncode, 0)
        self.assertEqual(bg.wait(10), 0, bg.out() + bg.err())
        run = self.show(run_id)
        self.assertEqual({(a["task"], a["by"]) for a in run["approvals"]},
                         {("only-nobody", "nobody"), ("not-self", "daemon"), ("later", ME)})
        self.verify()

    def test_required_two_distinct_approvals(self):
        self.write("p.yaml", """\
            name: two
            tasks:
              release:
                approval: { required: 2 }
                run: echo release >> side.txt
            """)
        bg, run_id, _ = self.start_waiting("p.yaml", "release")
        self.assertIn("(2 approvals needed)", bg.out())
        p = self.relay("approve", run_id, "release", "-m", "first")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("approved (1 of 2)", p.stdout)
        self.assert_still_waiting(run_id, "release")
        # The same user again does not count twice.
        self.assert_refused(self.relay("approve", run_id, "release"), f"'{ME}' already approved 'release' (1 of 2)")
        self.assert_still_waiting(run_id, "release")
        self.assertEqual(self.side_lines(), [])
        if WHY_NO_USERS:
            self.relay("cancel", run_id)
            self.assertEqual(bg.wait(10), 1)
            self.skipTest(f"'already approved' refusal checked; a second user not: {WHY_NO_USERS}")
        p = self.approve_as("nobody", run_id, "release", "-m", "second")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(p.stdout.strip(), f"approved: release of run {run_id} by nobody")
        self.assertEqual(bg.wait(10), 0, bg.out() + bg.err())
        self.assertEqual(self.side_lines(), ["release"])
        run = self.show(run_id)
        self.assertEqual(run["tasks"][0]["approved_by"], [ME, "nobody"])
        self.assertEqual([(a["by"], a["comment"]) for a in run["approvals"]], [(ME, "first"), ("nobody", "second")])
        self.verify()

    @classmethod
    def reviewers_pipeline(cls):
        return """\
            name: reviewers
            tasks:
              sign-off:
                approval: { reviewers: [nobody, daemon], required: 2, allow_self: false }
              ship:
                needs: sign-off
                run: echo ship >> side.txt
            """

    def test_two_reviewers_as_two_os_users(self):
        if WHY_NO_USERS:
            self.skipTest(WHY_NO_USERS)
        self.write("p.yaml", self.reviewers_pipeline())
        bg, run_id, _ = self.start_waiting("p.yaml", "sign-off")
        self.assert_refused(self.relay("approve", run_id, "sign-off"), "not one of the reviewers (nobody, daemon)")
        p = self.approve_as("nobody", run_id, "sign-off")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("approved (1 of 2)", p.stdout)
        self.assert_refused(self.approve_as("nobody", run_id, "sign-off"), "'nobody' already approved")
        self.assert_still_waiting(run_id, "sign-off")
        asked = time.monotonic()
        p = self.approve_as("daemon", run_id, "sign-off", "-m", "ok from daemon")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(bg.wait(10), 0, bg.out() + bg.err())
        self.assertLess(time.monotonic() - asked, 3 * SLOW)
        self.assertEqual(self.side_lines(), ["ship"])
        run = self.show(run_id)
        tasks = {t["name"]: t for t in run["tasks"]}
        self.assertEqual(tasks["sign-off"]["state"], "succeeded")
        self.assertEqual(tasks["sign-off"]["approved_by"], ["nobody", "daemon"])
        self.assertEqual([(a["by"], a["comment"]) for a in run["approvals"]],
                         [("nobody", ""), ("daemon", "ok from daemon")])
        self.verify()

    def test_rejection_by_another_user(self):
        if WHY_NO_USERS:
            self.skipTest(WHY_NO_USERS)
        self.write("p.yaml", self.reviewers_pipeline())
        bg, run_id, _ = self.start_waiting("p.yaml", "sign-off")
        self.assertEqual(self.approve_as("nobody", run_id, "sign-off").returncode, 0)
        p = self.approve_as("daemon", run_id, "sign-off", "--reject", "-m", "missing changelog")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(p.stdout.strip(), f"rejected: sign-off of run {run_id} by daemon")
        self.assertEqual(bg.wait(10), 1)
        t = {t["name"]: t for t in self.show(run_id)["tasks"]}
        self.assertEqual(t["sign-off"]["state"], "failed")
        self.assertIn("rejected by daemon: missing changelog", t["sign-off"]["reason"])
        self.assertEqual(t["ship"]["state"], "skipped")
        self.assertEqual(self.side_lines(), [])
        self.verify()

    def test_timeouts_decide(self):
        """on_timeout: approve lets the task run, reject (the default) fails
        it, each after its timeout and not long after."""
        self.write("p.yaml", """\
            name: timeouts
            tasks:
              auto-ok:
                approval: { timeout: 1s, on_timeout: approve }
                run: echo auto-ok >> side.txt
              gate:
                approval: { timeout: 1500ms }
              after-gate:
                needs: gate
                run: echo after-gate >> side.txt
            """)
        began = time.monotonic()
        p = self.relay("run", "p.yaml")
        took = time.monotonic() - began
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertGreaterEqual(took, 1.5)
        self.assertLess(took, 1.5 + 3 * SLOW, f"the run took {took:.1f}s")
        self.assertIn("approved by itself after 1.0s", p.stdout)
        self.assertIn("rejected by itself after 1.5s", p.stdout)
        self.assertEqual(self.side_lines(), ["auto-ok"])
        run = self.show()
        tasks = {t["name"]: t for t in run["tasks"]}
        self.assertEqual(tasks["auto-ok"]["state"], "succeeded")
        self.assertEqual(tasks["gate"]["state"], "failed")
        self.assertEqual(tasks["gate"]["cause"], "approval_timeout")
        self.assertIn("nobody decided within 1.5s", tasks["gate"]["reason"])
        self.assertEqual(tasks["after-gate"]["state"], "skipped")
        self.assertEqual(sorted((a["task"], a["decision"]) for a in run["approvals"]),
                         [("auto-ok", "timed out"), ("gate", "timed out")])
        causes = {(e["subject"], e["to"], e["cause"]) for e in self.events(run["id"])
                  if e["from"] == "waiting_approval"}
        self.assertEqual(causes, {("auto-ok", "queued", "approval_timeout"),
                                  ("gate", "failed", "approval_timeout")})
        # The approval-only task's wait counts from when it began waiting.
        wait_event = next(e for e in self.events(run["id"]) if e["subject"] == "gate" and e["to"] == "waiting_approval")
        end_event = next(e for e in self.events(run["id"]) if e["subject"] == "gate" and e["to"] == "failed")
        waited = (end_event["ts_us"] - wait_event["ts_us"]) / 1e6
        self.assertGreaterEqual(waited, 1.5)
        self.assertLess(waited, 1.5 + 1.0 * SLOW)
        self.verify()

    def test_matrix_instances_are_decided_one_by_one(self):
        self.write("p.yaml", """\
            name: envs
            tasks:
              deploy:
                matrix: { env: [qa, prod] }
                approval: true
                run: echo "deploy ${{ matrix.env }}" >> side.txt
            """)
        bg, run_id, _ = self.start_waiting("p.yaml", "deploy[env=prod]")
        self.assertIn(f"relay approve {run_id} deploy[env=qa]", bg.out())
        p = self.relay("approve", run_id, "deploy[env=qa]")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        wait_until(lambda: self.side_lines() == ["deploy qa"], 5, "the qa instance to run")
        self.assert_still_waiting(run_id, "deploy[env=prod]")
        p = self.relay("approve", run_id, "deploy[env=prod]", "--reject")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(bg.wait(10), 1)
        self.assertEqual(self.task_states(run_id), {"deploy[env=qa]": "succeeded", "deploy[env=prod]": "failed"})
        self.assertEqual(self.side_lines(), ["deploy qa"])
        self.verify()


if __name__ == "__main__":
    support.main()
