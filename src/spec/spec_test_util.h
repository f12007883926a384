// Test helpers: load a pipeline from text and describe its diagnostics
// compactly as "LINE:COL: message" (and "hint: …" when there is one).
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "spec/load.h"

namespace relay::spec::testing {

inline std::string Describe(const Diagnostic& d) {
  std::string s = std::to_string(d.mark.line) + ":" + std::to_string(d.mark.col) + ": " + d.message;
  if (!d.hint.empty()) s += " [hint: " + d.hint + "]";
  return s;
}

inline std::vector<std::string> Errors(const std::string& yaml) {
  std::vector<std::string> out;
  for (const auto& d : LoadPipelineText(yaml, "p.yaml").diagnostics) out.push_back(Describe(d));
  return out;
}

inline Pipeline MustLoad(const std::string& yaml) {
  LoadResult r = LoadPipelineText(yaml, "pipelines/release.yaml");
  std::string all;
  for (const auto& d : r.diagnostics) all += Describe(d) + "\n";
  if (!r.ok()) throw std::runtime_error("unexpected diagnostics:\n" + all);
  return *r.pipeline;
}

}  // namespace relay::spec::testing
