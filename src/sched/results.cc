// What an attempt's result does to its instance: success (with outputs),
// failure, timeout, a lost keeper; and the retry policy.
#include <csignal>

#include "base/duration.h"
#include "base/file_util.h"
#include "base/strings.h"
#include "exec/runner.h"
#include "sched/outputs.h"
#include "sched/run_driver.h"

namespace relay::sched {

using state::TaskState;
namespace tc = state::cause;

namespace {

// As Actions caps a job's outputs (docs/pipeline.md).
constexpr size_t kMaxOutputsBytes = 1 << 20;

// The limit the task set, not how long the attempt took: a step that
// ignores SIGTERM lives on for the kill grace, which is its own news.
std::string TimeoutReason(Micros limit, Micros took, int signal) {
  std::string reason = "timed out after " + FormatDuration(limit);
  if (signal == SIGKILL && took > limit)
    reason += "; it ignored SIGTERM and was killed " + FormatDuration(took - limit) + " later";
  return reason;
}

// A log that could not be written (disk full, a path too long) is named
// in the reason: otherwise the attempt's output would vanish without a trace.
std::string LogNote(const exec::AttemptResult& r) {
  return r.log_error.empty() ? "" : "; " + r.log_error;
}

}  // namespace

void RunDriver::FinishAttempt(int32_t index, const exec::AttemptResult& r) {
  InstanceModel& m = model_.inst[index];
  const int32_t task = model_.TaskOf(index);
  m.in_slot = false;
  --model_.in_slots;
  TaskModel& tm = model_.tasks[task];
  --tm.running;
  if (!tm.deferred.empty()) {
    for (int32_t d : tm.deferred) model_.PushReady(d);
    model_.deferred -= static_cast<int32_t>(tm.deferred.size());
    tm.deferred.clear();
  }
  // Already final: the run failed (FailInternal) while the process ran; or
  // it is about to (a bug was found): nothing more is decided for it.
  if (state::IsFinal(m.row.state) || !broken_.empty()) return;
  store::TaskEffects fx;
  fx.ended_at = r.ended_at ? r.ended_at : host_->clock()->Now();
  fx.exit_code = r.exit_code;
  fx.signal = r.signal;
  const Micros took = *fx.ended_at - m.row.started_at;
  if (r.cancelled || (forced_ && !r.Succeeded())) {
    Transition(index, TaskState::kCancelled, tc::kCancelled,
               cancelling_             ? "stopped: the run was cancelled"
               : m.stop_reason.empty() ? "stopped: the task was cancelled"
                                       : "stopped: " + m.stop_reason,
               std::move(fx));
    MarkFinal(index);
    return;
  }
  if (r.keeper_lost) {
    // Its steps may live on, orphaned: what is left of this attempt goes
    // before it runs again, as for an attempt lost with its relay.
    exec::Leftovers left;
    left.pgid = m.row.pgid;
    left.marker = "RELAY_RUN_ID=" + run_.id;
    left.tasks = {m.row.name};
    exec::KillLeftovers(left);
    fx.exit_code.reset();
    ++m.lost;
    Transition(index, TaskState::kLost, tc::kKeeperDied,
               "the keeper of its processes died while attempt " + std::to_string(m.row.attempts) +
                   " ran: how it ended is unknown",
               std::move(fx));
    FailOrRetry(index, FailureKind::kLost, -1, tc::kKeeperDied, m.row.reason, {});
    return;
  }
  if (r.Succeeded()) {
    const spec::TaskSpec& spec = model_.pipeline().tasks[task];
    std::string reason = "exit 0 in " + FormatDuration(took);
    const exec::Masker* mask = secrets_.empty() ? nullptr : secrets_.masker().get();
    if (!spec.outputs.empty() || mask) {
      const std::string out_path = m.row.log_path.substr(0, m.row.log_path.size() - 4) + ".out";
      Result<std::string> text = ReadFileCapped(out_path, kMaxOutputsBytes);
      if (!text.ok() && text.status().code() == Code::kInvalid && FileExists(out_path)) {
        FailOrRetry(index, FailureKind::kFailure, 0, tc::kOutputsTooLarge,
                    "$RELAY_OUTPUT is larger than " + FormatByteSize(kMaxOutputsBytes) +
                        ", the limit of a task's outputs" + LogNote(r),
                    std::move(fx));
        return;
      }
      std::string scratch;
      if (text.ok() && mask && mask->Apply(*text, &scratch).data() != text->data()) {
        // The file stays next to the log for debugging: hide secrets there.
        (void)WriteFileAtomic(out_path, scratch);
      }
      if (!spec.outputs.empty()) {
        ParsedOutputs parsed = ParseOutputs(text.ok() ? *text : "", spec.outputs, mask);
        if (!parsed.error.empty()) {
          FailOrRetry(index, FailureKind::kFailure, 0, tc::kBadOutputs, parsed.error + LogNote(r),
                      std::move(fx));
          return;
        }
        // As in GitHub Actions, an output holding a secret is dropped, not
        // masked: a dependant would otherwise run with "***" in place of a
        // value and no sign of why.
        for (auto& [key, value] : parsed.values.items()) {
          const std::string& v = value.get_ref<const std::string&>();
          if (!mask || mask->Apply(v, &scratch).data() == v.data()) continue;
          value = "";
          reason += "; output '" + key + "' dropped: it contains a secret";
        }
        // Whatever bytes the step wrote: invalid UTF-8 becomes U+FFFD, since
        // outputs travel as JSON (to the ledger and to expressions).
        fx.outputs = parsed.values.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      }
    }
    reason += LogNote(r);
    Transition(index, TaskState::kSucceeded, tc::kExitZero, std::move(reason), std::move(fx));
    MarkFinal(index);
    return;
  }
  if (!r.spawn_error.empty()) {
    // The error may quote the command or its cwd, which may hold a secret.
    std::string error = secrets_.Redact(r.spawn_error);
    CapReason(&error);  // also kept as the event's "error" fact
    FailOrRetry(index, FailureKind::kFailure, -1, tc::kSpawnError, error, std::move(fx),
                events::DataBuilder().Add("error", error));
  } else if (r.timed_out) {
    FailOrRetry(index, FailureKind::kTimeout, r.exit_code, tc::kTimeout,
                TimeoutReason(tm.timeout, took, r.signal) + LogNote(r), std::move(fx));
  } else if (r.signal) {
    FailOrRetry(index, FailureKind::kFailure, -1, tc::kSignaled,
                "killed by signal " + std::to_string(r.signal) + LogNote(r), std::move(fx));
  } else {
    std::string what = "exit code " + std::to_string(r.exit_code);
    if (r.failed_step > 0) what += " in step " + std::to_string(r.failed_step + 1);
    what += LogNote(r);
    events::DataBuilder facts;
    if (r.failed_step > 0) facts.Add("step", r.failed_step + 1);
    FailOrRetry(index, FailureKind::kFailure, r.exit_code, tc::kExitNonzero, what, std::move(fx),
                std::move(facts));
  }
}

void RunDriver::FailOrRetry(int32_t index, FailureKind kind, int exit_code,
                            std::string_view final_cause, std::string reason, store::TaskEffects fx,
                            events::DataBuilder facts) {
  InstanceModel& m = model_.inst[index];
  const spec::RetrySpec& policy = model_.tasks[model_.TaskOf(index)].retry;
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  RetryDecision d = DecideRetry(policy, m.row.attempts - m.lost, kind, exit_code, uniform(rng_));
  if (d.retry && !cancelling_) {
    fx.due_at = host_->clock()->Now() + d.delay;
    // Counted as retry.attempts counts: lost attempts never reported a
    // result, so they do not use one up (the message says so, or "retry 2
    // of 1" would read as a bug).
    std::string why = reason + " (" + FailureKindName(kind) + "); ";
    if (kind == FailureKind::kLost) {
      why += "attempt " + std::to_string(m.row.attempts + 1) + " in " + FormatDuration(d.delay) +
             " (a lost attempt does not count toward retry.attempts)";
    } else {
      why += "retry " + std::to_string(m.row.attempts - m.lost + 1) + " of " +
             std::to_string(policy.attempts) + " in " + FormatDuration(d.delay);
    }
    const Micros due = *fx.due_at;
    // Its group's place is given back: another may run while it waits.
    ReleaseGroup(index);
    Transition(index, TaskState::kRetryWait, tc::kRetry, std::move(why), std::move(fx),
               std::move(facts));
    model_.timers.push({due, index});
    return;
  }
  if (policy.attempts > 1 && m.row.attempts - m.lost >= policy.attempts)
    reason += " (after " + std::to_string(m.row.attempts) + " attempts)";
  if (m.row.state == TaskState::kLost) {
    // Lost and not retried: `lost` is itself final.
    MarkFinal(index);
    return;
  }
  Transition(index, TaskState::kFailed, final_cause, std::move(reason), std::move(fx),
             std::move(facts));
  MarkFinal(index);
}

}  // namespace relay::sched
