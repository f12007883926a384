// The scheduler drives one run to a final state: it decides what is ready,
// applies transitions, starts attempts through an exec::Runner, fires retry
// timers and handles cancellation. The same code starts a fresh run and
// resumes one whose relay died (attempts that were running become `lost`).
//
// Its loop, per iteration: fold every pending transition into one store
// commit, then start the processes whose `running` transition is now
// durable, then wait for the next event (exit, timer, cancel, interrupt).
// Work per finished instance is proportional to its dependants.
#pragma once

#include <memory>
#include <string>

#include "base/clock.h"
#include "base/status.h"
#include "exec/runner.h"
#include "plan/dag.h"
#include "sched/observer.h"
#include "spec/pipeline.h"
#include "state/run.h"
#include "store/store.h"

namespace relay::sched {

struct Options {
  int jobs = 2;       // concurrent attempts at most
  std::string owner;  // this process's owner id (exec::SelfOwnerId)
  // Attempt logs go to LOG_DIR/RUN/… ("": the store's LogDir(), where the
  // ledger need not record each log's path).
  std::string log_dir;
  Micros heartbeat_interval = 5 * kSecond;
  Micros lease = 60 * kSecond;  // claims expire this long after the last heartbeat
  // A `relay cancel` on this host pokes the run's relay (exec::PokeOwner),
  // which then reads the store at once; this poll is the fallback.
  Micros cancel_poll_interval = 2 * kSecond;
  Micros tick = 0;  // OnTick period; 0 = none
  Micros kill_grace = 5 * kSecond;
  uint64_t seed = 0;  // for retry jitter; 0 = random
};

// A run its caller just created: what CreateRun committed and what it was
// made from, so the scheduler neither parses, plans nor reads it again.
struct CreatedRun {
  store::RunRow run;
  const spec::Pipeline* pipeline = nullptr;  // outlives the scheduler
  plan::Plan plan;                           // of `pipeline`
  std::vector<store::TaskRow> rows;
};

class Scheduler {
 public:
  Scheduler(store::Store* store, exec::Runner* runner, const Clock* clock, Observer* observer,
            Options options);
  ~Scheduler();

  // Runs (or resumes) `run_id` to a final state and returns it. kInvalid
  // when the run is already final; kBusy when another live relay owns it;
  // infrastructure errors when the store fails (running processes are then
  // killed, to be found `lost` by the next resume).
  Result<state::RunState> Execute(const std::string& run_id);
  // The same, for a run just created (its stored definition is the
  // pipeline's source).
  Result<state::RunState> Execute(CreatedRun created);

  // After Execute: the run and its task rows as last committed (the store
  // holds the same), e.g. for a summary without reading them back.
  const store::RunRow& run() const;
  std::vector<const store::TaskRow*> rows() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace relay::sched
