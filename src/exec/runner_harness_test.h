// Test helpers for driving an exec::Runner with real processes: a harness
// that takes in what Wait reports (and acknowledges results, as relay does),
// and checks on processes and logs. Shared by the runner behaviour suite
// (exec/runner_conformance_test.h) and the keeper's own tests.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/file_util.h"
#include "base/strings.h"
#include "exec/runner.h"

namespace relay::exec::harness {

inline constexpr Micros kLimit = 3 * kSecond;  // a test failing here is stuck, not slow

class RunnerHarness {
 protected:
  Started Start(AttemptSpec spec) {
    Started s = runner_->Start(std::move(spec));
    if (s.pid > 0) steps_[s.token].push_back(s);
    return s;
  }

  // Takes in what Wait returned and, as relay does once it has committed
  // them, acknowledges the results (else a keeper records them on exit).
  void Collect(const WaitResult& r) {
    EXPECT_EQ(r.interrupt_signal, 0);
    for (const Started& s : r.started) steps_[s.token].push_back(s);
    std::vector<uint64_t> done;
    for (const AttemptResult& res : r.finished) {
      results_[res.token] = res;
      done.push_back(res.token);
    }
    if (!done.empty()) runner_->Acknowledge(done);
  }

  // Waits until attempt `token` finishes; collects Started reports and the
  // results of other attempts finishing meanwhile.
  AttemptResult WaitFor(uint64_t token) {
    Micros give_up = MonotonicNow() + kLimit;
    while (results_.count(token) == 0 && MonotonicNow() < give_up)
      Collect(runner_->Wait(100 * kMillisecond));
    if (results_.count(token) == 0) {
      ADD_FAILURE() << "attempt " << token << " did not finish";
      AttemptResult none;
      none.exit_code = -999;
      return none;
    }
    return results_[token];
  }

  // The process of the attempt's first step: Start tells (in-process), or
  // Wait does (keeper). Waits for it at most kLimit; 0 if it never came.
  int FirstPid(uint64_t token) {
    Micros give_up = MonotonicNow() + kLimit;
    while (steps_[token].empty() && results_.count(token) == 0 && MonotonicNow() < give_up)
      Collect(runner_->Wait(20 * kMillisecond));
    return steps_[token].empty() ? 0 : steps_[token][0].pid;
  }

  // Stops what still runs (destroying a keeper's runner would leave it
  // running, on purpose), then destroys the runner.
  void StopRunner() {
    if (runner_ != nullptr && runner_->running() > 0) {
      runner_->KillAll();
      Micros give_up = MonotonicNow() + kLimit;
      while (runner_->running() > 0 && MonotonicNow() < give_up)
        Collect(runner_->Wait(100 * kMillisecond));
    }
    runner_.reset();
  }

  std::unique_ptr<Runner> runner_;
  std::map<uint64_t, std::vector<Started>> steps_;  // each step's process, in order
  std::map<uint64_t, AttemptResult> results_;
};

// A log's lines without their timestamps: "out hello".
inline std::vector<std::string> LogLines(const std::string& log_path) {
  Result<std::string> text = ReadFile(log_path);
  std::vector<std::string> lines;
  if (!text.ok()) return lines;
  for (const std::string& line : Split(*text, '\n')) {
    if (line.size() > 25) lines.push_back(line.substr(25));
  }
  return lines;
}

// Whether process `pid` is gone (or dead, not yet reaped) within kLimit.
inline bool GoneOrZombie(int pid) {
  for (Micros give_up = MonotonicNow() + kLimit; MonotonicNow() < give_up; usleep(2000)) {
    Result<std::string> stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
    if (!stat.ok()) return true;
    size_t close = stat->rfind(')');
    if (close != std::string::npos && stat->compare(close, 4, ") Z ") == 0) return true;
  }
  return false;
}

inline int ReadPid(const std::string& path) {
  Result<std::string> text = ReadFile(path);
  return text.ok() ? std::atoi(text->c_str()) : 0;
}

}  // namespace relay::exec::harness
