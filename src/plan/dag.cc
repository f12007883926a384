#include "plan/dag.h"

#include <algorithm>
#include <functional>
#include <numeric>
#include <queue>
#include <string_view>
#include <unordered_set>

#include "base/edit_distance.h"
#include "plan/matrix.h"

namespace relay::plan {
namespace {

// Kahn's algorithm over the task graph, keeping file order among ready tasks
// so plans read like the file.
std::vector<int32_t> TopologicalOrder(const std::vector<std::vector<int32_t>>& needs,
                                      const std::vector<std::vector<int32_t>>& users) {
  size_t n = needs.size();
  std::vector<int32_t> order(n);
  // Usually every task needs only tasks above it in the file, and then file
  // order is the answer.
  bool downward = true;
  for (size_t t = 0; t < n; ++t)
    for (int32_t d : needs[t]) downward = downward && d < static_cast<int32_t>(t);
  if (downward) {
    std::iota(order.begin(), order.end(), 0);
    return order;
  }

  order.clear();
  std::vector<size_t> unmet(n);
  for (size_t t = 0; t < n; ++t) unmet[t] = needs[t].size();
  std::priority_queue<int32_t, std::vector<int32_t>, std::greater<int32_t>> ready;
  for (size_t t = 0; t < n; ++t)
    if (unmet[t] == 0) ready.push(static_cast<int32_t>(t));
  while (!ready.empty()) {
    int32_t t = ready.top();
    ready.pop();
    order.push_back(t);
    for (int32_t u : users[t])
      if (--unmet[u] == 0) ready.push(u);
  }
  return order;
}

Status ResolveNames(const spec::Pipeline& p, const std::vector<std::string>& names,
                    const char* flag, std::vector<int32_t>* out) {
  std::vector<std::string> all;
  for (const auto& t : p.tasks) all.push_back(t.name);
  for (const auto& name : names) {
    int t = p.FindTask(name);
    size_t bracket = name.find('[');
    if (t < 0 && bracket != std::string::npos && p.FindTask(name.substr(0, bracket)) >= 0)
      return Status::Invalid(std::string(flag) + ": '" + name +
                             "' names a matrix instance; selections take whole tasks (use '" +
                             name.substr(0, bracket) + "')");
    if (t < 0)
      return Status::Invalid(std::string(flag) + ": unknown task '" + name + "'" +
                             DidYouMean(name, all));
    out->push_back(t);
  }
  return Status::Ok();
}

// Marks everything reachable from `start` along `edges`.
void Reach(const std::vector<std::vector<int32_t>>& edges, const std::vector<int32_t>& start,
           std::vector<bool>* mark) {
  std::vector<int32_t> stack = start;
  while (!stack.empty()) {
    int32_t t = stack.back();
    stack.pop_back();
    if ((*mark)[t]) continue;
    (*mark)[t] = true;
    for (int32_t n : edges[t]) stack.push_back(n);
  }
}

// "--only a --from e --until x,y": the options as the user gave them.
std::string DescribeSelection(const Selection& s) {
  std::string out;
  auto add = [&](const char* flag, const std::vector<std::string>& names) {
    if (names.empty()) return;
    if (!out.empty()) out += ' ';
    out += flag;
    out += ' ';
    for (size_t i = 0; i < names.size(); ++i) out += (i ? "," : "") + names[i];
  };
  add("--only", s.only);
  add("--from", s.from);
  add("--until", s.until);
  return out;
}

}  // namespace

Result<Plan> BuildPlan(const spec::Pipeline& pipeline, nlohmann::json inputs,
                       const Selection& selection) {
  Plan plan;
  plan.pipeline = &pipeline;
  plan.inputs = std::move(inputs);
  size_t n = pipeline.tasks.size();
  plan.tasks.resize(n);

  std::vector<std::vector<int32_t>> needs(n), users(n);
  for (size_t t = 0; t < n; ++t) {
    needs[t].reserve(pipeline.tasks[t].needs.size());
    for (const auto& need : pipeline.tasks[t].needs) {
      int dep = pipeline.FindTask(need.value);
      if (dep < 0 || std::find(needs[t].begin(), needs[t].end(), dep) != needs[t].end())
        continue;  // few needs each
      needs[t].push_back(dep);
      users[dep].push_back(static_cast<int32_t>(t));
    }
  }

  std::vector<bool> selected(n, true);
  if (!selection.empty()) {
    std::vector<int32_t> only, from, until;
    RELAY_RETURN_IF_ERROR(ResolveNames(pipeline, selection.only, "--only", &only));
    RELAY_RETURN_IF_ERROR(ResolveNames(pipeline, selection.from, "--from", &from));
    RELAY_RETURN_IF_ERROR(ResolveNames(pipeline, selection.until, "--until", &until));
    std::vector<bool> keep(n, true);
    if (!only.empty()) {
      std::vector<bool> m(n, false);
      for (int32_t t : only) m[t] = true;
      for (size_t t = 0; t < n; ++t) keep[t] = keep[t] && m[t];
    }
    if (!from.empty()) {
      std::vector<bool> m(n, false);
      Reach(users, from, &m);
      for (size_t t = 0; t < n; ++t) keep[t] = keep[t] && m[t];
    }
    if (!until.empty()) {
      std::vector<bool> m(n, false);
      Reach(needs, until, &m);
      for (size_t t = 0; t < n; ++t) keep[t] = keep[t] && m[t];
    }
    selected = keep;
    if (std::find(selected.begin(), selected.end(), true) == selected.end())
      return Status::Invalid("nothing to run: " + DescribeSelection(selection) +
                             " selects no task");
  }

  // The order of all tasks, then of the selected ones: a selection does not
  // change where a task stands.
  for (int32_t t : TopologicalOrder(needs, users))
    if (selected[t]) plan.order.push_back(t);

  auto unselected = [&](int32_t t) { return !selected[t]; };
  for (size_t t = 0; t < n; ++t) {
    TaskNode& node = plan.tasks[t];
    node.selected = selected[t];
    if (!selected[t]) continue;
    node.needs = std::move(needs[t]);
    node.dependants = std::move(users[t]);
    if (!selection.empty()) {
      std::erase_if(node.needs, unselected);
      std::erase_if(node.dependants, unselected);
    }
  }
  for (auto it = plan.order.rbegin(); it != plan.order.rend(); ++it) {
    TaskNode& node = plan.tasks[*it];
    for (int32_t u : node.dependants)
      node.critical_path = std::max(node.critical_path, plan.tasks[u].critical_path + 1);
  }

  plan.instances.reserve(plan.order.size());  // at least one each
  for (int32_t t : plan.order) {
    const spec::TaskSpec& task = pipeline.tasks[t];
    TaskNode& node = plan.tasks[t];
    node.first_instance = static_cast<int32_t>(plan.instances.size());
    if (!task.matrix) {
      plan.instances.push_back({t, task.name, nlohmann::json::object()});
    } else {
      std::vector<Combination> combos = ExpandMatrix(*task.matrix);
      if (combos.empty())
        return Status::Invalid("matrix of task '" + task.name +
                               "' has no instances: its exclude entries remove every combination");
      plan.instances.reserve(plan.instances.size() + combos.size());
      for (auto& c : combos) {
        std::string name;
        name.reserve(task.name.size() + c.label.size() + 2);
        name.append(task.name).append(1, '[').append(c.label).append(1, ']');
        plan.instances.push_back({t, std::move(name), std::move(c.values)});
      }
    }
    node.instance_count = static_cast<int32_t>(plan.instances.size()) - node.first_instance;
    if (static_cast<int64_t>(plan.instances.size()) > spec::kMaxInstancesPerRun)
      return Status::Invalid("the plan has more than " + std::to_string(spec::kMaxInstancesPerRun) +
                             " task instances, the limit per run");
  }
  // Two include entries can produce the same label; keep names unique.
  for (int32_t t : plan.order) {
    TaskNode& node = plan.tasks[t];
    if (node.instance_count < 2) continue;
    // Every instance whose name an earlier one has gets its number.
    std::unordered_set<std::string_view> seen;
    seen.reserve(node.instance_count);
    std::vector<int32_t> repeated;
    for (int32_t i = node.first_instance; i < node.first_instance + node.instance_count; ++i)
      if (!seen.insert(plan.instances[i].name).second) repeated.push_back(i);
    for (int32_t i : repeated)
      plan.instances[i].name += "#" + std::to_string(i - node.first_instance + 1);
  }
  return plan;
}

}  // namespace relay::plan
