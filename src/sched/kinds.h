// Private to sched/: the kinds of task (DESIGN.md §1), each behind
// TaskKind (task_kind.h). A new kind (agents, gates) adds a class here and
// its states to src/state/task.h.
#pragma once

#include <cstdint>
#include <string>

#include "sched/task_kind.h"

namespace relay::sched {

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
