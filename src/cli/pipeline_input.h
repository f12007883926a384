// Turning a pipeline file plus -i/--only/--from/--until into a Plan, with
// every diagnostic printed as FILE:LINE:COL: message. Nothing here touches
// the store: a pipeline that fails here writes nothing.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "plan/dag.h"
#include "spec/diagnostic.h"
#include "spec/pipeline.h"
#include "store/store.h"

namespace relay::cli {

struct LoadedPipeline {
  spec::Pipeline pipeline;
  plan::Plan plan;  // points into `pipeline`: keep both together
};

// Returns kInvalid after printing the diagnostics to stderr.
Result<std::unique_ptr<LoadedPipeline>> LoadAndPlan(const std::string& file,
                                                    const std::vector<std::string>& input_args,
                                                    const plan::Selection& selection);

// Only loads and validates (relay validate). Prints diagnostics; returns
// the number of errors.
int ValidateFile(const std::string& file, bool quiet);

// Prints every diagnostic as FILE:LINE:COL with its line and a caret (each
// from its own file: a sub-pipeline's errors are in the child's), then a
// count naming `file`.
void PrintDiagnostics(const std::string& file, const std::vector<spec::Diagnostic>& diagnostics);

}  // namespace relay::cli
