// Private to exec and keeper: the signals a runner's wait loop reacts to.
// Modelled on ninja's SubprocessSet (src/subprocess-posix.cc): the signals
// stay blocked except inside ppoll, where the handlers only set flags.
#pragma once

#include <vector>

#include "base/clock.h"

struct pollfd;

namespace relay::exec {

struct SignalOptions {
  bool child = false;  // SIGCHLD: a step exited (the process that spawns steps)
  // SIGINT, SIGTERM, SIGHUP (unless it was ignored at creation: nohup) and
  // kPokeSignal: what relay itself is told (the process that runs the loop).
  bool interrupts = false;
};

// Installs handlers for the chosen signals and blocks them in the creating
// thread (threads created later inherit that). Poll unblocks them only while
// it sleeps. A handler that runs in another thread, which did not block
// them, wakes Poll through a self-pipe instead.
// REQUIRES: one SignalWatch per process at a time (handlers are
// process-wide); a second one aborts. Poll is called from the creating thread.
class SignalWatch {
 public:
  explicit SignalWatch(SignalOptions options);
  // Restores the previous handlers and the creating thread's signal mask.
  ~SignalWatch();
  SignalWatch(const SignalWatch&) = delete;
  SignalWatch& operator=(const SignalWatch&) = delete;

  // ppoll over `fds` for at most `wait` micros (negative: no limit), woken
  // early by a handled signal. REQUIRES: fds[0] is left for the self-pipe
  // (Poll fills it in and drains it). Returns ppoll's result.
  int Poll(std::vector<pollfd>* fds, Micros wait);

  // Each returns what arrived since it was last asked, and forgets it.
  bool TakeChildExited();
  int TakeInterrupt();  // SIGINT, SIGTERM or SIGHUP; 0 if none
  bool TakePoked();

  // In a child forked while a SignalWatch existed (the keeper): forgets
  // that one without touching handlers, so that the child may make its own.
  static void ForgetAfterFork();

 private:
  SignalOptions options_;
  int wake_read_ = -1;
  int wake_write_ = -1;
  bool handle_hup_ = false;
  struct Saved;
  Saved* saved_;  // the handlers and mask to restore
};

}  // namespace relay::exec
