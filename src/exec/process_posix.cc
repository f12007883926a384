#include "exec/process_posix.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <initializer_list>

namespace relay::exec {
namespace {

// A pipe whose ends both close on exec (the child gets its end through a
// dup2 file action, which clears the flag on the copy) and whose read end,
// ours, never blocks.
int MakePipe(int fds[2]) {
  if (::pipe2(fds, O_CLOEXEC) != 0) return errno;
  if (::fcntl(fds[0], F_SETFL, O_NONBLOCK) != 0) {
    int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    return err;
  }
  return 0;
}

void ClosePair(int fds[2]) {
  ::close(fds[0]);
  ::close(fds[1]);
}

// posix_spawn reports a failed chdir and a failed exec with the same errno;
// looking at the directory afterwards tells the user which one it was.
bool CwdUsable(const char* cwd) {
  struct stat st;
  return ::stat(cwd, &st) == 0 && S_ISDIR(st.st_mode) && ::access(cwd, X_OK) == 0;
}

}  // namespace

Spawner::Spawner() {
  posix_spawnattr_init(&attr_);
  sigset_t empty;
  sigemptyset(&empty);
  posix_spawnattr_setsigmask(&attr_, &empty);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : {SIGINT, SIGTERM, SIGPIPE, SIGCHLD, SIGQUIT, SIGHUP}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigdefault(&attr_, &defaults);
  posix_spawnattr_setpgroup(&attr_, 0);
  posix_spawnattr_setflags(&attr_,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
}

Spawner::~Spawner() { posix_spawnattr_destroy(&attr_); }

SpawnError Spawner::Spawn(const char* path, char* const argv[], char* const envp[], const char* cwd,
                          StepProcess* proc) {
  int out[2];
  int err[2];
  if (int e = MakePipe(out)) return {e, SpawnStage::kPipe};
  if (int e = MakePipe(err)) {
    ClosePair(out);
    return {e, SpawnStage::kPipe};
  }

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  if (cwd != nullptr) posix_spawn_file_actions_addchdir_np(&actions, cwd);

  pid_t pid = 0;
  int e = posix_spawn(&pid, path, &actions, &attr_, argv, envp);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  ::close(err[1]);
  if (e != 0) {
    ::close(out[0]);
    ::close(err[0]);
    bool cwd_failed = cwd != nullptr && !CwdUsable(cwd);
    return {e, cwd_failed ? SpawnStage::kCwd : SpawnStage::kExec};
  }
  proc->pid = pid;
  proc->out_fd = out[0];
  proc->err_fd = err[0];
  return {};
}

}  // namespace relay::exec
