// Loading a run and making its in-memory model consistent with the store —
// the same path for a fresh run and for `relay resume` after a crash. A
// resumed run adopts what the dead relay left running (its keeper kept it
// going, or kept its result); only attempts nobody knows of any more are
// lost: their leftovers are killed and they are retried per policy.
// Succeeded work stays done.
#include <unordered_map>

#include "base/file_util.h"
#include "exec/owner.h"
#include "sched/run_driver.h"
#include "sched/stored_run.h"
#include "sched/task_kind.h"

namespace relay::sched {

using state::RunState;
using state::TaskState;
namespace tc = state::cause;

Status RunDriver::LoadCreated(CreatedRun created) {
  run_ = std::move(created.run);
  pipeline_ = std::move(created.pipeline);
  plan_ = std::move(created.plan);
  plan_->pipeline = pipeline_.get();
  model_.inst.resize(created.rows.size());
  for (size_t i = 0; i < created.rows.size(); ++i) model_.inst[i].row = std::move(created.rows[i]);
  fresh_ = run_.state == RunState::kPending;
  return Prepare();
}

Status RunDriver::LoadStored(store::RunRow run) {
  run_ = std::move(run);
  if (state::IsFinal(run_.state)) {
    return Status::Invalid("run " + run_.id + " already finished (" +
                           std::string(state::Name(run_.state)) + "); use `relay rerun " + run_.id +
                           " --failed` to run it again");
  }
  if (!run_.owner.empty() && run_.owner != options_.owner) {
    exec::OwnerLiveness alive = exec::CheckOwner(run_.owner);
    bool fresh = run_.heartbeat_at + options_.lease > host_->clock()->Now();
    if (alive == exec::OwnerLiveness::kAlive || (alive == exec::OwnerLiveness::kUnknown && fresh)) {
      return Status::Busy("run " + run_.id + " is being executed by relay " +
                          exec::DescribeOwner(run_.owner) + "; stop it first or wait");
    }
  }
  RELAY_ASSIGN_OR_RETURN(StoredPlan stored, PlanOfStoredRun(host_->store(), run_));
  pipeline_ = std::move(stored.pipeline);
  plan_ = std::move(stored.plan);
  plan_->pipeline = pipeline_.get();
  RELAY_ASSIGN_OR_RETURN(std::vector<store::TaskRow> rows, host_->store()->GetTasks(run_.id));
  // A ledger that ends before the head the store anchored beside itself has
  // lost events (removed, or a damaged WAL): resuming from it could redo
  // finished work, so it is refused, as `relay ledger verify` reports it.
  RELAY_ASSIGN_OR_RETURN(history_, host_->store()->GetEvents(run_.id, 0));
  auto anchor = host_->store()->GetHeadAnchor(run_.id);
  const int64_t last = history_.empty() ? 0 : history_.back().seq;
  if (anchor.ok() &&
      (anchor->seq > last || (anchor->seq > 0 && history_[anchor->seq - 1].hash != anchor->hash))) {
    return Status::Corrupt("run " + run_.id + ": its ledger ends at event " + std::to_string(last) +
                           ", but the head file beside the store " + "recorded event " +
                           std::to_string(anchor->seq) +
                           (anchor->seq > last ? " as committed" : " with another hash") +
                           "; it is not resumed (finished work could run again): see `relay "
                           "ledger verify " +
                           run_.id + "`");
  }
  if (rows.size() != plan_->instances.size())
    return Status::Corrupt("run " + run_.id + " has " + std::to_string(rows.size()) +
                           " task rows but its plan has " +
                           std::to_string(plan_->instances.size()));
  model_.inst.resize(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) model_.inst[i].row = std::move(rows[i]);
  fresh_ = run_.state == RunState::kPending;
  return Prepare();
}

// Checks the rows are the plan's, then builds the models and templates.
Status RunDriver::Prepare() {
  for (size_t i = 0; i < model_.inst.size(); ++i) {
    const store::TaskRow& row = model_.inst[i].row;
    if (row.index != static_cast<int32_t>(i) || row.name != plan_->instances[i].name)
      return Status::Corrupt("run " + run_.id + ": task row " + std::to_string(i) + " ('" +
                             row.name + "') does not match the plan ('" + plan_->instances[i].name +
                             "')");
  }
  model_.Reset(&*plan_, pipeline_.get());
  run_ctx_ = {{"id", run_.id}};
  RELAY_RETURN_IF_ERROR(builder_.Prepare(*plan_, run_ctx_, &secrets_));
  for (size_t t = 0; t < pipeline_->tasks.size(); ++t) {
    const spec::TaskSpec& spec = pipeline_->tasks[t];
    TaskModel& tm = model_.tasks[t];
    if (spec.if_expr) {
      expr::Expression e;
      if (auto err = expr::Expression::Parse(spec.if_expr->value, &e))
        return Status::Internal("tasks." + spec.name + ".if: " + err->message);
      tm.condition = std::move(e);
    }
    tm.retry = spec.retry                  ? *spec.retry
               : pipeline_->defaults.retry ? *pipeline_->defaults.retry
                                           : spec::RetrySpec{};
    tm.timeout = spec.timeout ? *spec.timeout : pipeline_->defaults.timeout.value_or(0);
  }
  builder_.CollectTaskSecrets(Scope(), &secrets_);
  nlohmann::json options =
      nlohmann::json::parse(run_.options_json.empty() ? "{}" : run_.options_json, nullptr, false);
  nlohmann::json children = nlohmann::json::object();
  if (options.is_object())
    children["pipelines"] = options.value("pipelines", nlohmann::json::object());
  children_json_ = children.dump();
  return Status::Ok();
}

// A rerun stores, with the run, which instances reuse an earlier result; they
// become succeeded ("reused") in the run's first commit.
void RunDriver::ApplyReuse() {
  nlohmann::json options =
      nlohmann::json::parse(run_.options_json.empty() ? "{}" : run_.options_json, nullptr, false);
  if (options.is_discarded() || !options.contains("reuse") || !options["reuse"].is_object()) return;
  const nlohmann::json& reuse = options["reuse"];
  for (size_t i = 0; i < model_.inst.size(); ++i) {
    InstanceModel& m = model_.inst[i];
    if (m.row.state != TaskState::kPending) continue;
    auto it = reuse.find(m.row.name);
    if (it == reuse.end()) continue;
    store::TaskEffects fx;
    fx.outputs = it->value("outputs", nlohmann::json::object()).dump();
    fx.log = it->value("log", "");
    fx.exit_code = 0;
    std::string from_run = it->value("run", "");
    Transition(static_cast<int32_t>(i), TaskState::kSucceeded, tc::kReused,
               "reused from run " + from_run, std::move(fx),
               events::DataBuilder().Add("from_run", from_run));
    MarkFinal(static_cast<int32_t>(i));
  }
}

// What only the ledger remembers: lost attempts (they do not use up
// retries) and approvals given (a retried task is not asked again).
Status RunDriver::CountHistory() {
  std::unordered_map<std::string, int32_t> by_name;
  for (size_t i = 0; i < model_.inst.size(); ++i)
    by_name.emplace(model_.inst[i].row.name, static_cast<int32_t>(i));
  // Read by LoadStored (a resumed run is never a fresh one).
  for (const auto& e : history_) {
    if (e.kind != "task") continue;
    auto it = by_name.find(e.subject);
    if (it == by_name.end()) continue;
    if (e.to == "lost") ++model_.inst[it->second].lost;
    if (e.from == "waiting_approval" && e.to != "waiting_approval" && e.to != "failed" &&
        e.to != "cancelled")
      model_.inst[it->second].approved = true;
  }
  return Status::Ok();
}

Status RunDriver::Take() {
  const Micros now = host_->clock()->Now();
  // Ownership first: of two relays resuming at once, only the winner may
  // adopt or kill leftovers, or the loser would kill what the winner started.
  previous_owner_ = run_.owner;
  if (previous_owner_ != options_.owner) {
    // A run this engine creates is its own from the start (and may not be
    // in the store yet: its creation is in the batch being built).
    Status owned = host_->store()->TakeOwnership(run_.id, previous_owner_, options_.owner, now);
    if (owned.code() == Code::kConflict)
      return Status::Busy("run " + run_.id + " was taken over by another relay just now");
    RELAY_RETURN_IF_ERROR(owned);
  }
  const Micros dead_heartbeat = run_.heartbeat_at;
  run_.owner = options_.owner;
  run_.heartbeat_at = now;
  // Where the attempts' logs and outputs files go. Not an error here: a
  // store that turns out read-only says so at the first commit, which is
  // what the user needs to hear; a log that cannot be written is named in
  // its attempt's reason.
  (void)MakeDirs(options_.log_dir + "/" + run_.id);

  if (!fresh_) RELAY_RETURN_IF_ERROR(CountHistory());
  // Counters first, from the stored states.
  for (size_t i = 0; i < model_.inst.size(); ++i) {
    InstanceModel& m = model_.inst[i];
    TaskModel& t = model_.tasks[model_.TaskOf(static_cast<int32_t>(i))];
    if (!state::IsFinal(m.row.state)) {
      ++model_.non_final;
      ++t.remaining;
    } else {
      ++model_.already_final;
      model_.CountFinal(static_cast<int32_t>(i));
    }
    if (m.row.state == TaskState::kBlocked) ++blocked_;
    if (m.row.state == TaskState::kWaitingApproval || m.row.state == TaskState::kWaitingChild)
      ++waiting_;
  }
  for (int32_t task : plan_->order)
    if (model_.tasks[task].remaining == 0) model_.SummariseUpstream(task);
  for (size_t i = 0; i < model_.inst.size(); ++i) {
    InstanceModel& m = model_.inst[i];
    if (m.row.state != TaskState::kPending) continue;
    for (int32_t need : plan_->tasks[model_.TaskOf(static_cast<int32_t>(i))].needs)
      if (model_.tasks[need].remaining > 0) ++m.unmet;
  }

  // A cancel asked for while no relay drove the run.
  const bool cancel_asked = run_.cancel_requested && run_.state != RunState::kCancelling;
  if (fresh_) {
    if (cancel_asked) {
      BeginCancel(state::run_cause::kCancelRequested, "cancel requested (relay cancel)");
    } else if (PassRunGroup()) {
      StartRun();
    }
    return Status::Ok();
  }
  const std::string why =
      previous_owner_.empty()
          ? "resumed"
          : "resumed after relay " + exec::DescribeOwner(previous_owner_) + " stopped";
  TransitionRun(run_.state, state::run_cause::kResumed, why,
                events::DataBuilder().Add("owner", options_.owner));
  if (run_.state == RunState::kQueued) {
    if (cancel_asked) {
      BeginCancel(state::run_cause::kCancelRequested, "cancel requested (relay cancel)");
    } else if (PassRunGroup()) {
      StartRun();
    }
    return Status::Ok();
  }
  const std::string dead = previous_owner_.empty()
                               ? "the relay that ran it"
                               : "relay " + exec::DescribeOwner(previous_owner_);
  for (size_t i = 0; i < model_.inst.size(); ++i) RecoverInstance(static_cast<int32_t>(i), dead);

  if (!gone_.empty()) {
    // What a lost attempt left must be gone before it runs again: its
    // process group, and whatever carries its run and task in its environment.
    exec::Leftovers left;
    left.marker = "RELAY_RUN_ID=" + run_.id;
    // The latest a lost step could have started: when the dead relay was
    // last known alive.
    left.started_by = dead_heartbeat > 0 ? dead_heartbeat + options_.heartbeat_interval : 0;
    for (int32_t index : gone_) left.tasks.push_back(model_.inst[index].row.name);
    for (int32_t index : gone_) {
      left.pgid = model_.inst[index].row.pgid;
      exec::KillLeftovers(left);
      left.scan_environ = false;
    }
    for (int32_t index : gone_) {
      InstanceModel& m = model_.inst[index];
      ++m.lost;
      store::TaskEffects fx;
      fx.ended_at = now;
      Transition(
          index, TaskState::kLost, tc::kOwnerDied,
          dead + " died while attempt " + std::to_string(m.row.attempts) +
              " was running, and no keeper knows of it",
          std::move(fx),
          m.row.pgid ? events::DataBuilder().Add("pgid", m.row.pgid) : events::DataBuilder());
      FailOrRetry(index, FailureKind::kLost, -1, tc::kOwnerDied, m.row.reason, {});
    }
    gone_.clear();
  }
  history_.clear();
  history_.shrink_to_fit();
  for (int32_t index : not_started_) {
    // The dead relay recorded the start and died before its keeper got it:
    // no process ran, so nothing is killed and the policy is not asked —
    // the task runs again, as it would have.
    InstanceModel& m = model_.inst[index];
    ++m.lost;
    store::TaskEffects fx;
    fx.ended_at = now;
    Transition(index, TaskState::kLost, tc::kOwnerDied,
               dead + " died after recording the start of attempt " +
                   std::to_string(m.row.attempts) + " and before its keeper got it: nothing ran",
               std::move(fx));
    store::TaskEffects again;
    again.due_at = now;
    Transition(index, TaskState::kRetryWait, tc::kRetry,
               "attempt " + std::to_string(m.row.attempts + 1) +
                   " now (the lost one never ran, so it uses up no retry)",
               std::move(again));
    model_.timers.push({now, index});
  }
  not_started_.clear();
  if (run_.state == RunState::kCancelling)
    BeginCancel(state::run_cause::kCancelRequested, run_.reason);
  else if (cancel_asked)
    BeginCancel(state::run_cause::kCancelRequested, "cancel requested (relay cancel)");
  return Status::Ok();
}

void RunDriver::RecoverInstance(int32_t index, const std::string& dead) {
  InstanceModel& m = model_.inst[index];
  const spec::TaskSpec& spec = model_.SpecOf(index);
  // A place its group gave it is still its own: the store keeps places
  // until they are given back or the run ends.
  auto restore_group = [&](bool holds) {
    if (!spec.concurrency) return;
    auto group = builder_.RenderGroup(index, Scope());
    if (!group.ok()) return;
    m.group = std::move(group).value();
    m.holds_group = holds;
  };
  switch (m.row.state) {
    case TaskState::kClaimed:
      restore_group(true);
      m.row.owner.clear();
      m.row.lease_until = 0;
      Transition(index, TaskState::kQueued, tc::kReleased,
                 "released: " + dead + " stopped before starting it");
      model_.PushReady(index);
      break;
    case TaskState::kRunning:
      restore_group(true);
      KindOf(index).Recover(*this, index, dead);
      break;
    case TaskState::kWaitingChild:
      restore_group(true);
      KindOf(index).Recover(*this, index, dead);
      break;
    case TaskState::kRetryWait:
      model_.timers.push({m.row.due_at, index});
      break;
    case TaskState::kQueued:
      Ready(index);
      break;
    case TaskState::kWaitingApproval:
      if (m.row.due_at != 0) model_.timers.push({m.row.due_at, index});
      break;
    case TaskState::kBlocked:
      restore_group(false);
      blocked_list_.push_back(index);
      break;
    case TaskState::kPending:
      if (m.unmet == 0) Decide(index);
      break;
    default:
      break;
  }
}

}  // namespace relay::sched
