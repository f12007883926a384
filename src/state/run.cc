#include "state/run.h"

#include <array>

namespace relay::state {
namespace {

using S = RunState;

constexpr std::array<std::string_view, 6> kNames = {"pending",   "running", "cancelling",
                                                    "succeeded", "failed",  "cancelled"};

constexpr std::array<S, 3> kFinals = {S::kSucceeded, S::kFailed, S::kCancelled};

constexpr Edge<S> kEdges[] = {
    {S::kPending, S::kRunning, run_cause::kStarted,
     "a relay process took ownership and started it"},
    {S::kPending, S::kCancelled, run_cause::kCancelled, "cancelled before it started"},
    {S::kRunning, S::kRunning, run_cause::kResumed,
     "`relay resume` took over from a relay that died"},
    {S::kRunning, S::kSucceeded, run_cause::kAllSucceeded,
     "every task instance succeeded or was skipped"},
    {S::kRunning, S::kFailed, run_cause::kTaskFailed,
     "a task instance failed (without continue_on_error)"},
    {S::kRunning, S::kCancelling, run_cause::kCancelRequested,
     "`relay cancel` or the API asked to stop"},
    {S::kRunning, S::kCancelling, run_cause::kInterrupted, "Ctrl-C (SIGINT), SIGTERM or SIGHUP"},
    {S::kCancelling, S::kCancelling, run_cause::kResumed,
     "`relay resume` finishes a cancel a dead relay began"},
    {S::kCancelling, S::kCancelled, run_cause::kCancelled, "every process group was stopped"},
};

constexpr Machine<S> kMachine{"run", kNames, kFinals, kEdges};

}  // namespace

const Machine<RunState>& RunMachine() { return kMachine; }

}  // namespace relay::state
