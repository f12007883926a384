// Internal to the spec module: turning a YamlNode tree into a typed Pipeline
// while collecting every diagnostic. Split by section: validate.cc (top level,
// inputs, env, defaults), validate_tasks.cc, validate_matrix.cc,
// validate_graph.cc (needs, cycles), validate_exprs.cc (${{ }} references).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "spec/diagnostic.h"
#include "spec/pipeline.h"
#include "spec/yaml_document.h"

namespace relay::spec::internal {

// Collects diagnostics for one file.
class Checker {
 public:
  Checker(std::string file, std::string_view source) : file_(std::move(file)), source_(source) {}

  void Error(Mark mark, std::string message, std::string hint = "");
  // "path: message" at the node (no prefix when path is empty).
  void Error(const YamlNode& node, std::string_view path, std::string_view message,
             std::string hint = "");

  std::string_view source() const { return source_; }
  std::vector<Diagnostic>& diagnostics() { return diagnostics_; }

  // Errors kept per file; later ones are only counted (a generated file that
  // repeats one mistake 100,000 times would otherwise print gigabytes).
  static constexpr size_t kMaxErrors = 100;
  bool full() const { return diagnostics_.size() >= kMaxErrors; }
  size_t dropped() const { return dropped_; }

 private:
  std::string file_;
  std::string_view source_;
  std::vector<Diagnostic> diagnostics_;
  size_t dropped_ = 0;
};

// "a.b" from "a" and "b"; just "b" at the top level.
std::string Child(std::string_view path, std::string_view key);
// "a list", "a mapping", "an empty value", "a number", "a boolean", "a string".
std::string Describe(const YamlNode& node);
// "did you mean 'x'?" or "".
std::string SuggestHint(std::string_view word, const std::vector<std::string>& candidates);
// The JSON value of a scalar as YAML 1.2's core schema reads it (plain
// 42 → number, true → boolean; quoted → string); lists and maps recursively.
nlohmann::json ToJson(const YamlNode& node);
// True for [A-Za-z_][A-Za-z0-9_]* (with_dash: '-' also allowed after the first).
bool IsIdentifier(std::string_view s, bool with_dash);

// Typed readers: each reports "path: expected …, got …" and returns nullopt.
std::optional<std::string> ReadString(const YamlNode& n, std::string_view path, Checker& c);
std::optional<bool> ReadBool(const YamlNode& n, std::string_view path, Checker& c);
std::optional<int64_t> ReadInt(const YamlNode& n, std::string_view path, int64_t min, int64_t max,
                               Checker& c);
std::optional<Micros> ReadDuration(const YamlNode& n, std::string_view path, Checker& c);
// A string or a list of strings.
std::optional<std::vector<Located<std::string>>> ReadNameList(const YamlNode& n,
                                                              std::string_view path, Checker& c);

// Checks that `n` is a mapping with string keys; reports "expected <expected>".
bool ExpectMapping(const YamlNode& n, std::string_view path, std::string_view expected, Checker& c);
// Checks that `n` is a mapping with string keys from `allowed` (unknown keys
// get a did-you-mean). Returns false when `n` is not a mapping.
bool CheckMapping(const YamlNode& n, std::string_view path, const std::vector<std::string>& allowed,
                  std::string_view expected, Checker& c);
// The value of the first entry with this key, or nullptr.
const YamlNode* Find(const YamlNode& map, std::string_view key);

// A string that may hold ${{ }}; checked once every task is known.
struct TemplateSite {
  const YamlNode* node = nullptr;
  std::string path;
  int task = -1;           // index into Pipeline::tasks; -1 at the pipeline level
  bool condition = false;  // an `if:`: a bare expression unless wrapped in ${{ }}
};

struct Build {
  Checker& checker;
  Pipeline& pipeline;
  std::vector<TemplateSite> sites;
  Mark tasks_mark;
};

void BuildPipeline(const YamlNode& root, Build& b);
void ReadEnv(const YamlNode& n, const std::string& path, int task,
             std::vector<std::pair<std::string, std::string>>* out, Build& b);
void BuildTask(const YamlNode& key, const YamlNode& value, Build& b);
std::optional<RetrySpec> ReadRetry(const YamlNode& n, std::string_view path, Checker& c);
std::optional<Matrix> ReadMatrix(const YamlNode& n, std::string_view path, Checker& c);
// Instances limit per task and per pipeline.
void CheckInstanceCount(Build& b);
// Unknown needs, self-needs and cycles.
void CheckNeeds(Build& b);
// Parses every template site and checks the names it reads.
void CheckExpressions(Build& b);
// Duplicate keys in every mapping of the document.
void CheckDuplicateKeys(const YamlNode& node, const std::string& path, Checker& c);

}  // namespace relay::spec::internal
