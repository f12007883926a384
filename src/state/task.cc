#include "state/task.h"

#include <array>

namespace relay::state {
namespace {

using S = TaskState;

constexpr std::array<std::string_view, 13> kNames = {
    "pending", "queued",    "claimed", "running",          "retry_wait", "succeeded",     "failed",
    "skipped", "cancelled", "lost",    "waiting_approval", "blocked",    "waiting_child",
};

constexpr std::array<S, 5> kFinals = {S::kSucceeded, S::kFailed, S::kSkipped, S::kCancelled,
                                      S::kLost};

constexpr Edge<S> kEdges[] = {
    {S::kPending, S::kQueued, cause::kNeedsMet, "every need finished and the condition is true"},
    {S::kPending, S::kSkipped, cause::kConditionFalse, "the `if:` condition is false"},
    {S::kPending, S::kSkipped, cause::kNeedsFailed, "a need did not succeed and there is no `if:`"},
    {S::kPending, S::kFailed, cause::kConditionError, "the `if:` condition could not be evaluated"},
    {S::kPending, S::kSucceeded, cause::kReused, "rerun: the result is reused from an earlier run"},
    {S::kPending, S::kCancelled, cause::kCancelled, "the run was cancelled"},
    {S::kPending, S::kCancelled, cause::kInternalError,
     "relay hit an internal error in this run; the run failed"},
    {S::kQueued, S::kClaimed, cause::kClaimed, "a worker took it (with a lease)"},
    {S::kQueued, S::kCancelled, cause::kCancelled, "the run was cancelled"},
    {S::kQueued, S::kCancelled, cause::kInternalError,
     "relay hit an internal error in this run; the run failed"},
    {S::kQueued, S::kWaitingApproval, cause::kApprovalRequired,
     "it is ready, and its `approval:` asks people to decide first"},
    {S::kQueued, S::kBlocked, cause::kConcurrencyWait,
     "its concurrency group is full: it waits its turn"},
    {S::kQueued, S::kSkipped, cause::kConcurrencySkip,
     "its concurrency group is full and on_conflict is skip"},
    {S::kQueued, S::kWaitingChild, cause::kChildStarted,
     "its sub-pipeline's run was created (the event names it)"},
    {S::kQueued, S::kFailed, cause::kChildInvalid,
     "its sub-pipeline could not be started (its `with:` inputs do not fit)"},
    {S::kQueued, S::kFailed, cause::kGroupInvalid, "its concurrency group could not be evaluated"},
    {S::kClaimed, S::kRunning, cause::kStarted, "the attempt's process is about to start"},
    {S::kClaimed, S::kQueued, cause::kReleased, "the worker gave it back or its lease expired"},
    {S::kClaimed, S::kCancelled, cause::kCancelled, "the run was cancelled"},
    {S::kClaimed, S::kCancelled, cause::kInternalError,
     "relay hit an internal error in this run; the run failed"},
    {S::kRunning, S::kSucceeded, cause::kExitZero, "every step exited 0"},
    {S::kRunning, S::kFailed, cause::kExitNonzero, "a step exited non-zero, no retry left"},
    {S::kRunning, S::kFailed, cause::kSignaled, "a step was killed by a signal, no retry left"},
    {S::kRunning, S::kFailed, cause::kTimeout, "the attempt timed out, no retry left"},
    {S::kRunning, S::kFailed, cause::kSpawnError, "the process could not be started"},
    {S::kRunning, S::kFailed, cause::kBadOutputs,
     "every step exited 0 but $RELAY_OUTPUT is malformed, no retry left"},
    {S::kRunning, S::kFailed, cause::kOutputsTooLarge,
     "every step exited 0 but $RELAY_OUTPUT holds more than 1 MiB, no retry left"},
    {S::kRunning, S::kRetryWait, cause::kRetry,
     "the attempt failed; the retry policy allows another"},
    {S::kRunning, S::kLost, cause::kOwnerDied,
     "the relay that ran it died, and so did the keeper of its processes"},
    {S::kRunning, S::kLost, cause::kKeeperDied,
     "the keeper of its processes died: how the attempt ended is unknown"},
    {S::kRunning, S::kCancelled, cause::kCancelled,
     "the run (or the task) was cancelled; its processes were stopped"},
    {S::kRunning, S::kCancelled, cause::kInternalError,
     "relay hit an internal error in this run; its processes were stopped, the run failed"},
    {S::kLost, S::kRetryWait, cause::kRetry, "the retry policy retries lost attempts"},
    {S::kRetryWait, S::kQueued, cause::kBackoffElapsed, "the back-off delay elapsed"},
    {S::kRetryWait, S::kCancelled, cause::kCancelled, "the run was cancelled"},
    {S::kRetryWait, S::kCancelled, cause::kInternalError,
     "relay hit an internal error in this run; the run failed"},
    {S::kWaitingApproval, S::kWaitingApproval, cause::kApprovalRecorded,
     "one reviewer approved; more approvals are required"},
    {S::kWaitingApproval, S::kQueued, cause::kApproved, "enough reviewers approved: it may start"},
    {S::kWaitingApproval, S::kQueued, cause::kApprovalTimeout,
     "nobody decided in time and on_timeout is approve: it may start"},
    {S::kWaitingApproval, S::kSucceeded, cause::kApproved,
     "an approval-only task (no command) was approved"},
    {S::kWaitingApproval, S::kSucceeded, cause::kApprovalTimeout,
     "an approval-only task timed out with on_timeout approve"},
    {S::kWaitingApproval, S::kFailed, cause::kRejected, "a reviewer rejected it"},
    {S::kWaitingApproval, S::kFailed, cause::kApprovalTimeout,
     "nobody decided in time (on_timeout: reject)"},
    {S::kWaitingApproval, S::kCancelled, cause::kCancelled, "the run was cancelled"},
    {S::kWaitingApproval, S::kCancelled, cause::kInternalError,
     "relay hit an internal error in this run; the run failed"},
    {S::kBlocked, S::kQueued, cause::kConcurrencyFree, "its concurrency group has room: its turn"},
    {S::kBlocked, S::kCancelled, cause::kCancelled, "the run was cancelled"},
    {S::kBlocked, S::kCancelled, cause::kInternalError,
     "relay hit an internal error in this run; the run failed"},
    {S::kWaitingChild, S::kSucceeded, cause::kChildSucceeded,
     "its sub-pipeline's run succeeded; its outputs are the task's"},
    {S::kWaitingChild, S::kFailed, cause::kChildFailed, "its sub-pipeline's run failed"},
    {S::kWaitingChild, S::kCancelled, cause::kCancelled,
     "the run, or the sub-pipeline's run, was cancelled"},
    {S::kWaitingChild, S::kCancelled, cause::kInternalError,
     "relay hit an internal error in this run; the run failed"},
};

constexpr EdgeIndex<S, kNames.size(), std::size(kEdges)> kIndex(kEdges, kFinals);
constexpr Machine<S> kMachine{"task",       kNames,       kFinals,      kEdges,
                              kIndex.start, kIndex.edges, kIndex.finals};

}  // namespace

const Machine<TaskState>& TaskMachine() { return kMachine; }

}  // namespace relay::state
