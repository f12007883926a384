"""relay run / show / runs / logs / events / plan / graph, as a user sees them."""
import json
import os
import re
import signal
import subprocess
import time

from support import RELAY, SLOW, RelayTestCase, main


class RunTest(RelayTestCase):
    def test_success_exit_0_and_show_json(self):
        self.write("p.yaml", """
            tasks:
              build:
                run: echo built; echo version=1.2.3 >> "$RELAY_OUTPUT"
                outputs: [version]
              test:
                needs: [build]
                matrix: { shard: [1, 2] }
                run: echo "shard ${{ matrix.shard }} of ${{ needs.build.outputs.version }}"
            """)
        p = self.relay("run", "p.yaml", "-j", "2", check=0)
        self.assertIn("succeeded", p.stdout)
        run = self.show()
        self.assertEqual(run["status"], "succeeded")
        names = {t["name"]: t for t in run["tasks"]}
        self.assertEqual(set(names), {"build", "test[shard=1]", "test[shard=2]"})
        for t in run["tasks"]:
            self.assertEqual(t["state"], "succeeded")
            self.assertEqual(t["attempts"], 1)
            self.assertEqual(t["exit_code"], 0)
        self.assertEqual(names["build"]["outputs"], {"version": "1.2.3"})
        log = self.relay("logs", "last", "test[shard=2]", check=0).stdout
        self.assertRegex(log, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z out shard 2 of 1\.2\.3$")
        runs = self.relay_json("runs")
        self.assertEqual(len(runs), 1)
        for key in ("id", "pipeline", "status", "started_at", "ended_at"):
            self.assertIn(key, runs[0])
        self.assertEqual(runs[0]["id"], run["id"])

    def test_failure_exit_1_names_the_task_and_log(self):
        self.write("p.yaml", """
            tasks:
              ok: { run: "true" }
              bad: { needs: [ok], run: "echo oops >&2; exit 3" }
              after: { needs: [bad], run: "true" }
            """)
        p = self.relay("run", "p.yaml", check=1)
        self.assertIn("failed: bad", p.stdout)
        self.assertIn("exit code 3", p.stdout)
        states = self.task_states()
        self.assertEqual(states, {"ok": "succeeded", "bad": "failed", "after": "skipped"})
        show = self.show()
        bad = [t for t in show["tasks"] if t["name"] == "bad"][0]
        self.assertEqual(bad["exit_code"], 3)
        self.assertTrue(os.path.exists(bad["log"]))
        with open(bad["log"]) as f:
            self.assertRegex(f.read(), r"Z err oops\n")
        after = [t for t in show["tasks"] if t["name"] == "after"][0]
        self.assertEqual(after["reason"], "needs 'bad', which failed")
        text = self.relay("show", "last", check=0).stdout
        self.assertIn("needs 'bad', which failed", text)

    def test_stdout_and_stderr_are_kept_apart_with_timestamps(self):
        self.write("p.yaml", """
            tasks:
              t: { run: "echo to-out; echo to-err >&2; printf no-newline" }
            """)
        self.relay("run", "p.yaml", check=0)
        log = self.relay("logs", "last", "t", check=0).stdout
        self.assertRegex(log, r"Z out to-out\n")
        self.assertRegex(log, r"Z err to-err\n")
        self.assertRegex(log, r"Z out no-newline")

    def test_logs_print_nul_bytes_without_cutting_the_line(self):
        self.write("p.yaml", """
            tasks:
              a:
                run: printf 'before\\000after\\n'    # plain YAML: no escapes
              b: { needs: [a], run: "echo next" }
            """)
        self.relay("run", "p.yaml", check=0)
        log = self.relay("logs", "last", check=0).stdout
        self.assertRegex(log, r"Z out before\x00after\n==> b ")

    def test_secrets_are_masked_in_logs(self):
        self.write("p.yaml", """
            secrets: [API_TOKEN]
            tasks:
              t: { run: "echo token is $API_TOKEN" }
            """)
        self.relay("run", "p.yaml", env={"API_TOKEN": "s3cr3t-value"}, check=0)
        log = self.relay("logs", "last", "t", check=0).stdout
        self.assertIn("token is ***", log)
        self.assertNotIn("s3cr3t-value", log)

    def test_secrets_set_by_the_pipeline_env_are_masked_everywhere(self):
        self.write("p.yaml", """
            secrets: [DB_PASSWORD]
            env: { DB_PASSWORD: hunter2hunter2 }
            tasks:
              t: { run: "echo pw=$DB_PASSWORD", cwd: "/nonexistent/${{ env.DB_PASSWORD }}" }
              u: { run: "echo pw=$DB_PASSWORD" }
            """)
        self.relay("run", "p.yaml", check=1)
        everything = (self.relay("logs", "last", check=0).stdout
                      + self.relay("show", "last", "--output", "json", check=0).stdout
                      + self.relay("events", "last", "--jsonl", check=0).stdout)
        self.assertIn("pw=***", everything)
        self.assertIn("/nonexistent/***", everything)
        self.assertNotIn("hunter2hunter2", everything)

    def test_attempt_environment_and_retry(self):
        self.write("p.yaml", """
            tasks:
              flaky:
                run: echo "$RELAY_RUN_ID $RELAY_TASK $RELAY_ATTEMPT" >> env.txt; test "$RELAY_ATTEMPT" -ge 3
                retry: { attempts: 3, delay: 50ms, backoff: exponential }
            """)
        self.relay("run", "p.yaml", check=0)
        run = self.show()
        lines = open(os.path.join(self.dir, "env.txt")).read().split("\n")
        self.assertEqual(lines[:3], [f"{run['id']} flaky {n}" for n in (1, 2, 3)])
        self.assertEqual(run["tasks"][0]["attempts"], 3)
        events = [json.loads(l) for l in self.relay("events", "last", "--jsonl", check=0).stdout.splitlines()]
        retries = [e for e in events if e["to"] == "retry_wait"]
        self.assertEqual(len(retries), 2)
        self.assertIn("exit code 1", retries[0]["reason"])

    def test_timeout_kills_the_process_group(self):
        self.write("p.yaml", """
            tasks:
              slow: { run: "sleep 30 & sleep 30", timeout: 1s }
            """)
        start = time.time()
        self.relay("run", "p.yaml", check=1)
        self.assertLess(time.time() - start, 15 * SLOW)
        slow = self.show()["tasks"][0]
        self.assertEqual(slow["state"], "failed")
        self.assertEqual(slow["cause"], "timeout")
        self.assertIn("timed out", slow["reason"])

    def test_condition_reason_and_if_functions(self):
        self.write("p.yaml", """
            inputs:
              env: { type: choice, enum: [staging, production], default: staging }
            tasks:
              deploy: { if: "${{ inputs.env == 'production' }}", run: "true" }
              always: { needs: [deploy], if: "${{ always() }}", run: "true" }
              next: { needs: [deploy], run: "true" }
            """)
        self.relay("run", "p.yaml", check=0)
        show = self.show()
        t = {x["name"]: x for x in show["tasks"]}
        self.assertEqual(t["deploy"]["state"], "skipped")
        self.assertIn("inputs.env == 'production'", t["deploy"]["reason"])
        self.assertEqual(t["always"]["state"], "succeeded")
        self.assertEqual(t["next"]["state"], "skipped")
        self.relay("run", "p.yaml", "-i", "env=production", check=0)
        self.assertEqual(self.task_states()["deploy"], "succeeded")

    def test_bad_inputs_are_usage_errors(self):
        self.write("p.yaml", """
            inputs:
              env: { type: choice, enum: [staging, production], default: staging }
              n: { type: number, required: true }
            tasks:
              t: { run: "true" }
            """)
        p = self.relay("run", "p.yaml", "-i", "evn=production", "-i", "n=x", check=2)
        self.assertIn("unknown input 'evn'", p.stderr)
        self.assertIn("did you mean 'env'", p.stderr)
        self.assertIn("'x' is not a number", p.stderr)
        self.assertFalse(os.path.exists(self.store))

    def test_only_from_until(self):
        self.write("p.yaml", """
            tasks:
              a: { run: "true" }
              b: { needs: [a], run: "true" }
              c: { needs: [b], run: "true" }
            """)
        self.relay("run", "p.yaml", "--from", "b", check=0)
        self.assertEqual(set(self.task_states()), {"b", "c"})
        self.relay("run", "p.yaml", "--until", "b", check=0)
        self.assertEqual(set(self.task_states()), {"a", "b"})
        self.relay("run", "p.yaml", "--only", "c", check=0)
        self.assertEqual(set(self.task_states()), {"c"})
        p = self.relay("run", "p.yaml", "--only", "cc", check=2)
        self.assertIn("did you mean 'c'", p.stderr)

    def test_a_need_left_out_by_the_selection_reads_as_success(self):
        # The common `if: needs.build.result == 'success'` must not skip the
        # task just because `--from` left build out.
        self.write("p.yaml", """
            tasks:
              build: { run: "true" }
              deploy:
                needs: [build]
                if: "${{ needs.build.result == 'success' }}"
                run: "echo [${{ needs.build.result }}] [${{ success() }}]"
            """)
        self.relay("run", "p.yaml", "--from", "deploy", check=0)
        self.assertEqual(self.task_states(), {"deploy": "succeeded"})
        self.assertIn("[success] [true]", self.relay("logs", "last", "deploy", check=0).stdout)

    def test_plan_dry_run_and_graph(self):
        self.write("p.yaml", """
            tasks:
              build: { run: make }
              test: { needs: [build], matrix: { shard: [1, 2, 3] }, run: "t ${{ matrix.shard }}" }
            """)
        plan = self.relay("plan", "p.yaml", check=0).stdout
        self.assertIn("test[shard=3]", plan)
        self.assertIn("needs: build", plan)
        j = json.loads(self.relay("plan", "p.yaml", "--output", "json", check=0).stdout)
        self.assertEqual([t["name"] for t in j["tasks"]], ["build", "test"])
        self.assertEqual(len(j["tasks"][1]["instances"]), 3)
        dry = self.relay("run", "p.yaml", "--dry-run", check=0).stdout
        self.assertEqual(dry, plan)
        self.assertFalse(os.path.exists(self.store))
        dot = self.relay("graph", "p.yaml", "--format", "dot", check=0).stdout
        self.assertIn('"build" -> "test"', dot)
        mermaid = self.relay("graph", "p.yaml", "--format", "mermaid", check=0).stdout
        self.assertIn("t0 --> t1", mermaid)

    def cancel_with(self, sig):
        self.write("p.yaml", """
            tasks:
              long: { run: "sleep 30" }
              next: { needs: [long], run: "true" }
            """)
        # Default dispositions even if this suite itself runs under nohup.
        proc = subprocess.Popen([RELAY, "run", "p.yaml"], cwd=self.dir, env=self.env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_DFL))
        deadline = time.time() + 20 * SLOW
        while time.time() < deadline:
            if os.path.exists(self.store):
                p = self.relay("show", "last", "--output", "json")
                if p.returncode == 0 and json.loads(p.stdout)["tasks"][0]["state"] == "running":
                    break
            time.sleep(0.05)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30 * SLOW)
        self.assertEqual(proc.returncode, 1, out + err)
        run = self.show()
        self.assertEqual(run["status"], "cancelled")
        self.assertEqual({t["state"] for t in run["tasks"]}, {"cancelled"})

    def test_ctrl_c_cancels_gracefully(self):
        self.cancel_with(signal.SIGINT)

    def test_a_closed_terminal_cancels_rather_than_orphaning_the_steps(self):
        self.cancel_with(signal.SIGHUP)

    def test_second_ctrl_c_kills_at_once(self):
        # The task ignores SIGTERM, so only the second Ctrl-C (SIGKILL) stops it
        # before the 5 s grace period.
        self.write("p.yaml", """
            tasks:
              stubborn: { run: "trap '' TERM; echo ready; sleep 30; sleep 30" }
            """)
        proc = subprocess.Popen([RELAY, "run", "p.yaml"], cwd=self.dir, env=self.env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 20 * SLOW
        while time.time() < deadline:
            p = self.relay("logs", "last", "stubborn") if os.path.exists(self.store) else None
            if p is not None and "ready" in p.stdout:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.5)
        self.assertIsNone(proc.poll(), "relay should wait for the grace period after one Ctrl-C")
        start = time.time()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30 * SLOW)
        self.assertLess(time.time() - start, 3 * SLOW)
        self.assertEqual(proc.returncode, 1, out + err)
        self.assertEqual(self.show()["status"], "cancelled")

    def test_followers_stop_when_the_relay_died(self):
        self.write("p.yaml", "tasks:\n  long: { run: 'echo hi; sleep 30' }\n")
        proc = subprocess.Popen([RELAY, "run", "p.yaml"], cwd=self.dir, env=self.env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 20 * SLOW
        while time.time() < deadline:
            if os.path.exists(self.store) and "hi" in self.relay("logs", "last", "long").stdout:
                break
            time.sleep(0.05)
        proc.kill()
        proc.wait()
        for args in (("events", "last", "-f"), ("logs", "last", "-f")):
            p = self.relay(*args, timeout=20)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("relay resume", p.stderr)
        self.relay("cancel", "last", check=0, timeout=60)
        self.assertEqual(self.show()["status"], "cancelled")

    def test_events_follow_ends_with_the_run(self):
        self.write("p.yaml", "tasks:\n  a: { run: 'true' }\n")
        self.relay("run", "p.yaml", check=0)
        out = self.relay("events", "last", "-f", check=0, timeout=30).stdout
        self.assertIn("running → succeeded", out)


if __name__ == "__main__":
    main()
