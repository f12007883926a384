#include "engine/create_run.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "base/ids.h"
#include "exec/owner.h"
#include "plan/inputs.h"
#include "sched/stored_run.h"
#include "spec/load.h"

namespace relay::engine {
namespace {

nlohmann::json SelectionJson(const plan::Selection& s) {
  return {{"only", s.only}, {"from", s.from}, {"until", s.until}};
}

// Owned from its creation by the engine that will drive it: `relay cancel`
// in the moment before that engine starts finds it alive, rather than
// taking the run over.
store::RunRow Row(const sched::CreatedRun& run, const std::string& file, const std::string& workdir,
                  const nlohmann::json& options, const std::string& actor,
                  const std::string& owner) {
  Micros now = SystemClock::Get()->Now();
  store::RunRow row = sched::NewRunRow(
      NewRunId(now), *run.pipeline, run.plan, file,
      workdir.empty() ? std::filesystem::current_path().string() : workdir, options.dump(), now);
  row.created_by = actor.empty() ? exec::CurrentUser() : actor;
  row.owner = owner;
  row.heartbeat_at = owner.empty() ? 0 : now;
  return row;
}

}  // namespace

Result<sched::CreatedRun> PrepareRun(const RunRequest& request,
                                     std::vector<spec::Diagnostic>* diagnostics) {
  spec::LoadResult loaded = spec::LoadPipelineFile(request.file);
  if (!loaded.ok()) {
    *diagnostics = std::move(loaded.diagnostics);
    return Status::Invalid(request.file + " is not a valid pipeline");
  }
  sched::CreatedRun out;
  auto pipeline = std::make_shared<spec::Pipeline>(std::move(*loaded.pipeline));
  out.pipeline = pipeline;
  plan::InputArgs args;
  for (const auto& a : request.inputs) {
    auto kv = plan::ParseInputArg(a);
    if (!kv.ok()) return kv.status();
    args.push_back(*kv);
  }
  auto inputs = plan::ResolveInputs(*pipeline, args);
  if (!inputs.ok()) return Status::Invalid(request.file + ": " + inputs.status().message());
  auto plan = plan::BuildPlan(*pipeline, std::move(inputs).value(), request.selection);
  if (!plan.ok()) return plan.status();
  out.plan = std::move(plan).value();
  out.plan.pipeline = pipeline.get();
  nlohmann::json options = SelectionJson(request.selection);
  nlohmann::json children = sched::PipelineHashes(*pipeline);
  if (!children.empty()) options["pipelines"] = std::move(children);
  out.run = Row(out, request.file, request.workdir, options, request.actor, request.owner);
  out.rows = sched::NewTaskRows(out.run.id, out.plan);
  return out;
}

namespace {

void StoreChildren(store::Store* store, const spec::Pipeline& pipeline, Status* status) {
  for (const auto& task : pipeline.tasks) {
    if (!status->ok() || !task.uses || !task.uses->pipeline) continue;
    *status = store->PutDefinition(task.uses->pipeline->source);
    StoreChildren(store, *task.uses->pipeline, status);
  }
}

}  // namespace

Status StoreDefinitions(store::Store* store, const sched::CreatedRun& run) {
  Status status = Status::Ok();
  StoreChildren(store, *run.pipeline, &status);
  return status;
}

Result<std::string> CreateRun(store::Store* store, const RunRequest& request,
                              std::vector<spec::Diagnostic>* diagnostics) {
  RELAY_ASSIGN_OR_RETURN(sched::CreatedRun run, PrepareRun(request, diagnostics));
  RELAY_RETURN_IF_ERROR(StoreDefinitions(store, run));
  RELAY_RETURN_IF_ERROR(store->CreateRun(run.run, run.rows, run.run.created_at));
  return run.run.id;
}

Status CheckRowsMatchPlan(const std::string& run_id, const std::vector<store::TaskRow>& rows,
                          const plan::Plan& plan) {
  bool same = rows.size() == plan.instances.size();
  for (size_t i = 0; same && i < rows.size(); ++i) same = rows[i].name == plan.instances[i].name;
  if (same) return Status::Ok();
  return Status::Corrupt("run " + run_id +
                         ": its task list does not match the plan of its definition (changed "
                         "outside relay?); `relay ledger verify " +
                         run_id + "` checks it");
}

Result<sched::CreatedRun> PrepareRerun(store::Store* store, const RerunRequest& request,
                                       size_t* reused) {
  if (request.failed == !request.from.empty())
    return Status::Invalid("rerun: pass exactly one of --failed or --from TASK");
  RELAY_ASSIGN_OR_RETURN(store::RunRow old, store->GetRun(request.run_id));
  if (!old.caller_run.empty())
    return Status::Invalid("run " + old.id + " is a sub-pipeline of run " + old.caller_run +
                           "; rerun that run instead");
  if (!state::IsFinal(old.state))
    return Status::Invalid("run " + old.id + " has not finished (" +
                           std::string(state::Name(old.state)) + "); use `relay resume " + old.id +
                           "` instead");
  RELAY_ASSIGN_OR_RETURN(std::vector<store::TaskRow> old_tasks, store->GetTasks(old.id));
  RELAY_ASSIGN_OR_RETURN(sched::StoredPlan stored, sched::PlanOfStoredRun(store, old));
  RELAY_RETURN_IF_ERROR(CheckRowsMatchPlan(old.id, old_tasks, stored.plan));
  const spec::Pipeline& pipeline = *stored.pipeline;

  // Which tasks run again: the chosen one (or those with an instance that
  // failed, was lost or was cancelled) and everything downstream of them. A
  // task skipped by its own condition is no failure: its dependants that
  // succeeded are reused, and it is decided again (its condition reads the
  // same inputs) rather than reused.
  std::set<int32_t> rerun_tasks;
  if (!request.from.empty()) {
    int t = pipeline.FindTask(request.from);
    if (t < 0 || !stored.plan.tasks[t].selected)
      return Status::Invalid("rerun --from: run " + old.id + " has no task '" + request.from + "'");
    rerun_tasks.insert(t);
  }
  for (const auto& row : old_tasks)
    if (row.state == state::TaskState::kFailed || row.state == state::TaskState::kLost ||
        row.state == state::TaskState::kCancelled)
      rerun_tasks.insert(pipeline.FindTask(row.task));
  std::vector<int32_t> stack(rerun_tasks.begin(), rerun_tasks.end());
  std::set<int32_t> downstream;
  while (!stack.empty()) {
    int32_t t = stack.back();
    stack.pop_back();
    for (int32_t u : stored.plan.tasks[t].dependants)
      if (downstream.insert(u).second) stack.push_back(u);
  }
  int chosen = request.from.empty() ? -1 : pipeline.FindTask(request.from);
  nlohmann::json reuse = nlohmann::json::object();
  for (const auto& row : old_tasks) {
    int32_t t = pipeline.FindTask(row.task);
    if (row.state != state::TaskState::kSucceeded || downstream.count(t) || t == chosen) continue;
    reuse[row.name] = {
        {"run", old.id},
        {"outputs", nlohmann::json::parse(row.outputs_json.empty() ? "{}" : row.outputs_json)},
        {"log", row.log_path}};
  }
  *reused = reuse.size();
  nlohmann::json options =
      nlohmann::json::parse(old.options_json.empty() ? "{}" : old.options_json, nullptr, false);
  nlohmann::json new_options = SelectionJson(stored.selection);
  if (options.is_object() && options.contains("pipelines"))
    new_options["pipelines"] = options["pipelines"];
  new_options["reuse"] = std::move(reuse);

  sched::CreatedRun out;
  out.pipeline = std::move(stored.pipeline);
  out.plan = std::move(stored.plan);
  out.plan.pipeline = out.pipeline.get();
  out.run = Row(out, old.file, old.workdir, new_options, request.actor, request.owner);
  out.run.parent_run = old.id;
  out.rows = sched::NewTaskRows(out.run.id, out.plan);
  return out;
}

}  // namespace relay::engine
