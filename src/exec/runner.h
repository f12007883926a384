// exec: running one attempt of a task as operating-system processes. Knows
// nothing of runs, stores or pipelines: the scheduler hands it an
// AttemptSpec and later collects an AttemptResult.
//
// An attempt is a list of steps run one after another in the same working
// directory (each in its own process, all in one new process group), stdin
// from /dev/null, stdout and stderr captured line by line into one log file
// with timestamps. The attempt ends at the first step that fails.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/status.h"

namespace relay::exec {

struct AttemptSpec {
  uint64_t token = 0;  // the caller's handle for this attempt; echoed in results
  // Each step is a command line. A line without shell syntax whose program is
  // found on PATH is exec'd directly; anything else runs as shell + {line}.
  std::vector<std::string> steps;
  std::vector<std::string> shell = {"/bin/sh", "-c"};
  bool force_shell = false;  // the pipeline named a shell: never exec directly
  // Added to (and overriding) the inherited environment.
  std::vector<std::pair<std::string, std::string>> env;
  std::string cwd;       // "" = inherit
  std::string log_path;  // created (with parents) when the first byte arrives
  std::vector<std::string> secrets;  // values replaced by *** in the log
  Micros timeout = 0;                // whole attempt; 0 = none
  Micros kill_grace = 5 * kSecond;   // SIGTERM → SIGKILL delay
};

// Identifies the processes of a running attempt, for recording in the store
// so a later `relay resume` can kill what a dead relay left behind.
struct Started {
  uint64_t token = 0;
  int pid = 0;   // current step's process
  int pgid = 0;  // the attempt's process group (same for every step)
};

struct AttemptResult {
  uint64_t token = 0;
  int exit_code = 0;   // of the last step run; -1 when killed by a signal
  int signal = 0;      // the signal that killed it, or 0
  bool timed_out = false;
  bool cancelled = false;        // stopped by Cancel()
  std::string spawn_error;       // non-empty: the process could not start
  int failed_step = -1;          // index of the failing step, -1 if none
  Micros started_at = 0;         // wall clock
  Micros ended_at = 0;
  Micros user_cpu = 0;
  Micros system_cpu = 0;
  int64_t max_rss_kb = 0;
  bool Succeeded() const { return spawn_error.empty() && exit_code == 0 && signal == 0 && !timed_out && !cancelled; }
};

// What Wait returned: processes that started a new step, attempts that
// finished, and whether a SIGINT/SIGTERM arrived while waiting.
struct WaitResult {
  std::vector<Started> started;
  std::vector<AttemptResult> finished;
  int interrupt_signal = 0;  // SIGINT or SIGTERM received, else 0
};

class Runner {
 public:
  virtual ~Runner() = default;

  // Starts the first step of an attempt. On success the process exists and
  // Started describes it; failing to spawn (missing cwd, no such program) is
  // reported as a finished attempt with spawn_error by the next Wait, not here.
  virtual Started Start(const AttemptSpec& spec) = 0;

  // Blocks until an attempt finishes, a step starts, a signal arrives, or
  // `timeout` elapses (0: poll; negative: no limit).
  virtual WaitResult Wait(Micros timeout) = 0;

  // Stops an attempt: SIGTERM to its group, SIGKILL after the grace period.
  // The attempt is later reported finished with cancelled = true.
  virtual void Cancel(uint64_t token) = 0;

  // SIGKILL to every group now (second Ctrl-C).
  virtual void KillAll() = 0;

  virtual size_t running() const = 0;
};

// The real runner (posix_spawn, process groups, poll). Installs SIGINT,
// SIGTERM and SIGCHLD handling for the lifetime of the object.
std::unique_ptr<Runner> NewPosixRunner();

// Kills (SIGKILL) process group `pgid` and every process whose environment
// holds `marker` (e.g. "RELAY_RUN_ID=01J…"), so descendants that left the
// group are found too. Returns how many processes were signalled.
int KillLeftovers(int pgid, const std::string& marker);

}  // namespace relay::exec
