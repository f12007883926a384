#include "sched/attempt_builder.h"

#include <strings.h>

#include <charconv>
#include <cstdlib>

#include "sched/context.h"
#include "store/task_record.h"

namespace relay::sched {

std::vector<std::string> ShellFor(const std::string& shell, bool* force) {
  *force = !shell.empty();
  if (shell.empty()) return {"/bin/sh", "-c"};
  if (shell == "sh") return {"/bin/sh", "-e", "-c"};
  if (shell == "bash") return {"bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"};
  std::vector<std::string> words;
  std::string word;
  for (char c : shell) {
    if (c == ' ' || c == '\t') {
      if (!word.empty()) words.push_back(std::move(word));
      word.clear();
    } else {
      word += c;
    }
  }
  if (!word.empty()) words.push_back(word);
  bool has_c = false;
  for (const auto& w : words) has_c = has_c || w == "-c";
  if (!has_c) words.push_back("-c");
  return words;
}

namespace {

Status ParseInto(const std::string& text, const std::string& where, expr::Template* out) {
  if (auto err = expr::Template::Parse(text, out))
    return Status::Internal(where + ": " + err->message);
  return Status::Ok();
}

}  // namespace

Status AttemptBuilder::Prepare(const plan::Plan& plan, const nlohmann::json& run_ctx,
                               RunSecrets* secrets) {
  plan_ = &plan;
  const spec::Pipeline& pipeline = *plan.pipeline;
  tasks_.assign(pipeline.tasks.size(), TaskTemplates{});
  expr::JsonContext base(
      nlohmann::json{{"inputs", plan.inputs}, {"run", run_ctx}, {"env", nlohmann::json::object()}});
  env_ = nlohmann::json::object();
  for (const auto& [key, value] : pipeline.env) {
    expr::Template t;
    RELAY_RETURN_IF_ERROR(ParseInto(value, "env." + key, &t));
    auto rendered = t.Render(base);
    if (!rendered.ok()) return Status::Invalid("env." + key + ": " + rendered.status().message());
    env_[key] = *rendered;
  }
  // A secret's value is whatever the variable holds where a step can print
  // it: inherited by relay, or set by the pipeline's env (a task's env adds
  // its values when its attempts are built).
  secrets->SetNames(&pipeline.secrets);
  for (const auto& name : pipeline.secrets) {
    const char* v = std::getenv(name.c_str());
    if (v) secrets->Add(v);
    auto it = env_.find(name);
    if (it != env_.end() && it->is_string()) secrets->Add(it->get<std::string>());
  }
  std::string last_shell;
  std::vector<std::string> last_words;
  bool last_force = false;
  for (size_t t = 0; t < pipeline.tasks.size(); ++t) {
    const spec::TaskSpec& spec = pipeline.tasks[t];
    TaskTemplates& tt = tasks_[t];
    const std::string where = "tasks." + spec.name;
    for (const auto& step : spec.steps) {
      RELAY_RETURN_IF_ERROR(ParseInto(step.run, where, &tt.steps.emplace_back()));
    }
    for (const auto& [key, value] : spec.env) {
      tt.env.emplace_back(key, expr::Template());
      RELAY_RETURN_IF_ERROR(ParseInto(value, where + ".env." + key, &tt.env.back().second));
    }
    // No cwd (the run's workdir) leaves the template empty: it renders "".
    const std::string& cwd = spec.cwd.empty() ? pipeline.defaults.cwd : spec.cwd;
    if (!cwd.empty()) RELAY_RETURN_IF_ERROR(ParseInto(cwd, where + ".cwd", &tt.cwd));
    if (spec.uses) {
      for (const auto& [name, value] : spec.uses->with) {
        tt.with.emplace_back(name.value, expr::Template());
        RELAY_RETURN_IF_ERROR(
            ParseInto(value.value, where + ".with." + name.value, &tt.with.back().second));
      }
    }
    if (spec.concurrency) {
      RELAY_RETURN_IF_ERROR(ParseInto(spec.concurrency->group.value, where + ".concurrency.group",
                                      &tt.group.emplace()));
    }
    // Most tasks share one shell: split its words once.
    const std::string& shell = spec.shell.empty() ? pipeline.defaults.shell : spec.shell;
    if (t == 0 || shell != last_shell) {
      last_words = ShellFor(shell, &last_force);
      last_shell = shell;
    }
    tt.shell = last_words;
    tt.force_shell = last_force;
  }
  return Status::Ok();
}

void AttemptBuilder::CollectTaskSecrets(const Scope& scope, RunSecrets* secrets) const {
  const spec::Pipeline& pipeline = *plan_->pipeline;
  if (pipeline.secrets.empty()) return;
  static const nlohmann::json kNoNeeds = nlohmann::json::object();
  for (size_t t = 0; t < tasks_.size(); ++t) {
    for (const auto& [key, tmpl] : tasks_[t].env) {
      if (!secrets->IsSecretName(key)) continue;
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
                            scope.run_ctx, expr::StatusFunctions{});
        auto value = tmpl.Render(ctx);
        if (value.ok()) secrets->Add(*value);
      }
    }
  }
}

Result<exec::AttemptSpec> AttemptBuilder::Build(int32_t index, int32_t attempt, const Scope& scope,
                                                std::string_view run_id, std::string_view workdir,
                                                std::string_view log_dir, Micros kill_grace,
                                                RunSecrets* secrets, exec::AttemptSpec reuse) {
  const plan::Instance& instance = plan_->instances[index];
  RunModel& model = *const_cast<RunModel*>(scope.model);
  TaskModel& tm = model.tasks[instance.task];
  const TaskTemplates& tt = tasks_[instance.task];
  // `needs` is made only for a task whose templates read expressions: a
  // literal command with no env of its own (the common case) reads none.
  bool literal = tt.env.empty() && tt.cwd.IsLiteral();
  for (const auto& tmpl : tt.steps) literal = literal && tmpl.IsLiteral();
  if (!literal && !tm.needs_ctx) tm.needs_ctx = model.NeedsContext(instance.task);
  static const nlohmann::json kNoNeeds = nlohmann::json::object();
  const nlohmann::json* needs = tm.needs_ctx ? &*tm.needs_ctx : &kNoNeeds;

  // Every field is set: `reuse` may hold an earlier attempt's values (its
  // strings are assigned into, keeping their memory).
  exec::AttemptSpec a = std::move(reuse);
  a.token = 0;
  a.key.run_id.assign(run_id);
  a.key.index = index;
  a.key.attempt = attempt;
  a.log_path.clear();
  store::AppendAttemptLogPath(a.log_path, log_dir, run_id, index, instance.name, attempt);
  a.shell = tt.shell;
  a.force_shell = tt.force_shell;
  a.timeout = tm.timeout;
  a.kill_grace = kill_grace;

  const expr::StatusFunctions st = model.StatusFor(instance.task, scope.cancelling);
  const nlohmann::json* env_ctx = &env_;
  nlohmann::json task_env;
  if (!tt.env.empty()) {
    task_env = env_;
    InstanceContext ctx(&plan_->inputs, &env_, &instance.matrix, needs, scope.run_ctx, st);
    for (const auto& [key, tmpl] : tt.env) {
      auto value = tmpl.Render(ctx);
      if (!value.ok()) return Status::Invalid("env." + key + ": " + value.status().message());
      if (secrets->IsSecretName(key)) secrets->Add(*value);
      task_env[key] = *value;
    }
    env_ctx = &task_env;
  }
  a.masker = secrets->empty() ? nullptr : secrets->masker();
  InstanceContext ctx(&plan_->inputs, env_ctx, &instance.matrix, needs, scope.run_ctx, st);
  a.steps.resize(tt.steps.size());
  for (size_t i = 0; i < tt.steps.size(); ++i) {
    const auto& tmpl = tt.steps[i];
    if (tmpl.IsLiteral()) {
      if (tmpl.pieces().empty())
        a.steps[i].clear();
      else
        a.steps[i].assign(tmpl.pieces()[0].literal);
      continue;
    }
    auto line = tmpl.Render(ctx);
    if (!line.ok()) return Status::Invalid("cannot render the command: " + line.status().message());
    // A shell would run nothing and exit 0: a task that "succeeds" without
    // doing anything is more likely a mistake in an expression.
    if (line->find_first_not_of(" \t\r\n") == std::string::npos)
      return Status::Invalid("the command is empty once its expressions are evaluated");
    a.steps[i] = std::move(line).value();
  }
  auto cwd = tt.cwd.Render(ctx);
  if (!cwd.ok()) return Status::Invalid("cwd: " + cwd.status().message());
  if (cwd->empty()) {
    a.cwd.assign(workdir);
  } else if ((*cwd)[0] != '/') {
    a.cwd.assign(workdir);
    a.cwd += '/';
    a.cwd += *cwd;
  } else {
    a.cwd = std::move(cwd).value();
  }

  a.env.resize(env_ctx->size() + 4);
  size_t k = 0;
  for (auto it = env_ctx->begin(); it != env_ctx->end(); ++it, ++k) {
    a.env[k].first.assign(it.key());
    if (it.value().is_string())
      a.env[k].second.assign(it.value().get_ref<const std::string&>());
    else
      a.env[k].second = expr::ToDisplayString(it.value());
  }
  auto set = [&a, &k](std::string_view name, std::string_view value) -> std::string& {
    auto& [n, v] = a.env[k++];
    n.assign(name);
    v.assign(value);
    return v;
  };
  set("RELAY_RUN_ID", run_id);
  set("RELAY_TASK", instance.name);
  char digits[16];
  set("RELAY_ATTEMPT",
      std::string_view(digits,
                       std::to_chars(digits, digits + sizeof digits, attempt).ptr - digits));
  std::string& out_path = set("RELAY_OUTPUT", a.log_path);
  out_path.replace(out_path.size() - 4, 4, ".out");
  return a;
}

Result<std::vector<std::pair<std::string, std::string>>> AttemptBuilder::RenderWith(
    int32_t index, const Scope& scope) const {
  const plan::Instance& instance = plan_->instances[index];
  RunModel& model = *const_cast<RunModel*>(scope.model);
  TaskModel& tm = model.tasks[instance.task];
  if (!tm.needs_ctx) tm.needs_ctx = model.NeedsContext(instance.task);
  InstanceContext ctx(&plan_->inputs, &env_, &instance.matrix, &*tm.needs_ctx, scope.run_ctx,
                      model.StatusFor(instance.task, scope.cancelling));
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, tmpl] : tasks_[instance.task].with) {
    auto value = tmpl.Render(ctx);
    if (!value.ok()) return Status::Invalid("with." + name + ": " + value.status().message());
    out.emplace_back(name, std::move(value).value());
  }
  return out;
}

Result<std::string> AttemptBuilder::RenderGroup(int32_t index, const Scope& scope) const {
  const plan::Instance& instance = plan_->instances[index];
  const TaskTemplates& tt = tasks_[instance.task];
  if (!tt.group) return std::string();
  RunModel& model = *const_cast<RunModel*>(scope.model);
  TaskModel& tm = model.tasks[instance.task];
  if (!tm.needs_ctx) tm.needs_ctx = model.NeedsContext(instance.task);
  InstanceContext ctx(&plan_->inputs, &env_, &instance.matrix, &*tm.needs_ctx, scope.run_ctx,
                      model.StatusFor(instance.task, scope.cancelling));
  auto group = tt.group->Render(ctx);
  if (!group.ok()) return Status::Invalid("concurrency.group: " + group.status().message());
  if (group->empty()) return Status::Invalid("concurrency.group is empty once rendered");
  return group;
}

Result<std::string> AttemptBuilder::RenderRunGroup(const plan::Plan& plan,
                                                   const nlohmann::json& run_ctx) const {
  const auto& spec = plan.pipeline->concurrency;
  if (!spec) return std::string();
  expr::Template t;
  RELAY_RETURN_IF_ERROR(ParseInto(spec->group.value, "concurrency.group", &t));
  static const nlohmann::json kEmpty = nlohmann::json::object();
  InstanceContext ctx(&plan.inputs, &env_, &kEmpty, &kEmpty, &run_ctx, expr::StatusFunctions{});
  auto group = t.Render(ctx);
  if (!group.ok()) return Status::Invalid("concurrency.group: " + group.status().message());
  if (group->empty()) return Status::Invalid("concurrency.group is empty once rendered");
  return group;
}

}  // namespace relay::sched
