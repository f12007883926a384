// Deciding what an instance whose needs are complete does next (run, skip),
// and the gates on its way to a start: its approval and its concurrency group.
#include "base/duration.h"
#include "sched/context.h"
#include "sched/run_driver.h"

namespace relay::sched {

using state::TaskState;
namespace tc = state::cause;

void RunDriver::Decide(int32_t index) {
  const int32_t task = model_.TaskOf(index);
  TaskModel& tm = model_.tasks[task];
  const bool status_aware = tm.condition && tm.condition->UsesStatusFunction();
  if (cancelling_ && (!status_aware || forced_)) {
    Transition(index, TaskState::kCancelled, tc::kCancelled, "the run was cancelled");
    MarkFinal(index);
    return;
  }
  expr::StatusFunctions st = model_.StatusFor(task, cancelling_);
  if (tm.condition) {
    if (!tm.needs_ctx) tm.needs_ctx = model_.NeedsContext(task);
    InstanceContext ctx(&plan_->inputs, &builder_.env(), &plan_->instances[index].matrix,
                        &*tm.needs_ctx, &run_ctx_, st);
    auto value = tm.condition->Evaluate(ctx);
    if (!value.ok()) {
      Transition(index, TaskState::kFailed, tc::kConditionError,
                 "if: " + tm.condition->source() + ": " + value.status().message());
      MarkFinal(index);
      return;
    }
    bool truthy = expr::IsTruthy(*value);
    if (!status_aware && !st.success) {
      Transition(index, TaskState::kSkipped, tc::kNeedsFailed,
                 model_.NeedsFailureReason(task, cancelling_));
      MarkFinal(index);
      return;
    }
    if (!truthy) {
      Transition(index, TaskState::kSkipped, tc::kConditionFalse,
                 "condition `" + tm.condition->source() + "` was false");
      MarkFinal(index);
      return;
    }
  } else if (!st.success) {
    Transition(index, TaskState::kSkipped, tc::kNeedsFailed,
               model_.NeedsFailureReason(task, cancelling_));
    MarkFinal(index);
    return;
  }
  Transition(index, TaskState::kQueued, tc::kNeedsMet, "ready");
  Ready(index);
}

// A queued instance waits for people first (its `approval:`), then for its
// turn in the ready queue. Approval is asked once: a retry goes straight on.
void RunDriver::Ready(int32_t index) {
  InstanceModel& m = model_.inst[index];
  const auto& approval = model_.SpecOf(index).approval;
  if (!approval || m.approved) {
    model_.PushReady(index);
    return;
  }
  store::TaskEffects fx;
  std::string reason = "waiting for approval: relay approve " + run_.id + " " + m.row.name;
  if (approval->required > 1)
    reason += " (" + std::to_string(approval->required) + " approvals needed)";
  if (approval->timeout) {
    fx.due_at = host_->clock()->Now() + *approval->timeout;
    reason +=
        "; " +
        std::string(approval->on_timeout == spec::ApprovalSpec::OnTimeout::kApprove ? "approved"
                                                                                    : "rejected") +
        " by itself after " + FormatDuration(*approval->timeout);
    model_.timers.push({*fx.due_at, index});
  }
  Transition(index, TaskState::kWaitingApproval, tc::kApprovalRequired, std::move(reason),
             std::move(fx));
}

// Its concurrency group's place, asked of the store (shared by every relay
// on it). False when the instance must wait (blocked) or was skipped.
bool RunDriver::PassGroup(int32_t index) {
  InstanceModel& m = model_.inst[index];
  if (m.holds_group) return true;
  const spec::ConcurrencySpec& spec = *model_.SpecOf(index).concurrency;
  if (m.group.empty()) {
    auto group = builder_.RenderGroup(index, Scope());
    if (!group.ok()) {
      Transition(index, TaskState::kFailed, tc::kGroupInvalid, group.status().message());
      MarkFinal(index);
      return false;
    }
    m.group = std::move(group).value();
  }
  const Micros now = host_->clock()->Now();
  auto got = host_->store()->AcquireGroup(m.group, spec.limit, {run_.id, index, now});
  if (got.ok() && got->acquired) {
    m.holds_group = true;
    return true;
  }
  std::string held;
  if (got.ok()) {
    for (const auto& h : got->holders) {
      if (!held.empty()) held += ", ";
      held += "run " + h.run_id + (h.index >= 0 ? " task #" + std::to_string(h.index) : "");
    }
  }
  const std::string what = "concurrency group '" + m.group + "' (limit " +
                           std::to_string(spec.limit) + ")" +
                           (held.empty() ? "" : ", held by " + held);
  if (got.ok() && spec.on_conflict == spec::ConcurrencySpec::OnConflict::kSkip) {
    Transition(index, TaskState::kSkipped, tc::kConcurrencySkip, what + "; on_conflict: skip");
    MarkFinal(index);
    return false;
  }
  if (got.ok() && spec.on_conflict == spec::ConcurrencySpec::OnConflict::kCancelRunning)
    AskHoldersToYield(*got, m.group, index, spec.limit);
  Transition(index, TaskState::kBlocked, tc::kConcurrencyWait,
             got.ok()
                 ? "waiting for " + what
                 : "waiting for concurrency group '" + m.group + "': " + got.status().message());
  blocked_list_.push_back(index);
  return false;
}

}  // namespace relay::sched
