// Internal to the spec module: turning a YamlNode tree into a typed Pipeline
// while collecting every diagnostic. Split by section: validate.cc (top level,
// inputs, env, defaults, outputs), validate_tasks.cc, validate_matrix.cc,
// validate_policies.cc (approval, concurrency), validate_uses.cc
// (sub-pipelines and with:), validate_graph.cc (needs, cycles),
// validate_exprs.cc (${{ }} references).
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
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
  // An error that stands for the diagnostics of another file (a
  // sub-pipeline's): they are listed right below it, whatever their order.
  void ErrorWithDetails(Mark mark, std::string message, std::vector<Diagnostic> details);

  std::string_view source() const { return source_; }

  // Errors kept per file; later ones are only counted (a generated file that
  // repeats one mistake 100,000 times would otherwise print gigabytes).
  static constexpr size_t kMaxErrors = 100;
  bool full() const { return diagnostics_.size() >= kMaxErrors; }
  size_t dropped() const { return dropped_; }

  // Every diagnostic in file order (each followed by its details), then a
  // note of those dropped, if any. Leaves the checker empty.
  std::vector<Diagnostic> Finish();

 private:
  std::string file_;
  std::string_view source_;
  std::vector<Diagnostic> diagnostics_;
  // details_[i] belongs to diagnostics_[i]; empty for most.
  std::vector<std::vector<Diagnostic>> details_;
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
// Where a mapping sits, for hints on keys GitHub Actions users write there.
enum class KeySection { kOther, kTop, kTask, kStep };
// The hint for an unknown key: what relay has instead of an Actions key
// (jobs → tasks, runs-on, timeout-minutes …), else a did-you-mean, or "".
std::string UnknownKeyHint(KeySection section, const YamlNode::Entry& entry,
                           const std::vector<std::string>& allowed);
// Checks that `n` is a mapping with string keys from `allowed` (unknown keys
// get a hint, see UnknownKeyHint). Returns false when `n` is not a mapping.
// found[i], when given, is set to the first entry with key allowed[i] (and
// left alone when there is none): one pass for a mapping of many known keys
// instead of a Find for each.
bool CheckMapping(const YamlNode& n, std::string_view path, const std::vector<std::string>& allowed,
                  std::string_view expected, Checker& c, KeySection section = KeySection::kOther,
                  std::span<const YamlNode::Entry*> found = {});
// The value of the first entry with this key, or nullptr.
const YamlNode* Find(const YamlNode& map, std::string_view key);

// For fields that are used as written (shell, matrix values): a `${{` in
// scalar `n` is reported at its position, since nothing would evaluate it.
// `what` names the field in the message ("shell", "matrix values").
void CheckNotTemplate(const YamlNode& n, std::string_view path, std::string_view what,
                      std::string hint, Checker& c);
constexpr const char* kShellHint = "write the shell's name or command line, e.g. bash";

// Which field a template is: it decides what the template may read, as the
// scheduler evaluates it (src/sched/recovery.cc, decide.cc). The rules are one
// table in validate_exprs.cc, documented in docs/pipeline.md.
enum class SiteKind {
  kPipelineEnv,          // top-level env values: inputs and run only
  kDefaultsCwd,          // defaults.cwd: inputs, the pipeline's env, run
  kPipelineConcurrency,  // concurrency.group at the top level: as defaults.cwd
  kPipelineOutput,       // outputs.*: inputs, the pipeline's env, run, tasks.*
  kTaskEnv,              // a task's env values: env is the pipeline's env only
  kWith,                 // a uses task's with: values: as a task's env values
  kCondition,            // a task's if: env is the pipeline's env only
  kTaskConcurrency,      // a task's concurrency.group: as its if:
  kCommand,              // run, steps, cwd: everything, env including the task's own
};

// A string that may hold ${{ }}; checked once every task is known.
struct TemplateSite {
  const YamlNode* node = nullptr;
  std::string path;
  int task = -1;  // index into Pipeline::tasks; -1 at the pipeline level
  SiteKind kind = SiteKind::kCommand;
  bool condition() const { return kind == SiteKind::kCondition; }  // bare expression allowed
};

// Loads the sub-pipeline a `uses:` names, with everything it uses in turn
// (load.cc: the resolver, cycles, the depth limit, shared children).
class ChildLoader {
 public:
  virtual ~ChildLoader() = default;
  struct Child {
    std::string resolved;                      // ResolveUsesPath(uses, this file)
    std::shared_ptr<const Pipeline> pipeline;  // null when it did not load
  };
  // `uses` as written; problems are reported at `at` as "path: …", a
  // child's own errors below that report, in the child's file.
  virtual Child Load(const std::string& uses, const YamlNode& at, const std::string& path,
                     Checker& c) = 0;
};

// A task's `uses:` (and `with:`), checked against the child once it loads.
struct UsesSite {
  int task = -1;
  const YamlNode* uses = nullptr;      // the value
  const YamlNode* with_key = nullptr;  // the `with` key and value, if any
  const YamlNode* with = nullptr;
};

struct Build {
  Checker& checker;
  Pipeline& pipeline;
  std::vector<TemplateSite> sites;
  Mark tasks_mark;
  // Tasks whose `matrix:` was reported invalid: their matrix.* references
  // are not checked (a second error about the same mistake would mislead).
  std::unordered_set<int> bad_matrix;
  ChildLoader* children = nullptr;  // null: `uses:` is read but not loaded
  std::vector<UsesSite> uses;
};

void BuildPipeline(const YamlNode& root, Build& b);
void ReadEnv(const YamlNode& n, const std::string& path, int task,
             std::vector<std::pair<std::string, std::string>>* out, Build& b);
void BuildTask(const YamlNode& key, const YamlNode& value, Build& b);
std::optional<RetrySpec> ReadRetry(const YamlNode& n, std::string_view path, Checker& c);
std::optional<Matrix> ReadMatrix(const YamlNode& n, std::string_view path, Checker& c);
// `approval:` (key and value): nullopt for `false` and for a value of the
// wrong kind (reported); a mapping with bad fields is reported and still
// returned, so the task counts as having an approval.
std::optional<ApprovalSpec> ReadApproval(const YamlNode& key, const YamlNode& n,
                                         const std::string& path, Checker& c);
// `concurrency:` of the pipeline (task -1) or of a task; its group is a
// template site.
std::optional<ConcurrencySpec> ReadConcurrency(const YamlNode& key, const YamlNode& n,
                                               const std::string& path, int task, Build& b);
// A task's `uses:` value and `with:` (key and value, or nulls).
void ReadUses(const YamlNode& n, const YamlNode* with_key, const YamlNode* with,
              const std::string& path, TaskSpec& t, int task, Build& b);
// Loads each task's sub-pipeline and checks its `with:` against the child's
// inputs. Before CheckExpressions, which reads the children's outputs.
void CheckUses(Build& b);
// Instances limit per task and per pipeline.
void CheckInstanceCount(Build& b);
// Unknown needs, self-needs and cycles.
void CheckNeeds(Build& b);
// Parses every template site and checks the names it reads.
void CheckExpressions(Build& b);
// Duplicate keys (as ParseYaml marked them) in every mapping of the document.
void CheckDuplicateKeys(const YamlNode& root, Checker& c);

}  // namespace relay::spec::internal
