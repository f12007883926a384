// Private to exec and keeper: the attempts one process runs. Both the
// in-process runner (NewPosixRunner) and the keeper drive an AttemptSet from
// their own wait loop: it spawns each attempt's steps, copies their output
// to the logs, applies timeouts and reaps them; the driver polls the pipes it
// hands out and tells it when SIGCHLD arrived.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "exec/command_line.h"
#include "exec/output_log.h"
#include "exec/process_posix.h"
#include "exec/runner.h"

struct pollfd;
struct rusage;

namespace relay::exec {

inline constexpr Micros kNever = INT64_MAX;

// What happened to the set's attempts; the driver takes and clears them.
struct AttemptEvents {
  std::vector<Started> started;  // steps after the first (Start reports that one)
  std::vector<AttemptResult> finished;
  // With Options::return_specs: the specs of the attempts that finished
  // (their log_path moved out), so a driver that decodes specs can reuse
  // their memory instead of allocating every string again.
  std::vector<AttemptSpec> done_specs;
};

class AttemptSet {
 public:
  struct Options {
    // Also reap exited children that are none of the set's steps. The
    // keeper is a child subreaper and must reap the orphans it inherits;
    // relay leaves children it did not start to whoever started them.
    bool reap_strangers = false;
    bool return_specs = false;  // see AttemptEvents::done_specs
  };

  // Captures the process's environment: every step gets it, plus its spec's.
  explicit AttemptSet(Options options);
  // Closes the pipes of what still runs; kills nothing (KillAndReapAll does).
  ~AttemptSet();
  AttemptSet(const AttemptSet&) = delete;
  AttemptSet& operator=(const AttemptSet&) = delete;

  // Starts the attempt's first step and returns its process. When it cannot
  // start (or there are no steps) the result goes to events->finished at
  // once and the returned pid is 0. Tokens must be unique in the set.
  Started Start(AttemptSpec spec, AttemptEvents* events);

  // Stops an attempt: SIGTERM to its group and SIGKILL after its grace, or
  // SIGKILL now. It finishes with cancelled = true. Unknown tokens are ignored.
  void Cancel(uint64_t token, bool now);
  void KillAll();
  // SIGKILL to every group, then waits for each step (the runner's end).
  void KillAndReapAll();

  // Attempts with a live step process.
  size_t size() const { return attempts_.size(); }
  // The process of `token`'s current step (it leads its own group); 0 if none.
  int StepPid(uint64_t token) const;

  // Appends a pollfd per open pipe; after ppoll, ReadReady(fds) reads those
  // that are ready. REQUIRES: nothing else in between.
  void AddPollFds(std::vector<pollfd>* fds);
  void ReadReady(const std::vector<pollfd>& fds);
  // After SIGCHLD: reaps the steps that exited, starts next steps, finishes
  // attempts.
  void ReapExited(AttemptEvents* events);
  // Applies timeouts and kill deadlines due at monotonic `now`.
  void FireDeadlines(Micros now);
  // The next monotonic time FireDeadlines has work; kNever if none.
  Micros NextDeadline() const;

 private:
  struct Attempt;

  void CaptureEnvironment();
  std::string_view BuildEnv(const AttemptSpec& spec);
  void LayOutEnv(const AttemptSpec& spec);
  bool StartStep(Attempt* a);
  bool SpawnDirect(Attempt* a, const std::string& line, std::string_view path_env,
                   SpawnError* error);
  void SpawnShell(Attempt* a, const std::string& line, std::string_view path_env,
                  SpawnError* error);
  std::string DescribeSpawnError(const Attempt& a, const std::string& path, SpawnError e) const;
  void ReadOnce(Attempt* a, Stream stream);
  void DrainAndClose(Attempt* a);
  bool ReapStep(Attempt* a, int options, AttemptEvents* events);
  void StepEnded(Attempt* a, int status, const rusage& ru, AttemptEvents* events);
  void Finish(Attempt* a, AttemptEvents* events);
  void BeginStop(Attempt* a, Micros now);
  void SweepEscapees();
  Attempt* FindByPid(int pid);

  Options options_;
  Spawner spawner_;
  ProgramResolver resolver_;
  std::vector<std::unique_ptr<Attempt>> attempts_;  // each with a live step process
  // Environment markers of attempts stopped by a cancel or a timeout, whose
  // processes outside the group (setsid) are killed by the next sweep.
  std::vector<std::vector<std::string>> to_sweep_;

  // The environment at creation: owned copies, a pointer array copied per
  // attempt, and name → index so overrides are one lookup each.
  std::vector<std::string> base_env_;
  std::vector<char*> base_envp_;
  std::unordered_map<std::string_view, size_t> base_index_;
  std::string base_path_;

  // Where the last spec's env entries went (LayOutEnv): its names, each
  // one's index in envp_, how many follow the inherited ones, and which
  // entry is PATH (-1: none).
  std::vector<std::string> env_names_;
  std::vector<size_t> env_slots_;
  size_t env_added_ = 0;
  ptrdiff_t env_path_ = -1;

  // Reused per spawn and per poll, so the hot path does not allocate.
  std::vector<char> env_chars_;  // "NAME=value" of spec.env, end to end
  std::vector<char*> envp_;      // base_envp_ with env_chars_ applied
  std::vector<std::string_view> words_;
  std::vector<char> arg_chars_;
  std::vector<char*> argv_;
  size_t first_fd_ = 0;  // where AddPollFds began in the caller's vector
  std::vector<std::pair<Attempt*, Stream>> fd_owner_;
  std::unique_ptr<char[]> buf_;
};

}  // namespace relay::exec
