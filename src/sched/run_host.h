// What a run's driver asks of the engine that drives it (engine/engine.h
// implements it): one batch shared by every run, one process runner, the
// store, and the other runs (sub-pipelines). A driver never commits, spawns
// or waits itself: the engine does, for all runs at once.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "exec/runner.h"
#include "plan/dag.h"
#include "spec/pipeline.h"
#include "store/store.h"

namespace relay::sched {

// A run just made (by engine::CreateRun, a rerun, or a sub-pipeline task):
// its rows as created, and the pipeline and plan they came from, so the
// driver neither parses, plans nor reads them again.
struct CreatedRun {
  store::RunRow run;
  std::shared_ptr<const spec::Pipeline> pipeline;
  plan::Plan plan;  // of *pipeline
  std::vector<store::TaskRow> rows;
};

class RunHost {
 public:
  virtual ~RunHost() = default;

  virtual const Clock* clock() const = 0;
  virtual store::Store* store() = 0;
  // Transitions go here; the engine commits the batch for every run at once.
  virtual store::Batch& batch() = 0;

  // Starts an attempt once the batch holding its `running` transition is
  // committed (the durability rule).
  virtual void Spawn(exec::AttemptSpec spec) = 0;
  // A spec to build the next attempt in: one the runner sent and gave back
  // (its strings hold an earlier attempt's values, to be overwritten), or a
  // new one.
  virtual exec::AttemptSpec SpareSpec() { return {}; }
  // Stops a running attempt (SIGTERM, SIGKILL after its grace).
  virtual void Cancel(uint64_t token) = 0;
  // Takes over an attempt a dead relay started (exec::Runner::Adopt).
  virtual exec::AdoptResult Adopt(const exec::AdoptRequest& request) = 0;

  // A sub-pipeline: `child` is created in the current batch (with the
  // transition of the task that starts it) and driven with the other runs.
  virtual void StartChild(CreatedRun child) = 0;
  // A sub-pipeline's run that a resumed run waits for: driven again (it is
  // resumed too), or, when it already ended, reported to the caller at once.
  virtual Status ResumeChild(const std::string& child_id) = 0;
  // Cancels another run: at once when this engine drives it, else by a
  // request in the store for the relay that does.
  virtual void CancelRun(const std::string& run_id, std::string_view cause,
                         const std::string& reason) = 0;
  // A task instance of another run (cancel-running of a concurrency group).
  virtual void CancelTaskOf(const std::string& run_id, int32_t index,
                            const std::string& reason) = 0;
  // A message for the user that is not a transition.
  virtual void Notice(const std::string& text) = 0;
};

}  // namespace relay::sched
