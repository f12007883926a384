// exec: running one attempt of a task as operating-system processes. Knows
// nothing of runs, stores or pipelines: the scheduler hands it an
// AttemptSpec and later collects an AttemptResult.
//
// An attempt is a list of steps run one after another in the same working
// directory, each in its own process leading its own new process group (a
// group dies with its last member, so steps cannot share one). stdin is
// /dev/null; stdout and stderr are captured line by line into one log file
// with timestamps (format in exec/output_log.h). The attempt ends at the
// first step that fails. When a step's process exits, whatever is left of its
// group (background jobs) is killed, as CI runners do at the end of a job.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "exec/mask.h"

namespace relay::exec {

// The durable identity of an attempt: which run, which task instance (its
// index in the plan) and which try. A keeper knows its attempts by it, so a
// relay that did not start an attempt can still ask for it (Runner::Adopt).
struct AttemptKey {
  std::string run_id;
  int32_t index = 0;
  int32_t attempt = 0;
  bool operator==(const AttemptKey&) const = default;
};

struct AttemptSpec {
  uint64_t token = 0;  // the caller's handle for this attempt; echoed in results
  AttemptKey key;
  // Each step is a command line. A line without shell syntax whose program is
  // found on PATH is exec'd directly (rules: exec/command_line.h); anything
  // else runs as shell + {line}. An empty list succeeds at once.
  std::vector<std::string> steps;
  std::vector<std::string> shell = {"/bin/sh", "-c"};  // empty = the default
  bool force_shell = false;  // the pipeline named a shell: never exec directly
  // Added to (and overriding) the inherited environment.
  std::vector<std::pair<std::string, std::string>> env;
  std::string cwd;       // "" = inherit
  std::string log_path;  // created (with parents) when the first byte arrives;
                         // "" = discard output
  // Replaces secrets by *** in the log; shared by a run's attempts (one
  // automaton however many attempts and secrets); null: none.
  std::shared_ptr<const Masker> masker;
  Micros timeout = 0;               // whole attempt, all steps; 0 = none
  Micros kill_grace = 5 * kSecond;  // SIGTERM → SIGKILL delay
};

// Identifies the processes of a running step, for recording in the store so
// a later `relay resume` can kill what a dead relay left behind. Reported
// once per step: by Start for the first, by Wait for the others; a runner
// whose steps are spawned by another process (the keeper) reports every
// step by Wait, possibly only together with the attempt's end.
struct Started {
  uint64_t token = 0;
  int pid = 0;   // the step's process; 0 when it could not be started
  int pgid = 0;  // the step's process group (== pid: each step leads its own)
};

struct AttemptResult {
  uint64_t token = 0;
  int exit_code = 0;  // of the last step run; -1 when killed by a signal
  int signal = 0;     // the signal that killed it, or 0
  bool timed_out = false;
  bool cancelled = false;  // stopped by Cancel() or KillAll()
  // Non-empty: a step could not start, e.g. "cannot start 'make': cwd /x: No
  // such file or directory"; exit_code is then -1.
  std::string spawn_error;
  // Non-empty: output could not be written to log_path (the steps still ran),
  // e.g. "cannot write log /x/y.log: Permission denied".
  std::string log_error;
  int failed_step = -1;   // 0-based index of the failing step, -1 if none
  Micros started_at = 0;  // wall clock
  Micros ended_at = 0;
  Micros user_cpu = 0;     // summed over the steps' processes and
  Micros system_cpu = 0;   // the descendants they waited for
  int64_t max_rss_kb = 0;  // largest of any one step
  // The process that kept the attempt (its keeper) died: whether the step
  // still runs and how it ended are unknown. exit_code is then -1.
  bool keeper_lost = false;
  bool Succeeded() const {
    return spawn_error.empty() && exit_code == 0 && signal == 0 && !timed_out && !cancelled &&
           !keeper_lost;
  }
};

// What Wait returned: processes that started a new step, attempts that
// finished, whether a SIGINT/SIGTERM arrived while waiting, and whether
// another relay poked this one (exec::PokeOwner: look at the store now).
struct WaitResult {
  std::vector<Started> started;
  std::vector<AttemptResult> finished;
  int interrupt_signal = 0;  // SIGINT or SIGTERM received, else 0
  bool poked = false;
};

// Runner::Adopt asks for an attempt that another relay started (it died).
struct AdoptRequest {
  // The owner id ("HOST:PID:START", exec::SelfOwnerId) of the relay that
  // started the attempt: its keeper is found by it.
  std::string started_by;
  AttemptKey key;
  std::string log_path;  // the attempt's log; its exit record is beside it
  uint64_t token = 0;    // the token results will carry once it is adopted
};

struct AdoptResult {
  enum class Outcome {
    kRunning,   // still running: Wait reports it finished later, under the token
    kFinished,  // it ended while no relay watched it: `result` is how
    kGone,      // neither its keeper nor an exit record knows it: it is lost
    // Its keeper lives and never received it (the relay died between
    // recording the start and handing it over): no process ran.
    kNotStarted,
  } outcome = Outcome::kGone;
  AttemptResult result;  // kFinished: the real result (exit, times, usage)
  int pid = 0;           // kRunning: the step running now, and its group
  int pgid = 0;
};

class Runner {
 public:
  virtual ~Runner() = default;

  // Starts the first step of an attempt. On success the process exists and
  // Started describes it, or has pid 0 when the runner learns the process
  // later (the keeper's: Start only queues the request, sent by the next
  // Wait, so that a loop's starts travel together). Failing to spawn
  // (missing cwd, shell not found, out of file descriptors) is reported as a
  // finished attempt with spawn_error by the next Wait, not here. A program
  // missing from PATH is no spawn error: the shell runs the line and exits
  // 127 with its usual message. The runner keeps the spec for the attempt's
  // life: move it in.
  virtual Started Start(AttemptSpec spec) = 0;
  // Start, from a spec the caller keeps: a runner that only reads it (the
  // keeper's, which sends it) leaves it whole, so the caller fills the same
  // strings again for its next attempt instead of allocating each anew.
  // Others take it (it is left moved from).
  virtual Started StartFrom(AttemptSpec& spec) { return Start(std::move(spec)); }

  // Blocks until an attempt finishes, a step starts, a signal arrives, or
  // `timeout` elapses (0: poll; negative: no limit). Meanwhile it copies
  // output to the logs and applies timeouts. With nothing running, a
  // negative timeout returns at once; a positive one sleeps (still woken by
  // SIGINT/SIGTERM), so the caller can wait for its own timers here.
  // A SIGINT/SIGTERM is only reported: no process is signalled.
  virtual WaitResult Wait(Micros timeout) = 0;
  // Gives back a result of Wait the caller is done with: a runner may keep
  // its vectors' memory for the next one (one Wait per loop of the engine).
  virtual void Recycle(WaitResult&& used) {}

  // Stops an attempt: SIGTERM to its group, SIGKILL after the grace period.
  // The attempt is later reported finished with cancelled = true. Unknown or
  // finished tokens are ignored. Processes of the attempt that left its
  // group (setsid) are killed too, found by the RELAY_RUN_ID, RELAY_TASK and
  // RELAY_ATTEMPT values of its env; so are they when it times out. (A step
  // that ends by itself may leave a daemon behind: that one is spared.)
  virtual void Cancel(uint64_t token) = 0;

  // SIGKILL to every group now (second Ctrl-C); results follow from Wait,
  // with cancelled = true.
  virtual void KillAll() = 0;

  // Attempts started and not yet reported finished by Wait.
  virtual size_t running() const = 0;

  // False once nothing more can start: the process that starts attempts
  // (the keeper) is gone. Attempts already running elsewhere are unaffected.
  virtual bool CanStart() const { return true; }

  // The caller has made these results durable (tokens of finished
  // attempts): whoever keeps them may forget them. Until then a result
  // survives the caller's death (a relay that restarts finds it by Adopt);
  // a result never acknowledged is written to an exit record when the
  // runner goes. Starting a token again acknowledges its last result.
  virtual void Acknowledge(const std::vector<uint64_t>& tokens) {}

  // Finds an attempt a dead relay started and takes it over: a running one
  // is then reported by Wait (and stopped by Cancel) under request.token;
  // a finished one's result is acknowledged like any other. The attempt
  // stays with the keeper of request.started_by, so whoever adopts it later
  // still asks for it by that owner id, not the adopter's.
  // Never blocks for long: it asks the keeper, or reads the exit record.
  virtual AdoptResult Adopt(const AdoptRequest& request) { return {}; }
};

// The in-process runner (vfork, process groups, ppoll): when relay dies its
// steps run on unwatched and their results are lost (keeper::StartKeeper's
// runner has a keeper that outlives relay; this one serves tests and
// tools). While it exists,
// SIGCHLD, SIGINT and SIGTERM are blocked in the creating thread (threads
// created later inherit that) and handled by the runner; Wait must be called
// from the creating thread. The inherited environment is the process's at
// creation. Destroying the runner SIGKILLs and reaps what still runs, then
// restores the previous handlers and signal mask.
// REQUIRES: no other runner from NewPosixRunner exists (the signal handlers
// are process-wide); a second one aborts.
std::unique_ptr<Runner> NewPosixRunner();

// What a dead relay may have left running for one attempt.
struct Leftovers {
  int pgid = 0;              // the step's process group as stored; 0: none known
  std::string marker;        // "RELAY_RUN_ID=01J…", which every step's environment holds
  bool scan_environ = true;  // also kill every process holding `marker` (once per run)
  // With scan_environ, only those whose RELAY_TASK is one of these (the
  // attempts that were running): a daemon a finished task left behind on
  // purpose outlives a crash as it outlives an uninterrupted run. Empty: any.
  std::vector<std::string> tasks;
  // The latest wall-clock time the step could have started (when the dead
  // relay was last known alive, plus its heartbeat interval); 0: unknown. A
  // leader of group `pgid` without the marker that started later is not
  // the step's: its number was reused.
  Micros started_by = 0;
};

// Kills (SIGKILL) the step's process group, unless its number now belongs
// to someone else, and with scan_environ every process whose environment
// holds the marker, so descendants that left the group are found too.
// Returns how many processes were signalled.
int KillLeftovers(const Leftovers& leftovers);

}  // namespace relay::exec
