// Private to exec: starting one step as a process (vfork + execve).
#pragma once

#include <vector>

namespace relay::exec {

// A started step. Its pid is also its process-group id (each step leads a
// new group, so killing -pid reaches everything it started that did not
// leave the group). out_fd/err_fd are the parent's non-blocking,
// close-on-exec read ends of the step's stdout and stderr pipes.
struct StepProcess {
  int pid = 0;
  int out_fd = -1;
  int err_fd = -1;
};

// Which part of starting a process failed, for the error message.
enum class SpawnStage { kNone, kPipe, kCwd, kExec };

struct SpawnError {
  int err = 0;  // errno value; 0 = started
  SpawnStage stage = SpawnStage::kNone;
};

// Starts steps: each in a new process group, with an empty signal mask and
// default dispositions for the signals relay handles or ignores.
class Spawner {
 public:
  Spawner();
  ~Spawner();
  Spawner(const Spawner&) = delete;
  Spawner& operator=(const Spawner&) = delete;

  // Starts `path` (absolute, or relative to `cwd`) with `argv` and `envp`,
  // stdin from /dev/null, in directory `cwd` (nullptr: inherit). On failure
  // nothing is left open and *proc is untouched.
  SpawnError Spawn(const char* path, char* const argv[], char* const envp[], const char* cwd,
                   StepProcess* proc);

 private:
  int null_fd_;                     // /dev/null, for every step's stdin
  std::vector<int> reset_signals_;  // set to SIG_DFL in each child
};

}  // namespace relay::exec
