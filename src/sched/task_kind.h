// The interface every kind of task implements (DESIGN.md §1): what
// starting, stopping and recovering an instance means for it. The driver
// (run_driver.h) calls it; the kinds themselves are in kinds.h. A new kind
// (agents, gates) adds a class there and its states to src/state/task.h.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace relay::sched {

class RunDriver;

// What starting, stopping and recovering an instance means for one kind of
// task: a command (`run`/`steps`), a sub-pipeline (`uses`), or an approval
// alone. A kind adds states and transitions to src/state/task.h's table, not
// cases to the driver's loop.
class TaskKind {
 public:
  virtual ~TaskKind() = default;
  // The instance's turn has come (it passed its approval and its group).
  // Returns whether it took one of the engine's slots.
  virtual bool Start(RunDriver& run, int32_t index) = 0;
  // Stop what the instance has in flight.
  virtual void Stop(RunDriver& run, int32_t index, const std::string& reason) = 0;
  // The instance was in flight when the relay driving it died.
  virtual void Recover(RunDriver& run, int32_t index, const std::string& dead) = 0;
};

// The kinds there are (kinds.cc).
std::unique_ptr<TaskKind> NewShellKind();
std::unique_ptr<TaskKind> NewPipelineKind();
std::unique_ptr<TaskKind> NewApprovalKind();

}  // namespace relay::sched
