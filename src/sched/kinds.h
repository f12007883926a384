// Private to sched/: the kinds of task (DESIGN.md §1), each behind
// TaskKind. A new kind (agents, gates) adds a class here and
// its states to src/state/task.h.
#pragma once

#include <cstdint>
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


// `run:` or `steps:`: an attempt of processes in one of the engine's slots,
// kept by the keeper; a dead relay's attempt is adopted from it.
class ShellKind final : public TaskKind {
 public:
  bool Start(RunDriver& run, int32_t index) override;
  void Stop(RunDriver& run, int32_t index, const std::string& reason) override;
  void Recover(RunDriver& run, int32_t index, const std::string& dead) override;
};

// `uses: ./child.yaml`: a run of its own, driven by the same engine; the
// task waits in `waiting_child` and ends as the child run ends.
class PipelineKind final : public TaskKind {
 public:
  bool Start(RunDriver& run, int32_t index) override;
  void Stop(RunDriver& run, int32_t index, const std::string& reason) override;
  void Recover(RunDriver& run, int32_t index, const std::string& dead) override;
};

// `approval:` alone: the task is done once approved (approvals.cc); it never
// reaches Start.
class ApprovalKind final : public TaskKind {
 public:
  bool Start(RunDriver& run, int32_t index) override;
  void Stop(RunDriver& run, int32_t index, const std::string& reason) override {}
  void Recover(RunDriver& run, int32_t index, const std::string& dead) override {}
};

}  // namespace relay::sched
