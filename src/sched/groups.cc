// Concurrency groups (`concurrency:` on the pipeline or a task): places
// shared by every relay on the store, asked for when a run or an instance is
// about to start, and asked again when the store says something changed.
#include "exec/owner.h"
#include "sched/run_driver.h"

namespace relay::sched {

using state::RunState;
using state::TaskState;
namespace tc = state::cause;
namespace rc = state::run_cause;

namespace {

std::string Holders(const store::GroupState& g) {
  std::string held;
  for (const auto& h : g.holders) {
    if (!held.empty()) held += ", ";
    held += "run " + h.run_id + (h.index >= 0 ? " task #" + std::to_string(h.index) : "");
  }
  return held;
}

}  // namespace

void RunDriver::StartRun() {
  const Micros now = host_->clock()->Now();
  run_.started_at = now;
  TransitionRun(RunState::kRunning, rc::kStarted, "started by " + options_.owner,
                events::DataBuilder().Add("owner", options_.owner));
  ApplyReuse();
  for (size_t i = 0; i < model_.inst.size(); ++i) {
    InstanceModel& m = model_.inst[i];
    if (m.row.state == TaskState::kPending && m.unmet == 0) Decide(static_cast<int32_t>(i));
  }
}

// The pipeline's group: true when the run may start. Otherwise it is queued
// (waits its turn), or cancelled by on_conflict: skip.
bool RunDriver::PassRunGroup() {
  const auto& spec = pipeline_->concurrency;
  if (!spec) return true;
  if (run_group_.empty()) {
    auto group = builder_.RenderRunGroup(*plan_, run_ctx_);
    if (!group.ok()) {
      if (broken_.empty()) broken_ = "internal error: " + group.status().message();
      return false;
    }
    run_group_ = std::move(group).value();
  }
  const Micros now = host_->clock()->Now();
  auto got = host_->store()->AcquireGroup(run_group_, spec->limit, {run_.id, -1, now});
  if (got.ok() && got->acquired) return true;
  const std::string what = "concurrency group '" + run_group_ + "' (limit " +
                           std::to_string(spec->limit) + ")" +
                           (got.ok() && !got->holders.empty() ? ", held by " + Holders(*got) : "");
  if (got.ok() && spec->on_conflict == spec::ConcurrencySpec::OnConflict::kSkip) {
    for (size_t i = 0; i < model_.inst.size(); ++i) {
      Transition(static_cast<int32_t>(i), TaskState::kCancelled, tc::kCancelled,
                 "the run was skipped: " + what);
      MarkFinal(static_cast<int32_t>(i));
    }
    TransitionRun(RunState::kCancelled, rc::kConcurrencySkip, what + "; on_conflict: skip");
    finished_ = true;
    return false;
  }
  if (got.ok() && spec->on_conflict == spec::ConcurrencySpec::OnConflict::kCancelRunning)
    AskHoldersToYield(*got, run_group_, -1, spec->limit);
  if (run_.state == RunState::kPending)
    TransitionRun(
        RunState::kQueued, rc::kConcurrencyWait,
        got.ok() ? "waiting for " + what
                 : "waiting for concurrency group '" + run_group_ + "': " + got.status().message(),
        events::DataBuilder().Add("owner", options_.owner));
  return false;
}

void RunDriver::RetryGroups() {
  if (finished_ || !broken_.empty()) return;
  if (run_.state == RunState::kQueued) {
    if (cancelling_ || !PassRunGroup()) return;
    StartRun();
  }
  if (blocked_list_.empty()) return;
  // In the order they queued; within one group, the first that must wait
  // stops the others (the store's queue is first come, first served).
  std::vector<std::string> full;
  size_t kept = 0;
  const Micros now = host_->clock()->Now();
  for (size_t i = 0; i < blocked_list_.size(); ++i) {
    const int32_t index = blocked_list_[i];
    InstanceModel& m = model_.inst[index];
    if (m.row.state != TaskState::kBlocked) continue;
    bool skip = false;
    for (const auto& g : full) skip = skip || g == m.group;
    if (!skip) {
      const int limit = model_.SpecOf(index).concurrency->limit;
      auto got = host_->store()->AcquireGroup(m.group, limit, {run_.id, index, now});
      if (got.ok() && got->acquired) {
        m.holds_group = true;
        Transition(index, TaskState::kQueued, tc::kConcurrencyFree,
                   "concurrency group '" + m.group + "' has room");
        model_.PushReady(index);
        continue;
      }
      full.push_back(m.group);
    }
    blocked_list_[kept++] = index;
  }
  blocked_list_.resize(kept);
}

// on_conflict: cancel-running: whoever holds the group is asked to stop
// (once each), so that this one gets its place when they end.
void RunDriver::AskHoldersToYield(const store::GroupState& state, const std::string& group,
                                  int32_t index, int limit) {
  // The oldest first (the store lists them by when they took their place),
  // as many as make room for this one.
  int needed = static_cast<int>(state.holders.size()) - limit + 1;
  for (const auto& h : state.holders) {
    if (needed <= 0) break;
    if (h.run_id == run_.id && h.index == index) continue;
    --needed;
    std::string key = h.run_id + "#" + std::to_string(h.index);
    if (std::find(asked_to_yield_.begin(), asked_to_yield_.end(), key) != asked_to_yield_.end())
      continue;
    asked_to_yield_.push_back(key);
    std::string reason = "run " + run_.id + " takes its place in concurrency group '" + group +
                         "' (on_conflict: cancel-running)";
    if (h.index < 0)
      host_->CancelRun(h.run_id, rc::kConcurrencyCancel, reason);
    else
      host_->CancelTaskOf(h.run_id, h.index, reason);
  }
}

}  // namespace relay::sched
