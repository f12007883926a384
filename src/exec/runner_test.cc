// The in-process runner against the shared runner behaviours, plus
// KillLeftovers (what `relay resume` does after relay itself died).
#include "exec/runner_conformance_test.h"

namespace relay::exec::conformance {
namespace {

std::unique_ptr<Runner> MakeRunner() { return NewPosixRunner(); }

INSTANTIATE_TEST_SUITE_P(Posix, RunnerTest, ::testing::Values(&MakeRunner));

TEST_P(RunnerTest, KillLeftoversFindsEscapeesByEnvironmentMarker) {
  std::string pidfile = dir_ + "/escaped.pid";
  std::string marker = "RELAY_TEST_MARK=" + std::to_string(getpid()) + "-" + dir_;
  // The step waits until the escapee has left its group, or the step's end
  // would kill it first.
  AttemptSpec spec =
      Spec({"setsid sh -c 'echo $$ > " + pidfile + ".tmp && mv " + pidfile + ".tmp " + pidfile +
            "; exec sleep 30' & while [ ! -e " + pidfile + " ]; do sleep 0.01; done"});
  spec.env = {{"RELAY_TEST_MARK", marker.substr(marker.find('=') + 1)},
              {"RELAY_TASK", "deploy[env=prod]"}};
  EXPECT_TRUE(Run(spec).Succeeded());
  int pid = ReadPid(pidfile);
  ASSERT_GT(pid, 0);
  EXPECT_EQ(kill(pid, 0), 0);  // left the group, so survived the step's end

  EXPECT_EQ(KillLeftovers({.marker = marker.substr(0, marker.size() - 1)}), 0);  // a prefix
  // Left by another task (one that finished): spared.
  EXPECT_EQ(KillLeftovers({.marker = marker, .tasks = {"deploy", "build"}}), 0);
  EXPECT_EQ(kill(pid, 0), 0);
  EXPECT_EQ(KillLeftovers({.marker = marker, .tasks = {"build", "deploy[env=prod]"}}), 1);
  EXPECT_TRUE(GoneOrZombie(pid));
  EXPECT_EQ(KillLeftovers({.marker = marker}), 0);
}

TEST_P(RunnerTest, KillLeftoversKillsTheProcessGroup) {
  AttemptSpec spec = Spec({"sleep 5"});
  Start(spec);
  int pgid = FirstPid(spec.token);
  ASSERT_GT(pgid, 0);
  EXPECT_EQ(KillLeftovers({.pgid = pgid, .marker = "RELAY_NO_SUCH_MARKER=1"}), 1);
  AttemptResult r = WaitFor(spec.token);
  EXPECT_EQ(r.signal, SIGKILL);
}

// A stored group id whose number now leads someone else's group: a process
// with no marker that started after the dead relay's last sign of life.
TEST_P(RunnerTest, KillLeftoversSparesAGroupWhoseNumberWasReused) {
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    setpgid(0, 0);
    execl("/bin/sleep", "sleep", "30", static_cast<char*>(nullptr));
    _exit(127);
  }
  while (getpgid(pid) != pid) usleep(1000);
  Leftovers left{.pgid = pid, .marker = "RELAY_RUN_ID=01NOTTHISONE", .scan_environ = false};
  left.started_by =
      SystemClock::Get()->Now() - 60 * kSecond;  // the relay died a minute before it started
  EXPECT_EQ(KillLeftovers(left), 0);
  EXPECT_EQ(kill(pid, 0), 0);
  // Had it started before then, it would be the step's, marker or not.
  left.started_by = SystemClock::Get()->Now();
  EXPECT_EQ(KillLeftovers(left), 1);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status));
}

}  // namespace
}  // namespace relay::exec::conformance
