// What the ledger records of a task instance, and the row rebuilt from it.
//
// A task row is not stored state that events describe: it is the fold of
// the task's events. A transition's event records, besides its state,
// cause and reason, the row fields that transition sets:
//
//   transition          recorded in data                     rebuilt
//   → queued            –                                    due_at, owner, lease cleared
//   → claimed           owner, lease_until (if set)          owner, lease_until
//   → running           attempt, log (unless it is the       attempts, log_path,
//                       store's AttemptLogPath)
//                                                            started_at = ts; ended_at,
//                                                            exit_code, signal cleared
//   running → any       duration_us (if ended), exit_code    ended_at = started_at +
//                       (if any), signal (if any)            duration, exit_code, signal;
//                                                            owner, lease cleared
//   → retry_wait        due_at                               due_at
//   → succeeded         outputs (if any); not from running:  outputs_json; log_path,
//                       log, exit_code (a reused result)     exit_code
//
// Both directions live here so that they cannot drift apart; backends use
// them (SQLite keeps no task state but the ledger), and a backend that keeps
// rows must return what the fold would.
#pragma once

#include "base/status.h"
#include "events/event.h"
#include "store/store.h"

namespace relay::store {

// Where an attempt's log goes: LOG_DIR/RUN/INDEX-NAME.ATTEMPT.log, with the
// instance name made safe for a file name. `log_dir` is Store::LogDir().
std::string AttemptLogPath(std::string_view log_dir, std::string_view run_id, int32_t index,
                           std::string_view name, int32_t attempt);

// Appends t's event data to `out`: the canonical JSON object of its facts
// (t.data) and the fields of t.row that t records (the table above), which
// win over facts of the same name. `log_dir` is the store's LogDir(): a log
// at the AttemptLogPath under it need not be recorded. On the store's hot
// path: no allocation beyond `out`. False, with `out` unusable, when a fact
// or the outputs are not canonical JSON (the ledger holds only canonical
// bytes, docs/ledger-format.md).
bool AppendTaskData(const TaskTransition& t, std::string_view log_dir, std::string& out);

// Applies one task event to `row` (the instance the event's subject names).
// kCorrupt, naming the event, when its state or data cannot be read.
Status ApplyTaskEvent(const events::Event& e, std::string_view log_dir, TaskRow* row);

// What a run's row says it was made from against what its created event
// (seq 1, verified) records: the definition's hash, and SHA-256 of the
// inputs' and options' stored text (runs made before those two were
// recorded have neither). "" when they agree, else what does not.
std::string CreatedEventMismatch(const events::Event& created, std::string_view definition_hash,
                                 std::string_view inputs_json, std::string_view options_json);

}  // namespace relay::store
