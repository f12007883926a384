#include "cli/pipeline_input.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "base/file_util.h"
#include "plan/inputs.h"
#include "spec/load.h"

namespace relay::cli {
namespace {

void PrintDiagnostics(const std::string& file, const spec::LoadResult& loaded) {
  auto text = ReadFile(file);
  std::string source = text.ok() ? *text : "";
  for (const auto& d : loaded.diagnostics)
    std::fprintf(stderr, "%s\n", spec::FormatDiagnostic(d, source).c_str());
  size_t n = loaded.diagnostics.size();
  std::fprintf(stderr, "%zu error%s in %s\n", n, n == 1 ? "" : "s", file.c_str());
}

}  // namespace

int ValidateFile(const std::string& file, bool quiet) {
  spec::LoadResult loaded = spec::LoadPipelineFile(file);
  if (!loaded.ok()) {
    PrintDiagnostics(file, loaded);
    return static_cast<int>(std::max<size_t>(1, loaded.diagnostics.size()));
  }
  if (!quiet) {
    size_t tasks = loaded.pipeline->tasks.size();
    std::printf("%s: ok (pipeline %s, %zu task%s)\n", file.c_str(), loaded.pipeline->name.c_str(),
                tasks, tasks == 1 ? "" : "s");
  }
  return 0;
}

Result<std::unique_ptr<LoadedPipeline>> LoadAndPlan(const std::string& file,
                                                    const std::vector<std::string>& input_args,
                                                    const plan::Selection& selection) {
  spec::LoadResult loaded = spec::LoadPipelineFile(file);
  if (!loaded.ok()) {
    PrintDiagnostics(file, loaded);
    return Status::Invalid("");
  }
  auto out = std::make_unique<LoadedPipeline>();
  out->pipeline = std::move(*loaded.pipeline);
  plan::InputArgs args;
  for (const auto& a : input_args) {
    auto kv = plan::ParseInputArg(a);
    if (!kv.ok()) return kv.status();
    args.push_back(*kv);
  }
  auto inputs = plan::ResolveInputs(out->pipeline, args);
  if (!inputs.ok()) return Status::Invalid(file + ": " + inputs.status().message());
  auto plan = plan::BuildPlan(out->pipeline, std::move(inputs).value(), selection);
  if (!plan.ok()) return plan.status();
  out->plan = std::move(plan).value();
  out->plan.pipeline = &out->pipeline;
  return out;
}

Result<std::unique_ptr<LoadedPipeline>> PlanOfRun(const store::RunRow& run,
                                                  plan::Selection* selection) {
  spec::LoadResult loaded = spec::LoadPipelineText(run.definition, run.file);
  if (!loaded.ok())
    return Status::Corrupt("the definition stored with run " + run.id + " does not load");
  auto lp = std::make_unique<LoadedPipeline>();
  lp->pipeline = std::move(*loaded.pipeline);
  nlohmann::json options =
      nlohmann::json::parse(run.options_json.empty() ? "{}" : run.options_json, nullptr, false);
  nlohmann::json inputs =
      nlohmann::json::parse(run.inputs_json.empty() ? "{}" : run.inputs_json, nullptr, false);
  if (!options.is_object() || !inputs.is_object())
    return Status::Corrupt("the inputs or options stored with run " + run.id + " do not parse");
  *selection = plan::Selection{};
  for (auto [key, dst] : {std::pair{"only", &selection->only}, std::pair{"from", &selection->from},
                          std::pair{"until", &selection->until}}) {
    auto it = options.find(key);
    if (it == options.end()) continue;
    for (const auto& v : *it)
      if (v.is_string()) dst->push_back(v.get<std::string>());
  }
  auto plan = plan::BuildPlan(lp->pipeline, inputs, *selection);
  if (!plan.ok()) return plan.status();
  lp->plan = std::move(plan).value();
  lp->plan.pipeline = &lp->pipeline;
  return lp;
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

}  // namespace relay::cli
