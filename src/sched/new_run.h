// The rows of a new run, as `relay run`, `relay rerun`, the tests and the
// benchmarks create it: one run (pending) and one pending row per instance;
// and the plan a stored run was made from.
#pragma once

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

// The plan a stored run was made from: its stored definition (parsed into
// *pipeline, which the plan points into), inputs and selection (returned in
// *selection), never the file on disk. Resume, rerun and `ledger verify`
// all use it. kCorrupt when they no longer load or plan.
Result<plan::Plan> PlanOfStoredRun(const store::RunRow& run, spec::Pipeline* pipeline,
                                   plan::Selection* selection);

}  // namespace relay::sched
