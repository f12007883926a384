// Turning a pipeline file plus -i/--only/--from/--until into a Plan, with
// every diagnostic printed as FILE:LINE:COL: message. Nothing here touches
// the store: a pipeline that fails here writes nothing.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "plan/dag.h"
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

// The plan a stored run was made from: its stored definition, inputs and
// selection (never the file on disk), as resume and rerun use it; the
// selection is returned in *selection. kCorrupt when they no longer load.
Result<std::unique_ptr<LoadedPipeline>> PlanOfRun(const store::RunRow& run,
                                                  plan::Selection* selection);

// kCorrupt unless `rows` are the plan's instances, in order: a task list
// changed outside relay is not acted on (resume checks the same).
Status CheckRowsMatchPlan(const std::string& run_id, const std::vector<store::TaskRow>& rows,
                          const plan::Plan& plan);

}  // namespace relay::cli
