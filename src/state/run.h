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
}  // namespace run_cause

}  // namespace relay::state
