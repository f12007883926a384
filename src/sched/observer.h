// Observers see what the scheduler made durable: they are called after each
// commit, so a terminal view or an event stream never shows a state the
// store does not hold. Live view, plain lines and tests implement it.
#pragma once

#include <vector>

#include "base/clock.h"
#include "state/run.h"
#include "state/task.h"
#include "store/store.h"

namespace relay::sched {

class Observer {
 public:
  virtual ~Observer() = default;
  // `tasks`: every instance's row once this relay has made its first
  // decisions (some may be final already: skipped at once, or reused).
  // `already_done`: how many were final before this relay took the run (a
  // resumed run's finished work, a rerun's reused results).
  virtual void OnRunStarted(const store::RunRow& run,
                            const std::vector<const store::TaskRow*>& tasks, int already_done) {}
  // `row` is the instance's current row; several changes of one row may be
  // reported after one commit (queued → claimed → running).
  virtual void OnTaskChanged(const store::TaskRow& row, state::TaskState from,
                             state::TaskState to) {}
  virtual void OnRunChanged(const store::RunRow& run, state::RunState from) {}
  // After the notifications of one commit (a good moment to flush output).
  virtual void OnCommitted() {}
  // Called at least every Options::tick while work is running (for timers on screen).
  virtual void OnTick(Micros now) {}
  // A message for the user that is not a transition ("cancelling: waiting for 2 tasks").
  virtual void OnNotice(const std::string& text) {}
};

}  // namespace relay::sched
