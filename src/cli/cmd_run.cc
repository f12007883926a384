#include "cli/cmd_run.h"

#include <unistd.h>

#include <cstdio>
#include <functional>

#include "base/duration.h"
#include "cli/pipeline_input.h"
#include "engine/create_run.h"
#include "engine/engine.h"
#include "exec/owner.h"
#include "keeper/keeper.h"
#include "plan/export.h"
#include "ui/progress.h"

namespace relay::cli {
namespace {

// How long a store may stay locked by another process before a running
// relay gives up (docs/architecture.md); RELAY_STORE_BUSY_LIMIT overrides it
// (a duration: 30s, 10m).
Micros BusyLimit() {
  if (const char* env = std::getenv("RELAY_STORE_BUSY_LIMIT"); env && *env) {
    auto d = ParseDuration(env);
    if (d.ok()) return *d;
  }
  return engine::EngineOptions{}.busy_limit;
}

// Drives the runs `add` gives the engine until they end, showing progress,
// then prints the summary of run `top` (as `add` sets it). The keeper is
// started first, while relay has one thread: it runs every attempt, and
// outlives relay if relay is killed.
int Drive(store::Store& store, int jobs, std::string* top,
          const std::function<Status(engine::Engine&)>& add) {
  const std::string owner = exec::SelfOwnerId();
  auto runner = keeper::StartKeeper({owner});
  if (!runner.ok()) return Fail(runner.status());
  ui::TerminalInfo term = ui::DetectTerminal(STDOUT_FILENO);
  ui::Progress progress(stdout, term, SystemClock::Get());
  engine::EngineOptions options;
  options.slots = jobs;
  options.owner = owner;
  options.tick = term.live ? 100 * kMillisecond : 0;
  options.busy_limit = BusyLimit();
  engine::Engine engine(&store, runner->get(), SystemClock::Get(), options);
  engine.AddObserver(&progress);
  if (Status added = add(engine); !added.ok()) return Fail(added);
  if (Status ran = engine.RunUntilIdle(); !ran.ok()) return Fail(ran);
  const store::RunRow* run = engine.run(*top);
  if (run == nullptr) return Fail(Status::Internal("run " + *top + " was not driven"));
  progress.PrintSummary(*run, engine.rows(*top));
  return run->state == state::RunState::kSucceeded ? kExitOk : kExitFailed;
}

}  // namespace

int CmdRun(const GlobalOptions& g, const RunArgs& a) {
  if (a.dry_run) {
    auto lp = LoadAndPlan(a.file, a.inputs, a.selection);
    if (!lp.ok()) return Fail(lp.status());
    std::fputs(
        (g.output == "json" ? plan::RenderPlanJson((*lp)->plan) : plan::RenderPlanText((*lp)->plan))
            .c_str(),
        stdout);
    return kExitOk;
  }
  engine::RunRequest request;
  request.file = a.file;
  request.inputs = a.inputs;
  request.selection = a.selection;
  request.owner = exec::SelfOwnerId();
  std::vector<spec::Diagnostic> diagnostics;
  auto created = engine::PrepareRun(request, &diagnostics);
  if (!created.ok()) {
    if (diagnostics.empty()) return Fail(created.status());
    PrintDiagnostics(a.file, diagnostics);
    return kExitUsage;
  }
  auto store = OpenStoreFor(g, /*create=*/true);
  if (!store.ok()) return Fail(store.status());
  if (Status s = engine::StoreDefinitions(store->get(), *created); !s.ok()) return Fail(s);
  std::string top = created->run.id;
  // Created in the engine's first commit, with its first transitions.
  return Drive(**store, a.jobs, &top, [&](engine::Engine& e) {
    return e.Add(std::move(created).value(), /*create=*/true);
  });
}

int CmdResume(const GlobalOptions& g, const std::string& ref, int jobs) {
  auto store = OpenStoreFor(g, /*create=*/false);
  if (!store.ok()) return Fail(store.status());
  auto id = ResolveRun(**store, ref);
  if (!id.ok()) return Fail(id.status());
  std::string top;
  return Drive(**store, jobs, &top, [&](engine::Engine& e) -> Status {
    // A sub-pipeline's run is resumed with the run that called it.
    RELAY_ASSIGN_OR_RETURN(top, e.TopRun(*id));
    if (top != *id)
      std::printf("relay: run %s is a sub-pipeline of run %s: resuming that\n", id->c_str(),
                  top.c_str());
    return e.Resume(top);
  });
}

int CmdRerun(const GlobalOptions& g, const std::string& ref, bool failed, const std::string& from,
             int jobs) {
  if (failed == !from.empty())
    return Fail(Status::Invalid("rerun: pass exactly one of --failed or --from TASK"));
  auto store = OpenStoreFor(g, /*create=*/false);
  if (!store.ok()) return Fail(store.status());
  auto id = ResolveRun(**store, ref);
  if (!id.ok()) return Fail(id.status());
  engine::RerunRequest request;
  request.run_id = *id;
  request.failed = failed;
  request.from = from;
  request.owner = exec::SelfOwnerId();
  size_t reused = 0;
  auto created = engine::PrepareRerun(store->get(), request, &reused);
  if (!created.ok()) return Fail(created.status());
  std::printf("relay: rerun of %s: reusing %zu of %zu task instances\n", id->c_str(), reused,
              created->rows.size());
  // A fix made to the file is not picked up: say so before it runs.
  if (auto old = (*store)->GetRun(*id); old.ok()) {
    if (std::string drift = DefinitionDrift(*old); !drift.empty())
      std::printf("relay: note: %s (start a new run to use the file)\n", drift.c_str());
  }
  std::string top = created->run.id;
  return Drive(**store, jobs, &top, [&](engine::Engine& e) {
    return e.Add(std::move(created).value(), /*create=*/true);
  });
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
  store::Request request;
  request.run_id = *id;
  request.kind = "cancel";
  request.actor = exec::CurrentUser();
  auto added = (*store)->AddRequest(request);
  if (!added.ok()) return Fail(added.status());
  bool owner_alive =
      !run->owner.empty() && exec::CheckOwner(run->owner) != exec::OwnerLiveness::kDead;
  if (owner_alive) {
    exec::PokeOwner(run->owner);
    std::printf("cancel requested: relay %s will stop run %s\n",
                exec::DescribeOwner(run->owner).c_str(), run->id.c_str());
    return kExitOk;
  }
  // Nobody runs it: finish the cancellation here (what still runs under a
  // dead relay's keeper is adopted and stopped; leftovers are killed).
  std::printf("run %s has no live owner; cancelling it here\n", run->id.c_str());
  std::string top;
  int code = Drive(**store, 1, &top, [&](engine::Engine& e) -> Status {
    RELAY_ASSIGN_OR_RETURN(top, e.TopRun(*id));
    return e.Resume(top);
  });
  return code == kExitFailed ? kExitOk : code;
}

int CmdApprove(const GlobalOptions& g, const ApproveArgs& a) {
  auto store = OpenStoreFor(g, /*create=*/false);
  if (!store.ok()) return Fail(store.status());
  auto id = ResolveRun(**store, a.run);
  if (!id.ok()) return Fail(id.status());
  auto run = (*store)->GetRun(*id);
  if (!run.ok()) return Fail(run.status());
  if (state::IsFinal(run->state))
    return Fail(Status::Invalid("run " + run->id + " already finished (" +
                                std::string(state::Name(run->state)) + ")"));
  store::Request request;
  request.run_id = *id;
  request.kind = a.reject ? "reject" : "approve";
  request.task = a.task;
  request.actor = exec::CurrentUser();
  request.comment = a.comment;
  auto added = (*store)->AddRequest(request);
  if (!added.ok()) return Fail(added.status());
  const bool owner_alive =
      !run->owner.empty() && exec::CheckOwner(run->owner) != exec::OwnerLiveness::kDead;
  if (!owner_alive) {
    std::printf(
        "recorded: run %s has no live relay; the %s applies when it is resumed "
        "(relay resume %s)\n",
        run->id.c_str(), a.reject ? "rejection" : "approval", run->id.c_str());
    return kExitOk;
  }
  exec::PokeOwner(run->owner);
  // The owning relay acts within its inbox poll (100 ms); wait a little
  // longer for its answer, which says whether the request was taken.
  const Micros until = MonotonicNow() + 5 * kSecond;
  while (MonotonicNow() < until) {
    auto done = (*store)->GetRequest(*added);
    if (done.ok() && done->done_at != 0) {
      if (done->outcome.rfind("refused", 0) == 0) {
        std::fprintf(stderr, "relay: %s\n", done->outcome.c_str());
        return kExitFailed;
      }
      std::printf("%s: %s of run %s by %s\n", done->outcome.c_str(), a.task.c_str(),
                  run->id.c_str(), request.actor.c_str());
      return kExitOk;
    }
    ::usleep(20 * 1000);
  }
  std::printf("recorded: relay %s has not acted on it yet\n",
              exec::DescribeOwner(run->owner).c_str());
  return kExitOk;
}

}  // namespace relay::cli
