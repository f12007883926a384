// The typed pipeline: what a pipeline file means once loaded and validated.
// Every field a diagnostic may point at keeps its source position (Mark), so
// errors found after parsing (cycles, unknown names) still name line and column.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/clock.h"

namespace relay::spec {

// 1-based line and column in the pipeline file; 0 means "no position".
struct Mark {
  int line = 0;
  int col = 0;
};

template <typename T>
struct Located {
  T value{};
  Mark mark;
};

enum class InputType { kString, kNumber, kBoolean, kChoice };

struct InputSpec {
  std::string name;
  Mark mark;
  InputType type = InputType::kString;
  std::optional<nlohmann::json> default_value;  // typed per `type`
  bool required = false;
  std::vector<std::string> options;  // `enum:` (type choice, or string restricted)
  std::string description;
};

struct RetrySpec {
  int attempts = 1;  // total tries, including the first
  enum class Backoff { kFixed, kExponential } backoff = Backoff::kFixed;
  Micros delay = 1 * kSecond;
  Micros max_delay = 5 * kMinute;
  bool jitter = true;      // ±25% on each delay
  bool on_failure = true;  // non-zero exit (or killed by a signal)
  bool on_timeout = true;
  bool on_lost = true;
  std::vector<int> exit_codes;  // when non-empty, only these exit codes retry
};

struct Matrix {
  Mark mark;
  // Axes in declaration order; values are JSON scalars (or objects/arrays).
  std::vector<std::pair<std::string, std::vector<nlohmann::json>>> axes;
  std::vector<nlohmann::json> include;  // objects
  std::vector<nlohmann::json> exclude;  // objects
};

struct Step {
  std::string name;  // optional label
  std::string run;   // a template (may contain ${{ }})
  Mark mark;         // position of the command text
};

struct Pipeline;

// `approval:` on a task: once the task is otherwise ready it waits in
// `waiting_approval` until enough reviewers approve (or one rejects).
// `approval: true` is the default of every field.
struct ApprovalSpec {
  Mark mark;
  std::vector<std::string> reviewers;  // who may decide; empty: anyone
  int required = 1;                    // distinct approvals needed
  std::optional<Micros> timeout;       // none: wait for ever
  enum class OnTimeout { kReject, kApprove } on_timeout = OnTimeout::kReject;
  bool allow_self = true;  // may the user who started the run approve it?
};

// `concurrency:` on the pipeline or a task: at most `limit` runs (or task
// instances) of one group at a time, across every relay sharing the store.
// Actions' form (a string, or {group, cancel-in-progress}) means limit 1 and
// on_conflict queue or cancel-running.
struct ConcurrencySpec {
  Mark mark;
  Located<std::string> group;  // a template (may hold ${{ }})
  int limit = 1;
  enum class OnConflict { kQueue, kCancelRunning, kSkip } on_conflict = OnConflict::kQueue;
};

// `uses: ./child.yaml` on a task: the task runs another pipeline file as a
// run of its own (a sub-pipeline), with `with:` as its inputs.
struct UsesSpec {
  Located<std::string> path;  // as written, relative to the file that names it
  // ResolveUsesPath(path, the naming file): what the resolver was asked
  // for, and the child's Pipeline::file (its diagnostics' file name).
  std::string resolved;
  // Input name → template, in file order; rendered when the task starts,
  // then typed as the child's `inputs:` say (spec::ParseInputValue, the
  // rules of -i). Names are the child's inputs; literals are already
  // checked, and every required input without a default is given.
  std::vector<std::pair<Located<std::string>, Located<std::string>>> with;
  // The child, loaded and validated (with its own children), shared by
  // every task that uses the same file.
  std::shared_ptr<const Pipeline> pipeline;
};

// One entry of the pipeline's `outputs:`: a template over the tasks'
// outputs and results (`tasks.<name>.outputs.<key>`, `tasks.<name>.result`),
// evaluated when every task is final.
struct OutputSpec {
  std::string name;
  Located<std::string> value;
  std::string description;
};

struct TaskSpec {
  std::string name;
  Mark mark;  // position of the task's key
  std::vector<Located<std::string>> needs;
  std::optional<Matrix> matrix;
  int max_parallel = 0;                         // 0: no per-task limit
  std::optional<Located<std::string>> if_expr;  // without ${{ }}
  std::optional<Micros> timeout;                // falls back to defaults.timeout
  std::optional<RetrySpec> retry;               // falls back to defaults.retry
  std::vector<std::string> outputs;
  std::vector<std::pair<std::string, std::string>> env;  // templates, in order
  std::string cwd;                                       // template; "" = run's cwd
  bool continue_on_error = false;
  std::vector<Step> steps;  // `run:` is one step
  std::string shell;        // "" = defaults.shell or direct exec / sh -c
  // A sub-pipeline. Then steps is empty, and so are env, cwd, shell,
  // timeout, retry and outputs (validation refuses them; the pipeline's
  // defaults do not apply either): the child's tasks carry them.
  std::optional<UsesSpec> uses;
  // With neither steps nor uses, the task is approval-only: it succeeds
  // once approved (and has no command keys, as a uses task).
  std::optional<ApprovalSpec> approval;
  std::optional<ConcurrencySpec> concurrency;
};

struct Defaults {
  std::optional<Micros> timeout;
  std::string shell;  // e.g. "bash" → bash -e -c; "" = /bin/sh -c
  std::optional<RetrySpec> retry;
  std::string cwd;
};

struct Pipeline {
  std::string name;
  std::string file;    // path as given by the user
  std::string source;  // the file's bytes, kept so a run stores its definition
  std::vector<InputSpec> inputs;
  std::vector<std::pair<std::string, std::string>> env;  // templates, in order
  Defaults defaults;
  std::vector<std::string> secrets;  // names of environment variables to mask
  std::vector<TaskSpec> tasks;       // in file order
  std::vector<OutputSpec> outputs;   // pipeline outputs, in file order
  std::optional<ConcurrencySpec> concurrency;

  // Index of a task by name, or -1. O(1): the index is built on first use
  // (and rebuilt if tasks were added since).
  int FindTask(std::string_view name) const;

 private:
  // Looks names up as views, without a std::string per lookup.
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  mutable std::unordered_map<std::string, int, NameHash, std::equal_to<>> task_index_;
};

// Limit on task instances per run (all matrices expanded). Documented in
// docs/pipeline.md; validation rejects pipelines that would exceed it.
constexpr int64_t kMaxInstancesPerRun = 1'000'000;

}  // namespace relay::spec
