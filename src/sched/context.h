// The names an expression of a run can read (expr::Context), without copying
// the values: inputs, env, matrix, needs and run for a task instance; tasks
// for the pipeline's `outputs:`.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "expr/expr.h"

namespace relay::sched {

class InstanceContext : public expr::Context {
 public:
  InstanceContext(const nlohmann::json* inputs, const nlohmann::json* env,
                  const nlohmann::json* matrix, const nlohmann::json* needs,
                  const nlohmann::json* run, expr::StatusFunctions st,
                  const nlohmann::json* tasks = nullptr)
      : inputs_(inputs),
        env_(env),
        matrix_(matrix),
        needs_(needs),
        run_(run),
        tasks_(tasks),
        st_(st) {}
  const expr::Value* Lookup(std::string_view root) const override {
    if (root == "inputs") return inputs_;
    if (root == "env") return env_;
    if (root == "matrix") return matrix_;
    if (root == "needs") return needs_;
    if (root == "run") return run_;
    if (root == "tasks") return tasks_;
    return nullptr;
  }
  expr::StatusFunctions Status() const override { return st_; }

 private:
  const nlohmann::json *inputs_, *env_, *matrix_, *needs_, *run_, *tasks_;
  expr::StatusFunctions st_;
};

}  // namespace relay::sched
