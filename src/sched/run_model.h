// Private to sched/: the in-memory model of one run while it is driven. Per
// instance: its row (mirror of the store) and a count of needed tasks not yet
// complete; per task: progress counters and what its dependants read of it.
// Readiness is counted, never searched for (taskflow's join counter): a task
// whose last instance becomes final visits only its dependants.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <queue>
#include <string>
#include <vector>

#include "expr/expr.h"
#include "plan/dag.h"
#include "spec/pipeline.h"
#include "store/store.h"

namespace relay::sched {

struct InstanceModel {
  store::TaskRow row;
  int32_t unmet = 0;            // needed tasks not complete yet
  bool pid_dirty = false;       // a process not yet stored
  bool in_slot = false;         // a running attempt that holds one of the engine's slots
  bool approved = false;        // passed its approval (a retry does not ask again)
  bool stop_requested = false;  // this run asked its attempt or child run to stop
  std::string stop_reason;      // why, when only the task was asked to stop
  int32_t lost = 0;             // attempts that were lost (they do not use up retries)
  std::string group;            // the concurrency group it holds or waits for ("" none)
  bool holds_group = false;
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
  // "success", "failure", "cancelled" or "skipped", as needs.<task>.result says.
  const char* Result() const {
    return any_failed      ? "failure"
           : any_cancelled ? "cancelled"
           : any_succeeded ? "success"
                           : "skipped";
  }
  std::vector<int32_t> deferred;  // ready, but max_parallel was reached
  // From its last succeeded instance in matrix order, not in time: a
  // resumed or rerun run, which counts instances in that order, then passes
  // on the same values as an uninterrupted one. null: none.
  nlohmann::json outputs;
  int32_t outputs_from = -1;                  // the instance they came from
  std::optional<nlohmann::json> needs_ctx;    // `needs` for expressions, built once complete
  std::optional<expr::Expression> condition;  // parsed once per task
  spec::RetrySpec retry;
  Micros timeout = 0;
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

// The bookkeeping of one run, apart from what drives it: counters, the
// ready queue, timers, and what each task's dependants read of it.
class RunModel {
 public:
  // REQUIRES: plan outlives the model.
  void Reset(const plan::Plan* plan, const spec::Pipeline* pipeline);

  const plan::Plan& plan() const { return *plan_; }
  const spec::Pipeline& pipeline() const { return *pipeline_; }
  int32_t TaskOf(int32_t index) const { return plan_->instances[index].task; }
  const spec::TaskSpec& SpecOf(int32_t index) const { return pipeline_->tasks[TaskOf(index)]; }

  std::vector<InstanceModel> inst;
  std::vector<TaskModel> tasks;
  int32_t non_final = 0;
  int32_t in_slots = 0;       // attempts holding the engine's slots
  int32_t already_final = 0;  // final before this relay decided anything
  int32_t deferred = 0;       // instances in the tasks' deferred lists (max_parallel)
  std::priority_queue<ReadyEntry> ready;
  std::priority_queue<TimerEntry, std::vector<TimerEntry>, std::greater<TimerEntry>> timers;
  std::vector<int32_t> completed;  // tasks whose instances all became final

  void PushReady(int32_t index) { ready.push({plan_->tasks[TaskOf(index)].critical_path, index}); }
  // An instance reached a final state: count it; a task whose instances are
  // all final is queued for completion (drained by a loop, not recursion: a
  // chain of 10,000 skips must not use 10,000 stack frames).
  void MarkFinal(int32_t index);
  // What a final instance means for its task's status functions. Shared by
  // the loop and by recovery, so a resumed run decides exactly as a fresh one.
  void CountFinal(int32_t index);
  void SummariseUpstream(int32_t task);  // once the task is complete

  expr::StatusFunctions StatusFor(int32_t task, bool cancelling) const;
  nlohmann::json NeedsContext(int32_t task) const;
  // Why a task is skipped for its needs: the nearest culprit upstream.
  std::string NeedsFailureReason(int32_t task, bool cancelling) const;
  // `tasks.<name>.{outputs,result}` for the pipeline's `outputs:`.
  nlohmann::json TasksContext() const;

 private:
  const plan::Plan* plan_ = nullptr;
  const spec::Pipeline* pipeline_ = nullptr;
};

}  // namespace relay::sched
