// Loading a pipeline file: bytes → checks (UTF-8, not binary, not empty) →
// YAML (JSON accepted) with positions → typed Pipeline → validation. Every
// problem found is reported, not just the first.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "spec/diagnostic.h"
#include "spec/pipeline.h"

namespace relay::spec {

struct LoadResult {
  std::optional<Pipeline> pipeline;  // set only when diagnostics is empty
  // Every error, in file order. An error at a `uses:` whose child does not
  // load is followed by the child's own errors (their `file` is the
  // child's), before the next error of this file.
  std::vector<Diagnostic> diagnostics;
  bool ok() const { return diagnostics.empty() && pipeline.has_value(); }
};

// The largest pipeline file relay reads (docs/pipeline.md): a bigger one, or
// anything that is not a regular file (/dev/zero, a FIFO, a directory), is
// refused before it can exhaust memory or block.
constexpr size_t kMaxPipelineFileBytes = size_t{16} << 20;
// A pipeline and the sub-pipelines it loads, counted each time one is read.
constexpr size_t kMaxPipelineTreeBytes = size_t{64} << 20;

// Sub-pipelines (`uses: ./child.yaml`) nest at most this deep: the top
// file is depth 1 (documented in docs/pipeline.md).
constexpr int kMaxPipelineDepth = 8;

// Where a sub-pipeline named by `uses:` is read from: `uses_path` as written,
// `from_file` the file that names it (its `resolved` path, or the top
// file's name). A pure function of the two, so that the same child is found
// again when a stored run is loaded.
std::string ResolveUsesPath(const std::string& uses_path, const std::string& from_file);

// The text of a sub-pipeline: from disk when a run is created, from the
// store (the definitions recorded with the run) when a stored run is loaded.
// `resolved` is ResolveUsesPath(uses_path, from_file). An error's message
// is reported at the `uses:` value.
using ChildResolver = std::function<Result<std::string>(const std::string& resolved)>;

struct LoadOptions {
  ChildResolver resolve;  // unset: read the file from disk
};

LoadResult LoadPipelineFile(const std::string& path, const LoadOptions& options = {});
// `display_name` is used as the file name in diagnostics.
LoadResult LoadPipelineText(const std::string& text, const std::string& display_name,
                            const LoadOptions& options = {});

}  // namespace relay::spec
