#include "cli/pipeline_input.h"

#include <cstdio>

#include "base/file_util.h"
#include "plan/inputs.h"
#include "spec/load.h"

namespace relay::cli {

void PrintDiagnostics(const std::string& file, const std::vector<spec::Diagnostic>& diagnostics) {
  // Each diagnostic shows a line of its own file (a sub-pipeline's errors
  // are in the child's). A file is read once, only for a diagnostic with a
  // line to show, and capped as the loader reads it: the file may be the
  // /dev/zero or FIFO the diagnostic is about.
  std::vector<std::pair<std::string, std::string>> sources;  // file → text; a few files
  auto source_of = [&](const spec::Diagnostic& d) -> const std::string& {
    static const std::string kNone;
    if (d.mark.line <= 0) return kNone;
    for (const auto& [name, text] : sources)
      if (name == d.file) return text;
    auto text = ReadFileCapped(d.file, spec::kMaxPipelineFileBytes);
    return sources.emplace_back(d.file, text.ok() ? std::move(*text) : "").second;
  };
  for (const auto& d : diagnostics)
    std::fprintf(stderr, "%s\n", spec::FormatDiagnostic(d, source_of(d)).c_str());
  size_t n = diagnostics.size();
  std::fprintf(stderr, "%zu error%s in %s\n", n, n == 1 ? "" : "s", file.c_str());
}

int ValidateFile(const std::string& file, bool quiet) {
  spec::LoadResult loaded = spec::LoadPipelineFile(file);
  if (!loaded.ok()) {
    PrintDiagnostics(file, loaded.diagnostics);
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
    PrintDiagnostics(file, loaded.diagnostics);
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

}  // namespace relay::cli
