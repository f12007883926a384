#include "store/task_record.h"

#include "events/canonical_json.h"

namespace relay::store {
namespace {

using S = state::TaskState;

// The recorded fields of one event's data; absent fields stay unset.
struct Recorded {
  std::optional<int64_t> attempt, duration_us, exit_code, signal, due_at, lease_until;
  std::optional<std::string> owner, log;
  std::optional<std::string_view> outputs;  // exact JSON text
};

bool ReadRecorded(std::string_view data, Recorded* r) {
  thread_local std::vector<std::pair<std::string_view, std::string_view>> members;
  if (!events::canonical::SplitObject(data, &members)) return false;
  std::string key;
  for (const auto& [raw_key, value] : members) {
    if (!events::canonical::ReadString(raw_key, &key)) return false;
    std::optional<int64_t>* number = key == "attempt"       ? &r->attempt
                                     : key == "duration_us" ? &r->duration_us
                                     : key == "exit_code"   ? &r->exit_code
                                     : key == "signal"      ? &r->signal
                                     : key == "due_at"      ? &r->due_at
                                     : key == "lease_until" ? &r->lease_until
                                                            : nullptr;
    if (number) {
      int64_t v;
      if (!events::canonical::ReadInt(value, &v)) return false;
      *number = v;
    } else if (key == "owner" || key == "log") {
      std::string text;
      if (!events::canonical::ReadString(value, &text)) return false;
      (key == "owner" ? r->owner : r->log) = std::move(text);
    } else if (key == "outputs") {
      if (!events::canonical::IsObject(value)) return false;
      r->outputs = value;
    }
    // Other keys are facts for people ("error", "from_run"): not row fields.
  }
  return true;
}

Status Unreadable(const events::Event& e, std::string_view what) {
  return Status::Corrupt("run " + e.run_id + ": event " + std::to_string(e.seq) + " (task '" +
                         e.subject + "') has " + std::string(what) + "; run `relay ledger verify " +
                         e.run_id + "`");
}

}  // namespace

void RecordTaskFields(const TaskTransition& t, events::DataBuilder* data) {
  const TaskRow& r = t.row;
  const S to = r.state;
  if (to == S::kClaimed) {
    if (!r.owner.empty()) data->Add("owner", r.owner);
    if (r.lease_until != 0) data->Add("lease_until", r.lease_until);
  }
  if (to == S::kRunning) {
    data->Add("attempt", r.attempts);
    data->Add("log", r.log_path);
  }
  if (t.from == S::kRunning) {
    if (r.ended_at != 0) data->Add("duration_us", r.ended_at - r.started_at);
    if (r.exit_code) data->Add("exit_code", *r.exit_code);
    if (r.signal != 0) data->Add("signal", r.signal);
  }
  if (to == S::kRetryWait) data->Add("due_at", r.due_at);
  if (to == S::kSucceeded) {
    if (!r.outputs_json.empty() && r.outputs_json != "{}") data->AddJson("outputs", r.outputs_json);
    if (t.from != S::kRunning) {
      if (!r.log_path.empty()) data->Add("log", r.log_path);
      if (r.exit_code) data->Add("exit_code", *r.exit_code);
    }
  }
}

Status ApplyTaskEvent(const events::Event& e, TaskRow* row) {
  const auto& m = state::TaskMachine();
  std::optional<S> to = m.Parse(e.to);
  std::optional<S> from = m.Parse(e.from);
  if (!to || !from) return Unreadable(e, "an unknown state ('" + e.from + "' → '" + e.to + "')");
  Recorded rec;
  if (!ReadRecorded(e.data, &rec)) return Unreadable(e, "data that cannot be read");

  row->state = *to;
  row->cause = e.cause;
  row->reason = e.reason;
  if (*to == S::kQueued) {
    row->due_at = 0;
    row->owner.clear();
    row->lease_until = 0;
  }
  if (*to == S::kClaimed) {
    row->owner = rec.owner.value_or("");
    row->lease_until = rec.lease_until.value_or(0);
  }
  if (*to == S::kRunning) {
    row->attempts = static_cast<int32_t>(rec.attempt.value_or(row->attempts + 1));
    row->log_path = rec.log.value_or("");
    row->started_at = e.ts;
    row->ended_at = 0;
    row->exit_code.reset();
    row->signal = 0;
  }
  if (*from == S::kRunning) {
    row->ended_at = rec.duration_us ? row->started_at + *rec.duration_us : e.ts;
    if (rec.exit_code) row->exit_code = static_cast<int>(*rec.exit_code);
    row->signal = static_cast<int>(rec.signal.value_or(0));
    row->owner.clear();
    row->lease_until = 0;
  }
  if (*to == S::kRetryWait) row->due_at = rec.due_at.value_or(0);
  if (*to == S::kSucceeded) {
    if (rec.outputs) row->outputs_json.assign(*rec.outputs);
    if (*from != S::kRunning) {
      if (rec.log) row->log_path = *rec.log;
      if (rec.exit_code) row->exit_code = static_cast<int>(*rec.exit_code);
    }
  }
  return Status::Ok();
}

}  // namespace relay::store
