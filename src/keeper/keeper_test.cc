// What only a keeper does: attempts outlive the relay that started them,
// are adopted by another relay, end in exit records, and a keeper that dies
// does not hang its relay. A dead relay is a child process of the test that
// starts a keeper and attempts, then _exits. Real processes throughout.
#include "keeper/keeper.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <thread>

#include "base/file_util.h"
#include "base/strings.h"
#include "exec/runner_harness_test.h"
#include "exec/signals_posix.h"
#include "keeper/exit_record.h"
#include "keeper/protocol.h"
#include "keeper/rendezvous_posix.h"

namespace relay::keeper {
namespace {

namespace fs = std::filesystem;
using exec::AdoptRequest;
using exec::AdoptResult;
using exec::AttemptResult;
using exec::AttemptSpec;
using Outcome = exec::AdoptResult::Outcome;
using ::testing::Contains;

using exec::harness::GoneOrZombie;
using exec::harness::kLimit;
using exec::harness::LogLines;

// The keeper of `owner`, by the pid its socket names; 0 when none listens.
int KeeperPid(const std::string& owner) {
  int pid = 0;
  Result<int> fd = ConnectToKeeper(owner, &pid);
  if (!fd.ok()) return 0;
  ::close(*fd);
  return pid;
}

// Waits until no keeper of `owner` answers.
bool KeeperGone(const std::string& owner) {
  for (Micros give_up = MonotonicNow() + kLimit; MonotonicNow() < give_up; usleep(5000)) {
    if (KeeperPid(owner) == 0) return true;
  }
  return false;
}

class KeeperTest : public ::testing::Test, protected exec::harness::RunnerHarness {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/relay_keeper_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = fs::canonical(tmpl).string();
  }
  void TearDown() override {
    StopRunner();
    for (const auto& [token, steps] : steps_) {
      for (const exec::Started& s : steps) ::kill(-s.pgid, SIGKILL);
    }
    for (const std::string& owner : owners_) EXPECT_TRUE(KeeperGone(owner)) << owner;
    fs::remove_all(dir_);
  }

  std::string Owner(const std::string& name) {
    static int made = 0;
    owners_.push_back("keeper-test:" + std::to_string(getpid()) + ":" + name + "-" +
                      std::to_string(++made));
    return owners_.back();
  }

  std::unique_ptr<exec::Runner> Keeper(const std::string& owner) {
    Result<std::unique_ptr<exec::Runner>> runner = StartKeeper({owner});
    EXPECT_TRUE(runner.ok()) << runner.status().ToString();
    return runner.ok() ? std::move(runner).value() : nullptr;
  }

  AttemptSpec Spec(uint64_t token, std::vector<std::string> steps) {
    AttemptSpec spec;
    spec.token = token;
    spec.key = {"run-" + std::to_string(getpid()), static_cast<int32_t>(token), 1};
    spec.steps = std::move(steps);
    spec.log_path = dir_ + "/logs/" + std::to_string(token) + ".log";
    return spec;
  }

  AdoptRequest Request(const std::string& owner, const AttemptSpec& spec, uint64_t token) {
    return AdoptRequest{owner, spec.key, spec.log_path, token};
  }

  // A relay that dies: a child process starts a keeper named `owner`, hands
  // it the attempts and _exits at once (no destructor, no goodbye).
  void RelayThatDies(const std::string& owner, const std::vector<AttemptSpec>& specs) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      exec::SignalWatch::ForgetAfterFork();  // the test's runner is not the child's
      Result<std::unique_ptr<exec::Runner>> runner = StartKeeper({owner});
      if (!runner.ok()) _exit(2);
      for (const AttemptSpec& spec : specs) (*runner)->Start(spec);
      (*runner)->Wait(0);  // sends the starts
      _exit(0);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }

  std::string dir_;
  std::vector<std::string> owners_;
};

TEST_F(KeeperTest, AnAttemptRunningWhenItsRelayDiedIsAdoptedAndReportedByTheNewRelay) {
  std::string dead = Owner("dead");
  AttemptSpec spec = Spec(1, {"sleep 1; echo done"});
  RelayThatDies(dead, {spec});
  runner_ = Keeper(Owner("new"));
  AdoptResult a = runner_->Adopt(Request(dead, spec, 7));
  ASSERT_EQ(a.outcome, Outcome::kRunning);
  EXPECT_GT(a.pid, 0);
  EXPECT_EQ(a.pgid, a.pid);
  EXPECT_EQ(runner_->running(), 1u);
  AttemptResult r = WaitFor(7);
  EXPECT_TRUE(r.Succeeded());
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_GT(r.started_at, 0);
  EXPECT_THAT(LogLines(spec.log_path), Contains("out done"));
  EXPECT_FALSE(FileExists(ExitRecordPath(spec.log_path)));  // a relay took the result
}

TEST_F(KeeperTest, AnAttemptThatEndedAfterItsRelayAndKeeperWentIsReadFromItsExitRecord) {
  std::string dead = Owner("dead");
  AttemptSpec spec = Spec(1, {"echo done; exit 4"});
  spec.timeout = 10 * kSecond;
  Micros before = SystemClock::Get()->Now();
  RelayThatDies(dead, {spec});
  ASSERT_TRUE(KeeperGone(dead));  // nothing left to keep: it recorded and exited
  const std::string record = ExitRecordPath(spec.log_path);
  EXPECT_EQ(record, dir_ + "/logs/1.exit");
  ASSERT_TRUE(FileExists(record));

  runner_ = Keeper(Owner("new"));
  AdoptResult a = runner_->Adopt(Request(dead, spec, 9));
  ASSERT_EQ(a.outcome, Outcome::kFinished);
  EXPECT_EQ(a.result.token, 9u);
  EXPECT_EQ(a.result.exit_code, 4);
  EXPECT_EQ(a.result.failed_step, 0);
  EXPECT_GE(a.result.started_at, before);
  EXPECT_GE(a.result.ended_at, a.result.started_at);
  EXPECT_THAT(LogLines(spec.log_path), Contains("out done"));
  EXPECT_EQ(runner_->running(), 0u);
  runner_->Acknowledge({9});
  EXPECT_FALSE(FileExists(record));
}

// One connection to the dead relay's keeper serves several Adopt calls: a
// result it keeps in memory (and in its record), and an attempt still running.
TEST_F(KeeperTest, AKeeperStillRunningHandsOverFinishedAndRunningAttempts) {
  std::string dead = Owner("dead");
  AttemptSpec quick = Spec(1, {"echo quick"});
  AttemptSpec slow = Spec(2, {"sleep 1; echo slow"});
  RelayThatDies(dead, {quick, slow});
  const std::string record = ExitRecordPath(quick.log_path);
  for (Micros give_up = MonotonicNow() + kLimit; !FileExists(record) && MonotonicNow() < give_up;)
    usleep(2000);
  ASSERT_TRUE(FileExists(record));

  runner_ = Keeper(Owner("new"));
  AdoptResult a = runner_->Adopt(Request(dead, quick, 11));
  ASSERT_EQ(a.outcome, Outcome::kFinished);
  EXPECT_EQ(a.result.exit_code, 0);
  EXPECT_EQ(a.result.token, 11u);
  AdoptResult b = runner_->Adopt(Request(dead, slow, 12));
  ASSERT_EQ(b.outcome, Outcome::kRunning);
  runner_->Acknowledge({11});  // the keeper removes the record
  EXPECT_TRUE(WaitFor(12).Succeeded());
  EXPECT_FALSE(FileExists(record));
  EXPECT_THAT(LogLines(slow.log_path), Contains("out slow"));
}

// The attempt may end right after its keeper answers an Adopt: its end
// (and its step) then reach the adopter in the same read as the answer, and
// must not be dropped, or the adopting relay waits for it for ever. A fake
// keeper sends the three frames in one write.
TEST_F(KeeperTest, AnEndThatArrivesWithTheAdoptAnswerIsReported) {
  constexpr int32_t kNoPid = 0x7ffffff0;
  std::string fake = Owner("fake");
  Result<int> listener = BindRendezvous(fake);
  ASSERT_TRUE(listener.ok()) << listener.status().ToString();
  ASSERT_TRUE(Listen(*listener).ok());
  AttemptSpec spec = Spec(1, {"true"});
  std::thread keeper([fd = *listener] {
    int conn = ::accept(fd, nullptr, nullptr);
    std::string in;
    char buf[4096];
    uint64_t token = 0;
    for (bool asked = false; conn >= 0 && !asked;) {
      ssize_t n = ::read(conn, buf, sizeof buf);
      if (n <= 0) break;
      in.append(buf, static_cast<size_t>(n));
      size_t pos = 0;
      Frame type;
      std::string_view payload;
      bool broken = false;
      while (NextFrame(in, &pos, &type, &payload, &broken)) {
        if (type != Frame::kAdopt) continue;
        FrameReader r(payload);
        token = r.U64();
        asked = true;
      }
    }
    AttemptResult result;
    result.token = token;
    result.exit_code = 3;
    result.started_at = 1;
    result.ended_at = 2;
    std::string out;
    FrameWriter w(&out);
    w.Begin(Frame::kAdopted);
    w.U64(token);
    w.U8(static_cast<uint8_t>(Outcome::kRunning));
    w.I32(kNoPid);
    w.I32(kNoPid);
    WriteResult(&w, AttemptResult{});
    w.End();
    w.Begin(Frame::kStarted);
    w.U64(token);
    w.I32(kNoPid + 1);
    w.I32(kNoPid + 1);
    w.End();
    w.Begin(Frame::kFinished);
    WriteResult(&w, result);
    w.End();
    if (conn >= 0) {
      EXPECT_EQ(::write(conn, out.data(), out.size()), static_cast<ssize_t>(out.size()));
      while (::read(conn, buf, sizeof buf) > 0) {
      }
      ::close(conn);
    }
    ::close(fd);
  });
  runner_ = Keeper(Owner("new"));
  AdoptResult a = runner_->Adopt(Request(fake, spec, 7));
  EXPECT_EQ(a.outcome, Outcome::kRunning);
  EXPECT_EQ(a.pid, kNoPid);
  AttemptResult r = WaitFor(7);  // fails (times out) when the end was dropped
  EXPECT_EQ(r.token, 7u);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_FALSE(r.keeper_lost);
  EXPECT_EQ(runner_->running(), 0u);
  runner_.reset();  // closes the link: the fake keeper's read ends
  keeper.join();
}

TEST_F(KeeperTest, ATimeoutHoldsFromTheOriginalStartAcrossTheRelaysDeath) {
  std::string dead = Owner("dead");
  AttemptSpec spec = Spec(1, {"sleep 5"});
  spec.timeout = 700 * kMillisecond;
  Micros start = MonotonicNow();
  RelayThatDies(dead, {spec});
  usleep(500 * 1000);  // a relay that takes its time to come back
  runner_ = Keeper(Owner("new"));
  ASSERT_EQ(runner_->Adopt(Request(dead, spec, 3)).outcome, Outcome::kRunning);
  AttemptResult r = WaitFor(3);
  Micros took = MonotonicNow() - start;
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.signal, SIGTERM);
  EXPECT_GE(took, 700 * kMillisecond);
  EXPECT_LT(took, 1150 * kMillisecond);  // counted again from adoption, it would be ≥ 1.2 s
}

TEST_F(KeeperTest, AnAdoptedAttemptCanBeCancelled) {
  std::string dead = Owner("dead");
  AttemptSpec spec = Spec(1, {"sleep 5", "echo never"});
  RelayThatDies(dead, {spec});
  runner_ = Keeper(Owner("new"));
  ASSERT_EQ(runner_->Adopt(Request(dead, spec, 5)).outcome, Outcome::kRunning);
  runner_->Cancel(5);
  AttemptResult r = WaitFor(5);
  EXPECT_TRUE(r.cancelled);
  EXPECT_EQ(r.signal, SIGTERM);
}

TEST_F(KeeperTest, SeveralRelaysAdoptDifferentAttemptsOfOneKeeper) {
  std::string dead = Owner("dead");
  AttemptSpec one = Spec(1, {"sleep 0.5; echo one"});
  AttemptSpec two = Spec(2, {"sleep 0.5; echo two"});
  RelayThatDies(dead, {one, two});
  std::string other = Owner("other");
  pid_t adopter = fork();
  ASSERT_GE(adopter, 0);
  if (adopter == 0) {
    Result<std::unique_ptr<exec::Runner>> runner = StartKeeper({other});
    if (!runner.ok() || (*runner)->Adopt(Request(dead, two, 2)).outcome != Outcome::kRunning)
      _exit(2);
    for (Micros give_up = MonotonicNow() + kLimit; MonotonicNow() < give_up;) {
      for (const AttemptResult& r : (*runner)->Wait(100 * kMillisecond).finished)
        _exit(r.token == 2 && r.Succeeded() ? 0 : 3);
    }
    _exit(4);
  }
  runner_ = Keeper(Owner("new"));
  ASSERT_EQ(runner_->Adopt(Request(dead, one, 1)).outcome, Outcome::kRunning);
  EXPECT_TRUE(WaitFor(1).Succeeded());
  int status = 0;
  ASSERT_EQ(waitpid(adopter, &status, 0), adopter);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_THAT(LogLines(two.log_path), Contains("out two"));
}

TEST_F(KeeperTest, AdoptingWhatNoKeeperOrRecordKnowsIsGoneAtOnce) {
  std::string self = Owner("self");
  runner_ = Keeper(self);
  AttemptSpec spec = Spec(1, {"true"});
  Micros start = MonotonicNow();
  EXPECT_EQ(runner_->Adopt(Request("nohost:1:1", spec, 1)).outcome, Outcome::kGone);
  // A keeper that lives but never had it (our own, found by its name): it
  // was never started (its relay died before handing it over).
  EXPECT_EQ(runner_->Adopt(Request(self, spec, 2)).outcome, Outcome::kNotStarted);
  EXPECT_LT(MonotonicNow() - start, 500 * kMillisecond);
  EXPECT_EQ(runner_->running(), 0u);
}

TEST_F(KeeperTest, AKilledKeeperEndsItsAttemptsAsLostWithoutAHang) {
  std::string self = Owner("self");
  runner_ = Keeper(self);
  runner_->Start(Spec(1, {"sleep 5"}));
  runner_->Start(Spec(2, {"sleep 5"}));
  ASSERT_GT(FirstPid(1), 0);
  ASSERT_GT(FirstPid(2), 0);
  int keeper = KeeperPid(self);
  ASSERT_GT(keeper, 0);
  Micros start = MonotonicNow();
  ASSERT_EQ(kill(keeper, SIGKILL), 0);
  for (uint64_t token : {1, 2}) {
    AttemptResult r = WaitFor(token);
    EXPECT_TRUE(r.keeper_lost);
    EXPECT_EQ(r.exit_code, -1);
    EXPECT_FALSE(r.Succeeded());
  }
  EXPECT_LT(MonotonicNow() - start, kSecond);
  runner_->Start(Spec(3, {"true"}));  // nobody left to run it
  EXPECT_TRUE(WaitFor(3).keeper_lost);
  EXPECT_EQ(runner_->running(), 0u);
}

TEST_F(KeeperTest, AKeeperLeavesWithItsRelayWhenNothingRuns) {
  std::string self = Owner("self");
  runner_ = Keeper(self);
  runner_->Start(Spec(1, {"true"}));
  EXPECT_TRUE(WaitFor(1).Succeeded());
  int keeper = KeeperPid(self);
  ASSERT_GT(keeper, 0);
  runner_.reset();
  EXPECT_TRUE(GoneOrZombie(keeper));
  EXPECT_FALSE(FileExists(ExitRecordPath(Spec(1, {}).log_path)));  // it was acknowledged
}

// Relay may exit on purpose with work in flight: the attempt runs on, and
// its end is recorded for whoever comes next.
TEST_F(KeeperTest, ARelayThatExitsLeavesItsAttemptsRunning) {
  std::string first = Owner("first");
  runner_ = Keeper(first);
  AttemptSpec spec = Spec(1, {"sleep 0.3; echo late"});
  runner_->Start(spec);
  runner_->Wait(0);
  runner_.reset();
  ASSERT_TRUE(KeeperGone(first));
  runner_ = Keeper(Owner("second"));
  AdoptResult a = runner_->Adopt(Request(first, spec, 1));
  ASSERT_EQ(a.outcome, Outcome::kFinished);
  EXPECT_TRUE(a.result.Succeeded());
  EXPECT_THAT(LogLines(spec.log_path), Contains("out late"));
  runner_->Acknowledge({1});
}

TEST_F(KeeperTest, TheKeeperIsItsOwnSessionNamedAndReapsOrphans) {
  int leaked = ::open("/dev/zero", O_RDONLY);  // relay's, without close-on-exec
  ASSERT_GE(leaked, 0);
  std::string self = Owner("self");
  runner_ = Keeper(self);
  ::close(leaked);
  int keeper = KeeperPid(self);
  ASSERT_GT(keeper, 0);
  std::string proc = "/proc/" + std::to_string(keeper);
  Result<std::string> comm = ReadFile(proc + "/comm");
  ASSERT_TRUE(comm.ok());
  EXPECT_EQ(*comm, "relay-keeper\n");
  EXPECT_EQ(getsid(keeper), keeper);
  for (const auto& fd : fs::directory_iterator(proc + "/fd")) {
    std::error_code ec;
    fs::path target = fs::read_symlink(fd.path(), ec);
    EXPECT_NE(target, "/dev/zero") << fd.path();
    const std::string n = fd.path().filename().string();
    if (n == "0" || n == "1" || n == "2") {
      EXPECT_EQ(target, "/dev/null") << fd.path();
    }
  }
  // A step's background job outlives the step's own parent: it becomes
  // the keeper's (a subreaper's) child, not init's.
  std::string pidfile = dir_ + "/orphan.pid";
  // (The step waits until its job has left the group, which the step's end kills.)
  AttemptSpec spec =
      Spec(1, {"setsid sh -c 'echo $$ > " + pidfile + ".tmp && mv " + pidfile + ".tmp " + pidfile +
               "; exec sleep 5' & while [ ! -e " + pidfile + " ]; do sleep 0.01; done"});
  runner_->Start(spec);
  EXPECT_TRUE(WaitFor(1).Succeeded());
  int orphan = std::atoi(ReadFile(pidfile).ok() ? ReadFile(pidfile)->c_str() : "0");
  ASSERT_GT(orphan, 0);
  Result<std::string> stat = ReadFile("/proc/" + std::to_string(orphan) + "/stat");
  ASSERT_TRUE(stat.ok());
  int ppid = 0;
  std::sscanf(stat->c_str() + stat->rfind(')') + 1, " %*c %d", &ppid);
  EXPECT_EQ(ppid, keeper);
  kill(orphan, SIGKILL);
}

TEST_F(KeeperTest, OneKeeperPerOwner) {
  std::string self = Owner("self");
  runner_ = Keeper(self);
  Result<std::unique_ptr<exec::Runner>> second = StartKeeper({self});
  EXPECT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kIo);
}

// Hundreds of attempts, many at once, with a run's secrets: each log holds
// its own line, masked; the masker is shared by all of them.
TEST_F(KeeperTest, ManyConcurrentAttempts) {
  runner_ = Keeper(Owner("self"));
  auto masker = std::make_shared<const exec::Masker>(std::vector<std::string>{"s3cr3t"});
  constexpr uint64_t kTotal = 300;
  constexpr size_t kInFlight = 16;
  uint64_t next = 1;
  Micros give_up = MonotonicNow() + 10 * kSecond;
  while (results_.size() < kTotal && MonotonicNow() < give_up) {
    while (next <= kTotal && runner_->running() < kInFlight) {
      AttemptSpec spec = Spec(next, {"echo " + std::to_string(next) + " s3cr3t"});
      spec.masker = masker;
      runner_->Start(std::move(spec));
      ++next;
    }
    Collect(runner_->Wait(-1));
  }
  ASSERT_EQ(results_.size(), kTotal);
  for (uint64_t token = 1; token <= kTotal; ++token) {
    EXPECT_TRUE(results_[token].Succeeded()) << token;
    EXPECT_THAT(LogLines(Spec(token, {}).log_path),
                ::testing::ElementsAre("out " + std::to_string(token) + " ***"));
  }
}

}  // namespace
}  // namespace relay::keeper
