// relay logs RUN [TASK] [-f]: attempt logs, copied to stdout in chunks
// (LogFollower), so a log of any size costs the same memory; followed by
// reading only what each log gained since it was last read.
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "cli/cmd_inspect.h"
#include "cli/log_follower.h"
#include "state/run.h"
#include "state/task.h"
#include "store/task_record.h"

namespace relay::cli {
namespace {

constexpr auto kFollowPoll = std::chrono::milliseconds(200);

bool Chosen(const store::TaskRow& t, const std::string& task) {
  return task.empty() || t.name == task || t.task == task;
}

// Every attempt's log of a task, oldest first: the row names the last one
// (LOGS/RUN/IDX-NAME.N.log); earlier attempts differ in N and, for a name
// cut to fit a file name, in how much of the name fits.
std::vector<std::string> AttemptLogs(const store::TaskRow& t) {
  std::vector<std::string> out;
  const std::string& last = t.log_path;
  size_t run_dir = last.rfind("/" + t.run_id + "/");
  if (run_dir != std::string::npos && t.attempts > 1) {
    std::string log_dir = last.substr(0, run_dir);
    if (store::AttemptLogPath(log_dir, t.run_id, t.index, t.name, t.attempts) == last) {
      for (int a = 1; a <= t.attempts; ++a)
        out.push_back(store::AttemptLogPath(log_dir, t.run_id, t.index, t.name, a));
      return out;
    }
  }
  size_t ext = last.rfind(".log");
  size_t dot = ext == std::string::npos ? std::string::npos : last.rfind('.', ext - 1);
  if (dot == std::string::npos || t.attempts <= 1) {
    if (!last.empty()) out.push_back(last);
    return out;
  }
  for (int a = 1; a <= t.attempts; ++a)
    out.push_back(last.substr(0, dot) + "." + std::to_string(a) + ".log");
  return out;
}

// Each chosen task's last attempt, whole.
int PrintLastAttempts(const std::vector<store::TaskRow>& chosen) {
  LogFollower copier(stdout);
  Status failed;
  for (const auto& t : chosen) {
    if (chosen.size() > 1)
      std::printf("==> %s (%s, attempt %d) <==\n", t.name.c_str(),
                  std::string(state::Name(t.state)).c_str(), t.attempts);
    // A task that printed nothing has no log file (logs are created on
    // first output): say so, in the place its output would be.
    Status copied = t.log_path.empty() ? Status::NotFound("no log") : copier.CopyWhole(t.log_path);
    if (copier.output_gone()) return kExitOk;
    if (copied.code() == Code::kNotFound) {
      std::printf("(no output)\n");
    } else if (!copied.ok()) {
      std::fflush(stdout);
      std::fprintf(stderr, "relay: %s\n", copied.message().c_str());
      if (failed.ok()) failed = copied;
    }
  }
  if (Status flushed = copier.Flush(); !flushed.ok() && !copier.output_gone()) return Fail(flushed);
  return ExitCodeFor(failed);
}

// Shows what the chosen tasks' logs gained since the last call. Rows are
// read afresh each time: a retry adds an attempt, and its log appears with
// its first output.
class Follower {
 public:
  Follower(store::Store& s, std::string run_id, std::string task, bool prefixed)
      : store_(s),
        run_id_(std::move(run_id)),
        task_(std::move(task)),
        prefixed_(prefixed),
        logs_(stdout) {}

  // False when stdout's reader is gone: nothing more is worth reading.
  Result<bool> Drain() {
    RELAY_ASSIGN_OR_RETURN(std::vector<store::TaskRow> rows, store_.GetTasks(run_id_));
    for (const auto& t : rows) {
      if (!Chosen(t, task_)) continue;
      std::vector<std::string> paths = AttemptLogs(t);
      const std::string prefix = prefixed_ ? t.name + " | " : "";
      for (size_t a = 0; a < paths.size(); ++a) {
        const std::string& path = paths[a];
        if (logs_.finished(path)) continue;
        // Known before the read below: such a log was complete before it.
        bool complete = a + 1 < paths.size() || state::IsFinal(t.state);
        Status polled = logs_.Poll(path, prefix);
        if (logs_.output_gone()) return false;
        if (!polled.ok()) {
          // Said once; the others go on.
          std::fflush(stdout);
          std::fprintf(stderr, "relay: %s\n", polled.message().c_str());
          if (failed_.ok()) failed_ = polled;
          complete = true;
        }
        if (complete) logs_.Finish(path);
      }
    }
    Status flushed = logs_.Flush();
    if (logs_.output_gone()) return false;
    RELAY_RETURN_IF_ERROR(flushed);
    return true;
  }

  // Ends unfinished last lines of logs that will not get their newline.
  void Close() {
    logs_.FinishAll();
    (void)logs_.Flush();
  }

  const Status& failed() const { return failed_; }

 private:
  store::Store& store_;
  const std::string run_id_;
  const std::string task_;
  const bool prefixed_;
  LogFollower logs_;
  Status failed_;
};

int Follow(store::Store& s, const std::string& id, const std::string& task, bool prefixed) {
  Follower follower(s, id, task, prefixed);
  while (true) {
    // The run is read before its logs: when it is final here, the logs read
    // next are complete.
    auto run = s.GetRun(id);
    if (!run.ok()) return Fail(run.status());
    auto more = follower.Drain();
    if (!more.ok()) return Fail(more.status());
    if (!*more) return kExitOk;
    auto seen = CheckFollowedRun(s, &*run);
    if (!seen.ok()) return Fail(seen.status());
    if (*seen != FollowedRun::kGoingOn) {
      // What was written between the drain above and the run's end.
      more = follower.Drain();
      if (!more.ok()) return Fail(more.status());
      if (!*more) return kExitOk;
      follower.Close();
      if (*seen == FollowedRun::kStopped) SayRunStopped(*run);
      return ExitCodeFor(follower.failed());
    }
    std::this_thread::sleep_for(kFollowPoll);
  }
}

}  // namespace

int CmdLogs(const GlobalOptions& g, const std::string& ref, const std::string& task, bool follow) {
  auto store = OpenStoreFor(g, /*create=*/false);
  if (!store.ok()) return Fail(store.status());
  store::Store& s = **store;
  auto id = ResolveRun(s, ref);
  if (!id.ok()) return Fail(id.status());
  auto tasks = s.GetTasks(*id);
  if (!tasks.ok()) return Fail(tasks.status());
  std::vector<store::TaskRow> chosen;
  for (const auto& t : *tasks)
    if (Chosen(t, task)) chosen.push_back(t);
  if (chosen.empty()) return Fail(Status::NotFound("run " + *id + " has no task '" + task + "'"));
  if (!follow) return PrintLastAttempts(chosen);
  // Several logs at once interleave: each line says whose it is.
  return Follow(s, *id, task, task.empty() || chosen.size() > 1);
}

}  // namespace relay::cli
