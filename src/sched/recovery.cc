// Loading a run from the store and making its in-memory model consistent
// with it — the same path for a fresh run and for `relay resume` after a
// crash. A resumed run kills what the dead relay left running, then treats
// those attempts as `lost` (retried per policy); succeeded work stays done.
#include <cstdlib>
#include <unordered_map>

#include "base/file_util.h"
#include "exec/owner.h"
#include "sched/new_run.h"
#include "sched/run_model.h"

namespace relay::sched {

using state::RunState;
using state::TaskState;
namespace tc = state::cause;

namespace {

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

}  // namespace

Status Scheduler::Impl::Load(const std::string& run_id, CreatedRun* created) {
  std::vector<store::TaskRow> rows;
  if (created != nullptr) {
    run_ = std::move(created->run);
    pipeline_ = created->pipeline;
    plan_ = std::move(created->plan);
    rows = std::move(created->rows);
    return Adopt(std::move(rows));
  }
  RELAY_ASSIGN_OR_RETURN(run_, store_->GetRun(run_id));
  if (state::IsFinal(run_.state)) {
    return Status::Invalid("run " + run_.id + " already finished (" +
                           std::string(state::Name(run_.state)) + "); use `relay rerun " + run_.id +
                           " --failed` to run it again");
  }
  if (!run_.owner.empty() && run_.owner != options_.owner) {
    exec::OwnerLiveness alive = exec::CheckOwner(run_.owner);
    bool fresh = run_.heartbeat_at + options_.lease > clock_->Now();
    if (alive == exec::OwnerLiveness::kAlive || (alive == exec::OwnerLiveness::kUnknown && fresh)) {
      return Status::Busy("run " + run_.id + " is being executed by relay " +
                          exec::DescribeOwner(run_.owner) + "; stop it first or wait");
    }
  }
  owned_pipeline_.emplace();
  pipeline_ = &*owned_pipeline_;
  plan::Selection selection;
  auto plan = PlanOfStoredRun(run_, &*owned_pipeline_, &selection);
  if (!plan.ok()) return plan.status();
  plan_ = std::move(plan).value();
  RELAY_ASSIGN_OR_RETURN(rows, store_->GetTasks(run_.id));
  return Adopt(std::move(rows));
}

// Takes the run's rows as the model's, checking they are the plan's.
Status Scheduler::Impl::Adopt(std::vector<store::TaskRow> rows) {
  if (rows.size() != plan_->instances.size())
    return Status::Corrupt("run " + run_.id + " has " + std::to_string(rows.size()) +
                           " task rows but its plan has " +
                           std::to_string(plan_->instances.size()));
  inst_.resize(rows.size());
  batch_.transitions.reserve(rows.size() + 1);  // the first batch queues every root
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].index != static_cast<int32_t>(i) || rows[i].name != plan_->instances[i].name)
      return Status::Corrupt("run " + run_.id + ": task row " + std::to_string(i) + " ('" +
                             rows[i].name + "') does not match the plan ('" +
                             plan_->instances[i].name + "')");
    inst_[i].row = std::move(rows[i]);
  }
  return PrepareTaskModels();
}

Status Scheduler::Impl::PrepareTaskModels() {
  tasks_.assign(pipeline_->tasks.size(), TaskModel{});
  run_ctx_ = {{"id", run_.id}};
  expr::JsonContext base(nlohmann::json{
      {"inputs", plan_->inputs}, {"run", run_ctx_}, {"env", nlohmann::json::object()}});
  env_ = nlohmann::json::object();
  for (const auto& [key, value] : pipeline_->env) {
    expr::Template t;
    if (auto err = expr::Template::Parse(value, &t))
      return Status::Internal("env." + key + ": " + err->message);
    auto rendered = t.Render(base);
    if (!rendered.ok()) return Status::Invalid("env." + key + ": " + rendered.status().message());
    env_[key] = *rendered;
  }
  // A secret's value is whatever the variable holds where a step can print
  // it: inherited by relay, or set by the pipeline's env (a task's env adds
  // its values when its attempts are built).
  for (const auto& name : pipeline_->secrets) {
    const char* v = std::getenv(name.c_str());
    if (v) AddSecret(v);
    auto it = env_.find(name);
    if (it != env_.end() && it->is_string()) AddSecret(it->get<std::string>());
  }
  std::string last_shell;
  std::vector<std::string> last_words;
  bool last_force = false;
  for (size_t t = 0; t < pipeline_->tasks.size(); ++t) {
    const spec::TaskSpec& spec = pipeline_->tasks[t];
    TaskModel& tm = tasks_[t];
    for (const auto& step : spec.steps) {
      expr::Template tmpl;
      if (auto err = expr::Template::Parse(step.run, &tmpl))
        return Status::Internal("tasks." + spec.name + ": " + err->message);
      tm.steps.push_back(std::move(tmpl));
    }
    for (const auto& [key, value] : spec.env) {
      expr::Template tmpl;
      if (auto err = expr::Template::Parse(value, &tmpl))
        return Status::Internal("tasks." + spec.name + ".env." + key + ": " + err->message);
      tm.env.emplace_back(key, std::move(tmpl));
    }
    // No cwd (the run's workdir) leaves the template empty: it renders "".
    const std::string& cwd = spec.cwd.empty() ? pipeline_->defaults.cwd : spec.cwd;
    if (auto err = cwd.empty() ? std::nullopt : expr::Template::Parse(cwd, &tm.cwd))
      return Status::Internal("tasks." + spec.name + ".cwd: " + err->message);
    if (spec.if_expr) {
      expr::Expression e;
      if (auto err = expr::Expression::Parse(spec.if_expr->value, &e))
        return Status::Internal("tasks." + spec.name + ".if: " + err->message);
      tm.condition = std::move(e);
    }
    tm.retry = spec.retry                  ? *spec.retry
               : pipeline_->defaults.retry ? *pipeline_->defaults.retry
                                           : spec::RetrySpec{};
    tm.timeout = spec.timeout ? *spec.timeout : pipeline_->defaults.timeout.value_or(0);
    // Most tasks share one shell: split its words once.
    const std::string& shell = spec.shell.empty() ? pipeline_->defaults.shell : spec.shell;
    if (t == 0 || shell != last_shell) {
      last_words = ShellFor(shell, &last_force);
      last_shell = shell;
    }
    tm.shell = last_words;
    tm.force_shell = last_force;
  }
  CollectTaskSecrets();
  return Status::Ok();
}

// A rerun stores, with the run, which instances reuse an earlier result; they
// become succeeded ("reused") in the run's first commit.
void Scheduler::Impl::ApplyReuse() {
  nlohmann::json options =
      nlohmann::json::parse(run_.options_json.empty() ? "{}" : run_.options_json, nullptr, false);
  if (options.is_discarded() || !options.contains("reuse") || !options["reuse"].is_object()) return;
  const nlohmann::json& reuse = options["reuse"];
  for (size_t i = 0; i < inst_.size(); ++i) {
    InstanceModel& m = inst_[i];
    if (m.row.state != TaskState::kPending) continue;
    auto it = reuse.find(m.row.name);
    if (it == reuse.end()) continue;
    m.row.outputs_json = it->value("outputs", nlohmann::json::object()).dump();
    m.row.log_path = it->value("log", "");
    m.row.exit_code = 0;
    std::string from_run = it->value("run", "");
    Transition(static_cast<int32_t>(i), TaskState::kSucceeded, tc::kReused,
               "reused from run " + from_run, events::DataBuilder().Add("from_run", from_run));
  }
}

Status Scheduler::Impl::Recover() {
  Micros now = clock_->Now();
  // Ownership first: of two relays resuming at once, only the winner may
  // kill leftovers, or the loser would kill what the winner just started.
  std::string previous_owner = run_.owner;
  Status owned = store_->TakeOwnership(run_.id, previous_owner, options_.owner, now);
  if (owned.code() == Code::kConflict)
    return Status::Busy("run " + run_.id + " was taken over by another relay just now");
  RELAY_RETURN_IF_ERROR(owned);
  bool any_running = false;
  for (const auto& m : inst_) any_running = any_running || m.row.state == TaskState::kRunning;
  if (any_running) {
    // Whatever the dead relay started must be gone before its tasks restart.
    exec::Leftovers left;
    left.marker = "RELAY_RUN_ID=" + run_.id;
    // run_ still holds the dead owner's last heartbeat.
    left.started_by = run_.heartbeat_at > 0 ? run_.heartbeat_at + options_.heartbeat_interval : 0;
    for (const auto& m : inst_)
      if (m.row.state == TaskState::kRunning) left.tasks.push_back(m.row.name);
    for (const auto& m : inst_) {
      if (m.row.state != TaskState::kRunning) continue;
      left.pgid = m.row.pgid;
      exec::KillLeftovers(left);
      left.scan_environ = false;
    }
  }
  run_.owner = options_.owner;
  run_.heartbeat_at = now;
  next_heartbeat_ = now + options_.heartbeat_interval;
  RELAY_RETURN_IF_ERROR(MakeDirs(options_.log_dir + "/" + run_.id));

  const bool fresh = run_.state == RunState::kPending;
  if (fresh) {
    run_.started_at = now;
    TransitionRun(RunState::kRunning, state::run_cause::kStarted, "started by " + options_.owner);
  } else {
    std::string why = previous_owner.empty() ? "resumed"
                                             : "resumed after relay " +
                                                   exec::DescribeOwner(previous_owner) + " stopped";
    TransitionRun(run_.state, state::run_cause::kResumed, why);
  }

  ApplyReuse();

  // Counters first, from the stored states.
  for (size_t i = 0; i < inst_.size(); ++i) {
    TaskModel& t = tasks_[plan_->instances[i].task];
    if (!state::IsFinal(inst_[i].row.state)) {
      ++non_final_;
      ++t.remaining;
    } else {
      ++already_final_;
      CountFinal(static_cast<int32_t>(i));
    }
  }
  // Lost attempts do not use up retries; the ledger remembers how many each
  // instance had (only a resumed run can have any).
  if (!fresh) {
    std::unordered_map<std::string, int32_t> by_name;
    for (size_t i = 0; i < inst_.size(); ++i)
      by_name.emplace(inst_[i].row.name, static_cast<int32_t>(i));
    RELAY_ASSIGN_OR_RETURN(std::vector<events::Event> history, store_->GetEvents(run_.id, 0));
    for (const auto& e : history) {
      if (e.kind != "task" || e.to != "lost") continue;
      auto it = by_name.find(e.subject);
      if (it != by_name.end()) ++inst_[it->second].lost;
    }
  }
  for (int32_t task : plan_->order)
    if (tasks_[task].remaining == 0) SummariseUpstream(task);
  for (size_t i = 0; i < inst_.size(); ++i) {
    if (inst_[i].row.state != TaskState::kPending) continue;
    for (int32_t need : plan_->tasks[plan_->instances[i].task].needs)
      if (tasks_[need].remaining > 0) ++inst_[i].unmet;
  }

  std::string dead = previous_owner.empty() ? "the relay that ran it"
                                            : "relay " + exec::DescribeOwner(previous_owner);
  for (size_t i = 0; i < inst_.size(); ++i) {
    int32_t index = static_cast<int32_t>(i);
    InstanceModel& m = inst_[i];
    int32_t task = plan_->instances[i].task;
    switch (m.row.state) {
      case TaskState::kClaimed:
        m.row.owner.clear();
        m.row.lease_until = 0;
        Transition(index, TaskState::kQueued, tc::kReleased,
                   "released: " + dead + " stopped before starting it");
        ready_.push({plan_->tasks[task].critical_path, index});
        break;
      case TaskState::kRunning: {
        m.row.owner.clear();
        m.row.lease_until = 0;
        m.row.ended_at = now;
        ++m.lost;
        Transition(
            index, TaskState::kLost, tc::kOwnerDied,
            dead + " died while attempt " + std::to_string(m.row.attempts) + " was running",
            m.row.pgid ? events::DataBuilder().Add("pgid", m.row.pgid) : events::DataBuilder());
        FailOrRetry(index, FailureKind::kLost, -1, tc::kOwnerDied, m.row.reason);
        break;
      }
      case TaskState::kRetryWait:
        timers_.push({m.row.due_at, index});
        break;
      case TaskState::kQueued:
        ready_.push({plan_->tasks[task].critical_path, index});
        break;
      case TaskState::kPending:
        if (m.unmet == 0) Decide(index);
        break;
      default:
        break;
    }
  }
  if (run_.state == RunState::kCancelling) {
    BeginCancel(state::run_cause::kCancelRequested, run_.reason);
  }
  return Status::Ok();
}

}  // namespace relay::sched
