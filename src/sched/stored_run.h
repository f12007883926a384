// The rows of a new run, as the engine, reruns, sub-pipelines, the tests and
// the benchmarks create it: one run (pending) and one pending row per
// instance; and the pipeline and plan a stored run was made from.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "plan/dag.h"
#include "store/store.h"

namespace relay::sched {

// `options_json` holds the selection (and, for reruns, what to reuse).
store::RunRow NewRunRow(const std::string& id, const spec::Pipeline& pipeline,
                        const plan::Plan& plan, const std::string& file, const std::string& workdir,
                        const std::string& options_json, Micros now);

std::vector<store::TaskRow> NewTaskRows(const std::string& run_id, const plan::Plan& plan);

// The sub-pipelines a pipeline names (recursively), as the run records them
// in its options: {"<resolved path>": "<sha256 of its text>", …}.
nlohmann::json PipelineHashes(const spec::Pipeline& pipeline);

// What a stored run was made from: its stored definition (with the
// sub-pipelines' definitions recorded with it), inputs and selection —
// never the files on disk. Resume, rerun and `ledger verify` all use it.
struct StoredPlan {
  std::shared_ptr<const spec::Pipeline> pipeline;
  plan::Plan plan;  // of *pipeline
  plan::Selection selection;
};
// kCorrupt when they no longer load or plan.
Result<StoredPlan> PlanOfStoredRun(store::Store* store, const store::RunRow& run);

}  // namespace relay::sched
