#include "sched/stored_run.h"

#include <nlohmann/json.hpp>

#include "events/sha256.h"
#include "spec/load.h"

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

namespace {

void CollectHashes(const spec::Pipeline& pipeline, nlohmann::json* out) {
  for (const auto& task : pipeline.tasks) {
    if (!task.uses || !task.uses->pipeline) continue;
    (*out)[task.uses->resolved] = events::Sha256Hex(task.uses->pipeline->source);
    CollectHashes(*task.uses->pipeline, out);
  }
}

std::vector<std::string> JsonStrings(const nlohmann::json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it != j.end() && it->is_array())
    for (const auto& v : *it)
      if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

}  // namespace

nlohmann::json PipelineHashes(const spec::Pipeline& pipeline) {
  nlohmann::json out = nlohmann::json::object();
  CollectHashes(pipeline, &out);
  return out;
}

Result<StoredPlan> PlanOfStoredRun(store::Store* store, const store::RunRow& run) {
  nlohmann::json options =
      nlohmann::json::parse(run.options_json.empty() ? "{}" : run.options_json, nullptr, false);
  nlohmann::json inputs =
      nlohmann::json::parse(run.inputs_json.empty() ? "{}" : run.inputs_json, nullptr, false);
  if (!options.is_object() || !inputs.is_object())
    return Status::Corrupt("run " + run.id + ": stored inputs or options are not JSON objects");
  // Sub-pipelines come from the definitions recorded with the run, by the
  // path they were read from then: a file changed since does not change the run.
  nlohmann::json pipelines = options.value("pipelines", nlohmann::json::object());
  spec::LoadOptions load;
  load.resolve = [&](const std::string& resolved) -> Result<std::string> {
    auto it = pipelines.find(resolved);
    if (it == pipelines.end() || !it->is_string())
      return Status::Corrupt("run " + run.id + " recorded no definition for " + resolved);
    if (store == nullptr) return Status::Corrupt("no store to read " + resolved + " from");
    return store->GetDefinition(it->get<std::string>());
  };
  spec::LoadResult loaded = spec::LoadPipelineText(run.definition, run.file, load);
  if (!loaded.ok()) {
    std::string first = loaded.diagnostics.empty() ? "" : ": " + loaded.diagnostics[0].message;
    return Status::Corrupt("the definition stored with run " + run.id + " does not load" + first);
  }
  auto pipeline = std::make_shared<spec::Pipeline>(std::move(*loaded.pipeline));
  pipeline->file = run.file;
  StoredPlan out;
  out.selection = plan::Selection{JsonStrings(options, "only"), JsonStrings(options, "from"),
                                  JsonStrings(options, "until")};
  auto plan = plan::BuildPlan(*pipeline, std::move(inputs), out.selection);
  if (!plan.ok()) return Status::Corrupt("run " + run.id + ": " + plan.status().message());
  out.plan = std::move(plan).value();
  out.plan.pipeline = pipeline.get();
  out.pipeline = std::move(pipeline);
  return out;
}

}  // namespace relay::sched
