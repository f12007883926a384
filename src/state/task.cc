#include "state/task.h"

#include <array>

namespace relay::state {
namespace {

using S = TaskState;

constexpr std::array<std::string_view, 10> kNames = {
    "pending",   "queued", "claimed", "running",   "retry_wait",
    "succeeded", "failed", "skipped", "cancelled", "lost",
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
    {S::kQueued, S::kClaimed, cause::kClaimed, "a worker took it (with a lease)"},
    {S::kQueued, S::kCancelled, cause::kCancelled, "the run was cancelled"},
    {S::kClaimed, S::kRunning, cause::kStarted, "the attempt's process is about to start"},
    {S::kClaimed, S::kQueued, cause::kReleased, "the worker gave it back or its lease expired"},
    {S::kClaimed, S::kCancelled, cause::kCancelled, "the run was cancelled"},
    {S::kRunning, S::kSucceeded, cause::kExitZero, "every step exited 0"},
    {S::kRunning, S::kFailed, cause::kExitNonzero, "a step exited non-zero, no retry left"},
    {S::kRunning, S::kFailed, cause::kSignaled, "a step was killed by a signal, no retry left"},
    {S::kRunning, S::kFailed, cause::kTimeout, "the attempt timed out, no retry left"},
    {S::kRunning, S::kFailed, cause::kSpawnError, "the process could not be started"},
    {S::kRunning, S::kFailed, cause::kBadOutputs,
     "every step exited 0 but $RELAY_OUTPUT is malformed, no retry left"},
    {S::kRunning, S::kRetryWait, cause::kRetry,
     "the attempt failed; the retry policy allows another"},
    {S::kRunning, S::kLost, cause::kOwnerDied, "the relay that ran it died"},
    {S::kRunning, S::kCancelled, cause::kCancelled,
     "the run was cancelled; its process group was stopped"},
    {S::kLost, S::kRetryWait, cause::kRetry, "the retry policy retries lost attempts"},
    {S::kRetryWait, S::kQueued, cause::kBackoffElapsed, "the back-off delay elapsed"},
    {S::kRetryWait, S::kCancelled, cause::kCancelled, "the run was cancelled"},
};

constexpr Machine<S> kMachine{"task", kNames, kFinals, kEdges};

}  // namespace

const Machine<TaskState>& TaskMachine() { return kMachine; }

}  // namespace relay::state
