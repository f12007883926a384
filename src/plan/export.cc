#include "plan/export.h"

#include <fmt/format.h>

namespace relay::plan {
namespace {

std::string Condition(const spec::TaskSpec& t) { return t.if_expr ? t.if_expr->value : ""; }

std::string NeedsList(const Plan& plan, const TaskNode& node) {
  std::string out;
  for (int32_t d : node.needs) {
    if (!out.empty()) out += ", ";
    out += plan.pipeline->tasks[d].name;
  }
  return out;
}

std::string Commands(const spec::TaskSpec& t) {
  std::string out;
  for (const auto& s : t.steps) {
    if (!out.empty()) out += " && ";
    out += s.run;
  }
  return out;
}

std::string DotId(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string RenderPlanText(const Plan& plan) {
  std::string out;
  out.reserve(plan.instances.size() * 48 + 256);
  fmt::format_to(std::back_inserter(out), "pipeline {}: {} tasks, {} instances\n",
                 plan.pipeline->name, plan.order.size(), plan.instances.size());
  int step = 0;
  for (int32_t t : plan.order) {
    const spec::TaskSpec& task = plan.pipeline->tasks[t];
    const TaskNode& node = plan.tasks[t];
    ++step;
    fmt::format_to(std::back_inserter(out), "\n{}. {}", step, task.name);
    if (node.instance_count > 1 || task.matrix)
      fmt::format_to(std::back_inserter(out), " ({} instances)", node.instance_count);
    out += '\n';
    std::string needs = NeedsList(plan, node);
    if (!needs.empty()) fmt::format_to(std::back_inserter(out), "   needs: {}\n", needs);
    std::string cond = Condition(task);
    if (!cond.empty()) fmt::format_to(std::back_inserter(out), "   if:    {}\n", cond);
    fmt::format_to(std::back_inserter(out), "   run:   {}\n", Commands(task));
    if (task.matrix) {
      for (int32_t i = 0; i < node.instance_count; ++i) {
        out += "   - ";
        out += plan.instances[node.first_instance + i].name;
        out += '\n';
      }
    }
  }
  std::string skipped;
  for (size_t t = 0; t < plan.tasks.size(); ++t)
    if (!plan.tasks[t].selected)
      skipped += (skipped.empty() ? "" : ", ") + plan.pipeline->tasks[t].name;
  if (!skipped.empty()) fmt::format_to(std::back_inserter(out), "\nnot selected: {}\n", skipped);
  return out;
}

std::string RenderPlanJson(const Plan& plan) {
  nlohmann::json j;
  j["pipeline"] = plan.pipeline->name;
  j["inputs"] = plan.inputs;
  nlohmann::json tasks = nlohmann::json::array();
  for (int32_t t : plan.order) {
    const spec::TaskSpec& task = plan.pipeline->tasks[t];
    const TaskNode& node = plan.tasks[t];
    nlohmann::json jt;
    jt["name"] = task.name;
    nlohmann::json needs = nlohmann::json::array();
    for (int32_t d : node.needs) needs.push_back(plan.pipeline->tasks[d].name);
    jt["needs"] = needs;
    jt["if"] = task.if_expr ? nlohmann::json(task.if_expr->value) : nlohmann::json(nullptr);
    nlohmann::json steps = nlohmann::json::array();
    for (const auto& s : task.steps) steps.push_back(s.run);
    jt["steps"] = steps;
    nlohmann::json inst = nlohmann::json::array();
    for (int32_t i = 0; i < node.instance_count; ++i) {
      const Instance& in = plan.instances[node.first_instance + i];
      inst.push_back({{"name", in.name}, {"matrix", in.matrix}});
    }
    jt["instances"] = std::move(inst);
    tasks.push_back(std::move(jt));
  }
  j["tasks"] = std::move(tasks);
  nlohmann::json unselected = nlohmann::json::array();
  for (size_t t = 0; t < plan.tasks.size(); ++t)
    if (!plan.tasks[t].selected) unselected.push_back(plan.pipeline->tasks[t].name);
  j["not_selected"] = unselected;
  return j.dump(2) + "\n";
}

std::string RenderDot(const Plan& plan) {
  std::string out =
      "digraph " + DotId(plan.pipeline->name) + " {\n  rankdir=LR;\n  node [shape=box];\n";
  for (int32_t t : plan.order) {
    const auto& task = plan.pipeline->tasks[t];
    const auto& node = plan.tasks[t];
    std::string label = task.name;
    if (task.matrix) label += " ×" + std::to_string(node.instance_count);
    if (task.if_expr) label += "\\nif: " + task.if_expr->value;
    out += "  " + DotId(task.name) + " [label=" + DotId(label) + "];\n";
  }
  for (int32_t t : plan.order)
    for (int32_t d : plan.tasks[t].needs)
      out += "  " + DotId(plan.pipeline->tasks[d].name) + " -> " +
             DotId(plan.pipeline->tasks[t].name) + ";\n";
  return out + "}\n";
}

std::string RenderMermaid(const Plan& plan) {
  std::string out = "flowchart LR\n";
  auto id = [&](int32_t t) { return "t" + std::to_string(t); };
  for (int32_t t : plan.order) {
    const auto& task = plan.pipeline->tasks[t];
    std::string label = task.name;
    if (task.matrix) label += " ×" + std::to_string(plan.tasks[t].instance_count);
    std::string escaped;
    for (char c : label) escaped += c == '"' ? std::string("#quot;") : std::string(1, c);
    out += "  " + id(t) + "[\"" + escaped + "\"]\n";
  }
  for (int32_t t : plan.order)
    for (int32_t d : plan.tasks[t].needs) out += "  " + id(d) + " --> " + id(t) + "\n";
  return out;
}

}  // namespace relay::plan
