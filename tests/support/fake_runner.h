// A scripted exec::Runner over a FakeClock: scheduler tests never spawn a
// process and never sleep. Each instance name has a queue of outcomes, one
// per attempt (default: exit 0 after 10 ms). Wait advances the clock to the
// next completion (or the caller's timeout).
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "base/clock.h"
#include "exec/runner.h"

namespace relay::testing {

struct Outcome {
  int exit_code = 0;
  bool timeout = false;
  Micros duration = 10 * kMillisecond;
  std::string outputs;       // written to $RELAY_OUTPUT before it "exits"
  int signal = 0;            // that ended it; default: SIGTERM when timed out, else none
  std::string spawn_error;   // set: the process "could not be started"
  std::string log_error;     // set: its log "could not be written"
  bool keeper_lost = false;  // its keeper "died": how it ended is unknown
};

class FakeRunner : public exec::Runner {
 public:
  explicit FakeRunner(FakeClock* clock) : clock_(clock) {}

  void Script(const std::string& instance, std::vector<Outcome> outcomes);
  // After `after` more Wait calls, report an interrupt (like Ctrl-C).
  void InterruptAfterWaits(int after) { interrupt_after_ = after; }
  // After `after` more Wait calls, run `before` and report a poke from
  // another relay (exec::PokeOwner), without the clock moving.
  void PokeAfterWaits(int after, std::function<void()> before) {
    poke_after_ = after;
    before_poke_ = std::move(before);
  }

  // An attempt a dead relay `started_by` left: Adopt finds it still running
  // (it then ends as `outcome` says, `outcome.duration` after adoption), or
  // already finished (its result is `outcome`, ended at `ended_at`).
  void Adoptable(const std::string& started_by, const exec::AttemptKey& key, Outcome outcome,
                 bool finished, Micros ended_at = 0);
  // Adopt calls received, for assertions.
  std::vector<exec::AdoptRequest> adopt_requests;
  // Tokens acknowledged so far.
  std::vector<uint64_t> acknowledged;

  exec::Started Start(exec::AttemptSpec spec) override;
  exec::AdoptResult Adopt(const exec::AdoptRequest& request) override;
  void Acknowledge(const std::vector<uint64_t>& tokens) override {
    acknowledged.insert(acknowledged.end(), tokens.begin(), tokens.end());
  }
  exec::WaitResult Wait(Micros timeout) override;
  void Cancel(uint64_t token) override;
  void KillAll() override;
  size_t running() const override { return running_.size(); }
  // An outcome with keeper_lost "kills" the keeper: nothing starts after it.
  bool CanStart() const override { return !keeper_dead_; }

  // What happened, for assertions.
  std::vector<std::string> started;  // instance names in start order
  std::vector<exec::AttemptSpec> specs;
  size_t max_concurrent = 0;

 private:
  struct Running {
    uint64_t token;
    std::string name;
    Micros ends_at;
    Outcome outcome;
    bool cancelled = false;
  };
  struct Left {
    std::string started_by;
    exec::AttemptKey key;
    Outcome outcome;
    bool finished;
    Micros ended_at;
  };
  FakeClock* clock_;
  std::vector<Left> left_;
  std::map<std::string, std::deque<Outcome>> script_;
  std::vector<Running> running_;
  int interrupt_after_ = -1;
  int poke_after_ = -1;
  std::function<void()> before_poke_;
  int next_pid_ = 1000;
  bool keeper_dead_ = false;
};

}  // namespace relay::testing
