// RunDriver: transitions, the engine-facing steps (start, timers, finish),
// cancellation and the run's end. Decisions are in decide.cc, results and
// retries in results.cc, approvals in approvals.cc, groups in groups.cc,
// loading and recovery in recovery.cc, the task kinds in kinds.cc.
#include "sched/run_driver.h"

#include <algorithm>
#include <limits>

#include "base/strings.h"
#include "sched/context.h"
#include "sched/task_kind.h"
#include "store/task_record.h"

namespace relay::sched {

using state::RunState;
using state::TaskState;
namespace tc = state::cause;

void CapReason(std::string* reason) {
  constexpr size_t kMaxReason = 2000, kHead = 1400, kTail = 400;
  if (reason->size() <= kMaxReason) return;
  std::string_view all = *reason;
  std::string_view head = Utf8Prefix(all, kHead);
  std::string_view tail = Utf8Suffix(all, kTail);
  std::string capped(head);
  capped += " … (" + std::to_string(all.size() - head.size() - tail.size()) + " bytes cut) … ";
  capped += tail;
  *reason = std::move(capped);
}

namespace {

bool Waits(TaskState s) {
  return s == TaskState::kWaitingApproval || s == TaskState::kWaitingChild;
}

}  // namespace

RunDriver::RunDriver(RunHost* host, DriverOptions options)
    : host_(host),
      options_(std::move(options)),
      shell_(NewShellKind()),
      pipeline_kind_(NewPipelineKind()),
      approval_(NewApprovalKind()) {
  if (options_.log_dir.empty()) options_.log_dir = host_->store()->LogDir();
  rng_.seed(options_.seed ? options_.seed : std::random_device{}());
}

RunDriver::~RunDriver() = default;

std::vector<const store::TaskRow*> RunDriver::rows() const {
  std::vector<const store::TaskRow*> rows;
  rows.reserve(model_.inst.size());
  for (const auto& i : model_.inst) rows.push_back(&i.row);
  return rows;
}

TaskKind& RunDriver::KindOf(int32_t index) {
  const spec::TaskSpec& spec = model_.SpecOf(index);
  if (spec.uses) return *pipeline_kind_;
  if (spec.steps.empty()) return *approval_;
  return *shell_;
}

void RunDriver::Transition(int32_t index, TaskState to, std::string_view cause, std::string reason,
                           store::TaskEffects effects, events::DataBuilder facts, Micros ts) {
  InstanceModel& m = model_.inst[index];
  const TaskState from = m.row.state;
  // Once a bug was found in this run, only FailInternal records anything.
  if (!broken_.empty() && cause != state::cause::kInternalError) return;
  // (The message is made only for a transition the table refuses.)
  if (!state::TaskMachine().Allows(from, to, cause)) {
    // Not applied: the run is failed instead (FailInternal), with this as
    // its reason, and nothing else is disturbed.
    if (broken_.empty())
      broken_ = state::CheckTransition(state::TaskMachine(), from, to, cause) + " (task '" +
                m.row.name + "')";
    return;
  }
  if (!secrets_.empty()) reason = secrets_.Redact(std::move(reason));
  CapReason(&reason);
  // When it was decided, not when its batch is committed: a run's events
  // then read in time order.
  const Micros when = ts != 0 ? ts : host_->clock()->Now();
  store::ApplyTaskEffects(&m.row, to, cause, std::move(reason), when, effects, options_.log_dir,
                          options_.owner);
  if (from == TaskState::kBlocked) --blocked_;
  if (to == TaskState::kBlocked) ++blocked_;
  if (Waits(from)) --waiting_;
  if (Waits(to)) ++waiting_;
  // Built in place: the snapshot is copied from the row once, never moved.
  auto& t = std::get<store::TaskTransition>(host_->batch().transitions.emplace_back(
      std::in_place_type<store::TaskTransition>, m.row, from));
  t.cause.assign(cause);
  t.effects = std::move(effects);
  t.data = std::move(facts);
  t.ts = when;
}

void RunDriver::TransitionRun(RunState to, std::string_view cause, std::string reason,
                              events::DataBuilder facts) {
  const RunState from = run_.state;
  if (std::string bad = state::CheckTransition(state::RunMachine(), from, to, cause);
      !bad.empty()) {
    if (broken_.empty()) broken_ = bad;
    return;
  }
  const Micros now = host_->clock()->Now();
  run_.state = to;
  run_.reason = std::move(reason);
  if (state::IsFinal(to)) {
    run_.ended_at = now;
    run_.owner.clear();
  }
  host_->batch().transitions.emplace_back(
      store::RunTransition{run_, from, std::string(cause), std::move(facts), now});
}

void RunDriver::MarkFinal(int32_t index) {
  InstanceModel& m = model_.inst[index];
  if (!m.group.empty()) ReleaseGroup(index);
  model_.MarkFinal(index);
}

void RunDriver::ReleaseGroup(int32_t index) {
  InstanceModel& m = model_.inst[index];
  if (m.group.empty()) return;
  host_->batch().releases.push_back(store::GroupRelease{m.group, run_.id, index});
  m.group.clear();
  m.holds_group = false;
}

void RunDriver::DrainCompletions() {
  while (!model_.completed.empty()) {
    int32_t done = model_.completed.back();
    model_.completed.pop_back();
    model_.SummariseUpstream(done);
    for (int32_t user : model_.plan().tasks[done].dependants) {
      const plan::TaskNode& node = model_.plan().tasks[user];
      for (int32_t i = node.first_instance; i < node.first_instance + node.instance_count; ++i) {
        if (--model_.inst[i].unmet == 0 && model_.inst[i].row.state == TaskState::kPending)
          Decide(i);
      }
    }
  }
}

void RunDriver::Drain() {
  if (finished_ || !broken_.empty()) return;
  DrainCompletions();
}

RunDriver::Started RunDriver::StartOne() {
  if (forced_ || finished_ || !broken_.empty()) return Started::kNone;
  while (!model_.ready.empty()) {
    int32_t index = model_.ready.top().index;
    model_.ready.pop();
    if (model_.inst[index].row.state != TaskState::kQueued) continue;
    const int32_t task = model_.TaskOf(index);
    const int max_parallel = model_.pipeline().tasks[task].max_parallel;
    if (max_parallel > 0 && model_.tasks[task].running >= max_parallel) {
      model_.tasks[task].deferred.push_back(index);
      ++model_.deferred;
      continue;
    }
    if (model_.SpecOf(index).concurrency && !PassGroup(index)) return Started::kNoSlot;
    return KindOf(index).Start(*this, index) ? Started::kSlot : Started::kNoSlot;
  }
  return Started::kNone;
}

void RunDriver::OnStarted(int32_t index, int pid, int pgid) {
  InstanceModel& m = model_.inst[index];
  m.row.pid = pid;
  m.row.pgid = pgid;
  if (!m.pid_dirty) dirty_pids_.push_back(index);
  m.pid_dirty = true;
}

void RunDriver::Restamp(int32_t index, Micros when) {
  InstanceModel& m = model_.inst[index];
  if (m.row.state == TaskState::kRunning) m.row.started_at = when;
}

void RunDriver::OnFinished(int32_t index, const exec::AttemptResult& r) {
  if (index < 0 || static_cast<size_t>(index) >= model_.inst.size() ||
      !model_.inst[index].in_slot) {
    if (broken_.empty())
      broken_ = "internal error: a result arrived for task instance #" + std::to_string(index) +
                ", which has no attempt running";
    return;
  }
  FinishAttempt(index, r);
}

void RunDriver::OnChildEnded(int32_t index, const store::RunRow& child) {
  auto it = std::find_if(children_.begin(), children_.end(),
                         [&](const auto& c) { return c.first == index && c.second == child.id; });
  if (it == children_.end()) return;  // not (any more) what the instance waits for
  children_.erase(it);
  InstanceModel& m = model_.inst[index];
  TaskModel& tm = model_.tasks[model_.TaskOf(index)];
  --tm.running;
  if (!tm.deferred.empty()) {
    for (int32_t d : tm.deferred) model_.PushReady(d);
    model_.deferred -= static_cast<int32_t>(tm.deferred.size());
    tm.deferred.clear();
  }
  if (m.row.state != TaskState::kWaitingChild) return;
  store::TaskEffects fx;
  fx.ended_at = host_->clock()->Now();
  switch (child.state) {
    case state::RunState::kSucceeded:
      fx.outputs = child.outputs_json.empty() ? "{}" : child.outputs_json;
      Transition(index, TaskState::kSucceeded, tc::kChildSucceeded,
                 "sub-pipeline run " + child.id + " succeeded", std::move(fx));
      break;
    case state::RunState::kFailed:
      Transition(index, TaskState::kFailed, tc::kChildFailed,
                 "sub-pipeline run " + child.id + " failed: " + child.reason, std::move(fx));
      break;
    default: {
      Transition(index, TaskState::kCancelled, tc::kCancelled,
                 "sub-pipeline run " + child.id + " was cancelled", std::move(fx));
      // Cancelling either side cancels the other: a child cancelled on its
      // own (relay cancel CHILD) cancels the run that called it.
      const bool asked = m.stop_requested || cancelling_;
      MarkFinal(index);
      if (!asked)
        BeginCancel(state::run_cause::kChildCancelled,
                    "sub-pipeline run " + child.id + " (task '" + m.row.name + "') was cancelled");
      return;
    }
  }
  MarkFinal(index);
}

void RunDriver::FireTimers(Micros now) {
  while (!model_.timers.empty() && model_.timers.top().due <= now) {
    int32_t index = model_.timers.top().index;
    model_.timers.pop();
    InstanceModel& m = model_.inst[index];
    if (m.row.state == TaskState::kRetryWait && m.row.due_at <= now) {
      Transition(index, TaskState::kQueued, tc::kBackoffElapsed, "back-off elapsed");
      Ready(index);
    } else if (m.row.state == TaskState::kWaitingApproval && m.row.due_at != 0 &&
               m.row.due_at <= now) {
      ApprovalTimedOut(index);
    }
  }
}

Micros RunDriver::NextTimer() const {
  return model_.timers.empty() ? std::numeric_limits<Micros>::max() : model_.timers.top().due;
}

std::string RunDriver::OnRequest(const store::Request& request) {
  if (finished_) return "refused: run " + run_.id + " has finished";
  if (request.kind == "approve" || request.kind == "reject")
    return Approve(request, request.kind == "reject");
  // Another relay cancelling for a reason of its own names it as the kind
  // (engine.cc, CancelRun): the ledger then says why, not just "requested".
  const bool cause_kind = request.kind == state::run_cause::kConcurrencyCancel ||
                          request.kind == state::run_cause::kParentCancelled ||
                          request.kind == state::run_cause::kChildCancelled;
  if (request.kind == "cancel" || cause_kind) {
    std::string by = request.actor.empty() ? "" : " by " + request.actor;
    if (request.task.empty()) {
      if (cancelling_) return "already cancelling";
      // Another relay that asks says why (a newer run took its place in a
      // concurrency group); `relay cancel` says who.
      BeginCancel(
          cause_kind ? std::string_view(request.kind) : state::run_cause::kCancelRequested,
          request.comment.empty() ? "cancel requested" + by + " (relay cancel)" : request.comment);
      return "cancelling";
    }
    int found = 0;
    for (size_t i = 0; i < model_.inst.size(); ++i) {
      const store::TaskRow& row = model_.inst[i].row;
      if (row.name != request.task && row.task != request.task) continue;
      if (state::IsFinal(row.state)) continue;
      ++found;
      std::string reason = request.comment.empty() ? "cancelled" + by : request.comment;
      InstanceModel& m = model_.inst[i];
      switch (row.state) {
        case TaskState::kRunning:
        case TaskState::kWaitingChild:
          m.stop_requested = true;
          m.stop_reason = reason;
          KindOf(static_cast<int32_t>(i)).Stop(*this, static_cast<int32_t>(i), reason);
          break;
        default:
          Transition(static_cast<int32_t>(i), TaskState::kCancelled, tc::kCancelled,
                     std::move(reason));
          MarkFinal(static_cast<int32_t>(i));
      }
    }
    return found ? "cancelling " + std::to_string(found) + " task instance" + (found > 1 ? "s" : "")
                 : "refused: no unfinished task '" + request.task + "' in run " + run_.id;
  }
  return "refused: unknown request '" + request.kind + "'";
}

// Actions' semantics: cancelling stops what runs and drops what waits, except
// tasks whose condition asks about status (always(), cancelled()): they still
// get their turn once their needs finish.
void RunDriver::BeginCancel(std::string_view cause, std::string reason) {
  if (cancelling_ || finished_) return;
  cancelling_ = true;
  cancel_reason_ = reason;
  if (run_.state == RunState::kRunning)
    TransitionRun(RunState::kCancelling, cause, reason);
  else if (run_.state != RunState::kCancelling)
    run_.reason = reason;  // pending or queued: ends cancelled (Finish)
  for (size_t i = 0; i < model_.inst.size(); ++i) {
    const int32_t index = static_cast<int32_t>(i);
    InstanceModel& m = model_.inst[i];
    const auto& condition = model_.tasks[model_.TaskOf(index)].condition;
    switch (m.row.state) {
      case TaskState::kPending:
        if (run_.state == RunState::kCancelling && condition && condition->UsesStatusFunction())
          break;
        [[fallthrough]];
      case TaskState::kQueued:
      case TaskState::kRetryWait:
      case TaskState::kClaimed:
      case TaskState::kBlocked:
      case TaskState::kWaitingApproval:
        Transition(index, TaskState::kCancelled, tc::kCancelled, "the run was cancelled");
        MarkFinal(index);
        break;
      case TaskState::kRunning:
      case TaskState::kWaitingChild:
        m.stop_requested = true;
        KindOf(index).Stop(*this, index, reason);
        break;
      default:
        break;
    }
  }
}

void RunDriver::ForceCancel() {
  if (finished_) return;
  if (!cancelling_) BeginCancel(state::run_cause::kInterrupted, "interrupted");
  forced_ = true;
  for (size_t i = 0; i < model_.inst.size(); ++i) {
    InstanceModel& m = model_.inst[i];
    if (m.row.state == TaskState::kPending) {
      Transition(static_cast<int32_t>(i), TaskState::kCancelled, tc::kCancelled,
                 "the run was cancelled");
      MarkFinal(static_cast<int32_t>(i));
    }
  }
}

bool RunDriver::Done() const {
  if (finished_) return false;
  if (!broken_.empty()) return false;
  return model_.non_final == 0 && model_.in_slots == 0;
}

bool RunDriver::Stalled() const {
  if (finished_ || !broken_.empty() || model_.non_final == 0) return false;
  return model_.in_slots == 0 && model_.timers.empty() && model_.ready.empty() &&
         model_.completed.empty() && model_.deferred == 0 && blocked_ == 0 && waiting_ == 0 &&
         run_.state != RunState::kQueued && run_.state != RunState::kPending;
}

void RunDriver::FailInternal() {
  if (finished_) return;
  std::string reason = broken_.empty() ? "internal error" : broken_;
  if (Stalled() && broken_.empty())
    reason = "internal error: the scheduler stalled: " + std::to_string(model_.non_final) +
             " task instances can never become ready";
  broken_.clear();
  for (size_t i = 0; i < model_.inst.size(); ++i) {
    const int32_t index = static_cast<int32_t>(i);
    InstanceModel& m = model_.inst[i];
    if (state::IsFinal(m.row.state)) continue;
    if (m.row.state == TaskState::kRunning) host_->Cancel(Token(index));
    if (m.row.state == TaskState::kWaitingChild && !m.row.child_run.empty())
      host_->CancelRun(m.row.child_run, state::run_cause::kParentCancelled, reason);
    Transition(index, TaskState::kCancelled, tc::kInternalError, reason);
    MarkFinal(index);
  }
  TransitionRun(RunState::kFailed, state::run_cause::kInternalError, reason);
  finished_ = true;
  if (!broken_.empty()) {
    // The table refuses even this: nothing more can be recorded for the run.
    host_->Notice("run " + run_.id + ": " + broken_);
    broken_.clear();
  }
}

void RunDriver::Finish() {
  DrainCompletions();
  // Named in the order they failed, not in the file's order. A task that
  // failed without running (an `if:` that could not be evaluated) has no end
  // time: it is ordered after those that have one.
  auto when = [](const store::TaskRow& r) {
    return r.ended_at ? r.ended_at : std::numeric_limits<Micros>::max();
  };
  const store::TaskRow* first = nullptr;
  const store::TaskRow* first_tolerated = nullptr;
  const store::TaskRow* first_cancelled = nullptr;
  int failed = 0, tolerated = 0;
  for (size_t i = 0; i < model_.inst.size(); ++i) {
    const store::TaskRow& row = model_.inst[i].row;
    if (row.state == TaskState::kCancelled && first_cancelled == nullptr) first_cancelled = &row;
    if (row.state != TaskState::kFailed && row.state != TaskState::kLost) continue;
    bool counts = !model_.SpecOf(static_cast<int32_t>(i)).continue_on_error;
    const store::TaskRow*& earliest = counts ? first : first_tolerated;
    ++(counts ? failed : tolerated);
    if (!earliest || when(row) < when(*earliest)) earliest = &row;
  }
  events::DataBuilder facts;
  std::string notes;
  if (!pipeline_->outputs.empty()) {
    // As Actions does, a pipeline's outputs are evaluated whatever its end.
    nlohmann::json tasks = model_.TasksContext();
    static const nlohmann::json kNone = nlohmann::json::object();
    InstanceContext ctx(&plan_->inputs, &builder_.env(), &kNone, &kNone, &run_ctx_,
                        expr::StatusFunctions{}, &tasks);
    nlohmann::json outputs = nlohmann::json::object();
    for (const spec::OutputSpec& out : pipeline_->outputs) {
      expr::Template t;
      std::string value;
      if (auto err = expr::Template::Parse(out.value.value, &t)) {
        notes += "; output '" + out.name + "': " + err->message;
      } else if (auto v = t.Render(ctx); !v.ok()) {
        notes += "; output '" + out.name + "': " + v.status().message();
      } else {
        value = std::move(v).value();
      }
      outputs[out.name] = secrets_.Redact(std::move(value));
    }
    run_.outputs_json = outputs.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    facts.AddJson("outputs", run_.outputs_json);
  }
  std::string reason;
  RunState to;
  std::string_view cause;
  if (cancelling_ || run_.state == RunState::kCancelling) {
    // Why, as the cancel said: "cancelled: cancel requested by ana".
    reason = cancel_reason_.empty() ? "cancelled" : "cancelled: " + cancel_reason_;
    to = RunState::kCancelled;
    cause = state::run_cause::kCancelled;
  } else if (failed == 0 && first_cancelled != nullptr) {
    // A task cancelled on its own (cancel-running, `relay cancel RUN TASK`):
    // the run did not do all it was asked, as Actions' runs are cancelled.
    reason = "task '" + first_cancelled->name + "' was cancelled: " + first_cancelled->reason;
    to = RunState::kCancelled;
    cause = state::run_cause::kTaskCancelled;
  } else if (failed == 0) {
    reason = tolerated == 0 ? "every task succeeded or was skipped"
             : tolerated == 1
                 ? "task '" + first_tolerated->name + "' failed, under continue_on_error"
                 : std::to_string(tolerated) + " tasks failed under continue_on_error, first '" +
                       first_tolerated->name + "'";
    to = RunState::kSucceeded;
    cause = state::run_cause::kAllSucceeded;
  } else {
    reason = failed == 1 ? "task '" + first->name + "' failed"
                         : std::to_string(failed) + " tasks failed, first '" + first->name + "'";
    to = RunState::kFailed;
    cause = state::run_cause::kTaskFailed;
  }
  TransitionRun(to, cause, reason + notes, std::move(facts));
  finished_ = true;
}

// Unstored pids queue in the order their attempts started (started_at
// grows along it), so the first still waiting is the first due: finding it
// skips what ended meanwhile once, not at every look.
void RunDriver::DropStalePids() {
  while (pids_head_ < dirty_pids_.size()) {
    InstanceModel& m = model_.inst[dirty_pids_[pids_head_]];
    if (m.pid_dirty && m.row.state == TaskState::kRunning) break;
    m.pid_dirty = false;
    ++pids_head_;
  }
  if (pids_head_ == dirty_pids_.size()) {
    dirty_pids_.clear();
    pids_head_ = 0;
  } else if (pids_head_ > 1024 && pids_head_ * 2 > dirty_pids_.size()) {
    dirty_pids_.erase(dirty_pids_.begin(), dirty_pids_.begin() + pids_head_);
    pids_head_ = 0;
  }
}

void RunDriver::CollectProcesses(Micros now, std::vector<store::AttemptProcess>* out) {
  while (true) {
    DropStalePids();
    if (pids_head_ == dirty_pids_.size()) return;
    InstanceModel& m = model_.inst[dirty_pids_[pids_head_]];
    if (now < m.row.started_at + kPidPersistDelay) return;
    out->push_back(
        store::AttemptProcess{run_.id, m.row.index, m.row.attempts, m.row.pid, m.row.pgid});
    m.pid_dirty = false;
  }
}

Micros RunDriver::PidsDue() {
  DropStalePids();
  if (pids_head_ == dirty_pids_.size()) return std::numeric_limits<Micros>::max();
  return model_.inst[dirty_pids_[pids_head_]].row.started_at + kPidPersistDelay;
}

}  // namespace relay::sched
