// Private to sched/: the in-memory model of one run while the scheduler
// drives it. Per instance: its row (mirror of the store) and a count of
// needed tasks not yet complete; per task: progress counters. Readiness is
// counted, never searched for (taskflow's join counter).
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "exec/mask.h"
#include "expr/expr.h"
#include "plan/dag.h"
#include "sched/retry.h"
#include "sched/scheduler.h"
#include "spec/pipeline.h"
#include "store/store.h"

namespace relay::sched {

// How long a step runs before its pid and process group are stored. If
// relay dies first, `relay resume` still finds the step's processes by the
// RELAY_RUN_ID in their environment; the stored group adds those that
// cleared their environment, which a one-second-old step has rarely done.
constexpr Micros kPidPersistDelay = kSecond;

struct InstanceModel {
  store::TaskRow row;
  int32_t unmet = 0;       // needed tasks not complete yet
  bool pid_dirty = false;  // a process not yet stored
  int32_t lost = 0;        // attempts that were lost (they do not use up retries)
};

struct TaskModel {
  int32_t remaining = 0;    // instances not final
  int32_t running = 0;      // instances claimed or running
  bool any_failed = false;  // an instance failed (not continue_on_error)
  bool any_cancelled = false;
  // An instance succeeded (or was reused, or failed under continue_on_error).
  // Instances skipped by their own `if` do not count against the task: a
  // matrix with some legs filtered out succeeded if the others did.
  bool any_succeeded = false;
  // Set once the task is complete, from its needs: success() and failure()
  // of a dependant look at every ancestor, as in GitHub Actions, so a task
  // below an `always()` bridge still sees a failure further up.
  bool upstream_failed = false;  // any_failed here or in an ancestor
  bool upstream_ok = false;      // Succeeded() here and in every ancestor
  bool Succeeded() const { return any_succeeded && !any_failed && !any_cancelled; }
  std::vector<int32_t> deferred;  // ready, but max_parallel was reached
  // From its last succeeded instance in matrix order, not in time: a
  // resumed or rerun run, which counts instances in that order, then passes
  // on the same values as an uninterrupted one. null: none.
  nlohmann::json outputs;
  int32_t outputs_from = -1;                // the instance they came from
  std::optional<nlohmann::json> needs_ctx;  // `needs` for expressions, built once complete
  // Parsed once per task.
  std::vector<expr::Template> steps;
  std::vector<std::pair<std::string, expr::Template>> env;
  expr::Template cwd;
  std::optional<expr::Expression> condition;
  spec::RetrySpec retry;
  Micros timeout = 0;
  std::vector<std::string> shell;
  bool force_shell = false;
};

struct ReadyEntry {
  int32_t critical_path;
  int32_t index;
  bool operator<(const ReadyEntry& o) const {  // max-heap: longest path first, then lowest index
    if (critical_path != o.critical_path) return critical_path < o.critical_path;
    return index > o.index;
  }
};

struct TimerEntry {
  Micros due;
  int32_t index;
  bool operator>(const TimerEntry& o) const { return due > o.due; }
};

class Scheduler::Impl {
 public:
  Impl(store::Store* store, exec::Runner* runner, const Clock* clock, Observer* observer,
       Options options);
  // `created`: a run just created, moved from instead of read back.
  Result<state::RunState> Execute(const std::string& run_id, CreatedRun* created);
  std::vector<const store::TaskRow*> Rows() const;
  const store::RunRow& run() const { return run_; }

 private:
  // Loading and recovery (recovery.cc).
  Status Load(const std::string& run_id, CreatedRun* created);
  Status Adopt(std::vector<store::TaskRow> rows);
  Status Recover();
  Status PrepareTaskModels();
  void ApplyReuse();

  // Decisions (decide.cc).
  void Decide(int32_t index);
  expr::StatusFunctions StatusFor(int32_t task) const;
  nlohmann::json NeedsContext(int32_t task) const;
  std::string NeedsFailureReason(int32_t task) const;
  Result<exec::AttemptSpec> BuildAttempt(int32_t index);

  // The loop (scheduler.cc).
  void Transition(int32_t index, state::TaskState to, std::string_view cause, std::string reason,
                  events::DataBuilder facts = {}, Micros ts = 0);  // ts 0: now
  void TransitionRun(state::RunState to, std::string_view cause, std::string reason);
  void MarkFinal(int32_t index);
  void CountFinal(int32_t index);
  void SummariseUpstream(int32_t task);  // once the task is complete
  int already_final_ = 0;                // instances final before this relay decided anything
  // Masks `value` from now on (logs, reasons, outputs); empty ones are not
  // secrets.
  void AddSecret(std::string value);
  bool IsSecretName(std::string_view name) const;
  // Values of secret-named task env entries that do not read `needs`, for
  // every instance, up front: masking then does not depend on which task
  // ran first, in a fresh run or a resumed one.
  void CollectTaskSecrets();
  // REQUIRES: !secrets_.empty().
  const exec::Masker& Mask();
  // `text` with secrets masked (itself when there are none).
  std::string Redact(std::string text);
  void DrainCompletions();
  bool Stalled() const;
  void StartReady();
  void Start(int32_t index);
  void OnFinished(const exec::AttemptResult& r);
  // Retries per policy (→ retry_wait) or moves to the final failure state.
  void FailOrRetry(int32_t index, FailureKind kind, int exit_code, std::string_view final_cause,
                   std::string reason, events::DataBuilder facts = {});
  void FireTimers();
  void BeginCancel(std::string_view cause, std::string reason);
  void ForceCancel();
  Status Flush();
  void Spawn();  // what the last commit made durable
  void NotePid(int32_t index, int pid, int pgid);
  Micros PidsDue() const;  // when the first unstored pid is due
  Micros NextWakeup() const;
  bool Done() const;
  state::RunState FinalState(std::string* reason) const;

  store::Store* store_;
  exec::Runner* runner_;
  const Clock* clock_;
  Observer* observer_;
  Options options_;
  std::mt19937_64 rng_;

  store::RunRow run_;
  std::optional<spec::Pipeline> owned_pipeline_;  // when parsed from the stored definition
  const spec::Pipeline* pipeline_ = nullptr;      // the caller's, or owned_pipeline_
  std::optional<plan::Plan> plan_;
  nlohmann::json env_;                // pipeline env, rendered
  nlohmann::json run_ctx_;            // {"id": …}
  std::vector<std::string> secrets_;  // values, each once (secret_set_)
  std::unordered_set<std::string> secret_set_;
  // Of secrets_, made again (by Mask()) only after one was added, and shared
  // with the attempts: one automaton however many attempts and secrets.
  std::shared_ptr<const exec::Masker> masker_;
  bool masker_stale_ = false;
  std::vector<InstanceModel> inst_;
  std::vector<TaskModel> tasks_;
  int32_t non_final_ = 0;
  int32_t running_ = 0;
  std::priority_queue<ReadyEntry> ready_;
  std::priority_queue<TimerEntry, std::vector<TimerEntry>, std::greater<TimerEntry>> timers_;
  bool cancelling_ = false;
  bool forced_ = false;

  store::Batch batch_;
  struct Change {
    int32_t index;
    state::TaskState from, to;
  };
  std::vector<Change> changed_;     // for observers, after the commit
  std::vector<int32_t> completed_;  // tasks whose instances all became final
  std::optional<state::RunState> run_changed_from_;
  std::vector<exec::AttemptSpec> to_spawn_;
  std::vector<int32_t> dirty_rows_;
  Micros next_cancel_poll_ = 0;
  Micros next_heartbeat_ = 0;
  Micros next_tick_ = 0;
};

}  // namespace relay::sched
