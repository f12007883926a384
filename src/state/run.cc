#include "state/run.h"

#include <array>

namespace relay::state {
namespace {

using S = RunState;

constexpr std::array<std::string_view, 7> kNames = {
    "pending", "running", "cancelling", "succeeded", "failed", "cancelled", "queued"};

constexpr std::array<S, 3> kFinals = {S::kSucceeded, S::kFailed, S::kCancelled};

constexpr Edge<S> kEdges[] = {
    {S::kPending, S::kRunning, run_cause::kStarted,
     "a relay process took ownership and started it"},
    {S::kPending, S::kCancelled, run_cause::kCancelled, "cancelled before it started"},
    {S::kPending, S::kQueued, run_cause::kConcurrencyWait,
     "its concurrency group is full: it waits its turn"},
    {S::kPending, S::kCancelled, run_cause::kConcurrencySkip,
     "its concurrency group was full and on_conflict is skip"},
    {S::kPending, S::kFailed, run_cause::kInternalError,
     "relay hit an internal error in this run (the reason says which)"},
    {S::kQueued, S::kRunning, run_cause::kStarted, "its concurrency group has room: it started"},
    {S::kQueued, S::kQueued, run_cause::kResumed,
     "`relay resume` took over a queued run from a relay that died"},
    {S::kQueued, S::kCancelled, run_cause::kCancelled, "cancelled while it waited for its group"},
    {S::kQueued, S::kFailed, run_cause::kInternalError,
     "relay hit an internal error in this run (the reason says which)"},
    {S::kRunning, S::kRunning, run_cause::kResumed,
     "`relay resume` took over from a relay that died"},
    {S::kRunning, S::kSucceeded, run_cause::kAllSucceeded,
     "every task instance succeeded or was skipped"},
    {S::kRunning, S::kFailed, run_cause::kTaskFailed,
     "a task instance failed (without continue_on_error)"},
    {S::kRunning, S::kCancelled, run_cause::kTaskCancelled,
     "a task was cancelled on its own (cancel-running of its group, relay cancel of a task)"},
    {S::kRunning, S::kFailed, run_cause::kInternalError,
     "relay hit an internal error in this run (the reason says which)"},
    {S::kRunning, S::kCancelling, run_cause::kCancelRequested,
     "`relay cancel` or the API asked to stop"},
    {S::kRunning, S::kCancelling, run_cause::kInterrupted, "Ctrl-C (SIGINT), SIGTERM or SIGHUP"},
    {S::kRunning, S::kCancelling, run_cause::kConcurrencyCancel,
     "a newer run of its concurrency group took its place (cancel-running)"},
    {S::kRunning, S::kCancelling, run_cause::kParentCancelled,
     "the run that called it as a sub-pipeline was cancelled"},
    {S::kRunning, S::kCancelling, run_cause::kChildCancelled,
     "one of its sub-pipelines' runs was cancelled"},
    {S::kCancelling, S::kCancelling, run_cause::kResumed,
     "`relay resume` finishes a cancel a dead relay began"},
    {S::kCancelling, S::kCancelled, run_cause::kCancelled, "every process group was stopped"},
    {S::kCancelling, S::kFailed, run_cause::kInternalError,
     "relay hit an internal error in this run (the reason says which)"},
};

constexpr EdgeIndex<S, kNames.size(), std::size(kEdges)> kIndex(kEdges, kFinals);
constexpr Machine<S> kMachine{"run",        kNames,       kFinals,      kEdges,
                              kIndex.start, kIndex.edges, kIndex.finals};

}  // namespace

const Machine<RunState>& RunMachine() { return kMachine; }

}  // namespace relay::state
