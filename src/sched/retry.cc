#include "sched/retry.h"

#include <algorithm>
#include <cmath>

namespace relay::sched {

RetryDecision DecideRetry(const spec::RetrySpec& policy, int attempts_done, FailureKind kind,
                          int exit_code, double jitter_sample) {
  RetryDecision d;
  // A lost attempt never reported a result (its relay died), so it does not
  // use up an attempt: it is retried at once unless `on` leaves lost out.
  if (kind == FailureKind::kLost) {
    d.retry = policy.on_lost;
    return d;
  }
  if (attempts_done >= policy.attempts) return d;
  switch (kind) {
    case FailureKind::kFailure:
      if (!policy.on_failure) return d;
      if (!policy.exit_codes.empty() &&
          std::find(policy.exit_codes.begin(), policy.exit_codes.end(), exit_code) ==
              policy.exit_codes.end())
        return d;
      break;
    case FailureKind::kTimeout:
      if (!policy.on_timeout) return d;
      break;
    case FailureKind::kLost:
      if (!policy.on_lost) return d;
      break;
  }
  double delay = static_cast<double>(policy.delay);
  if (policy.backoff == spec::RetrySpec::Backoff::kExponential)
    delay *= std::pow(2.0, std::min(attempts_done - 1, 40));
  if (policy.jitter) delay *= 0.75 + 0.5 * std::clamp(jitter_sample, 0.0, 1.0);
  if (policy.max_delay > 0) delay = std::min(delay, static_cast<double>(policy.max_delay));
  d.retry = true;
  d.delay = static_cast<Micros>(std::max(0.0, delay));
  return d;
}

const char* FailureKindName(FailureKind kind) {
  switch (kind) {
    case FailureKind::kFailure:
      return "failure";
    case FailureKind::kTimeout:
      return "timeout";
    case FailureKind::kLost:
      return "lost";
  }
  return "failure";
}

}  // namespace relay::sched
