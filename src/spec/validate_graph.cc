// The task graph: needs must name other tasks and must not form cycles.
// Cycles are found per strongly connected component (iteratively, so a
// chain of 100,000 tasks does not exhaust the stack).
#include <algorithm>
#include <deque>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "spec/validate.h"

namespace relay::spec::internal {
namespace {

struct Edge {
  int to;
  Mark mark;  // of the need
};

using Graph = std::vector<std::vector<Edge>>;
using EdgeSet = std::set<std::pair<int, int>>;

// Cycles reported per component at most; each report removes one edge.
constexpr int kMaxCyclesPerComponent = 10;

// Tarjan's algorithm over `nodes`, ignoring `removed` edges.
std::vector<std::vector<int>> Components(const Graph& g, const std::vector<int>& nodes,
                                         const EdgeSet& removed) {
  std::unordered_map<int, int> index, low;
  std::unordered_set<int> in_set(nodes.begin(), nodes.end()), on_stack;
  std::vector<int> stack;
  std::vector<std::vector<int>> out;
  int counter = 0;
  for (int s : nodes) {
    if (index.count(s)) continue;
    std::vector<std::pair<int, size_t>> call = {{s, 0}};
    index[s] = low[s] = counter++;
    stack.push_back(s);
    on_stack.insert(s);
    while (!call.empty()) {
      int v = call.back().first;
      size_t pos = call.back().second;
      if (pos < g[v].size()) {
        ++call.back().second;
        int w = g[v][pos].to;
        if (!in_set.count(w) || removed.count({v, w})) continue;
        if (!index.count(w)) {
          index[w] = low[w] = counter++;
          stack.push_back(w);
          on_stack.insert(w);
          call.push_back({w, 0});
        } else if (on_stack.count(w)) {
          low[v] = std::min(low[v], index[w]);
        }
        continue;
      }
      if (low[v] == index[v]) {
        std::vector<int> comp;
        int w;
        do {
          w = stack.back();
          stack.pop_back();
          on_stack.erase(w);
          comp.push_back(w);
        } while (w != v);
        out.push_back(std::move(comp));
      }
      call.pop_back();
      if (!call.empty()) low[call.back().first] = std::min(low[call.back().first], low[v]);
    }
  }
  return out;
}

// The shortest cycle through `start` inside `comp`, as a list of nodes
// starting and ending with `start`.
std::vector<int> ShortestCycle(const Graph& g, int start, const std::vector<int>& comp,
                               const EdgeSet& removed) {
  std::unordered_set<int> in_comp(comp.begin(), comp.end());
  std::unordered_map<int, int> parent;
  std::deque<int> queue = {start};
  parent[start] = -1;
  while (!queue.empty()) {
    int v = queue.front();
    queue.pop_front();
    for (const Edge& e : g[v]) {
      if (!in_comp.count(e.to) || removed.count({v, e.to})) continue;
      if (e.to == start) {
        std::vector<int> cycle;
        for (int x = v; x != -1; x = parent[x]) cycle.push_back(x);
        std::reverse(cycle.begin(), cycle.end());
        cycle.push_back(start);
        return cycle;
      }
      if (parent.count(e.to)) continue;
      parent[e.to] = v;
      queue.push_back(e.to);
    }
  }
  return {};
}

void ReportCycles(const Graph& g, const std::vector<int>& comp, Build& b) {
  EdgeSet removed;
  std::vector<std::vector<int>> work = {comp};
  int reported = 0;
  while (!work.empty() && reported < kMaxCyclesPerComponent) {
    std::vector<int> nodes = std::move(work.back());
    work.pop_back();
    for (auto& c : Components(g, nodes, removed)) {
      if (c.size() < 2) continue;
      int start = *std::min_element(c.begin(), c.end());  // first in file order
      std::vector<int> cycle = ShortestCycle(g, start, c, removed);
      if (cycle.size() < 3) continue;
      std::string text;
      for (size_t i = 0; i < cycle.size(); ++i)
        text += (i ? " → " : "") + b.pipeline.tasks[cycle[i]].name;
      Mark mark = b.pipeline.tasks[start].mark;
      for (const Edge& e : g[start])
        if (e.to == cycle[1]) mark = e.mark;
      b.checker.Error(mark,
                      "tasks." + b.pipeline.tasks[start].name + ".needs: dependency cycle: " + text,
                      "remove one of these needs");
      removed.insert({start, cycle[1]});
      if (++reported >= kMaxCyclesPerComponent) break;
      work.push_back(std::move(c));
    }
  }
}

// Kahn's algorithm: true when every task can be ordered. Most pipelines
// have no cycle, and this proves it without building components.
bool IsAcyclic(const Graph& g) {
  std::vector<int> unmet(g.size(), 0);
  for (const auto& edges : g)
    for (const Edge& e : edges) ++unmet[e.to];
  std::vector<int> ready;
  for (size_t v = 0; v < g.size(); ++v)
    if (unmet[v] == 0) ready.push_back(static_cast<int>(v));
  size_t ordered = 0;
  while (!ready.empty()) {
    int v = ready.back();
    ready.pop_back();
    ++ordered;
    for (const Edge& e : g[v])
      if (--unmet[e.to] == 0) ready.push_back(e.to);
  }
  return ordered == g.size();
}

}  // namespace

void CheckNeeds(Build& b) {
  const auto& tasks = b.pipeline.tasks;
  std::vector<std::string> names;  // for did-you-mean hints, filled on the first one
  Graph g(tasks.size());
  // The last task whose needs named this task: a second mention in the same
  // list is a duplicate, found without a set per task.
  std::vector<int> named_by(tasks.size(), -1);
  for (size_t i = 0; i < tasks.size(); ++i) {
    if (tasks[i].needs.empty()) continue;
    const int task = static_cast<int>(i);
    auto path = [&] { return "tasks." + tasks[i].name + ".needs"; };  // for errors only
    std::unordered_set<std::string_view> unknown_seen;                // names of no task
    g[i].reserve(tasks[i].needs.size());
    for (const auto& need : tasks[i].needs) {
      // The pipeline's own index, which the planner then uses too.
      int dep = b.pipeline.FindTask(need.value);
      bool twice = dep < 0 ? !unknown_seen.insert(need.value).second
                           : std::exchange(named_by[dep], task) == task;
      if (twice) {
        b.checker.Error(need.mark, path() + ": '" + need.value + "' is listed twice");
        continue;
      }
      if (need.value == tasks[i].name) {
        b.checker.Error(need.mark, path() + ": task '" + need.value + "' needs itself");
        continue;
      }
      if (dep < 0) {
        if (names.empty())
          for (const auto& t : tasks) names.push_back(t.name);
        b.checker.Error(need.mark, path() + ": unknown task '" + need.value + "'",
                        SuggestHint(need.value, names));
        continue;
      }
      g[i].push_back({dep, need.mark});
    }
  }
  if (IsAcyclic(g)) return;
  std::vector<int> all(tasks.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int>(i);
  for (const auto& comp : Components(g, all, {}))
    if (comp.size() > 1) ReportCycles(g, comp, b);
}

}  // namespace relay::spec::internal
