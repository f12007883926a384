// The task kinds: how an instance of each starts, stops and is recovered.
#include "sched/kinds.h"

#include "base/ids.h"
#include "exec/owner.h"
#include "plan/inputs.h"
#include "sched/run_driver.h"
#include "sched/stored_run.h"
#include "store/task_record.h"

namespace relay::sched {

using state::TaskState;
namespace tc = state::cause;

bool ShellKind::Start(RunDriver& d, int32_t index) {
  InstanceModel& m = d.model_.inst[index];
  const int32_t task = d.model_.TaskOf(index);
  const Micros now = d.host_->clock()->Now();
  const int32_t attempt = m.row.attempts + 1;
  // The run's own relay holds the claim: no owner of its own (the run's),
  // and no lease (the engine's heartbeat shows it is alive). A remote
  // worker's claim names it and carries a lease.
  d.Transition(index, TaskState::kClaimed, tc::kClaimed, "", {}, {}, now);
  auto spec =
      d.builder_.Build(index, attempt, d.Scope(), d.run_.id, d.run_.workdir, d.options_.log_dir,
                       d.options_.kill_grace, &d.secrets_, d.host_->SpareSpec());
  store::TaskEffects fx;
  fx.attempt = attempt;
  fx.log = spec.ok() ? spec->log_path : "";
  // At `now`: the fold of the ledger takes started_at from this event's
  // time. No reason: the attempt number is in the event's data.
  d.Transition(index, TaskState::kRunning, tc::kStarted, "", std::move(fx), {}, now);
  if (!d.broken_.empty()) return false;
  m.in_slot = true;
  ++d.model_.in_slots;
  ++d.model_.tasks[task].running;
  if (!spec.ok()) {
    exec::AttemptResult r;
    r.token = d.Token(index);
    r.exit_code = -1;
    r.spawn_error = spec.status().message();
    r.started_at = r.ended_at = now;
    d.FinishAttempt(index, r);
    return true;
  }
  spec->token = d.Token(index);
  d.host_->Spawn(std::move(spec).value());
  return true;
}

void ShellKind::Stop(RunDriver& d, int32_t index, const std::string&) {
  d.host_->Cancel(d.Token(index));
}

// An attempt the dead relay started lives on under its keeper (or ended
// there, leaving its exit record): it is adopted, not run again. Only one
// nobody knows of any more is lost (Take kills its leftovers and retries it).
void ShellKind::Recover(RunDriver& d, int32_t index, const std::string&) {
  InstanceModel& m = d.model_.inst[index];
  const int32_t task = d.model_.TaskOf(index);
  if (!m.row.started_by.empty()) {
    exec::AdoptRequest request;
    request.started_by = m.row.started_by;
    request.key = exec::AttemptKey{d.run_.id, index, m.row.attempts};
    request.log_path = m.row.log_path;
    request.token = d.Token(index);
    exec::AdoptResult got = d.host_->Adopt(request);
    if (got.outcome == exec::AdoptResult::Outcome::kNotStarted) {
      d.not_started_.push_back(index);
      return;
    }
    if (got.outcome != exec::AdoptResult::Outcome::kGone) {
      m.in_slot = true;
      ++d.model_.in_slots;
      ++d.model_.tasks[task].running;
      if (got.outcome == exec::AdoptResult::Outcome::kFinished) {
        got.result.token = d.Token(index);
        d.FinishAttempt(index, got.result);
        return;
      }
      if (got.pid > 0) d.OnStarted(index, got.pid, got.pgid);
      d.host_->Notice("adopted '" + m.row.name + "' attempt " + std::to_string(m.row.attempts) +
                      " (pid " + std::to_string(got.pid) + "), still running");
      return;
    }
  }
  d.gone_.push_back(index);
}

bool PipelineKind::Start(RunDriver& d, int32_t index) {
  InstanceModel& m = d.model_.inst[index];
  const int32_t task = d.model_.TaskOf(index);
  const spec::UsesSpec& uses = *d.model_.SpecOf(index).uses;
  const Micros now = d.host_->clock()->Now();
  auto fail = [&](const std::string& why) {
    d.Transition(index, TaskState::kFailed, tc::kChildInvalid,
                 "cannot start sub-pipeline " + uses.path.value + ": " + why);
    d.MarkFinal(index);
    return false;
  };
  auto with = d.builder_.RenderWith(index, d.Scope());
  if (!with.ok()) return fail(with.status().message());
  // Typed as `-i` values are, against the child's `inputs:`.
  auto inputs = plan::ResolveInputs(*uses.pipeline, *with);
  if (!inputs.ok()) return fail(inputs.status().message());
  auto plan = plan::BuildPlan(*uses.pipeline, std::move(inputs).value(), {});
  if (!plan.ok()) return fail(plan.status().message());

  CreatedRun child;
  child.pipeline = uses.pipeline;
  child.plan = std::move(plan).value();
  child.plan.pipeline = child.pipeline.get();
  const std::string id = NewRunId(now);
  child.run = NewRunRow(id, *child.pipeline, child.plan, uses.resolved, d.run_.workdir,
                        d.children_json_, now);
  child.run.caller_run = d.run_.id;
  child.run.caller_index = index;
  child.run.created_by = d.run_.created_by;
  // Owned from its creation, as a run `relay run` makes.
  child.run.owner = d.options_.owner;
  child.run.heartbeat_at = now;
  child.rows = NewTaskRows(id, child.plan);

  store::TaskEffects fx;
  fx.attempt = m.row.attempts + 1;
  fx.child = id;
  d.Transition(index, TaskState::kWaitingChild, tc::kChildStarted,
               "sub-pipeline " + uses.path.value + " runs as run " + id, std::move(fx), {}, now);
  if (!d.broken_.empty()) return false;
  m.stop_requested = false;
  ++d.model_.tasks[task].running;  // max_parallel counts children too
  d.children_.emplace_back(index, id);
  d.host_->StartChild(std::move(child));
  return false;
}

void PipelineKind::Stop(RunDriver& d, int32_t index, const std::string& reason) {
  const std::string& child = d.model_.inst[index].row.child_run;
  if (!child.empty()) d.host_->CancelRun(child, state::run_cause::kParentCancelled, reason);
}

void PipelineKind::Recover(RunDriver& d, int32_t index, const std::string&) {
  InstanceModel& m = d.model_.inst[index];
  ++d.model_.tasks[d.model_.TaskOf(index)].running;
  d.children_.emplace_back(index, m.row.child_run);
  Status resumed = d.host_->ResumeChild(m.row.child_run);
  if (resumed.ok()) return;
  d.children_.pop_back();
  --d.model_.tasks[d.model_.TaskOf(index)].running;
  d.Transition(
      index, TaskState::kFailed, tc::kChildFailed,
      "its sub-pipeline run " + m.row.child_run + " cannot be resumed: " + resumed.message());
  d.MarkFinal(index);
}

std::unique_ptr<TaskKind> NewShellKind() { return std::make_unique<ShellKind>(); }
std::unique_ptr<TaskKind> NewPipelineKind() { return std::make_unique<PipelineKind>(); }
std::unique_ptr<TaskKind> NewApprovalKind() { return std::make_unique<ApprovalKind>(); }

bool ApprovalKind::Start(RunDriver& d, int32_t index) {
  if (d.broken_.empty())
    d.broken_ = "internal error: approval-only task '" + d.model_.inst[index].row.name +
                "' was started instead of ending with its approval";
  return false;
}

}  // namespace relay::sched
