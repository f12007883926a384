// Behaviours every exec::Runner that runs real processes shares, as a
// value-parameterised suite over a factory: exec_test runs it against
// NewPosixRunner, keeper_test against the keeper's runner. Included by one
// test file per binary, which instantiates it:
//
//   INSTANTIATE_TEST_SUITE_P(Posix, RunnerTest, ::testing::Values(&MakeRunner));
//
// Runs real processes; each test finishes well under a second.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <regex>

#include "base/file_util.h"
#include "base/strings.h"
#include "exec/owner.h"
#include "exec/runner.h"
#include "exec/runner_harness_test.h"

namespace relay::exec::conformance {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

using harness::GoneOrZombie;
using harness::kLimit;
using harness::ReadPid;

// A runner under test, made fresh for each test.
using RunnerFactory = std::unique_ptr<Runner> (*)();

class RunnerTest : public ::testing::TestWithParam<RunnerFactory>,
                   protected harness::RunnerHarness {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/relay_runner_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = fs::canonical(tmpl).string();
    runner_ = GetParam()();
    ASSERT_NE(runner_, nullptr);
  }
  void TearDown() override {
    StopRunner();
    fs::remove_all(dir_);
  }

  AttemptSpec Spec(std::vector<std::string> steps) {
    AttemptSpec spec;
    spec.token = next_token_++;
    spec.key = {"run-" + std::to_string(getpid()), static_cast<int32_t>(spec.token), 1};
    spec.steps = std::move(steps);
    spec.log_path = dir_ + "/logs/" + std::to_string(spec.token) + ".log";
    return spec;
  }

  // The variables by which a stopped attempt's escaped processes are found.
  void Mark(AttemptSpec* spec) {
    spec->env.emplace_back("RELAY_RUN_ID", "test-" + std::to_string(getpid()) + dir_);
    spec->env.emplace_back("RELAY_TASK", "t" + std::to_string(spec->token));
    spec->env.emplace_back("RELAY_ATTEMPT", "1");
  }

  AttemptResult Run(const AttemptSpec& spec) {
    Start(spec);
    return WaitFor(spec.token);
  }

  std::vector<std::string> Lines(const AttemptSpec& spec) {
    return harness::LogLines(spec.log_path);
  }

  std::string dir_;
  uint64_t next_token_ = 1;
};

TEST_P(RunnerTest, ExitCodes) {
  AttemptResult ok = Run(Spec({"true"}));
  EXPECT_TRUE(ok.Succeeded());
  EXPECT_EQ(ok.exit_code, 0);
  EXPECT_EQ(ok.failed_step, -1);
  ASSERT_EQ(steps_[1].size(), 1u);
  EXPECT_GT(steps_[1][0].pid, 0);
  EXPECT_EQ(steps_[1][0].pgid, steps_[1][0].pid);

  AttemptResult fail = Run(Spec({"false"}));
  EXPECT_FALSE(fail.Succeeded());
  EXPECT_EQ(fail.exit_code, 1);
  EXPECT_EQ(fail.failed_step, 0);

  EXPECT_EQ(Run(Spec({"exit 3"})).exit_code, 3);
}

TEST_P(RunnerTest, DeathBySignal) {
  AttemptResult r = Run(Spec({"kill -9 $$"}));
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_FALSE(r.Succeeded());
  EXPECT_FALSE(r.timed_out);
}

TEST_P(RunnerTest, CapturesStdoutAndStderrApartWithTimestamps) {
  AttemptSpec spec = Spec({"echo to-out; echo to-err >&2"});
  Micros before = SystemClock::Get()->Now();
  AttemptResult r = Run(spec);
  EXPECT_TRUE(r.Succeeded());
  EXPECT_GE(r.started_at, before);
  EXPECT_GE(r.ended_at, r.started_at);
  Result<std::string> text = ReadFile(spec.log_path);
  ASSERT_TRUE(text.ok());
  std::regex line(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (out|err) to-(out|err))");
  for (const std::string& l : Split(*text, '\n')) {
    if (l.empty()) continue;
    EXPECT_TRUE(std::regex_match(l, line)) << l;
  }
  EXPECT_THAT(Lines(spec), ::testing::UnorderedElementsAre("out to-out", "err to-err"));
}

TEST_P(RunnerTest, PartialLastLinesAreKept) {
  AttemptSpec spec = Spec({"printf a; printf b >&2; printf c"});
  EXPECT_TRUE(Run(spec).Succeeded());
  EXPECT_THAT(Lines(spec), ::testing::UnorderedElementsAre("out ac", "err b"));
}

TEST_P(RunnerTest, LongLinesAreSplit) {
  AttemptSpec spec = Spec({"head -c 70000 /dev/zero | tr '\\0' a"});
  EXPECT_TRUE(Run(spec).Succeeded());
  EXPECT_THAT(Lines(spec),
              ElementsAre("out " + std::string(65536, 'a'), "out " + std::string(4464, 'a')));
}

TEST_P(RunnerTest, SilentCommandLeavesNoFile) {
  AttemptSpec spec = Spec({"true"});
  spec.log_path = dir_ + "/logs/deep/er/x.log";
  EXPECT_TRUE(Run(spec).Succeeded());
  EXPECT_FALSE(fs::exists(dir_ + "/logs"));

  spec = Spec({"echo hi"});
  spec.log_path = dir_ + "/logs/deep/er/y.log";
  EXPECT_TRUE(Run(spec).Succeeded());
  EXPECT_THAT(Lines(spec), ElementsAre("out hi"));
}

TEST_P(RunnerTest, UnwritableLogIsReportedButTheStepStillRuns) {
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/file", "").ok());
  AttemptSpec spec = Spec({"echo hi"});
  spec.log_path = dir_ + "/file/x.log";
  AttemptResult r = Run(spec);
  EXPECT_TRUE(r.Succeeded());
  EXPECT_THAT(r.log_error, HasSubstr("cannot write log " + spec.log_path));
}

TEST_P(RunnerTest, MasksSecrets) {
  AttemptSpec spec = Spec({"echo token=s3cr3t and s3cr3t", "echo done s3cr3t >&2"});
  spec.masker = std::make_shared<const Masker>(std::vector<std::string>{"s3cr3t", ""});
  EXPECT_TRUE(Run(spec).Succeeded());
  EXPECT_THAT(Lines(spec),
              ElementsAre("sys step 1: echo token=*** and ***", "out token=*** and ***",
                          "sys step 2: echo done *** >&2", "err done ***"));
}

TEST_P(RunnerTest, EnvironmentAdditionsAndOverrides) {
  AttemptSpec spec = Spec({"echo $RELAY_X $HOME $RELAY_Y"});
  spec.env = {{"RELAY_X", "1"}, {"HOME", "/custom"}, {"RELAY_Y", "a"}, {"RELAY_Y", "b"}};
  EXPECT_TRUE(Run(spec).Succeeded());
  EXPECT_THAT(Lines(spec), ElementsAre("out 1 /custom b"));

  // The same names again (where they go is kept from the last spec), then
  // as many other names.
  spec = Spec({"echo $RELAY_X $HOME $RELAY_Y"});
  spec.env = {{"RELAY_X", "2"}, {"HOME", "/other"}, {"RELAY_Y", "c"}, {"RELAY_Y", "d"}};
  EXPECT_TRUE(Run(spec).Succeeded());
  EXPECT_THAT(Lines(spec), ElementsAre("out 2 /other d"));
  spec = Spec({"echo $RELAY_Z $HOME $RELAY_X $RELAY_Y."});
  spec.env = {{"RELAY_Z", "z"}, {"RELAY_X", "x"}, {"RELAY_W", "w"}, {"HOME", "/h"}};
  EXPECT_TRUE(Run(spec).Succeeded());
  EXPECT_THAT(Lines(spec), ElementsAre("out z /h x ."));

  // Direct exec gets the same environment.
  spec = Spec({"printenv RELAY_X"});
  spec.env = {{"RELAY_X", "direct"}};
  EXPECT_TRUE(Run(spec).Succeeded());
  EXPECT_THAT(Lines(spec), ElementsAre("out direct"));
}

TEST_P(RunnerTest, PathFromTheAttemptsEnvironmentFindsPrograms) {
  ASSERT_TRUE(MakeDirs(dir_ + "/bin").ok());
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/bin/relay-hello", "#!/bin/sh\necho hello $1\n").ok());
  ASSERT_EQ(chmod((dir_ + "/bin/relay-hello").c_str(), 0755), 0);
  AttemptSpec spec = Spec({"relay-hello world"});
  spec.env = {{"PATH", dir_ + "/bin:/usr/bin:/bin"}};
  EXPECT_TRUE(Run(spec).Succeeded());
  EXPECT_THAT(Lines(spec), ElementsAre("out hello world"));

  // Not on the inherited PATH: the shell runs the line and says so.
  spec = Spec({"relay-hello world"});
  AttemptResult r = Run(spec);
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_EQ(r.spawn_error, "");
  ASSERT_EQ(Lines(spec).size(), 1u);
  EXPECT_THAT(Lines(spec)[0], HasSubstr("not found"));
}

TEST_P(RunnerTest, DirectExecNeedsNoShellButShellSyntaxDoes) {
  AttemptSpec spec = Spec({"true"});
  spec.shell = {"/nonexistent/sh", "-c"};
  EXPECT_TRUE(Run(spec).Succeeded());

  spec = Spec({"true;"});
  spec.shell = {"/nonexistent/sh", "-c"};
  AttemptResult r = Run(spec);
  EXPECT_EQ(r.spawn_error, "cannot start 'true;': /nonexistent/sh: No such file or directory");
  EXPECT_EQ(r.exit_code, -1);

  spec = Spec({"true"});
  spec.shell = {"/nonexistent/sh", "-c"};
  spec.force_shell = true;
  EXPECT_THAT(Run(spec).spawn_error, HasSubstr("/nonexistent/sh"));
}

TEST_P(RunnerTest, CustomShell) {
  AttemptSpec spec = Spec({"echo $0"});
  spec.shell = {"sh", "-c"};  // looked up on PATH
  EXPECT_TRUE(Run(spec).Succeeded());
  EXPECT_THAT(Lines(spec), ElementsAre("out sh"));
}

TEST_P(RunnerTest, WorkingDirectory) {
  ASSERT_TRUE(MakeDirs(dir_ + "/work").ok());
  AttemptSpec spec = Spec({"pwd", "echo $PWD", "./here.sh"});
  spec.cwd = dir_ + "/work";
  ASSERT_TRUE(WriteFileAtomic(spec.cwd + "/here.sh", "#!/bin/sh\necho script\n").ok());
  ASSERT_EQ(chmod((spec.cwd + "/here.sh").c_str(), 0755), 0);
  EXPECT_TRUE(Run(spec).Succeeded());
  EXPECT_THAT(Lines(spec),
              ElementsAre("sys step 1: pwd", "out " + spec.cwd, "sys step 2: echo $PWD",
                          "out " + spec.cwd, "sys step 3: ./here.sh", "out script"));
}

TEST_P(RunnerTest, MissingWorkingDirectoryIsASpawnError) {
  AttemptSpec spec = Spec({"true"});
  spec.cwd = dir_ + "/missing";
  Started s = Start(spec);
  EXPECT_EQ(s.pid, 0);
  EXPECT_EQ(runner_->running(), 1u);
  const AttemptResult r = WaitFor(spec.token);
  EXPECT_TRUE(steps_[spec.token].empty());
  EXPECT_EQ(r.spawn_error, "cannot start 'true': cwd " + spec.cwd + ": No such file or directory");
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_EQ(r.failed_step, 0);
  EXPECT_FALSE(r.Succeeded());
  EXPECT_EQ(runner_->running(), 0u);

  spec = Spec({"echo $HOME"});  // through the shell: same message
  spec.cwd = dir_ + "/missing";
  EXPECT_EQ(Run(spec).spawn_error,
            "cannot start 'echo $HOME': cwd " + spec.cwd + ": No such file or directory");
}

TEST_P(RunnerTest, StepsRunInOrderAndStopAtTheFirstFailure) {
  AttemptSpec spec = Spec({"echo one", "false", "echo three"});
  AttemptResult r = Run(spec);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.failed_step, 1);
  EXPECT_THAT(Lines(spec), ElementsAre("sys step 1: echo one", "out one", "sys step 2: false"));
  const std::vector<Started>& steps = steps_[spec.token];
  ASSERT_EQ(steps.size(), 2u);  // steps 1 and 2; the third never started
  EXPECT_NE(steps[1].pid, steps[0].pid);
  EXPECT_EQ(steps[1].pgid, steps[1].pid);
}

TEST_P(RunnerTest, LaterStepThatCannotStartIsASpawnError) {
  std::string cwd = dir_ + "/gone";
  ASSERT_TRUE(MakeDirs(cwd).ok());
  AttemptSpec spec = Spec({"rmdir " + cwd, "true"});
  spec.cwd = cwd;
  AttemptResult r = Run(spec);
  EXPECT_EQ(r.failed_step, 1);
  EXPECT_EQ(r.spawn_error, "cannot start 'true': cwd " + cwd + ": No such file or directory");
}

TEST_P(RunnerTest, EmptyStepListSucceeds) { EXPECT_TRUE(Run(Spec({})).Succeeded()); }

TEST_P(RunnerTest, StdinIsDevNull) {
  Micros start = MonotonicNow();
  EXPECT_TRUE(Run(Spec({"cat"})).Succeeded());
  EXPECT_LT(MonotonicNow() - start, kSecond);
}

TEST_P(RunnerTest, StepsStartWithDefaultSignalsAndNothingBlocked) {
  // relay ignores SIGPIPE; a step must not inherit that (a `yes | head`
  // would never end), nor a signal relay's own parent left ignored (a CI
  // harness ignoring real-time signals, nohup's SIGHUP), nor a blocked one.
  struct sigaction ignore = {};
  struct sigaction old_pipe = {};
  struct sigaction old_rt = {};
  struct sigaction old_hup = {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(sigaction(SIGPIPE, &ignore, &old_pipe), 0);
  ASSERT_EQ(sigaction(SIGRTMIN + 2, &ignore, &old_rt), 0);
  ASSERT_EQ(sigaction(SIGHUP, &ignore, &old_hup), 0);
  runner_.reset();  // one runner at a time; the new one sees the dispositions at start
  runner_ = GetParam()();
  sigset_t block;
  sigset_t old_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &block, &old_mask), 0);
  AttemptSpec spec = Spec({"grep -E '^Sig(Ign|Blk)' /proc/self/status"});
  EXPECT_TRUE(Run(spec).Succeeded());
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  sigaction(SIGPIPE, &old_pipe, nullptr);
  sigaction(SIGRTMIN + 2, &old_rt, nullptr);
  sigaction(SIGHUP, &old_hup, nullptr);
  EXPECT_THAT(Lines(spec),
              ElementsAre("out SigBlk:\t0000000000000000", "out SigIgn:\t0000000000000000"));
}

TEST_P(RunnerTest, AFileThatCannotBeExecutedIsASpawnErrorNamingIt) {
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/notes.txt", "not a program\n").ok());
  AttemptSpec spec = Spec({"true;"});
  spec.shell = {dir_ + "/notes.txt", "-c"};
  AttemptResult r = Run(spec);
  EXPECT_EQ(r.spawn_error, "cannot start 'true;': " + dir_ + "/notes.txt: Permission denied");
  EXPECT_EQ(r.exit_code, -1);

  spec = Spec({"true"});
  spec.cwd = dir_ + "/notes.txt";  // exists, but is no directory
  EXPECT_EQ(Run(spec).spawn_error, "cannot start 'true': cwd " + spec.cwd + ": Not a directory");
  // Nothing is left behind by the failed starts: no zombie, no open pipe.
  EXPECT_EQ(runner_->running(), 0u);
}

TEST_P(RunnerTest, TimeoutSendsTermToTheGroup) {
  AttemptSpec spec = Spec({"sleep 5"});
  spec.timeout = 100 * kMillisecond;
  Micros start = MonotonicNow();
  AttemptResult r = Run(spec);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.signal, SIGTERM);
  EXPECT_EQ(r.failed_step, 0);
  EXPECT_FALSE(r.Succeeded());
  Micros took = MonotonicNow() - start;
  EXPECT_GE(took, 100 * kMillisecond);
  EXPECT_LT(took, kSecond);
}

TEST_P(RunnerTest, TimeoutEscalatesToKillAfterTheGrace) {
  AttemptSpec spec = Spec({"trap '' TERM; sleep 5"});
  spec.timeout = 100 * kMillisecond;
  spec.kill_grace = 200 * kMillisecond;
  Micros start = MonotonicNow();
  AttemptResult r = Run(spec);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.signal, SIGKILL);
  Micros took = MonotonicNow() - start;
  EXPECT_GE(took, 300 * kMillisecond);
  EXPECT_LT(took, kSecond);
}

TEST_P(RunnerTest, TimeoutCoversAllSteps) {
  AttemptSpec spec = Spec({"sleep 0.1", "sleep 0.1", "sleep 5"});
  spec.timeout = 300 * kMillisecond;
  AttemptResult r = Run(spec);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.failed_step, 2);
}

TEST_P(RunnerTest, CancelStopsTheAttempt) {
  AttemptSpec spec = Spec({"sleep 5", "echo never"});
  Start(spec);
  WaitResult w = runner_->Wait(20 * kMillisecond);
  EXPECT_TRUE(w.finished.empty());
  Collect(w);
  runner_->Cancel(spec.token);
  runner_->Cancel(999);  // unknown: ignored
  AttemptResult r = WaitFor(spec.token);
  EXPECT_TRUE(r.cancelled);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.signal, SIGTERM);
  EXPECT_EQ(r.failed_step, 0);
  EXPECT_THAT(Lines(spec), Not(::testing::Contains("out never")));
}

TEST_P(RunnerTest, KillAllKillsEveryGroupNow) {
  AttemptSpec a = Spec({"trap '' TERM; sleep 5"});
  AttemptSpec b = Spec({"sleep 5"});
  Start(a);
  Start(b);
  runner_->KillAll();
  AttemptResult ra = WaitFor(a.token);
  AttemptResult rb = WaitFor(b.token);
  EXPECT_EQ(ra.signal, SIGKILL);
  EXPECT_EQ(rb.signal, SIGKILL);
  EXPECT_TRUE(ra.cancelled);
}

TEST_P(RunnerTest, BackgroundJobIsKilledWhenTheStepEnds) {
  std::string pidfile = dir_ + "/bg.pid";
  Micros start = MonotonicNow();
  AttemptResult r = Run(Spec({"sleep 30 & echo $! > " + pidfile}));
  EXPECT_TRUE(r.Succeeded());
  EXPECT_LT(MonotonicNow() - start, kSecond);  // did not wait for the job's pipe
  int pid = ReadPid(pidfile);
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(GoneOrZombie(pid));
}

TEST_P(RunnerTest, InterruptIsReportedAndChildrenKeepRunning) {
  // relay's pid by number: a keeper, not relay, is the step's parent there.
  AttemptSpec spec = Spec({"kill -INT " + std::to_string(getpid()) + "; sleep 5"});
  Start(spec);
  WaitResult w;
  Micros give_up = MonotonicNow() + kLimit;
  while (w.interrupt_signal == 0 && w.finished.empty() && MonotonicNow() < give_up)
    w = runner_->Wait(2 * kSecond);
  EXPECT_EQ(w.interrupt_signal, SIGINT);
  EXPECT_TRUE(w.finished.empty());
  EXPECT_EQ(runner_->running(), 1u);
  runner_->Cancel(spec.token);
  EXPECT_TRUE(WaitFor(spec.token).cancelled);

  raise(SIGTERM);  // pending until Wait
  Micros start = MonotonicNow();
  w = runner_->Wait(2 * kSecond);
  EXPECT_EQ(w.interrupt_signal, SIGTERM);
  EXPECT_LT(MonotonicNow() - start, 500 * kMillisecond);
}

// `relay cancel` pokes the run's relay: its Wait returns to look at the
// store, and the steps go on running.
TEST_P(RunnerTest, APokeFromAnotherRelayEndsTheWait) {
  AttemptSpec spec = Spec({"sleep 5"});
  Start(spec);
  ASSERT_TRUE(PokeOwner(SelfOwnerId()));
  WaitResult w = runner_->Wait(10 * kSecond);
  EXPECT_TRUE(w.poked);
  EXPECT_EQ(w.interrupt_signal, 0);
  EXPECT_TRUE(w.finished.empty());
  EXPECT_EQ(runner_->running(), 1u);
  w = runner_->Wait(0);
  EXPECT_FALSE(w.poked);
  runner_->Cancel(spec.token);
  EXPECT_TRUE(WaitFor(spec.token).cancelled);
  EXPECT_FALSE(PokeOwner("elsewhere:1:1"));
}

TEST_P(RunnerTest, WaitHonoursItsTimeout) {
  Micros start = MonotonicNow();
  WaitResult w = runner_->Wait(-1);  // nothing running: returns at once
  EXPECT_TRUE(w.finished.empty());
  w = runner_->Wait(30 * kMillisecond);  // nothing running: sleeps
  EXPECT_GE(MonotonicNow() - start, 30 * kMillisecond);

  AttemptSpec spec = Spec({"sleep 5"});
  Start(spec);
  start = MonotonicNow();
  w = runner_->Wait(0);
  EXPECT_TRUE(w.finished.empty());
  w = runner_->Wait(50 * kMillisecond);
  EXPECT_TRUE(w.finished.empty());
  Micros took = MonotonicNow() - start;
  EXPECT_GE(took, 50 * kMillisecond);
  EXPECT_LT(took, 500 * kMillisecond);
  runner_->Cancel(spec.token);
  WaitFor(spec.token);
}

TEST_P(RunnerTest, ResourceUseIsRecorded) {
  AttemptResult r = Run(Spec({"i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"}));
  EXPECT_TRUE(r.Succeeded());
  EXPECT_GT(r.user_cpu + r.system_cpu, 0);
  EXPECT_GT(r.max_rss_kb, 0);
}

TEST_P(RunnerTest, ConcurrentAttemptsAllComplete) {
  std::vector<uint64_t> tokens;
  Micros start = MonotonicNow();
  for (int i = 0; i < 8; ++i) {
    AttemptSpec spec = Spec({"sleep 0.2", "echo " + std::to_string(i)});
    Start(spec);
    tokens.push_back(spec.token);
  }
  EXPECT_EQ(runner_->running(), 8u);
  std::vector<uint64_t> done;
  while (runner_->running() > 0 && MonotonicNow() - start < kLimit) {
    WaitResult w = runner_->Wait(-1);
    Collect(w);
    for (const AttemptResult& r : w.finished) {
      EXPECT_TRUE(r.Succeeded()) << r.token;
      done.push_back(r.token);
    }
  }
  EXPECT_THAT(done, ::testing::UnorderedElementsAreArray(tokens));
  EXPECT_LT(MonotonicNow() - start, kSecond);  // in parallel, not 8 × 0.2 s
  for (uint64_t token : tokens) EXPECT_EQ(steps_[token].size(), 2u) << token;
}

TEST_P(RunnerTest, ManySpawnsLeakNoDescriptors) {
  auto count_fds = [] {
    return std::distance(fs::directory_iterator("/proc/self/fd"), fs::directory_iterator());
  };
  long before = count_fds();
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(Run(Spec({"true"})).Succeeded());
  EXPECT_EQ(count_fds(), before);
}

// A process that left the attempt's group (setsid) is killed with the
// attempt when it is cancelled or times out, as a resume would kill it.
TEST_P(RunnerTest, SetsidChildIsKilledWhenTheAttemptIsCancelled) {
  std::string pidfile = dir_ + "/escaped.pid";
  AttemptSpec spec = Spec({"setsid sh -c 'echo $$ > " + pidfile + ".tmp && mv " + pidfile +
                           ".tmp " + pidfile + "; exec sleep 30' & sleep 30"});
  Mark(&spec);
  Start(spec);
  int pid = 0;
  for (Micros give_up = MonotonicNow() + kLimit; pid == 0 && MonotonicNow() < give_up;) {
    Collect(runner_->Wait(10 * kMillisecond));
    pid = ReadPid(pidfile);
  }
  ASSERT_GT(pid, 0);
  runner_->Cancel(spec.token);
  EXPECT_TRUE(WaitFor(spec.token).cancelled);
  EXPECT_TRUE(GoneOrZombie(pid));
}

TEST_P(RunnerTest, SetsidChildIsKilledWhenTheAttemptTimesOut) {
  std::string pidfile = dir_ + "/escaped.pid";
  AttemptSpec spec = Spec({"setsid sh -c 'exec sleep 30' & echo $! > " + pidfile + "; sleep 30"});
  spec.timeout = 300 * kMillisecond;
  Mark(&spec);
  AttemptResult r = Run(spec);
  EXPECT_TRUE(r.timed_out);
  int pid = ReadPid(pidfile);
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(GoneOrZombie(pid));
}

// A step that ends by itself may leave a daemon behind on purpose.
TEST_P(RunnerTest, SetsidChildOfAStepThatEndsByItselfIsSpared) {
  std::string pidfile = dir_ + "/daemon.pid";
  AttemptSpec spec =
      Spec({"setsid sh -c 'echo $$ > " + pidfile + ".tmp && mv " + pidfile + ".tmp " + pidfile +
            "; exec sleep 30' & while [ ! -e " + pidfile + " ]; do sleep 0.01; done; exit 3"});
  Mark(&spec);
  EXPECT_EQ(Run(spec).exit_code, 3);
  int pid = ReadPid(pidfile);
  ASSERT_GT(pid, 0);
  EXPECT_EQ(kill(pid, 0), 0);
  kill(pid, SIGKILL);
}

}  // namespace relay::exec::conformance
