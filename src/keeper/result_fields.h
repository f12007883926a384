// Private to keeper: each field of an exec::AttemptResult once, with its
// name. The wire format (protocol.cc) and exit records (exit_record.cc) both
// walk this list, so a field added to AttemptResult is added here, once.
// The order is the wire order: append, never reorder.
#pragma once

#include "exec/runner.h"

namespace relay::keeper {

template <typename Visit>
void ForEachResultField(exec::AttemptResult* r, Visit visit) {
  visit("token", &r->token);
  visit("exit_code", &r->exit_code);
  visit("signal", &r->signal);
  visit("timed_out", &r->timed_out);
  visit("cancelled", &r->cancelled);
  visit("keeper_lost", &r->keeper_lost);
  visit("spawn_error", &r->spawn_error);
  visit("log_error", &r->log_error);
  visit("failed_step", &r->failed_step);
  visit("started_at", &r->started_at);
  visit("ended_at", &r->ended_at);
  visit("user_cpu", &r->user_cpu);
  visit("system_cpu", &r->system_cpu);
  visit("max_rss_kb", &r->max_rss_kb);
}

}  // namespace relay::keeper
