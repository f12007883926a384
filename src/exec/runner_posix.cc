// The in-process runner: relay spawns, watches and reaps its steps itself,
// so they lose their watcher when relay dies (the keeper, src/keeper/, runs
// the same AttemptSet in a process that outlives relay). One ppoll loop over
// the steps' pipes, woken by SIGCHLD and relay's own signals.

#include <poll.h>

#include <algorithm>
#include <vector>

#include "exec/attempt_set_posix.h"
#include "exec/runner.h"
#include "exec/signals_posix.h"

namespace relay::exec {
namespace {

class PosixRunner final : public Runner {
 public:
  PosixRunner()
      : signals_(SignalOptions{.child = true, .interrupts = true}),
        attempts_(AttemptSet::Options{}) {}
  ~PosixRunner() override { attempts_.KillAndReapAll(); }

  Started Start(AttemptSpec spec) override { return attempts_.Start(std::move(spec), &events_); }
  WaitResult Wait(Micros timeout) override;
  void Cancel(uint64_t token) override { attempts_.Cancel(token, /*now=*/false); }
  void KillAll() override { attempts_.KillAll(); }
  size_t running() const override { return attempts_.size() + events_.finished.size(); }

 private:
  SignalWatch signals_;  // first in, last out: steps are reaped before handlers go
  AttemptSet attempts_;
  AttemptEvents events_;     // not yet returned by Wait
  std::vector<pollfd> fds_;  // reused per poll
};

WaitResult PosixRunner::Wait(Micros timeout) {
  WaitResult r;
  const Micros start = MonotonicNow();
  const Micros until = timeout < 0 ? kNever : start + timeout;
  bool polled = false;
  while (true) {
    if (int sig = signals_.TakeInterrupt()) r.interrupt_signal = sig;
    if (signals_.TakePoked()) r.poked = true;
    if (signals_.TakeChildExited()) attempts_.ReapExited(&events_);
    Micros now = MonotonicNow();
    attempts_.FireDeadlines(now);
    if (r.interrupt_signal != 0 || r.poked || !events_.started.empty() ||
        !events_.finished.empty() || (polled && now >= until) ||
        (attempts_.size() == 0 && until == kNever)) {
      r.started = std::move(events_.started);
      r.finished = std::move(events_.finished);
      events_.started.clear();
      events_.finished.clear();
      return r;
    }
    Micros wake = std::min(until, attempts_.NextDeadline());
    fds_.resize(1);
    attempts_.AddPollFds(&fds_);
    if (signals_.Poll(&fds_, wake == kNever ? -1 : std::max<Micros>(0, wake - now)) > 0)
      attempts_.ReadReady(fds_);
    polled = true;
  }
}

}  // namespace

std::unique_ptr<Runner> NewPosixRunner() { return std::make_unique<PosixRunner>(); }

}  // namespace relay::exec
