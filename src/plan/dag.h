// plan: a validated pipeline plus concrete inputs → the expanded DAG of task
// instances for one run. Pure (no I/O): `relay plan`, `relay run` and
// `relay resume` all build the same Plan from the same definition and inputs.
//
// Edges are kept between tasks, not instances: an instance waits for every
// instance of each task it needs, so a 1,000 × 1,000 fan-in costs 1,000
// counters, not 1,000,000 edges.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/status.h"
#include "spec/pipeline.h"

namespace relay::plan {

struct Instance {
  int32_t task = 0;       // index into Pipeline::tasks
  std::string name;       // "build", "test[shard=2]"
  nlohmann::json matrix;  // object of matrix values; empty object if none
};

struct TaskNode {
  bool selected = true;        // false: left out by --only/--from/--until
  int32_t first_instance = 0;  // instances of this task are contiguous
  int32_t instance_count = 0;
  std::vector<int32_t> needs;       // selected tasks this one waits for
  std::vector<int32_t> dependants;  // selected tasks that wait for this one
  int32_t critical_path = 0;        // longest chain of tasks from here to a sink
};

// Which tasks a run includes. Empty lists mean "no restriction".
struct Selection {
  std::vector<std::string> only;   // exactly these tasks
  std::vector<std::string> from;   // these and everything that depends on them
  std::vector<std::string> until;  // these and everything they depend on
  bool empty() const { return only.empty() && from.empty() && until.empty(); }
};

struct Plan {
  const spec::Pipeline* pipeline = nullptr;  // not owned; outlives the plan
  nlohmann::json inputs;                     // resolved
  std::vector<TaskNode> tasks;               // indexed like pipeline->tasks
  std::vector<int32_t> order;                // selected tasks, topologically sorted
  std::vector<Instance> instances;           // grouped by task, in `order`

  const spec::TaskSpec& spec_of(const Instance& i) const { return pipeline->tasks[i.task]; }
};

// REQUIRES: `pipeline` passed validation (acyclic, needs exist). Fails with
// kInvalid when a selection names an unknown task or selects no task ("nothing
// to run: --from e --until a selects no task"), and when the matrix of a
// selected task expands to no instance (every combination excluded): a task
// is never left out of a run silently.
Result<Plan> BuildPlan(const spec::Pipeline& pipeline, nlohmann::json inputs,
                       const Selection& selection);

}  // namespace relay::plan
