#include "cli/cmd_run.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <set>
#include <thread>

#include "base/ids.h"
#include "cli/pipeline_input.h"
#include "events/sha256.h"
#include "exec/owner.h"
#include "exec/runner.h"
#include "plan/export.h"
#include "sched/new_run.h"
#include "sched/scheduler.h"
#include "spec/load.h"
#include "ui/progress.h"

namespace relay::cli {
namespace {

int DefaultJobs(int jobs) {
  if (jobs > 0) return jobs;
  unsigned n = std::thread::hardware_concurrency();
  return n ? static_cast<int>(n) : 2;
}

nlohmann::json SelectionJson(const plan::Selection& s) {
  return {{"only", s.only}, {"from", s.from}, {"until", s.until}};
}

// Drives a run that exists in the store to its end, showing progress.
// `created`: a run just created, for the scheduler to start from instead of
// parsing, planning and reading it again.
int Drive(const GlobalOptions& g, store::Store& store, const std::string& run_id, int jobs,
          sched::CreatedRun* created = nullptr) {
  auto runner = exec::NewPosixRunner();
  ui::TerminalInfo term = ui::DetectTerminal(STDOUT_FILENO);
  ui::Progress progress(stdout, term, SystemClock::Get());
  sched::Options options;
  options.jobs = DefaultJobs(jobs);
  options.owner = exec::SelfOwnerId();
  options.tick = term.live ? 100 * kMillisecond : 0;
  sched::Scheduler scheduler(&store, runner.get(), SystemClock::Get(), &progress, options);
  auto final_state = created ? scheduler.Execute(std::move(*created)) : scheduler.Execute(run_id);
  if (!final_state.ok()) return Fail(final_state.status());
  progress.PrintSummary(scheduler.run(), scheduler.rows());
  return *final_state == state::RunState::kSucceeded ? kExitOk : kExitFailed;
}

store::RunRow NewRunRow(const LoadedPipeline& lp, const std::string& file,
                        const nlohmann::json& options) {
  Micros now = SystemClock::Get()->Now();
  store::RunRow run =
      sched::NewRunRow(NewRunId(now), lp.pipeline, lp.plan, file,
                       std::filesystem::current_path().string(), options.dump(), now);
  // Owned from its creation: `relay cancel` in the moment before the
  // scheduler starts finds this relay alive, rather than taking the run over.
  run.owner = exec::SelfOwnerId();
  run.heartbeat_at = now;
  return run;
}

}  // namespace

int CmdRun(const GlobalOptions& g, const RunArgs& a) {
  auto lp = LoadAndPlan(a.file, a.inputs, a.selection);
  if (!lp.ok()) return Fail(lp.status());
  if (a.dry_run) {
    std::fputs(
        (g.output == "json" ? plan::RenderPlanJson((*lp)->plan) : plan::RenderPlanText((*lp)->plan))
            .c_str(),
        stdout);
    return kExitOk;
  }
  auto store = OpenStoreFor(g, /*create=*/true);
  if (!store.ok()) return Fail(store.status());
  sched::CreatedRun created;
  created.run = NewRunRow(**lp, a.file, SelectionJson(a.selection));
  created.rows = sched::NewTaskRows(created.run.id, (*lp)->plan);
  Status s = (*store)->CreateRun(created.run, created.rows, created.run.created_at);
  if (!s.ok()) return Fail(s);
  const std::string run_id = created.run.id;
  created.pipeline = &(*lp)->pipeline;
  created.plan = std::move((*lp)->plan);
  return Drive(g, **store, run_id, a.jobs, &created);
}

int CmdResume(const GlobalOptions& g, const std::string& ref, int jobs) {
  auto store = OpenStoreFor(g, /*create=*/false);
  if (!store.ok()) return Fail(store.status());
  auto id = ResolveRun(**store, ref);
  if (!id.ok()) return Fail(id.status());
  return Drive(g, **store, *id, jobs);
}

// A rerun is a new run of the stored definition and inputs in which the
// instances that need no new work are reused: the scheduler marks them
// succeeded ("reused") in its first commit, from the list stored with the run.
int CmdRerun(const GlobalOptions& g, const std::string& ref, bool failed, const std::string& from,
             int jobs) {
  if (failed == !from.empty())
    return Fail(Status::Invalid("rerun: pass exactly one of --failed or --from TASK"));
  auto store = OpenStoreFor(g, /*create=*/false);
  if (!store.ok()) return Fail(store.status());
  auto id = ResolveRun(**store, ref);
  if (!id.ok()) return Fail(id.status());
  auto old = (*store)->GetRun(*id);
  if (!old.ok()) return Fail(old.status());
  if (!state::IsFinal(old->state))
    return Fail(Status::Invalid("run " + old->id + " has not finished (" +
                                std::string(state::Name(old->state)) + "); use `relay resume " +
                                old->id + "` instead"));
  auto old_tasks = (*store)->GetTasks(*id);
  if (!old_tasks.ok()) return Fail(old_tasks.status());

  plan::Selection sel;
  auto planned = PlanOfRun(*old, &sel);
  if (!planned.ok()) return Fail(planned.status());
  LoadedPipeline& lp = **planned;
  if (Status same = CheckRowsMatchPlan(old->id, *old_tasks, lp.plan); !same.ok()) return Fail(same);

  // Which tasks run again: the chosen one (or those with an instance that
  // failed, was lost or was cancelled) and everything downstream of them. A
  // task skipped by its own condition is no failure: its dependants that
  // succeeded are reused, and it is decided again (its condition reads the
  // same inputs) rather than reused.
  std::set<int32_t> rerun_tasks;
  if (!from.empty()) {
    int t = lp.pipeline.FindTask(from);
    if (t < 0 || !lp.plan.tasks[t].selected)
      return Fail(Status::Invalid("rerun --from: run " + old->id + " has no task '" + from + "'"));
    rerun_tasks.insert(t);
  }
  for (const auto& row : *old_tasks)
    if (row.state == state::TaskState::kFailed || row.state == state::TaskState::kLost ||
        row.state == state::TaskState::kCancelled)
      rerun_tasks.insert(lp.pipeline.FindTask(row.task));
  std::vector<int32_t> stack(rerun_tasks.begin(), rerun_tasks.end());
  std::set<int32_t> downstream;
  while (!stack.empty()) {
    int32_t t = stack.back();
    stack.pop_back();
    for (int32_t u : lp.plan.tasks[t].dependants)
      if (downstream.insert(u).second) stack.push_back(u);
  }
  int chosen = from.empty() ? -1 : lp.pipeline.FindTask(from);
  nlohmann::json reuse = nlohmann::json::object();
  for (const auto& row : *old_tasks) {
    int32_t t = lp.pipeline.FindTask(row.task);
    if (row.state != state::TaskState::kSucceeded || downstream.count(t) || t == chosen) continue;
    reuse[row.name] = {
        {"run", old->id},
        {"outputs", nlohmann::json::parse(row.outputs_json.empty() ? "{}" : row.outputs_json)},
        {"log", row.log_path}};
  }
  nlohmann::json new_options = SelectionJson(sel);
  new_options["reuse"] = reuse;
  store::RunRow run = NewRunRow(lp, old->file, new_options);
  run.parent_run = old->id;
  run.workdir = old->workdir;
  Status created = (*store)->CreateRun(run, sched::NewTaskRows(run.id, lp.plan), run.created_at);
  if (!created.ok()) return Fail(created);
  std::printf("relay: rerun of %s: reusing %zu of %zu task instances\n", old->id.c_str(),
              reuse.size(), old_tasks->size());
  // A fix made to the file is not picked up: say so before it runs.
  if (std::string drift = DefinitionDrift(*old); !drift.empty())
    std::printf("relay: note: %s (start a new run to use the file)\n", drift.c_str());
  return Drive(g, **store, run.id, jobs);
}

int CmdCancel(const GlobalOptions& g, const std::string& ref) {
  auto store = OpenStoreFor(g, /*create=*/false);
  if (!store.ok()) return Fail(store.status());
  auto id = ResolveRun(**store, ref);
  if (!id.ok()) return Fail(id.status());
  auto run = (*store)->GetRun(*id);
  if (!run.ok()) return Fail(run.status());
  if (state::IsFinal(run->state)) {
    std::printf("run %s already finished (%s)\n", run->id.c_str(),
                std::string(state::Name(run->state)).c_str());
    return kExitOk;
  }
  Status st = (*store)->RequestCancel(*id);
  if (!st.ok()) return Fail(st);
  bool owner_alive =
      !run->owner.empty() && exec::CheckOwner(run->owner) != exec::OwnerLiveness::kDead;
  if (owner_alive) {
    exec::PokeOwner(run->owner);
    std::printf("cancel requested: relay %s will stop run %s\n",
                exec::DescribeOwner(run->owner).c_str(), run->id.c_str());
    return kExitOk;
  }
  // Nobody runs it: finish the cancellation here (kills leftovers, records it).
  std::printf("run %s has no live owner; cancelling it here\n", run->id.c_str());
  int code = Drive(g, **store, *id, 1);
  return code == kExitFailed ? kExitOk : code;
}

}  // namespace relay::cli
