#include "sched/scheduler.h"

#include <algorithm>
#include <csignal>
#include <limits>

#include "base/duration.h"
#include "base/file_util.h"
#include "base/strings.h"
#include "events/event.h"
#include "sched/outputs.h"
#include "sched/run_model.h"

namespace relay::sched {

using state::RunState;
using state::TaskState;
namespace tc = state::cause;

Scheduler::Scheduler(store::Store* store, exec::Runner* runner, const Clock* clock,
                     Observer* observer, Options options)
    : impl_(std::make_unique<Impl>(store, runner, clock, observer, std::move(options))) {}
Scheduler::~Scheduler() = default;

Result<RunState> Scheduler::Execute(const std::string& run_id) {
  return impl_->Execute(run_id, nullptr);
}

Result<RunState> Scheduler::Execute(CreatedRun created) {
  const std::string run_id = created.run.id;
  return impl_->Execute(run_id, &created);
}

const store::RunRow& Scheduler::run() const { return impl_->run(); }

std::vector<const store::TaskRow*> Scheduler::rows() const { return impl_->Rows(); }

std::vector<const store::TaskRow*> Scheduler::Impl::Rows() const {
  std::vector<const store::TaskRow*> rows;
  rows.reserve(inst_.size());
  for (const auto& i : inst_) rows.push_back(&i.row);
  return rows;
}

Scheduler::Impl::Impl(store::Store* store, exec::Runner* runner, const Clock* clock,
                      Observer* observer, Options options)
    : store_(store),
      runner_(runner),
      clock_(clock),
      observer_(observer),
      options_(std::move(options)) {
  if (options_.log_dir.empty()) options_.log_dir = store_->LogDir();
  rng_.seed(options_.seed ? options_.seed : std::random_device{}());
  if (options_.jobs < 1) options_.jobs = 1;
}

Result<RunState> Scheduler::Impl::Execute(const std::string& run_id, CreatedRun* created) {
  RELAY_RETURN_IF_ERROR(Load(run_id, created));
  RELAY_RETURN_IF_ERROR(Recover());
  if (observer_) observer_->OnRunStarted(run_, Rows(), already_final_);
  while (true) {
    Micros now = clock_->Now();
    FireTimers();
    if (!cancelling_ && now >= next_cancel_poll_) {
      next_cancel_poll_ = now + options_.cancel_poll_interval;
      auto requested = store_->CancelRequested(run_.id);
      if (!requested.ok()) {
        runner_->KillAll();
        return requested.status();
      }
      if (*requested)
        BeginCancel(state::run_cause::kCancelRequested, "cancel requested (relay cancel)");
    }
    if (now >= next_heartbeat_) {
      next_heartbeat_ = now + options_.heartbeat_interval;
      Status hb = store_->Heartbeat(run_.id, options_.owner, now, now + options_.lease);
      if (!hb.ok()) {
        runner_->KillAll();
        return hb;
      }
      run_.heartbeat_at = now;  // or the next run transition would write it back
    }
    DrainCompletions();
    StartReady();
    Status flushed = Flush();
    if (!flushed.ok()) {
      runner_->KillAll();
      return flushed;
    }
    if (Done()) break;
    if (Stalled()) {
      return Status::Internal("scheduler stalled: " + std::to_string(non_final_) +
                              " task instances can never become ready (a bug in relay)");
    }
    if (observer_ && options_.tick > 0 && now >= next_tick_) {
      next_tick_ = now + options_.tick;
      observer_->OnTick(now);
    }
    exec::WaitResult w = runner_->Wait(NextWakeup());
    if (w.poked) next_cancel_poll_ = 0;  // another relay wrote to the store
    for (const auto& s : w.started) NotePid(static_cast<int32_t>(s.token), s.pid, s.pgid);
    for (const auto& r : w.finished) OnFinished(r);
    if (w.interrupt_signal) {
      if (!cancelling_) {
        BeginCancel(state::run_cause::kInterrupted,
                    "interrupted (signal " + std::to_string(w.interrupt_signal) + ")");
        if (observer_)
          observer_->OnNotice(
              "cancelling: stopping running tasks (press Ctrl-C again to kill them)");
      } else {
        ForceCancel();
        if (observer_) observer_->OnNotice("killing every running task");
      }
    }
  }
  DrainCompletions();
  std::string reason;
  RunState final_state = FinalState(&reason);
  if (run_.state == RunState::kCancelling) {
    TransitionRun(RunState::kCancelled, state::run_cause::kCancelled, reason);
  } else {
    TransitionRun(final_state,
                  final_state == RunState::kSucceeded ? state::run_cause::kAllSucceeded
                                                      : state::run_cause::kTaskFailed,
                  reason);
  }
  run_.ended_at = clock_->Now();
  run_.owner.clear();
  RELAY_RETURN_IF_ERROR(Flush());
  return run_.state;
}

bool Scheduler::Impl::Done() const { return non_final_ == 0 && runner_->running() == 0; }

Micros Scheduler::Impl::NextWakeup() const {
  Micros now = clock_->Now();
  Micros wake = std::min({next_cancel_poll_, next_heartbeat_, PidsDue()});
  if (!timers_.empty()) wake = std::min(wake, timers_.top().due);
  if (observer_ && options_.tick > 0) wake = std::min(wake, next_tick_);
  if (runner_->running() == 0 && timers_.empty() && ready_.empty() && non_final_ > 0 &&
      !cancelling_) {
    // Nothing can make progress: a bug, or a plan we cannot finish. Do not spin.
    return std::max<Micros>(0, wake - now);
  }
  return std::max<Micros>(0, wake - now);
}

RunState Scheduler::Impl::FinalState(std::string* reason) const {
  // Named in the order they failed, not in the file's order. A task that
  // failed without running (an `if:` that could not be evaluated) has no end
  // time: it is ordered after those that have one.
  auto when = [](const store::TaskRow& r) {
    return r.ended_at ? r.ended_at : std::numeric_limits<Micros>::max();
  };
  const store::TaskRow* first = nullptr;
  const store::TaskRow* first_tolerated = nullptr;
  int failed = 0, tolerated = 0;
  for (size_t i = 0; i < inst_.size(); ++i) {
    const store::TaskRow& row = inst_[i].row;
    if (row.state != TaskState::kFailed && row.state != TaskState::kLost) continue;
    bool counts = !plan_->spec_of(plan_->instances[i]).continue_on_error;
    const store::TaskRow*& earliest = counts ? first : first_tolerated;
    ++(counts ? failed : tolerated);
    if (!earliest || when(row) < when(*earliest)) earliest = &row;
  }
  if (run_.state == RunState::kCancelling) {
    *reason = "cancelled";
    return RunState::kCancelled;
  }
  if (failed == 0) {
    *reason = tolerated == 0 ? "every task succeeded or was skipped"
              : tolerated == 1
                  ? "task '" + first_tolerated->name + "' failed, under continue_on_error"
                  : std::to_string(tolerated) + " tasks failed under continue_on_error, first '" +
                        first_tolerated->name + "'";
    return RunState::kSucceeded;
  }
  *reason = failed == 1 ? "task '" + first->name + "' failed"
                        : std::to_string(failed) + " tasks failed, first '" + first->name + "'";
  return RunState::kFailed;
}

// The event records what the row's new state needs (store/task_record.h);
// `facts` adds what the row does not hold ("error", "from_run").
namespace {

// A reason is for people, and travels in an event: one that quotes a huge
// command (an output of 200 KB expanded into it) keeps its start and its
// end, where what relay adds goes ("(failure); retry 2 of 3 in 1s"). Short
// enough after capping that such an addition does not make it capped again.
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

}  // namespace

void Scheduler::Impl::Transition(int32_t index, TaskState to, std::string_view cause,
                                 std::string reason, events::DataBuilder facts, Micros ts) {
  InstanceModel& m = inst_[index];
  TaskState from = m.row.state;
  state::CheckTransition(state::TaskMachine(), from, to, cause);
  m.row.state = to;
  m.row.cause.assign(cause);
  if (!secrets_.empty()) reason = Redact(std::move(reason));
  CapReason(&reason);
  m.row.reason = std::move(reason);
  // Built in place: the snapshot is copied from the row once, never moved.
  auto& t = std::get<store::TaskTransition>(
      batch_.transitions.emplace_back(std::in_place_type<store::TaskTransition>, m.row, from));
  t.cause.assign(cause);
  t.data = std::move(facts);
  // When it was decided, not when its batch is committed: a run's events
  // then read in time order.
  t.ts = ts != 0 ? ts : clock_->Now();
}

void Scheduler::Impl::TransitionRun(RunState to, std::string_view cause, std::string reason) {
  RunState from = run_.state;
  state::CheckTransition(state::RunMachine(), from, to, cause);
  run_.state = to;
  run_.reason = std::move(reason);
  if (state::IsFinal(to)) {
    run_.ended_at = clock_->Now();
    run_.owner.clear();
  }
  batch_.transitions.emplace_back(
      store::RunTransition{run_, from, std::string(cause), {}, clock_->Now()});
  if (!run_changed_from_) run_changed_from_ = from;
}

// An instance reached a final state: count it; a task whose instances are
// all final is queued for completion. Completions are drained by a loop,
// not recursion: a chain of 10,000 skips must not use 10,000 stack frames.
void Scheduler::Impl::MarkFinal(int32_t index) {
  int32_t task = plan_->instances[index].task;
  --non_final_;
  CountFinal(index);
  if (--tasks_[task].remaining == 0) completed_.push_back(task);
}

// What a final instance means for its task's status functions. Shared by the
// loop and by recovery, so a resumed run decides exactly as a fresh one.
void Scheduler::Impl::CountFinal(int32_t index) {
  const store::TaskRow& row = inst_[index].row;
  int32_t task = plan_->instances[index].task;
  TaskModel& t = tasks_[task];
  switch (row.state) {
    case TaskState::kSucceeded:
      t.any_succeeded = true;
      if (index > t.outputs_from && !row.outputs_json.empty() && row.outputs_json != "{}") {
        auto outputs = nlohmann::json::parse(row.outputs_json, nullptr, false);
        if (!outputs.is_discarded()) {
          t.outputs = std::move(outputs);
          t.outputs_from = index;
        }
      }
      break;
    case TaskState::kFailed:
    case TaskState::kLost:
      if (pipeline_->tasks[task].continue_on_error)
        t.any_succeeded = true;
      else
        t.any_failed = true;
      break;
    case TaskState::kCancelled:
      t.any_cancelled = true;
      break;
    default:  // skipped
      break;
  }
}

void Scheduler::Impl::SummariseUpstream(int32_t task) {
  TaskModel& t = tasks_[task];
  t.upstream_failed = t.any_failed;
  t.upstream_ok = t.Succeeded();
  for (int32_t need : plan_->tasks[task].needs) {
    t.upstream_failed = t.upstream_failed || tasks_[need].upstream_failed;
    t.upstream_ok = t.upstream_ok && tasks_[need].upstream_ok;
  }
}

void Scheduler::Impl::DrainCompletions() {
  while (!completed_.empty()) {
    int32_t done = completed_.back();
    completed_.pop_back();
    SummariseUpstream(done);
    for (int32_t user : plan_->tasks[done].dependants) {
      const plan::TaskNode& node = plan_->tasks[user];
      for (int32_t i = node.first_instance; i < node.first_instance + node.instance_count; ++i) {
        if (--inst_[i].unmet == 0 && inst_[i].row.state == TaskState::kPending) Decide(i);
      }
    }
  }
}

bool Scheduler::Impl::Stalled() const {
  if (non_final_ == 0 || runner_->running() > 0 || !timers_.empty() || !ready_.empty() ||
      !to_spawn_.empty() || !completed_.empty())
    return false;
  for (const auto& t : tasks_)
    if (!t.deferred.empty()) return false;
  return true;
}

void Scheduler::Impl::StartReady() {
  if (cancelling_ && forced_) return;
  while (running_ < options_.jobs && !ready_.empty()) {
    int32_t index = ready_.top().index;
    ready_.pop();
    if (inst_[index].row.state != TaskState::kQueued) continue;
    int32_t task = plan_->instances[index].task;
    int max_parallel = pipeline_->tasks[task].max_parallel;
    if (max_parallel > 0 && tasks_[task].running >= max_parallel) {
      tasks_[task].deferred.push_back(index);
      continue;
    }
    Start(index);
  }
}

void Scheduler::Impl::Start(int32_t index) {
  InstanceModel& m = inst_[index];
  int32_t task = plan_->instances[index].task;
  Micros now = clock_->Now();
  ++running_;
  ++tasks_[task].running;
  m.row.attempts += 1;
  // The run's own relay holds the claim: no owner of its own (the run's),
  // and no lease (the run's heartbeat shows this relay is alive). A remote
  // worker's claim names it and carries a lease.
  m.row.owner.clear();
  m.row.lease_until = 0;
  Transition(index, TaskState::kClaimed, tc::kClaimed, "", {}, now);
  m.row.started_at = now;
  m.row.ended_at = 0;
  m.row.exit_code.reset();
  m.row.signal = 0;
  m.row.pid = 0;
  m.row.pgid = 0;
  auto attempt = BuildAttempt(index);
  m.row.log_path = attempt.ok() ? attempt->log_path : "";
  // At `now`: the fold of the ledger takes started_at from this event's
  // time. No reason: the attempt number is in the event's data.
  Transition(index, TaskState::kRunning, tc::kStarted, "", {}, now);
  if (!attempt.ok()) {
    exec::AttemptResult r;
    r.token = static_cast<uint64_t>(index);
    r.exit_code = -1;
    r.spawn_error = attempt.status().message();
    r.started_at = r.ended_at = now;
    OnFinished(r);
    return;
  }
  to_spawn_.push_back(std::move(attempt).value());
}

namespace {

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

void Scheduler::Impl::OnFinished(const exec::AttemptResult& r) {
  int32_t index = static_cast<int32_t>(r.token);
  InstanceModel& m = inst_[index];
  int32_t task = plan_->instances[index].task;
  --running_;
  --tasks_[task].running;
  if (!tasks_[task].deferred.empty()) {
    for (int32_t d : tasks_[task].deferred) ready_.push({plan_->tasks[task].critical_path, d});
    tasks_[task].deferred.clear();
  }
  m.row.ended_at = r.ended_at ? r.ended_at : clock_->Now();
  m.row.exit_code = r.exit_code;
  m.row.signal = r.signal;
  m.row.owner.clear();
  m.row.lease_until = 0;
  Micros took = m.row.ended_at - m.row.started_at;
  if (r.cancelled || (forced_ && !r.Succeeded())) {
    Transition(index, TaskState::kCancelled, tc::kCancelled, "stopped: the run was cancelled");
    MarkFinal(index);
    return;
  }
  if (r.Succeeded()) {
    const spec::TaskSpec& spec = pipeline_->tasks[task];
    std::string reason = "exit 0 in " + FormatDuration(took);
    const exec::Masker* mask = secrets_.empty() ? nullptr : &Mask();
    if (!spec.outputs.empty() || mask) {
      const std::string out_path = m.row.log_path.substr(0, m.row.log_path.size() - 4) + ".out";
      Result<std::string> text = ReadFile(out_path);
      std::string scratch;
      if (text.ok() && mask && mask->Apply(*text, &scratch).data() != text->data()) {
        // The file stays next to the log for debugging: hide secrets there.
        (void)WriteFileAtomic(out_path, scratch);
      }
      if (!spec.outputs.empty()) {
        ParsedOutputs parsed = ParseOutputs(text.ok() ? *text : "", spec.outputs, mask);
        if (!parsed.error.empty()) {
          FailOrRetry(index, FailureKind::kFailure, 0, tc::kBadOutputs, parsed.error + LogNote(r));
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
        m.row.outputs_json =
            parsed.values.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      }
    }
    reason += LogNote(r);
    Transition(index, TaskState::kSucceeded, tc::kExitZero, std::move(reason));
    MarkFinal(index);
    return;
  }
  if (!r.spawn_error.empty()) {
    // The error may quote the command or its cwd, which may hold a secret.
    std::string error = Redact(r.spawn_error);
    CapReason(&error);  // also kept as the event's "error" fact
    FailOrRetry(index, FailureKind::kFailure, -1, tc::kSpawnError, error,
                events::DataBuilder().Add("error", error));
  } else if (r.timed_out) {
    FailOrRetry(index, FailureKind::kTimeout, r.exit_code, tc::kTimeout,
                TimeoutReason(tasks_[task].timeout, took, r.signal) + LogNote(r));
  } else if (r.signal) {
    FailOrRetry(index, FailureKind::kFailure, -1, tc::kSignaled,
                "killed by signal " + std::to_string(r.signal) + LogNote(r));
  } else {
    std::string what = "exit code " + std::to_string(r.exit_code);
    if (r.failed_step > 0) what += " in step " + std::to_string(r.failed_step + 1);
    what += LogNote(r);
    if (r.failed_step > 0) {
      FailOrRetry(index, FailureKind::kFailure, r.exit_code, tc::kExitNonzero, what,
                  events::DataBuilder().Add("step", r.failed_step + 1));
    } else {
      FailOrRetry(index, FailureKind::kFailure, r.exit_code, tc::kExitNonzero, what);
    }
  }
}

void Scheduler::Impl::FailOrRetry(int32_t index, FailureKind kind, int exit_code,
                                  std::string_view final_cause, std::string reason,
                                  events::DataBuilder facts) {
  InstanceModel& m = inst_[index];
  int32_t task = plan_->instances[index].task;
  const spec::RetrySpec& policy = tasks_[task].retry;
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  RetryDecision d = DecideRetry(policy, m.row.attempts - m.lost, kind, exit_code, uniform(rng_));
  if (d.retry && !cancelling_) {
    m.row.due_at = clock_->Now() + d.delay;
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
    Transition(index, TaskState::kRetryWait, tc::kRetry, std::move(why), std::move(facts));
    timers_.push({m.row.due_at, index});
    return;
  }
  if (policy.attempts > 1 && m.row.attempts - m.lost >= policy.attempts)
    reason += " (after " + std::to_string(m.row.attempts) + " attempts)";
  if (m.row.state == TaskState::kLost) {
    // Lost and not retried: `lost` is itself final.
    MarkFinal(index);
    return;
  }
  Transition(index, TaskState::kFailed, final_cause, std::move(reason), std::move(facts));
  MarkFinal(index);
}

void Scheduler::Impl::FireTimers() {
  Micros now = clock_->Now();
  while (!timers_.empty() && timers_.top().due <= now) {
    int32_t index = timers_.top().index;
    timers_.pop();
    if (inst_[index].row.state != TaskState::kRetryWait) continue;
    inst_[index].row.due_at = 0;
    Transition(index, TaskState::kQueued, tc::kBackoffElapsed, "back-off elapsed");
    ready_.push({plan_->tasks[plan_->instances[index].task].critical_path, index});
  }
}

// Actions' semantics: cancelling stops what runs and drops what waits, except
// tasks whose condition asks about status (always(), cancelled()): they still
// get their turn once their needs finish.
void Scheduler::Impl::BeginCancel(std::string_view cause, std::string reason) {
  if (cancelling_) return;
  cancelling_ = true;
  if (run_.state == RunState::kRunning)
    TransitionRun(RunState::kCancelling, cause, std::move(reason));
  for (size_t i = 0; i < inst_.size(); ++i) {
    InstanceModel& m = inst_[i];
    int32_t task = plan_->instances[i].task;
    switch (m.row.state) {
      case TaskState::kPending:
        if (tasks_[task].condition && tasks_[task].condition->UsesStatusFunction()) break;
        Transition(static_cast<int32_t>(i), TaskState::kCancelled, tc::kCancelled,
                   "the run was cancelled");
        MarkFinal(static_cast<int32_t>(i));
        break;
      case TaskState::kQueued:
      case TaskState::kRetryWait:
      case TaskState::kClaimed:
        Transition(static_cast<int32_t>(i), TaskState::kCancelled, tc::kCancelled,
                   "the run was cancelled");
        MarkFinal(static_cast<int32_t>(i));
        break;
      case TaskState::kRunning:
        runner_->Cancel(static_cast<uint64_t>(i));
        break;
      default:
        break;
    }
  }
}

void Scheduler::Impl::ForceCancel() {
  forced_ = true;
  runner_->KillAll();
  for (size_t i = 0; i < inst_.size(); ++i) {
    InstanceModel& m = inst_[i];
    if (m.row.state == TaskState::kPending || m.row.state == TaskState::kQueued ||
        m.row.state == TaskState::kRetryWait || m.row.state == TaskState::kClaimed) {
      Transition(static_cast<int32_t>(i), TaskState::kCancelled, tc::kCancelled,
                 "the run was cancelled");
      MarkFinal(static_cast<int32_t>(i));
    }
  }
}

// One commit for everything decided since the last one, then the spawns that
// commit made durable, then the observers: a slot stays empty from a step's
// exit to the next spawn, so nothing that can wait runs in between. Rows
// changed by several transitions are written once.
Status Scheduler::Impl::Flush() {
  const Micros now = clock_->Now();
  const bool pids_due = !dirty_rows_.empty() && now >= PidsDue();
  if (!batch_.transitions.empty() || pids_due) {
    batch_.now = now;
    // A step's process is stored once it has run for kPidPersistDelay: most
    // steps end sooner, and a finished step's process needs no killing.
    size_t kept = 0;
    for (int32_t index : dirty_rows_) {
      InstanceModel& m = inst_[index];
      if (!m.pid_dirty) continue;
      if (m.row.state != TaskState::kRunning) {
        m.pid_dirty = false;
      } else if (now >= m.row.started_at + kPidPersistDelay) {
        batch_.processes.push_back(
            store::AttemptProcess{run_.id, index, m.row.attempts, m.row.pid, m.row.pgid});
        m.pid_dirty = false;
      } else {
        dirty_rows_[kept++] = index;
      }
    }
    dirty_rows_.resize(kept);
    Status st = store_->Commit(batch_);
    if (!st.ok()) {
      batch_.transitions.clear();
      batch_.processes.clear();
      run_changed_from_.reset();
      return st;
    }
    Spawn();
    if (observer_) {
      // Each transition's own snapshot, so a view shows the reason of that
      // transition, not the row's state after the whole batch.
      for (const auto& t : batch_.transitions) {
        if (const auto* tt = std::get_if<store::TaskTransition>(&t))
          observer_->OnTaskChanged(tt->row, tt->from, tt->row.state);
      }
      if (run_changed_from_) observer_->OnRunChanged(run_, *run_changed_from_);
      observer_->OnCommitted();
    }
    batch_.transitions.clear();
    batch_.processes.clear();
    run_changed_from_.reset();
    return Status::Ok();
  }
  Spawn();
  return Status::Ok();
}

void Scheduler::Impl::Spawn() {
  for (auto& spec : to_spawn_) {
    int32_t index = static_cast<int32_t>(spec.token);
    exec::Started s = runner_->Start(std::move(spec));
    if (s.pid > 0) NotePid(index, s.pid, s.pgid);
  }
  to_spawn_.clear();
}

void Scheduler::Impl::NotePid(int32_t index, int pid, int pgid) {
  InstanceModel& m = inst_[index];
  m.row.pid = pid;
  m.row.pgid = pgid;
  if (!m.pid_dirty) dirty_rows_.push_back(index);
  m.pid_dirty = true;
}

Micros Scheduler::Impl::PidsDue() const {
  Micros due = std::numeric_limits<Micros>::max();
  for (int32_t index : dirty_rows_) {
    const InstanceModel& m = inst_[index];
    if (m.pid_dirty && m.row.state == TaskState::kRunning)
      due = std::min(due, m.row.started_at + kPidPersistDelay);
  }
  return due;
}

}  // namespace relay::sched
