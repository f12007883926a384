// What `relay run` prints while it works. Two renderers of the same
// scheduler events: a live view for terminals (a block of running tasks with
// elapsed times, redrawn in place, finished tasks scrolling above it) and
// plain lines for pipes, files, NO_COLOR and TERM=dumb.
#pragma once

#include <cstdio>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "sched/observer.h"

namespace relay::ui {

struct TerminalInfo {
  bool live = false;   // a TTY whose TERM is not "dumb"
  bool color = false;  // live and NO_COLOR unset
  int width = 80;
};

// Inspects `fd` and the environment.
TerminalInfo DetectTerminal(int fd);

class Progress : public sched::Observer {
 public:
  Progress(FILE* out, TerminalInfo term, const Clock* clock);
  ~Progress() override;

  void OnRunStarted(const store::RunRow& run, const std::vector<const store::TaskRow*>& tasks,
                    int already_done) override;
  void OnTaskChanged(const store::TaskRow& row, state::TaskState from,
                     state::TaskState to) override;
  void OnRunChanged(const store::RunRow& run, state::RunState from) override;
  void OnCommitted() override;
  void OnTick(Micros now) override;
  void OnNotice(const std::string& text) override;

  // The closing summary: counts, and each failed task with its reason and log.
  void PrintSummary(const store::RunRow& run, const std::vector<const store::TaskRow*>& tasks);

 private:
  // Prints one line: elapsed time, `label`, then the pieces of `text`.
  void Line(const char* color, std::string_view label,
            std::initializer_list<std::string_view> text);
  void ClearBlock();
  // Counts each instance once while it is final (a lost attempt that is
  // retried stops being final).
  void SetFinal(const store::TaskRow& row, bool final);
  void DrawBlock();

  FILE* out_;
  TerminalInfo term_;
  const Clock* clock_;
  Micros start_ = 0;
  Micros last_draw_ = 0;
  int block_lines_ = 0;
  int total_ = 0, done_ = 0, failed_ = 0, skipped_ = 0;
  // What the live block shows of a running task, by index (not the whole
  // row: it is copied at every start). Kept only for the live view.
  struct Running {
    std::string name;
    Micros started_at = 0;
    int32_t attempts = 0;
  };
  std::map<int32_t, Running> running_;
  std::vector<uint8_t> counted_;  // by index: 0, or the final state + 1
  std::string line_;              // the line being printed, reused
};

}  // namespace relay::ui
