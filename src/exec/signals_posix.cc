#include "exec/signals_posix.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "exec/owner.h"

namespace relay::exec {
namespace {

// Signal state is process-wide, hence one SignalWatch at a time.
volatile sig_atomic_t g_child_exited = 0;
volatile sig_atomic_t g_interrupt = 0;
volatile sig_atomic_t g_poked = 0;
int g_wake_fd = -1;  // write end of the self-pipe
// Set only around ppoll in the waiting thread. A handler running elsewhere
// (another thread that did not block the signals) cannot interrupt that
// ppoll, so it wakes it through the self-pipe instead.
thread_local volatile sig_atomic_t t_in_ppoll = 0;
std::atomic<bool> g_watch_exists{false};

void OnSignal(int sig) {
  if (sig == SIGCHLD) {
    g_child_exited = 1;
  } else if (sig == kPokeSignal) {
    g_poked = 1;
  } else {
    g_interrupt = sig;
  }
  if (!t_in_ppoll && g_wake_fd >= 0) {
    int saved = errno;
    ssize_t n = ::write(g_wake_fd, "", 1);
    (void)n;
    errno = saved;
  }
}

}  // namespace

struct SignalWatch::Saved {
  sigset_t old_mask;
  sigset_t wait_mask;  // old_mask minus the signals handled
  struct sigaction old_chld, old_int, old_term, old_hup, old_poke;
};

SignalWatch::SignalWatch(SignalOptions options) : options_(options), saved_(new Saved) {
  if (g_watch_exists.exchange(true)) {
    std::fprintf(stderr, "relay: bug: a second process runner was created\n");
    std::abort();
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0) {
    wake_read_ = fds[0];
    wake_write_ = fds[1];
    g_wake_fd = wake_write_;
  }
  g_child_exited = 0;
  g_interrupt = 0;
  g_poked = 0;
  // A closed terminal (SIGHUP) cancels the run as SIGTERM does, rather than
  // kill relay and leave its steps running unwatched; unless relay was
  // started under nohup, which asks for the opposite.
  if (options_.interrupts) {
    sigaction(SIGHUP, nullptr, &saved_->old_hup);
    handle_hup_ = saved_->old_hup.sa_handler != SIG_IGN;
  }
  sigset_t ours;
  sigemptyset(&ours);
  if (options_.child) sigaddset(&ours, SIGCHLD);
  if (options_.interrupts) {
    for (int sig : {SIGINT, SIGTERM, kPokeSignal}) sigaddset(&ours, sig);
    if (handle_hup_) sigaddset(&ours, SIGHUP);
  }
  sigprocmask(SIG_BLOCK, &ours, &saved_->old_mask);
  saved_->wait_mask = saved_->old_mask;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sigismember(&ours, sig) == 1) sigdelset(&saved_->wait_mask, sig);
  }

  struct sigaction act;
  std::memset(&act, 0, sizeof act);
  act.sa_handler = OnSignal;
  sigemptyset(&act.sa_mask);
  // SA_RESTART spares other threads' blocking calls; ppoll is never restarted.
  act.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  if (options_.child) sigaction(SIGCHLD, &act, &saved_->old_chld);
  if (options_.interrupts) {
    sigaction(SIGINT, &act, &saved_->old_int);
    sigaction(SIGTERM, &act, &saved_->old_term);
    if (handle_hup_) sigaction(SIGHUP, &act, nullptr);
    sigaction(kPokeSignal, &act, &saved_->old_poke);
  }
}

SignalWatch::~SignalWatch() {
  if (options_.child) sigaction(SIGCHLD, &saved_->old_chld, nullptr);
  if (options_.interrupts) {
    sigaction(SIGINT, &saved_->old_int, nullptr);
    sigaction(SIGTERM, &saved_->old_term, nullptr);
    if (handle_hup_) sigaction(SIGHUP, &saved_->old_hup, nullptr);
    sigaction(kPokeSignal, &saved_->old_poke, nullptr);
  }
  sigprocmask(SIG_SETMASK, &saved_->old_mask, nullptr);
  g_wake_fd = -1;
  if (wake_read_ >= 0) ::close(wake_read_);
  if (wake_write_ >= 0) ::close(wake_write_);
  delete saved_;
  g_watch_exists = false;
}

int SignalWatch::Poll(std::vector<pollfd>* fds, Micros wait) {
  (*fds)[0] = pollfd{wake_read_, POLLIN, 0};
  timespec ts;
  ts.tv_sec = wait / kSecond;
  ts.tv_nsec = (wait % kSecond) * 1000;
  t_in_ppoll = 1;
  int ready = ::ppoll(fds->data(), fds->size(), wait < 0 ? nullptr : &ts, &saved_->wait_mask);
  t_in_ppoll = 0;
  if (ready > 0 && (*fds)[0].revents != 0) {
    char drain[64];
    while (::read(wake_read_, drain, sizeof drain) > 0) {
    }
  }
  return ready;
}

namespace {

int Take(volatile sig_atomic_t* flag) {
  int value = *flag;
  *flag = 0;
  return value;
}

}  // namespace

bool SignalWatch::TakeChildExited() { return Take(&g_child_exited) != 0; }
int SignalWatch::TakeInterrupt() { return Take(&g_interrupt); }
bool SignalWatch::TakePoked() { return Take(&g_poked) != 0; }

void SignalWatch::ForgetAfterFork() {
  g_wake_fd = -1;
  g_watch_exists = false;
}

}  // namespace relay::exec
