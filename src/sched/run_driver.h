// The scheduler of one run: what is ready, what each instance does next,
// retries, approvals, concurrency groups, sub-pipelines, cancellation, and
// recovery after a relay died. It decides and records transitions; the engine
// that drives it (engine/engine.h) commits them, with every other run's, in
// one batch, spawns what they made durable and hands back what happened.
// The same code starts a fresh run and resumes one: attempts a dead relay
// left running are adopted from their keeper, not run again.
//
// Work per event is proportional to what it touches: a finished instance
// visits its dependants, never the whole DAG.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "exec/runner.h"
#include "sched/attempt_builder.h"
#include "sched/retry.h"
#include "sched/run_host.h"
#include "sched/run_model.h"
#include "sched/secrets.h"
#include "store/store.h"

namespace relay::sched {

class TaskKind;

struct DriverOptions {
  uint32_t slot = 0;  // the engine's number for this run: tokens are slot << 32 | index
  std::string owner;  // the engine's owner id (exec::SelfOwnerId)
  // Attempt logs go to LOG_DIR/RUN/… (the store's LogDir(), where the
  // ledger need not record each log's path).
  std::string log_dir;
  Micros kill_grace = 5 * kSecond;
  Micros lease = 60 * kSecond;  // an owner silent this long is taken for dead
  Micros heartbeat_interval = 5 * kSecond;
  uint64_t seed = 0;  // for retry jitter; 0 = random
};

// How long a step runs before its pid and process group are stored. If
// relay dies first, `relay resume` still finds the step's processes through
// its keeper or by the RELAY_RUN_ID in their environment.
constexpr Micros kPidPersistDelay = kSecond;

// A reason is for people, and travels in an event: one that quotes a huge
// command (an output of 200 KB expanded into it) keeps its start and its
// end, where what relay adds goes ("(failure); retry 2 of 3 in 1s"). Short
// enough after capping that such an addition does not make it capped again.
void CapReason(std::string* reason);

class RunDriver {
 public:
  RunDriver(RunHost* host, DriverOptions options);
  ~RunDriver();
  RunDriver(const RunDriver&) = delete;
  RunDriver& operator=(const RunDriver&) = delete;

  // ---- Loading (recovery.cc)
  // A run just created: nothing is read back.
  Status LoadCreated(CreatedRun created);
  // A stored run to resume (its row as read): its definition is loaded and
  // planned again, its rows folded from its ledger. kInvalid when it is
  // final; kBusy when a live relay owns it.
  Status LoadStored(store::RunRow run);
  // Takes the run: ownership, then attempts a dead relay left (adopted,
  // their results recorded, or lost), then the first decisions.
  Status Take();

  // ---- Driving (called by the engine, in its loop)
  void Drain();  // decides the instances whose needs completed
  enum class Started { kNone, kSlot, kNoSlot };
  // Starts the next ready instance: kSlot when it took one of the engine's
  // slots (a process), kNoSlot when it did not (blocked, a sub-pipeline),
  // kNone when nothing is ready.
  Started StartOne();
  bool HasReady() const { return !model_.ready.empty() && !forced_; }
  void OnStarted(int32_t index, int pid, int pgid);
  // The attempt of instance `index` really starts at `when` (its commit was
  // delayed by a busy store): its row says so.
  void Restamp(int32_t index, Micros when);
  void OnFinished(int32_t index, const exec::AttemptResult& r);
  void FireTimers(Micros now);
  Micros NextTimer() const;
  // A request from the inbox (approve, reject, cancel); returns its outcome.
  std::string OnRequest(const store::Request& request);
  // A sub-pipeline's run that instance `index` waited for ended (`child` is
  // its final row).
  void OnChildEnded(int32_t index, const store::RunRow& child);
  // Blocked instances (and a queued run) ask their concurrency group again.
  void RetryGroups();
  bool WaitsForGroup() const { return blocked_ > 0 || run_.state == state::RunState::kQueued; }
  void BeginCancel(std::string_view cause, std::string reason);
  void ForceCancel();  // a second Ctrl-C: processes are killed by the engine
  // Every instance final and nothing in flight: Finish may end the run.
  bool Done() const;
  // Records the run's final transition (with its pipeline outputs).
  void Finish();
  bool finished() const { return finished_; }
  // Non-empty once a transition outside the table was asked for: a bug in
  // relay. The engine then calls FailInternal, which fails this run alone.
  const std::string& broken() const { return broken_; }
  void FailInternal();
  // Non-final instances that nothing can make progress (a bug): the engine
  // fails the run rather than wait for ever.
  bool Stalled() const;

  // Pids of long-running steps to store (kPidPersistDelay), due now.
  void CollectProcesses(Micros now, std::vector<store::AttemptProcess>* out);
  Micros PidsDue();

  const store::RunRow& run() const { return run_; }
  std::vector<const store::TaskRow*> rows() const;
  const store::TaskRow& row(int32_t index) const { return model_.inst[index].row; }
  int32_t in_slots() const { return model_.in_slots; }
  int already_final() const { return model_.already_final; }
  bool cancelling() const { return cancelling_; }
  // Test hook: asks for a transition as the driver's own code would (one
  // outside the table makes the run broken()).
  void TEST_Transition(int32_t index, state::TaskState to, std::string_view cause) {
    Transition(index, to, cause, "test");
  }
  uint64_t Token(int32_t index) const { return (uint64_t{options_.slot} << 32) | uint32_t(index); }
  // Sub-pipelines this run waits for (instance index → child run id).
  const std::vector<std::pair<int32_t, std::string>>& children() const { return children_; }

 private:
  friend class ShellKind;
  friend class PipelineKind;
  friend class ApprovalKind;

  // Transitions (run_driver.cc).
  void Transition(int32_t index, state::TaskState to, std::string_view cause, std::string reason,
                  store::TaskEffects effects = {}, events::DataBuilder facts = {}, Micros ts = 0);
  void TransitionRun(state::RunState to, std::string_view cause, std::string reason,
                     events::DataBuilder facts = {});
  void MarkFinal(int32_t index);
  void DrainCompletions();
  AttemptBuilder::Scope Scope() const { return {&model_, &run_ctx_, cancelling_}; }
  TaskKind& KindOf(int32_t index);

  // Decisions (decide.cc).
  void Decide(int32_t index);
  void Ready(int32_t index);      // queued: approval first, then the ready queue
  bool PassGroup(int32_t index);  // its group's place, or blocked / skipped

  // Results and retries (results.cc).
  void FinishAttempt(int32_t index, const exec::AttemptResult& r);
  // Retries per policy (→ retry_wait) or moves to the final failure state.
  void FailOrRetry(int32_t index, FailureKind kind, int exit_code, std::string_view final_cause,
                   std::string reason, store::TaskEffects effects, events::DataBuilder facts = {});
  void ReleaseGroup(int32_t index);

  // Approvals (approvals.cc).
  std::string Approve(const store::Request& request, bool reject);
  void ApprovalTimedOut(int32_t index);

  // Concurrency of the run itself (groups.cc).
  void StartRun();      // pending (or queued) → running, once its group lets it
  bool PassRunGroup();  // false: the run waits (queued) or was skipped
  void AskHoldersToYield(const store::GroupState& state, const std::string& group, int32_t index,
                         int limit);

  // Recovery (recovery.cc).
  Status Prepare();  // models and templates of a loaded run
  void ApplyReuse();
  Status CountHistory();  // lost attempts and approvals, from the ledger
  void RecoverInstance(int32_t index, const std::string& dead);

  RunHost* host_;
  DriverOptions options_;
  std::mt19937_64 rng_;

  store::RunRow run_;
  std::shared_ptr<const spec::Pipeline> pipeline_;
  std::optional<plan::Plan> plan_;
  nlohmann::json run_ctx_;  // {"id": …}
  RunModel model_;
  RunSecrets secrets_;
  AttemptBuilder builder_;
  std::unique_ptr<TaskKind> shell_, pipeline_kind_, approval_;

  bool fresh_ = false;  // Take() starts it (pending), rather than resumes it
  std::string previous_owner_;
  bool cancelling_ = false;
  std::string cancel_reason_;  // what BeginCancel was told
  bool forced_ = false;
  bool finished_ = false;
  std::string broken_;
  std::string run_group_;  // the pipeline's concurrency group ("" none)
  int32_t blocked_ = 0;    // instances in `blocked`
  int32_t waiting_ = 0;    // instances waiting for people or a child run
  std::vector<std::pair<int32_t, std::string>> children_;
  std::vector<std::string> asked_to_yield_;  // holders cancelled by cancel-running, once each
  void DropStalePids();
  std::vector<int32_t> dirty_pids_;  // from pids_head_ on: not stored yet, in start order
  size_t pids_head_ = 0;
  std::vector<int32_t> gone_;           // running attempts no keeper knows of (Take loses them)
  std::vector<int32_t> not_started_;    // recorded as running, never handed to the keeper
  std::vector<events::Event> history_;  // a resumed run's ledger, read once by LoadStored
  std::vector<int32_t> blocked_list_;   // blocked instances, in the order they queued
  std::string children_json_;           // the "pipelines" map this run's options carry
};

}  // namespace relay::sched
