// The task-instance state machine (DESIGN.md §3). Stored as text; the enum
// values are never persisted, so they may be reordered, but the names may not
// be renamed: they are in every store and ledger.
//
// New kinds of work (gates, approvals, sub-pipelines) add states and rows
// here, e.g. queued → waiting_approval → queued, without touching the
// scheduler's core loop.
#pragma once

#include "state/machine.h"

namespace relay::state {

enum class TaskState : uint8_t {
  kPending,    // waiting for its needs to finish
  kQueued,     // ready to run, waiting for a worker slot
  kClaimed,    // a worker owns it (lease), process not started yet
  kRunning,    // an attempt's process is (or may be) alive
  kRetryWait,  // waiting for its back-off to elapse (durable due time)
  kSucceeded,
  kFailed,
  kSkipped,  // its condition was false or a need did not succeed
  kCancelled,
  kLost,  // the owner of a running attempt died; retried like a failure
};

const Machine<TaskState>& TaskMachine();

inline std::string_view Name(TaskState s) { return TaskMachine().Name(s); }
inline bool IsFinal(TaskState s) { return TaskMachine().IsFinal(s); }

// Causes, as stored in events. Keep in sync with the table in task.cc.
namespace cause {
inline constexpr std::string_view kNeedsMet = "needs_met";
inline constexpr std::string_view kConditionFalse = "condition_false";
inline constexpr std::string_view kNeedsFailed = "needs_failed";
inline constexpr std::string_view kReused = "reused";
inline constexpr std::string_view kClaimed = "claimed";
inline constexpr std::string_view kReleased = "released";
inline constexpr std::string_view kStarted = "started";
inline constexpr std::string_view kExitZero = "exit_zero";
inline constexpr std::string_view kExitNonzero = "exit_nonzero";
inline constexpr std::string_view kSignaled = "signaled";
inline constexpr std::string_view kTimeout = "timeout";
inline constexpr std::string_view kSpawnError = "spawn_error";
inline constexpr std::string_view kBadOutputs = "bad_outputs";
inline constexpr std::string_view kOwnerDied = "owner_died";
inline constexpr std::string_view kRetry = "retry";
inline constexpr std::string_view kBackoffElapsed = "backoff_elapsed";
inline constexpr std::string_view kCancelled = "cancelled";
inline constexpr std::string_view kConditionError = "condition_error";
}  // namespace cause

}  // namespace relay::state
