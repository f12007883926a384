#include "sched/run_model.h"

namespace relay::sched {

using state::TaskState;

void RunModel::Reset(const plan::Plan* plan, const spec::Pipeline* pipeline) {
  plan_ = plan;
  pipeline_ = pipeline;
  tasks.assign(pipeline->tasks.size(), TaskModel{});
  non_final = in_slots = already_final = deferred = 0;
  ready = {};
  timers = {};
  completed.clear();
}

void RunModel::MarkFinal(int32_t index) {
  int32_t task = TaskOf(index);
  --non_final;
  CountFinal(index);
  if (--tasks[task].remaining == 0) completed.push_back(task);
}

void RunModel::CountFinal(int32_t index) {
  const store::TaskRow& row = inst[index].row;
  TaskModel& t = tasks[TaskOf(index)];
  switch (row.state) {
    case TaskState::kSucceeded:
      t.any_succeeded = true;
      if (index > t.outputs_from && !row.outputs_json.empty() && row.outputs_json != "{}") {
        auto outputs = nlohmann::json::parse(row.outputs_json, nullptr, false);
        if (!outputs.is_discarded()) {
          t.outputs = std::move(outputs);
          t.outputs_from = index;
        }
      }
      break;
    case TaskState::kFailed:
    case TaskState::kLost:
      if (SpecOf(index).continue_on_error)
        t.any_succeeded = true;
      else
        t.any_failed = true;
      break;
    case TaskState::kCancelled:
      t.any_cancelled = true;
      break;
    default:  // skipped
      break;
  }
}

void RunModel::SummariseUpstream(int32_t task) {
  TaskModel& t = tasks[task];
  t.upstream_failed = t.any_failed;
  t.upstream_ok = t.Succeeded();
  for (int32_t need : plan_->tasks[task].needs) {
    t.upstream_failed = t.upstream_failed || tasks[need].upstream_failed;
    t.upstream_ok = t.upstream_ok && tasks[need].upstream_ok;
  }
}

expr::StatusFunctions RunModel::StatusFor(int32_t task, bool cancelling) const {
  expr::StatusFunctions st;
  st.success = !cancelling;
  for (int32_t need : plan_->tasks[task].needs) {
    st.success = st.success && tasks[need].upstream_ok;
    st.failure = st.failure || tasks[need].upstream_failed;
  }
  st.cancelled = cancelling;
  return st;
}

std::string RunModel::NeedsFailureReason(int32_t task, bool cancelling) const {
  if (cancelling) return "the run was cancelled";
  // The nearest task that did not succeed, found through needs that did not
  // see every ancestor succeed (a need may have run under always()).
  std::string via;
  int32_t at = task;
  for (;;) {
    int32_t culprit = -1, path = -1;
    for (int32_t need : plan_->tasks[at].needs) {
      const TaskModel& t = tasks[need];
      if (t.upstream_ok) continue;
      if (!t.Succeeded()) {
        culprit = need;
        break;
      }
      if (path < 0) path = need;
    }
    if (culprit >= 0) {
      const TaskModel& t = tasks[culprit];
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

nlohmann::json RunModel::NeedsContext(int32_t task) const {
  nlohmann::json needs = nlohmann::json::object();
  for (int32_t need : plan_->tasks[task].needs) {
    const TaskModel& t = tasks[need];
    needs[pipeline_->tasks[need].name] = {
        {"result", t.Result()},
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

nlohmann::json RunModel::TasksContext() const {
  nlohmann::json all = nlohmann::json::object();
  for (size_t t = 0; t < tasks.size(); ++t) {
    // A task left out by --only/--from/--until ran nothing: skipped.
    const bool selected = plan_->tasks[t].selected;
    all[pipeline_->tasks[t].name] = {
        {"result", selected ? tasks[t].Result() : "skipped"},
        {"outputs", tasks[t].outputs.is_null() ? nlohmann::json::object() : tasks[t].outputs}};
  }
  return all;
}

}  // namespace relay::sched
