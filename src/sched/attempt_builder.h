// Private to sched/: turning a task instance into a concrete attempt — its
// commands, environment and working directory rendered from the pipeline's
// templates — and rendering the other per-instance templates (a
// sub-pipeline's `with:`, a concurrency group). Templates are parsed once
// per task, not per instance.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "exec/runner.h"
#include "expr/expr.h"
#include "plan/dag.h"
#include "sched/run_model.h"
#include "sched/secrets.h"

namespace relay::sched {

class AttemptBuilder {
 public:
  // What an instance's expressions can read besides its own row.
  struct Scope {
    const RunModel* model;
    const nlohmann::json* run_ctx;  // {"id": …}
    bool cancelling;
  };

  // Parses every task's templates; renders the pipeline's env (which may
  // read inputs and run); the values of secret-named variables go to
  // *secrets. kInvalid when a template does not render.
  Status Prepare(const plan::Plan& plan, const nlohmann::json& run_ctx, RunSecrets* secrets);
  const nlohmann::json& env() const { return env_; }

  // Values of secret-named task env entries that do not read `needs`, for
  // every instance, up front: masking then does not depend on which task
  // ran first, in a fresh run or a resumed one.
  void CollectTaskSecrets(const Scope& scope, RunSecrets* secrets) const;

  // Attempt number `attempt` of the instance, built in `reuse` (whose
  // strings and vectors are assigned into: RunHost::SpareSpec). kInvalid
  // (the message says what) when a template cannot be rendered.
  Result<exec::AttemptSpec> Build(int32_t index, int32_t attempt, const Scope& scope,
                                  std::string_view run_id, std::string_view workdir,
                                  std::string_view log_dir, Micros kill_grace, RunSecrets* secrets,
                                  exec::AttemptSpec reuse = {});

  // A sub-pipeline's `with:` values, rendered to text (typed later as the
  // child's inputs say, as -i values are).
  Result<std::vector<std::pair<std::string, std::string>>> RenderWith(int32_t index,
                                                                      const Scope& scope) const;
  // The instance's concurrency group (its task's `concurrency.group`).
  Result<std::string> RenderGroup(int32_t index, const Scope& scope) const;
  // The pipeline's group, from inputs, env and run alone.
  Result<std::string> RenderRunGroup(const plan::Plan& plan, const nlohmann::json& run_ctx) const;

 private:
  struct TaskTemplates {
    std::vector<expr::Template> steps;
    std::vector<std::pair<std::string, expr::Template>> env;
    expr::Template cwd;
    std::vector<std::pair<std::string, expr::Template>> with;
    std::optional<expr::Template> group;
    std::vector<std::string> shell;
    bool force_shell = false;
  };
  const plan::Plan* plan_ = nullptr;
  std::vector<TaskTemplates> tasks_;
  nlohmann::json env_;  // the pipeline's env, rendered
};

// The words a task's `shell:` runs a command with; *force: always through it.
std::vector<std::string> ShellFor(const std::string& shell, bool* force);

}  // namespace relay::sched
