#include "sched/new_run.h"

#include "events/sha256.h"

namespace relay::sched {

store::RunRow NewRunRow(const std::string& id, const spec::Pipeline& pipeline,
                        const plan::Plan& plan, const std::string& file, const std::string& workdir,
                        const std::string& options_json, Micros now) {
  store::RunRow run;
  run.id = id;
  run.pipeline = pipeline.name;
  run.file = file;
  run.workdir = workdir;
  run.definition = pipeline.source;
  run.definition_hash = events::Sha256Hex(pipeline.source);
  run.inputs_json = plan.inputs.dump();
  run.options_json = options_json;
  run.created_at = now;
  return run;
}

std::vector<store::TaskRow> NewTaskRows(const std::string& run_id, const plan::Plan& plan) {
  std::vector<store::TaskRow> rows;
  rows.reserve(plan.instances.size());
  for (size_t i = 0; i < plan.instances.size(); ++i) {
    store::TaskRow row;
    row.run_id = run_id;
    row.index = static_cast<int32_t>(i);
    row.name = plan.instances[i].name;
    row.task = plan.pipeline->tasks[plan.instances[i].task].name;
    const nlohmann::json& matrix = plan.instances[i].matrix;
    row.matrix_json = matrix.empty() ? "{}" : matrix.dump();
    row.outputs_json = "{}";
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace relay::sched
