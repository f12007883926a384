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
  // What is known of one run the engine drives (the first is the top run;
  // the others are its sub-pipelines, shown under their caller's name).
  struct RunView {
    std::string prefix;              // "" for the top run; "deploy › " for its child
    std::vector<std::string> names;  // instance names, for the prefixes of children
    std::vector<uint8_t> counted;    // by index: 0, or the final state + 1
  };
  RunView* ViewOf(const std::string& run_id);
  // The name a task is shown by: its run's prefix, then its instance name.
  const std::string& Shown(const store::TaskRow& row);
  // Counts each instance once while it is final (a lost attempt that is
  // retried stops being final).
  void SetFinal(RunView& view, const store::TaskRow& row, bool final);
  void DrawBlock();

  FILE* out_;
  TerminalInfo term_;
  const Clock* clock_;
  Micros start_ = 0;
  Micros last_draw_ = 0;
  int block_lines_ = 0;
  int total_ = 0, done_ = 0, failed_ = 0, skipped_ = 0;
  // What the live block shows of a running or waiting task, by run and
  // index (not the whole row: it is copied at every start). Kept only for
  // the live view.
  struct Running {
    std::string name;
    Micros started_at = 0;
    int32_t attempts = 0;
    std::string waiting;  // why it waits ("" when it runs): the command to approve it
  };
  std::map<std::pair<std::string, int32_t>, Running> running_;
  std::map<std::string, RunView> runs_;  // nodes stay put: last_view_ may point at one
  std::string last_id_;
  RunView* last_view_ = nullptr;
  std::string shown_;           // Shown()'s result, reused
  std::string line_;            // the line being printed, reused
  std::string elapsed_, took_;  // its pieces, reused
};

}  // namespace relay::ui
