// Deciding what an instance whose needs are complete does next (run, skip),
// and turning an instance into a concrete attempt (rendered commands, env).
#include <strings.h>

#include <algorithm>

#include "base/strings.h"
#include "sched/run_model.h"
#include "store/task_record.h"

namespace relay::sched {

using state::TaskState;
namespace tc = state::cause;

namespace {

// The names an expression of one instance can read, without copying them.
class InstanceContext : public expr::Context {
 public:
  InstanceContext(const nlohmann::json* inputs, const nlohmann::json* env,
                  const nlohmann::json* matrix, const nlohmann::json* needs,
                  const nlohmann::json* run, expr::StatusFunctions st)
      : inputs_(inputs), env_(env), matrix_(matrix), needs_(needs), run_(run), st_(st) {}
  const expr::Value* Lookup(std::string_view root) const override {
    if (root == "inputs") return inputs_;
    if (root == "env") return env_;
    if (root == "matrix") return matrix_;
    if (root == "needs") return needs_;
    if (root == "run") return run_;
    return nullptr;
  }
  expr::StatusFunctions Status() const override { return st_; }

 private:
  const nlohmann::json *inputs_, *env_, *matrix_, *needs_, *run_;
  expr::StatusFunctions st_;
};

}  // namespace

expr::StatusFunctions Scheduler::Impl::StatusFor(int32_t task) const {
  expr::StatusFunctions st;
  st.success = !cancelling_;
  for (int32_t need : plan_->tasks[task].needs) {
    st.success = st.success && tasks_[need].upstream_ok;
    st.failure = st.failure || tasks_[need].upstream_failed;
  }
  st.cancelled = cancelling_;
  return st;
}

std::string Scheduler::Impl::NeedsFailureReason(int32_t task) const {
  if (cancelling_) return "the run was cancelled";
  // The nearest task that did not succeed, found through needs that did not
  // see every ancestor succeed (a need may have run under always()).
  std::string via;
  int32_t at = task;
  for (;;) {
    int32_t culprit = -1, path = -1;
    for (int32_t need : plan_->tasks[at].needs) {
      const TaskModel& t = tasks_[need];
      if (t.upstream_ok) continue;
      if (!t.Succeeded()) {
        culprit = need;
        break;
      }
      if (path < 0) path = need;
    }
    if (culprit >= 0) {
      const TaskModel& t = tasks_[culprit];
      const std::string& name = pipeline_->tasks[culprit].name;
      std::string what = t.any_failed      ? "failed"
                         : t.any_cancelled ? "was cancelled"
                                           : "was skipped";
      if (at == task) return "needs '" + name + "', which " + what;
      return "'" + name + "' upstream " + what + " (via " + via + ")";
    }
    if (path < 0) return "a need did not succeed";
    via += (via.empty() ? "'" : " ← '") + pipeline_->tasks[path].name + "'";
    at = path;
  }
}

nlohmann::json Scheduler::Impl::NeedsContext(int32_t task) const {
  nlohmann::json needs = nlohmann::json::object();
  for (int32_t need : plan_->tasks[task].needs) {
    const TaskModel& t = tasks_[need];
    const char* result = t.any_failed      ? "failure"
                         : t.any_cancelled ? "cancelled"
                         : t.any_succeeded ? "success"
                                           : "skipped";
    needs[pipeline_->tasks[need].name] = {
        {"result", result},
        {"outputs", t.outputs.is_null() ? nlohmann::json::object() : t.outputs}};
  }
  // Needs left out by --only/--from/--until count as satisfied (as
  // success() says) and have no outputs.
  for (const auto& need : pipeline_->tasks[task].needs) {
    if (!needs.contains(need.value))
      needs[need.value] = {{"result", "success"}, {"outputs", nlohmann::json::object()}};
  }
  return needs;
}

void Scheduler::Impl::Decide(int32_t index) {
  int32_t task = plan_->instances[index].task;
  TaskModel& tm = tasks_[task];
  const bool status_aware = tm.condition && tm.condition->UsesStatusFunction();
  if (cancelling_ && (!status_aware || forced_)) {
    Transition(index, TaskState::kCancelled, tc::kCancelled, "the run was cancelled");
    MarkFinal(index);
    return;
  }
  expr::StatusFunctions st = StatusFor(task);
  if (tm.condition) {
    if (!tm.needs_ctx) tm.needs_ctx = NeedsContext(task);
    InstanceContext ctx(&plan_->inputs, &env_, &plan_->instances[index].matrix, &*tm.needs_ctx,
                        &run_ctx_, st);
    auto value = tm.condition->Evaluate(ctx);
    if (!value.ok()) {
      Transition(index, TaskState::kFailed, tc::kConditionError,
                 "if: " + tm.condition->source() + ": " + value.status().message());
      MarkFinal(index);
      return;
    }
    bool truthy = expr::IsTruthy(*value);
    if (!status_aware && !st.success) {
      Transition(index, TaskState::kSkipped, tc::kNeedsFailed, NeedsFailureReason(task));
      MarkFinal(index);
      return;
    }
    if (!truthy) {
      Transition(index, TaskState::kSkipped, tc::kConditionFalse,
                 "condition `" + tm.condition->source() + "` was false");
      MarkFinal(index);
      return;
    }
  } else if (!st.success) {
    Transition(index, TaskState::kSkipped, tc::kNeedsFailed, NeedsFailureReason(task));
    MarkFinal(index);
    return;
  }
  Transition(index, TaskState::kQueued, tc::kNeedsMet, "ready");
  ready_.push({plan_->tasks[task].critical_path, index});
}

void Scheduler::Impl::AddSecret(std::string value) {
  if (value.empty() || !secret_set_.insert(value).second) return;
  secrets_.push_back(std::move(value));
  masker_stale_ = true;
}

const exec::Masker& Scheduler::Impl::Mask() {
  if (masker_stale_ || !masker_) {
    masker_ = std::make_shared<const exec::Masker>(secrets_);
    masker_stale_ = false;
  }
  return *masker_;
}

std::string Scheduler::Impl::Redact(std::string text) {
  if (secrets_.empty() || text.empty()) return text;
  std::string scratch;
  std::string_view masked = Mask().Apply(text, &scratch);
  return masked.data() == text.data() ? text : std::move(scratch);
}

void Scheduler::Impl::CollectTaskSecrets() {
  if (pipeline_->secrets.empty()) return;
  static const nlohmann::json kNoNeeds = nlohmann::json::object();
  for (size_t t = 0; t < tasks_.size(); ++t) {
    for (const auto& [key, tmpl] : tasks_[t].env) {
      if (!IsSecretName(key)) continue;
      // Only what the start of the run decides: not needs' outputs or
      // results, nor status functions, whose values come later (added then).
      bool later = false;
      for (const auto& ref : tmpl.References())
        later = later || (!ref.path.empty() && strcasecmp(ref.path[0].c_str(), "needs") == 0);
      for (const auto& piece : tmpl.pieces())
        later = later || (piece.expr && piece.expr->UsesStatusFunction());
      if (later) continue;
      const plan::TaskNode& node = plan_->tasks[t];
      for (int32_t i = node.first_instance; i < node.first_instance + node.instance_count; ++i) {
        InstanceContext ctx(&plan_->inputs, &env_, &plan_->instances[i].matrix, &kNoNeeds,
                            &run_ctx_, expr::StatusFunctions{});
        auto value = tmpl.Render(ctx);
        if (value.ok()) AddSecret(*value);
      }
    }
  }
}

bool Scheduler::Impl::IsSecretName(std::string_view name) const {
  return std::find(pipeline_->secrets.begin(), pipeline_->secrets.end(), name) !=
         pipeline_->secrets.end();
}

Result<exec::AttemptSpec> Scheduler::Impl::BuildAttempt(int32_t index) {
  const plan::Instance& instance = plan_->instances[index];
  InstanceModel& m = inst_[index];
  TaskModel& tm = tasks_[instance.task];
  if (!tm.needs_ctx) tm.needs_ctx = NeedsContext(instance.task);

  exec::AttemptSpec a;
  a.token = static_cast<uint64_t>(index);
  a.log_path =
      store::AttemptLogPath(options_.log_dir, run_.id, index, instance.name, m.row.attempts);
  std::string out_path = a.log_path;
  out_path.replace(out_path.size() - 4, 4, ".out");
  a.shell = tm.shell;
  a.force_shell = tm.force_shell;
  a.timeout = tm.timeout;
  a.kill_grace = options_.kill_grace;

  const nlohmann::json* env_ctx = &env_;
  nlohmann::json task_env;
  if (!tm.env.empty()) {
    task_env = env_;
    InstanceContext ctx(&plan_->inputs, &env_, &instance.matrix, &*tm.needs_ctx, &run_ctx_,
                        StatusFor(instance.task));
    for (const auto& [key, tmpl] : tm.env) {
      auto value = tmpl.Render(ctx);
      if (!value.ok()) return Status::Invalid("env." + key + ": " + value.status().message());
      if (IsSecretName(key)) AddSecret(*value);
      task_env[key] = *value;
    }
    env_ctx = &task_env;
  }
  if (!secrets_.empty()) {
    Mask();
    a.masker = masker_;
  }
  InstanceContext ctx(&plan_->inputs, env_ctx, &instance.matrix, &*tm.needs_ctx, &run_ctx_,
                      StatusFor(instance.task));
  a.steps.reserve(tm.steps.size());
  for (const auto& tmpl : tm.steps) {
    if (tmpl.IsLiteral()) {
      a.steps.push_back(tmpl.pieces().empty() ? "" : tmpl.pieces()[0].literal);
      continue;
    }
    auto line = tmpl.Render(ctx);
    if (!line.ok()) return Status::Invalid("cannot render the command: " + line.status().message());
    // A shell would run nothing and exit 0: a task that "succeeds" without
    // doing anything is more likely a mistake in an expression.
    if (line->find_first_not_of(" \t\r\n") == std::string::npos)
      return Status::Invalid("the command is empty once its expressions are evaluated");
    a.steps.push_back(std::move(line).value());
  }
  auto cwd = tm.cwd.Render(ctx);
  if (!cwd.ok()) return Status::Invalid("cwd: " + cwd.status().message());
  a.cwd = *cwd;
  if (a.cwd.empty())
    a.cwd = run_.workdir;
  else if (a.cwd[0] != '/')
    a.cwd = run_.workdir + "/" + a.cwd;

  a.env.reserve(env_ctx->size() + 4);
  for (auto it = env_ctx->begin(); it != env_ctx->end(); ++it)
    a.env.emplace_back(it.key(), it.value().is_string() ? it.value().get<std::string>()
                                                        : expr::ToDisplayString(it.value()));
  a.env.emplace_back("RELAY_RUN_ID", run_.id);
  a.env.emplace_back("RELAY_TASK", instance.name);
  a.env.emplace_back("RELAY_ATTEMPT", std::to_string(m.row.attempts));
  a.env.emplace_back("RELAY_OUTPUT", std::move(out_path));
  return a;
}

}  // namespace relay::sched
