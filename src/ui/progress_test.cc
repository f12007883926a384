#include "ui/progress.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "support/temp_dir.h"

namespace relay::ui {
namespace {

using state::TaskState;

// Drives a Progress into a memory stream with a fake clock, so that every
// byte printed can be compared.
class ProgressTest : public ::testing::Test {
 protected:
  void Start(TerminalInfo term, int tasks = 3) {
    out_ = open_memstream(&buf_, &size_);
    progress_ = std::make_unique<Progress>(out_, term, &clock_);
    run_.id = "01RUN";
    run_.pipeline = "demo";
    rows_.resize(tasks);
    for (int i = 0; i < tasks; ++i) {
      rows_[i].index = i;
      rows_[i].name = "t" + std::to_string(i);
    }
    std::vector<const store::TaskRow*> ptrs;
    for (const auto& r : rows_) ptrs.push_back(&r);
    progress_->OnRunStarted(run_, ptrs, 0);
  }

  void Change(int i, TaskState to, std::string reason = "", std::string cause = "") {
    store::TaskRow& row = rows_[i];
    TaskState from = row.state;
    row.state = to;
    row.reason = std::move(reason);
    row.cause = std::move(cause);
    if (to == TaskState::kRunning) {
      ++row.attempts;
      row.started_at = clock_.Now();
    } else {
      row.ended_at = clock_.Now();
    }
    progress_->OnTaskChanged(row, from, to);
  }

  std::string Output() {
    std::fflush(out_);
    return std::string(buf_, size_);
  }

  void TearDown() override {
    progress_.reset();
    if (out_) std::fclose(out_);
    std::free(buf_);
  }

  FakeClock clock_{1'700'000'000 * kSecond};
  store::RunRow run_;
  std::vector<store::TaskRow> rows_;
  std::unique_ptr<Progress> progress_;
  FILE* out_ = nullptr;
  char* buf_ = nullptr;
  size_t size_ = 0;
};

TEST_F(ProgressTest, PlainLines) {
  testing::TempDir dir;
  Start(TerminalInfo{});
  clock_.Advance(205 * kMillisecond);
  Change(0, TaskState::kRunning);
  clock_.Advance(12'340 * kMillisecond);
  Change(0, TaskState::kSucceeded, "exit 0");
  Change(1, TaskState::kRunning);
  Change(1, TaskState::kRetryWait, "exit 1; attempt 2 in 1.0s");
  clock_.Advance(90 * kSecond);
  Change(1, TaskState::kRunning);
  rows_[1].log_path = dir.Join("1.log");
  std::ofstream(rows_[1].log_path) << "out\n";
  Change(1, TaskState::kFailed, "exit 2");
  Change(2, TaskState::kSucceeded, "reused from run 01OLD", "reused");
  progress_->OnNotice("waiting for 2 tasks");
  run_.state = state::RunState::kCancelling;
  run_.reason = "interrupted";
  progress_->OnRunChanged(run_, state::RunState::kRunning);
  std::string want =
      "relay: run 01RUN of demo (3 tasks)\n"
      "  +205ms start  t0\n"
      "  +12.5s ok     t0  12.3s\n"
      "  +12.5s start  t1\n"
      "  +12.5s retry  t1: exit 1; attempt 2 in 1.0s\n"
      "  +1m42s start  t1 (attempt 2)\n";
  want += "  +1m42s FAIL   t1: exit 2  (log: " + rows_[1].log_path + ")\n";
  want +=
      "  +1m42s ok     t2  reused from run 01OLD\n"
      "  +1m42s note   waiting for 2 tasks\n"
      "  +1m42s cancel cancelling the run: interrupted\n";
  EXPECT_EQ(Output(), want);
}

TEST_F(ProgressTest, PlainFailuresWithoutLogs) {
  Start(TerminalInfo{});
  // Attempts have a log path even when they printed nothing (no file).
  rows_[1].log_path = "/nonexistent/1.log";
  Change(0, TaskState::kRunning);
  Change(0, TaskState::kFailed, "exit 1");
  Change(1, TaskState::kRunning);
  Change(1, TaskState::kLost, "relay died");
  Change(2, TaskState::kSkipped, "needs t0, which failed");
  rows_[0].log_path = "/nonexistent/0.log";
  Change(0, TaskState::kRunning);
  Change(0, TaskState::kCancelled, "cancelled");
  run_.state = state::RunState::kFailed;
  progress_->PrintSummary(run_, {&rows_[0], &rows_[1], &rows_[2]});
  EXPECT_EQ(Output(),
            "relay: run 01RUN of demo (3 tasks)\n"
            "    +0ms start  t0\n"
            "    +0ms FAIL   t0: exit 1  (no output)\n"
            "    +0ms start  t1\n"
            "    +0ms lost   t1: relay died  (no output)\n"
            "    +0ms skip   t2: needs t0, which failed\n"
            "    +0ms start  t0 (attempt 2)\n"
            "    +0ms cancel t0\n"
            "run 01RUN failed in 0ms: 0 succeeded, 1 failed, 1 skipped, 1 cancelled\n"
            "  failed: t1 — relay died (no output)\n");
}

TEST_F(ProgressTest, ColorLines) {
  Start(TerminalInfo{.live = false, .color = true});
  clock_.Advance(2 * kHour);
  Change(0, TaskState::kRunning);
  Change(0, TaskState::kSucceeded, "exit 0");
  clock_.Advance(1000 * kHour);  // wider than the column: not cut
  Change(1, TaskState::kRunning);
  Change(1, TaskState::kRetryWait, "exit 1");
  EXPECT_EQ(Output(),
            "relay: run 01RUN of demo (3 tasks)\n"
            "\x1b[2m  +2h00m\x1b[0m \x1b[1mstart \x1b[0m t0\n"
            "\x1b[2m  +2h00m\x1b[0m \x1b[32mok    \x1b[0m t0  0ms\n"
            "\x1b[2m+1002h00m\x1b[0m \x1b[1mstart \x1b[0m t1\n"
            "\x1b[2m+1002h00m\x1b[0m \x1b[33mretry \x1b[0m t1: exit 1\n");
}

TEST_F(ProgressTest, LiveBlock) {
  Start(TerminalInfo{.live = true, .color = false, .width = 30});
  Change(0, TaskState::kRunning);
  rows_[1].name = "a-task-whose-name-is-longer-than-the-terminal";
  Change(1, TaskState::kRunning);
  Change(1, TaskState::kRetryWait, "exit 1");
  Change(1, TaskState::kRunning);
  clock_.Advance(1500 * kMillisecond);
  progress_->OnTick(clock_.Now());
  Change(0, TaskState::kSucceeded, "exit 0");
  clock_.Advance(100 * kMillisecond);
  progress_->OnCommitted();
  EXPECT_EQ(Output(),
            "relay: run 01RUN of demo (3 tasks)\n"
            "    +0ms retry  a-task-whose-name-is-longer-than-the-terminal: exit 1\n"
            "  ▶ t0  1.5s\n"
            "  ▶ a-task-whose-name-is-longe\n"
            "[0/3] 2 running, 0 waiting, 0 failed, 1 pending\n"
            "\x1b[3A\x1b[J"
            "   +1.5s ok     t0  1.5s\n"
            "  ▶ a-task-whose-name-is-longe\n"
            "[1/3] 1 running, 0 waiting, 0 failed, 1 pending\n");
}

}  // namespace
}  // namespace relay::ui
