// Loading a pipeline file: bytes → checks (UTF-8, not binary, not empty) →
// YAML (JSON accepted) with positions → typed Pipeline → validation. Every
// problem found is reported, not just the first.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "spec/diagnostic.h"
#include "spec/pipeline.h"

namespace relay::spec {

struct LoadResult {
  std::optional<Pipeline> pipeline;     // set only when diagnostics is empty
  std::vector<Diagnostic> diagnostics;  // every error, in file order
  bool ok() const { return diagnostics.empty() && pipeline.has_value(); }
};

LoadResult LoadPipelineFile(const std::string& path);
// `display_name` is used as the file name in diagnostics.
LoadResult LoadPipelineText(const std::string& text, const std::string& display_name);

}  // namespace relay::spec
