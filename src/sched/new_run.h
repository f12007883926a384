// The rows of a new run, as `relay run`, `relay rerun`, the tests and the
// benchmarks create it: one run (pending) and one pending row per instance.
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

}  // namespace relay::sched
