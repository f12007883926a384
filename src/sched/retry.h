// The retry policy as a pure function: given what happened to an attempt and
// how many attempts there were, whether to try again and after what delay.
#pragma once

#include "base/clock.h"
#include "spec/pipeline.h"

namespace relay::sched {

enum class FailureKind { kFailure, kTimeout, kLost };

struct RetryDecision {
  bool retry = false;
  Micros delay = 0;
};

// A lost attempt (kLost) is retried immediately whenever the policy's `on`
// includes lost, whatever the attempt count. `attempts_done` counts attempts already made (>= 1).
// `exit_code` matters only for kFailure (-1 when killed by a signal). `jitter_sample` is a uniform
// value in [0, 1): with jitter on, the delay is scaled by 0.75–1.25.
RetryDecision DecideRetry(const spec::RetrySpec& policy, int attempts_done, FailureKind kind,
                          int exit_code, double jitter_sample);

const char* FailureKindName(FailureKind kind);

}  // namespace relay::sched
