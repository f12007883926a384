// The task-instance state machine (DESIGN.md §3). Stored as text; the enum
// values are never persisted, so they may be reordered, but the names may not
// be renamed: they are in every store and ledger.
//
// A kind of work adds its states and rows here, not special cases in the
// scheduler's loop: approvals wait in `waiting_approval`, a concurrency
// group's queue is `blocked`, a sub-pipeline's run is `waiting_child`.
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
  kLost,             // the keeper of a running attempt is gone; retried like a failure
  kWaitingApproval,  // ready, waiting for people to approve it (durable timeout)
  kBlocked,          // ready, waiting for room in its concurrency group
  kWaitingChild,     // its sub-pipeline runs as a run of its own
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
inline constexpr std::string_view kOutputsTooLarge = "outputs_too_large";
inline constexpr std::string_view kOwnerDied = "owner_died";
inline constexpr std::string_view kKeeperDied = "keeper_died";
inline constexpr std::string_view kRetry = "retry";
inline constexpr std::string_view kBackoffElapsed = "backoff_elapsed";
inline constexpr std::string_view kCancelled = "cancelled";
inline constexpr std::string_view kConditionError = "condition_error";
inline constexpr std::string_view kApprovalRequired = "approval_required";
inline constexpr std::string_view kApprovalRecorded = "approval_recorded";
inline constexpr std::string_view kApproved = "approved";
inline constexpr std::string_view kRejected = "rejected";
inline constexpr std::string_view kApprovalTimeout = "approval_timeout";
inline constexpr std::string_view kConcurrencyWait = "concurrency_wait";
inline constexpr std::string_view kConcurrencyFree = "concurrency_free";
inline constexpr std::string_view kConcurrencySkip = "concurrency_skip";
inline constexpr std::string_view kChildStarted = "child_started";
inline constexpr std::string_view kChildInvalid = "child_invalid";
inline constexpr std::string_view kGroupInvalid = "group_invalid";
inline constexpr std::string_view kChildSucceeded = "child_succeeded";
inline constexpr std::string_view kChildFailed = "child_failed";
inline constexpr std::string_view kInternalError = "internal_error";
}  // namespace cause

}  // namespace relay::state
