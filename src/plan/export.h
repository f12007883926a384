// Rendering a plan for people and machines: `relay plan` (text, JSON) and
// `relay graph` (Graphviz dot, Mermaid). Output is built in one buffer so a
// 100,000-instance plan prints in well under a second.
#pragma once

#include <string>

#include "plan/dag.h"

namespace relay::plan {

std::string RenderPlanText(const Plan& plan);
std::string RenderPlanJson(const Plan& plan);
// Task-level graphs: a matrix task is one node labelled with its instance count.
std::string RenderDot(const Plan& plan);
std::string RenderMermaid(const Plan& plan);

}  // namespace relay::plan
