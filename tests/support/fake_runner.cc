#include "support/fake_runner.h"

#include <algorithm>
#include <fstream>

namespace relay::testing {

void FakeRunner::Script(const std::string& instance, std::vector<Outcome> outcomes) {
  script_[instance] = std::deque<Outcome>(outcomes.begin(), outcomes.end());
}

void FakeRunner::Adoptable(const std::string& started_by, const exec::AttemptKey& key,
                           Outcome outcome, bool finished, Micros ended_at) {
  left_.push_back(Left{started_by, key, std::move(outcome), finished, ended_at});
}

exec::AdoptResult FakeRunner::Adopt(const exec::AdoptRequest& request) {
  adopt_requests.push_back(request);
  exec::AdoptResult out;
  for (auto it = left_.begin(); it != left_.end(); ++it) {
    if (it->started_by != request.started_by || !(it->key == request.key)) continue;
    if (it->finished) {
      out.outcome = exec::AdoptResult::Outcome::kFinished;
      out.result.token = request.token;
      out.result.exit_code = it->outcome.exit_code;
      out.result.signal = it->outcome.signal;
      out.result.timed_out = it->outcome.timeout;
      out.result.ended_at = it->ended_at;
      out.result.started_at = it->ended_at - it->outcome.duration;
    } else {
      out.outcome = exec::AdoptResult::Outcome::kRunning;
      out.pid = out.pgid = next_pid_++;
      running_.push_back(
          {request.token, "adopted", clock_->Now() + it->outcome.duration, it->outcome});
    }
    left_.erase(it);
    return out;
  }
  return out;
}

exec::Started FakeRunner::Start(exec::AttemptSpec spec) {
  std::string name, output_path;
  for (const auto& [k, v] : spec.env) {
    if (k == "RELAY_TASK") name = v;
    if (k == "RELAY_OUTPUT") output_path = v;
  }
  Outcome outcome;
  auto it = script_.find(name);
  if (it != script_.end() && !it->second.empty()) {
    outcome = it->second.front();
    if (it->second.size() > 1) it->second.pop_front();
  }
  if (!outcome.outputs.empty()) std::ofstream(output_path, std::ios::app) << outcome.outputs;
  started.push_back(name);
  specs.push_back(spec);
  running_.push_back({spec.token, name, clock_->Now() + outcome.duration, outcome});
  max_concurrent = std::max(max_concurrent, running_.size());
  int pid = next_pid_++;
  return {spec.token, pid, pid};
}

exec::WaitResult FakeRunner::Wait(Micros timeout) {
  exec::WaitResult w;
  if (interrupt_after_ >= 0 && interrupt_after_-- == 0) {
    w.interrupt_signal = 2;
    return w;
  }
  if (poke_after_ >= 0 && poke_after_-- == 0) {
    if (before_poke_) before_poke_();
    w.poked = true;
    return w;
  }
  Micros next = timeout < 0 ? INT64_MAX : clock_->Now() + timeout;
  for (const auto& r : running_) next = std::min(next, r.ends_at);
  if (next != INT64_MAX && next > clock_->Now()) clock_->Set(next);
  Micros now = clock_->Now();
  for (auto it = running_.begin(); it != running_.end();) {
    if (it->ends_at > now) {
      ++it;
      continue;
    }
    exec::AttemptResult r;
    r.token = it->token;
    r.cancelled = it->cancelled;
    r.timed_out = it->outcome.timeout;
    r.exit_code = it->cancelled ? -1 : it->outcome.exit_code;
    r.spawn_error = it->outcome.spawn_error;
    r.log_error = it->outcome.log_error;
    r.keeper_lost = it->outcome.keeper_lost;
    keeper_dead_ = keeper_dead_ || r.keeper_lost;
    if (!r.spawn_error.empty() || r.keeper_lost) r.exit_code = -1;
    r.signal = it->outcome.signal                     ? it->outcome.signal
               : it->cancelled || it->outcome.timeout ? 15
                                                      : 0;
    r.ended_at = now;
    r.started_at = now - it->outcome.duration;
    w.finished.push_back(r);
    it = running_.erase(it);
  }
  return w;
}

void FakeRunner::Cancel(uint64_t token) {
  for (auto& r : running_) {
    if (r.token != token) continue;
    r.cancelled = true;
    r.ends_at = std::min(r.ends_at, clock_->Now() + kMillisecond);
  }
}

void FakeRunner::KillAll() {
  for (auto& r : running_) {
    r.cancelled = true;
    r.ends_at = clock_->Now();
  }
}

}  // namespace relay::testing
