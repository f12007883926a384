#include "ui/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "base/duration.h"
#include "base/file_util.h"

namespace relay::ui {

using state::TaskState;

namespace {
const char* kReset = "\x1b[0m";
const char* kGreen = "\x1b[32m";
const char* kRed = "\x1b[31m";
const char* kYellow = "\x1b[33m";
const char* kDim = "\x1b[2m";
const char* kBold = "\x1b[1m";

// Spaces that pad `s` to `width` bytes, as printf's "%8s" and "%-6s" did.
size_t PadFor(std::string_view s, size_t width) { return s.size() < width ? width - s.size() : 0; }
}  // namespace

// Logs are created on first output: a task that printed nothing has none.
bool HasLog(const store::TaskRow& row) { return !row.log_path.empty() && FileExists(row.log_path); }

TerminalInfo DetectTerminal(int fd) {
  TerminalInfo t;
  const char* term = std::getenv("TERM");
  t.live = isatty(fd) && term && std::strcmp(term, "dumb") != 0;
  t.color = t.live && !std::getenv("NO_COLOR");
  winsize ws;
  if (t.live && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20) t.width = ws.ws_col;
  return t;
}

// Lines before the run starts (notes while `relay resume` adopts what a dead
// relay left) count from here, not from the clock's epoch.
Progress::Progress(FILE* out, TerminalInfo term, const Clock* clock)
    : out_(out), term_(term), clock_(clock), start_(clock->Now()) {}

Progress::~Progress() = default;

// Built in one reused string and written at once: with printf and a
// temporary string per piece, this cost more than the scheduler's own
// handling of the transition it reports. (fmt's padding is no cheaper: it
// measures the display width of every character.) The pieces are measured
// first and copied into place once.
void Progress::Line(const char* color, std::string_view label,
                    std::initializer_list<std::string_view> text) {
  ClearBlock();
  elapsed_.assign(1, '+');
  AppendDuration(elapsed_, clock_->Now() - start_);
  const std::string_view dim = term_.color ? kDim : "";
  const std::string_view reset = term_.color ? kReset : "";
  const std::string_view tint = term_.color ? color : "";
  const size_t pad_elapsed = PadFor(elapsed_, 8), pad_label = PadFor(label, 6);
  size_t size = dim.size() + pad_elapsed + elapsed_.size() + reset.size() + 1 + tint.size() +
                label.size() + pad_label + reset.size() + 1 + 1;
  for (std::string_view piece : text) size += piece.size();
  line_.resize(size);
  char* at = line_.data();
  auto put = [&at](std::string_view s) {
    if (!s.empty()) std::memcpy(at, s.data(), s.size());  // an empty view may hold no pointer
    at += s.size();
  };
  put(dim);
  at = std::fill_n(at, pad_elapsed, ' ');
  put(elapsed_);
  put(reset);
  *at++ = ' ';
  put(tint);
  put(label);
  at = std::fill_n(at, pad_label, ' ');
  put(reset);
  *at++ = ' ';
  for (std::string_view piece : text) put(piece);
  *at++ = '\n';
  std::fwrite(line_.data(), 1, line_.size(), out_);
}

void Progress::OnRunStarted(const store::RunRow& run,
                            const std::vector<const store::TaskRow*>& tasks, int already_done) {
  const bool top = runs_.empty();
  RunView& view = runs_[run.id];
  if (!run.caller_run.empty()) {
    if (RunView* caller = ViewOf(run.caller_run)) {
      if (run.caller_index >= 0 && static_cast<size_t>(run.caller_index) < caller->names.size())
        view.prefix = caller->prefix + caller->names[run.caller_index] + " \u203a ";
    }
  }
  view.counted.assign(tasks.size(), 0);
  view.names.reserve(tasks.size());
  for (const store::TaskRow* t : tasks) view.names.push_back(t->name);
  total_ += static_cast<int>(tasks.size());
  for (const store::TaskRow* t : tasks)
    if (state::IsFinal(t->state)) SetFinal(view, *t, true);
  if (!top) return;  // a sub-pipeline: its caller's line said which run it is
  start_ = clock_->Now();
  std::fprintf(out_, "relay: run %s of %s (%d task%s)%s\n", run.id.c_str(), run.pipeline.c_str(),
               total_, total_ == 1 ? "" : "s",
               already_done ? (", " + std::to_string(already_done) + " already done").c_str() : "");
}

Progress::RunView* Progress::ViewOf(const std::string& run_id) {
  // Most transitions are the last run's: no lookup for them.
  if (last_view_ != nullptr && last_id_ == run_id) return last_view_;
  auto it = runs_.find(run_id);
  // Rows that name no run (as a caller may make them) are the top run's.
  if (it == runs_.end() && runs_.size() == 1 && run_id.empty()) it = runs_.begin();
  if (it == runs_.end()) return nullptr;
  last_id_ = run_id;
  last_view_ = &it->second;
  return last_view_;
}

const std::string& Progress::Shown(const store::TaskRow& row) {
  RunView* view = ViewOf(row.run_id);
  if (view == nullptr || view->prefix.empty()) return row.name;
  shown_.assign(view->prefix).append(row.name);
  return shown_;
}

void Progress::SetFinal(RunView& view, const store::TaskRow& row, bool final) {
  if (row.index < 0) return;
  if (static_cast<size_t>(row.index) >= view.counted.size()) view.counted.resize(row.index + 1, 0);
  uint8_t& slot = view.counted[row.index];
  auto tally = [&](TaskState s, int d) {
    done_ += d;
    if (s == TaskState::kFailed || s == TaskState::kLost) failed_ += d;
    if (s == TaskState::kSkipped) skipped_ += d;
  };
  if (slot) tally(static_cast<TaskState>(slot - 1), -1);
  slot = final ? static_cast<uint8_t>(row.state) + 1 : 0;
  if (slot) tally(row.state, +1);
}

void Progress::OnTaskChanged(const store::TaskRow& row, TaskState from, TaskState to) {
  RunView* view = ViewOf(row.run_id);
  if (view != nullptr) SetFinal(*view, row, state::IsFinal(to));
  const std::string& name = Shown(row);
  // The live block's entry: made only when it is kept (a copy of the run id
  // for every transition cost more than the line it prints), looked up only
  // when there are any.
  auto key = [&row] { return std::make_pair(row.run_id, row.index); };
  auto forget = [&] {
    if (!running_.empty()) running_.erase(key());
  };
  switch (to) {
    case TaskState::kRunning:
      if (term_.live) {
        running_[key()] = Running{name, row.started_at, row.attempts, ""};
      } else if (row.attempts > 1) {
        Line(kBold, "start", {name, " (attempt ", std::to_string(row.attempts), ")"});
      } else {
        Line(kBold, "start", {name});
      }
      break;
    case TaskState::kWaitingChild:
      Line(kBold, "start", {name, ": ", row.reason});
      break;
    case TaskState::kWaitingApproval:
      if (from == TaskState::kWaitingApproval) {
        Line(kGreen, "approve", {name, ": ", row.reason});
      } else {
        Line(kYellow, "wait", {name, ": ", row.reason});
      }
      if (term_.live) running_[key()] = Running{name, row.started_at, 0, row.reason};
      break;
    case TaskState::kBlocked:
      Line(kDim, "wait", {name, ": ", row.reason});
      if (term_.live) running_[key()] = Running{name, clock_->Now(), 0, row.reason};
      break;
    case TaskState::kQueued:
      if (from == TaskState::kWaitingApproval) {
        forget();
        Line(kGreen, "approve", {name, ": ", row.reason});
      } else if (from == TaskState::kBlocked) {
        forget();
      }
      break;
    case TaskState::kSucceeded:
      forget();
      if (row.cause == "reused" || from == TaskState::kWaitingApproval) {
        Line(kGreen, "ok", {name, "  ", row.reason});
      } else {
        took_.clear();
        AppendDuration(took_, row.ended_at - row.started_at);
        Line(kGreen, "ok", {name, "  ", took_});
      }
      break;
    case TaskState::kFailed:
    case TaskState::kLost: {
      forget();
      const char* label = to == TaskState::kLost ? "lost" : "FAIL";
      if (HasLog(row)) {
        Line(kRed, label, {name, ": ", row.reason, "  (log: ", row.log_path, ")"});
      } else if (from == TaskState::kRunning) {
        Line(kRed, label, {name, ": ", row.reason, "  (no output)"});
      } else {
        Line(kRed, label, {name, ": ", row.reason});
      }
      break;
    }
    case TaskState::kRetryWait:
      forget();
      Line(kYellow, "retry", {name, ": ", row.reason});
      break;
    case TaskState::kSkipped:
      Line(kDim, "skip", {name, ": ", row.reason});
      break;
    case TaskState::kCancelled:
      forget();
      if (from == TaskState::kRunning || from == TaskState::kWaitingChild)
        Line(kYellow, "cancel", {name});
      break;
    default:
      break;
  }
}

void Progress::OnRunChanged(const store::RunRow& run, state::RunState from) {
  RunView* view = ViewOf(run.id);
  const std::string which = view == nullptr || view->prefix.empty()
                                ? "the run"
                                : "the run of " + view->prefix.substr(0, view->prefix.size() - 5);
  if (run.state == state::RunState::kCancelling)
    Line(kYellow, "cancel", {"cancelling ", which, ": ", run.reason});
  if (run.state == state::RunState::kQueued && from != state::RunState::kQueued)
    Line(kYellow, "wait", {which, ": ", run.reason});
  if (run.state == state::RunState::kRunning && from == state::RunState::kQueued)
    Line(kBold, "start", {which, ": its concurrency group has room"});
}

void Progress::OnNotice(const std::string& text) { Line(kYellow, "note", {text}); }

void Progress::OnCommitted() {
  if (term_.live) {
    Micros now = clock_->Now();
    if (now - last_draw_ >= 50 * kMillisecond) DrawBlock();
  }
  std::fflush(out_);
}

void Progress::OnTick(Micros now) {
  if (term_.live) {
    DrawBlock();
    std::fflush(out_);
  }
}

void Progress::ClearBlock() {
  if (!term_.live || block_lines_ == 0) return;
  std::fprintf(out_, "\x1b[%dA\x1b[J", block_lines_);
  block_lines_ = 0;
}

void Progress::DrawBlock() {
  ClearBlock();
  Micros now = clock_->Now();
  last_draw_ = now;
  int shown = 0;
  size_t waiting = 0;
  for (const auto& [key, row] : running_) waiting += row.waiting.empty() ? 0 : 1;
  for (const auto& [key, row] : running_) {
    if (shown == 10) {
      std::fprintf(out_, "  … and %zu more\n", running_.size() - 10);
      ++block_lines_;
      break;
    }
    std::string text = row.name + "  ";
    if (!row.waiting.empty()) {
      text += row.waiting;  // the command that approves it, in full: the user types it
    } else {
      text += FormatDuration(now - row.started_at);
      if (row.attempts > 1) text += "  attempt " + std::to_string(row.attempts);
      if (static_cast<int>(text.size()) > term_.width - 4) text.resize(term_.width - 4);
    }
    std::fprintf(out_, "  %s%s%s %s\n", term_.color ? kBold : "", row.waiting.empty() ? "▶" : "⏸",
                 term_.color ? kReset : "", text.c_str());
    // A waiting task's command is not cut: it may wrap, and the block must
    // know how many lines to clear.
    const size_t width = static_cast<size_t>(term_.width);
    block_lines_ += static_cast<int>(std::max<size_t>(1, (text.size() + 4 + width - 1) / width));
    ++shown;
  }
  int pending = total_ - done_ - static_cast<int>(running_.size());
  std::fprintf(out_, "%s[%d/%d] %zu running, %zu waiting, %d failed, %d pending%s\n",
               term_.color ? kDim : "", done_, total_, running_.size() - waiting, waiting, failed_,
               pending < 0 ? 0 : pending, term_.color ? kReset : "");
  ++block_lines_;
}

void Progress::PrintSummary(const store::RunRow& run,
                            const std::vector<const store::TaskRow*>& tasks) {
  ClearBlock();
  int ok = 0, failed = 0, skipped = 0, cancelled = 0;
  for (const store::TaskRow* t : tasks) {
    if (t->state == TaskState::kSucceeded) ++ok;
    if (t->state == TaskState::kFailed || t->state == TaskState::kLost) ++failed;
    if (t->state == TaskState::kSkipped) ++skipped;
    if (t->state == TaskState::kCancelled) ++cancelled;
  }
  const char* color = run.state == state::RunState::kSucceeded ? kGreen : kRed;
  std::fprintf(out_, "%srun %s %s%s in %s: %d succeeded, %d failed, %d skipped, %d cancelled\n",
               term_.color ? color : "", run.id.c_str(),
               std::string(state::Name(run.state)).c_str(), term_.color ? kReset : "",
               FormatDuration(clock_->Now() - start_).c_str(), ok, failed, skipped, cancelled);
  int listed = 0;
  for (const store::TaskRow* row : tasks) {
    const store::TaskRow& t = *row;
    if (t.state != TaskState::kFailed && t.state != TaskState::kLost) continue;
    if (++listed > 20) {
      std::fprintf(out_, "  … and %d more (relay show %s)\n", failed - 20, run.id.c_str());
      break;
    }
    // "(no output)" only for an attempt that ran a process: a sub-pipeline
    // or an approval has no log of its own.
    std::fprintf(out_, "  failed: %s — %s%s%s\n", t.name.c_str(), t.reason.c_str(),
                 HasLog(t)            ? "\n          log: "
                 : t.log_path.empty() ? ""
                                      : " (no output)",
                 HasLog(t) ? t.log_path.c_str() : "");
  }
  std::fflush(out_);
}

}  // namespace relay::ui
