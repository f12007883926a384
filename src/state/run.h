// The run state machine (DESIGN.md §3). Names are stored; never rename them.
#pragma once

#include "state/machine.h"

namespace relay::state {

enum class RunState : uint8_t {
  kPending,
  kRunning,
  kCancelling,  // a cancel was requested; process groups are being stopped
  kSucceeded,
  kFailed,
  kCancelled,
  kQueued,  // waiting for room in the pipeline's concurrency group
};

const Machine<RunState>& RunMachine();

inline std::string_view Name(RunState s) { return RunMachine().Name(s); }
inline bool IsFinal(RunState s) { return RunMachine().IsFinal(s); }

namespace run_cause {
inline constexpr std::string_view kCreated = "created";
inline constexpr std::string_view kStarted = "started";
inline constexpr std::string_view kResumed = "resumed";
inline constexpr std::string_view kAllSucceeded = "all_succeeded";
inline constexpr std::string_view kTaskFailed = "task_failed";
inline constexpr std::string_view kCancelRequested = "cancel_requested";
inline constexpr std::string_view kInterrupted = "interrupted";
inline constexpr std::string_view kCancelled = "cancelled";
inline constexpr std::string_view kConcurrencyWait = "concurrency_wait";
inline constexpr std::string_view kConcurrencySkip = "concurrency_skip";
inline constexpr std::string_view kConcurrencyCancel = "concurrency_cancel";
inline constexpr std::string_view kParentCancelled = "parent_cancelled";
inline constexpr std::string_view kChildCancelled = "child_cancelled";
inline constexpr std::string_view kInternalError = "internal_error";
inline constexpr std::string_view kTaskCancelled = "task_cancelled";
}  // namespace run_cause

}  // namespace relay::state
