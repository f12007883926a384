#include "exec/process_posix.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

namespace relay::exec {
namespace {

// A pipe whose ends both close on exec (the child gets its end through a
// dup2, which clears the flag on the copy) and whose read end, ours, never
// blocks.
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

// The signals relay handles (SIGCHLD, SIGINT, SIGTERM) or ignores (SIGPIPE):
// a step starts with each at its default, as with every signal relay itself
// inherited as ignored (nohup's SIGHUP, a CI harness's real-time signals).
// Exec resets handled signals anyway; only ignored ones would survive it.
constexpr int kResetSignals[] = {SIGINT, SIGTERM, SIGPIPE, SIGCHLD, SIGQUIT, SIGHUP};

// The kernel's own sigaction call: glibc's refuses the two real-time
// signals it reserves, which a parent may still have left ignored. All
// zeros is SIG_DFL with no flags in every architecture's layout; the
// handler is the first field in all of them.
struct KernelSigaction {
  uintptr_t words[4] = {};
};
constexpr int kMaxSignal = 64;

int RawSigaction(int sig, const KernelSigaction* act, KernelSigaction* old) {
  return static_cast<int>(::syscall(SYS_rt_sigaction, sig, act, old, kMaxSignal / 8));
}

// What the child writes back through the memory it shares with the parent
// until it execs (vfork): which step of starting failed, and its errno.
struct ChildReport {
  volatile int err = 0;
  volatile int stage = 0;  // a SpawnStage
};

// dup2 that also makes `from` survive exec when it already is `to` (dup2
// would then do nothing and leave the close-on-exec flag set).
int MoveFd(int from, int to) {
  if (from == to) return ::fcntl(to, F_SETFD, 0);
  return ::dup2(from, to) < 0 ? -1 : 0;
}

[[noreturn]] void Fail(ChildReport* report, SpawnStage stage) {
  report->err = errno;
  report->stage = static_cast<int>(stage);
  ::_exit(127);
}

// Runs in the vforked child, on the parent's stack and with every signal
// blocked: only system calls, no allocation, nothing that takes a lock.
[[noreturn]] void ExecChild(const char* path, char* const argv[], char* const envp[],
                            const char* cwd, const std::vector<int>& reset, int null_fd, int out_fd,
                            int err_fd, ChildReport* report) {
  const KernelSigaction dfl;
  for (int sig : reset) RawSigaction(sig, &dfl, nullptr);
  if (::setpgid(0, 0) != 0) Fail(report, SpawnStage::kExec);
  int in_fd = null_fd >= 0 ? null_fd : ::open("/dev/null", O_RDONLY);
  if (in_fd < 0 || MoveFd(in_fd, 0) != 0 || MoveFd(out_fd, 1) != 0 || MoveFd(err_fd, 2) != 0)
    Fail(report, SpawnStage::kPipe);
  if (cwd != nullptr && ::chdir(cwd) != 0) Fail(report, SpawnStage::kCwd);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve(path, argv, envp);
  Fail(report, SpawnStage::kExec);
}

// Kept out of line so that nothing of the caller's frame is live in
// registers across vfork, and the child never returns into it.
[[gnu::noinline]] pid_t VforkExec(const char* path, char* const argv[], char* const envp[],
                                  const char* cwd, const std::vector<int>& reset, int null_fd,
                                  int out_fd, int err_fd, ChildReport* report) {
  pid_t pid = ::vfork();
  if (pid == 0) ExecChild(path, argv, envp, cwd, reset, null_fd, out_fd, err_fd, report);
  return pid;
}

}  // namespace

// /dev/null is opened once (close-on-exec); each child dup2s it to stdin.
Spawner::Spawner() : null_fd_(::open("/dev/null", O_RDONLY | O_CLOEXEC)) {
  // Asked once here, so that the child only resets what needs it.
  for (int sig = 1; sig <= kMaxSignal; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    bool listed = false;
    for (int s : kResetSignals) listed = listed || s == sig;
    KernelSigaction old;
    bool ignored = RawSigaction(sig, nullptr, &old) == 0 &&
                   old.words[0] == reinterpret_cast<uintptr_t>(SIG_IGN);
    if (listed || ignored) reset_signals_.push_back(sig);
  }
}

Spawner::~Spawner() {
  if (null_fd_ >= 0) ::close(null_fd_);
}

// Why not posix_spawn: glibc's resets all 64 signal dispositions in the child
// (two system calls each) and maps a fresh stack for it, every time, while
// the parent waits. For a step like `true` that was a quarter of relay's
// cost of starting it. vfork shares the parent's stack and the child resets
// only what relay changed; the parent still waits only until exec.
SpawnError Spawner::Spawn(const char* path, char* const argv[], char* const envp[], const char* cwd,
                          StepProcess* proc) {
  int out[2];
  int err[2];
  if (int e = MakePipe(out)) return {e, SpawnStage::kPipe};
  if (int e = MakePipe(err)) {
    ClosePair(out);
    return {e, SpawnStage::kPipe};
  }
  // Blocked across vfork: until it resets them, the child shares our
  // handlers and must not run one.
  sigset_t all;
  sigset_t old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  ChildReport report;
  pid_t pid = VforkExec(path, argv, envp, cwd, reset_signals_, null_fd_, out[1], err[1], &report);
  int vfork_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ::close(out[1]);
  ::close(err[1]);
  SpawnError failure;
  if (pid < 0) {
    failure = {vfork_errno, SpawnStage::kExec};
  } else if (report.stage != 0) {
    // The child exited with 127 right after reporting; reap it now.
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    failure = {report.err, static_cast<SpawnStage>(report.stage)};
  }
  if (failure.err != 0) {
    ::close(out[0]);
    ::close(err[0]);
    return failure;
  }
  proc->pid = pid;
  proc->out_fd = out[0];
  proc->err_fd = err[0];
  return {};
}

}  // namespace relay::exec
