// What the ledger records of a task instance, and the row rebuilt from it.
//
// A task row is not stored state that events describe: it is the fold of
// the task's events. ApplyTaskEffects is the one definition of what a
// transition does to a row; the scheduler calls it as it decides, and the
// ledger's replay calls it with the effects read back from each event. An
// event records, besides its state, cause and reason, the effects
// (store.h's TaskEffects) that are not implied:
//
//   transition               recorded in data              row
//   → queued                 –                             due_at, owner, lease cleared
//   → claimed                owner, lease_until (if set)   owner, lease_until
//   → running                attempt, log (unless it is    attempts, log_path, started_at =
//                            the store's AttemptLogPath)   ts, started_by = the run's owner;
//                                                          ended_at, exit_code, signal cleared
//   → waiting_child          attempt, child                attempts, child_run, started_at
//   running|waiting_child →  duration_us (if ended),       ended_at = started_at + duration,
//                            exit_code, signal (if any)    exit_code, signal; owner cleared
//   → retry_wait             due_at                        due_at
//   → waiting_approval       due_at (with a timeout)       due_at
//   an approval              approver                      approved_by += approver
//   → succeeded              outputs (if any); from        outputs_json; log_path, exit_code
//                            pending: log, exit_code
//                            (a reused result)
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
// Appends that path to `out` (an attempt's spec reuses its string).
void AppendAttemptLogPath(std::string& out, std::string_view log_dir, std::string_view run_id,
                          int32_t index, std::string_view name, int32_t attempt);

// What a transition to `to` does to `row` (whose state is the transition's
// `from`): sets its state, cause and reason, then the fields the table
// above lists. `log_dir` (Store::LogDir()) gives the default log path;
// `run_owner` is the owner id of the relay that holds the run (it starts the
// attempt, in its keeper).
void ApplyTaskEffects(TaskRow* row, state::TaskState to, std::string_view cause, std::string reason,
                      Micros ts, const TaskEffects& effects, std::string_view log_dir,
                      std::string_view run_owner);

// Appends t's event data to `out`: the canonical JSON object of its facts
// (t.data) and the effects t records (the table above), which win over
// facts of the same name. `log_dir` is the store's LogDir(): a log
// at the AttemptLogPath under it need not be recorded. On the store's hot
// path: no allocation beyond `out`. False, with `out` unusable, when a fact
// or the outputs are not canonical JSON (the ledger holds only canonical
// bytes, docs/ledger-format.md).
bool AppendTaskData(const TaskTransition& t, std::string_view log_dir, std::string& out);

// Applies one task event to `row` (the instance the event's subject names):
// its effects read back from its data, then ApplyTaskEffects. kCorrupt,
// naming the event, when its state or data cannot be read, when it does not
// start from the row's state, or when its transition is not in the table.
// `run_owner`: the owner the run's last started/resumed event records.
Status ApplyTaskEvent(const events::Event& e, std::string_view log_dir, std::string_view run_owner,
                      TaskRow* row);

// The owner id a run event records (its `owner` fact: the relay that
// started or resumed the run), or nullopt. Task rows fold it into
// started_by, so a resumed run knows which keeper holds each attempt.
std::optional<std::string> RunEventOwner(const events::Event& e);

// What a run's row says it was made from against what its created event
// (seq 1, verified) records: the definition's hash, and SHA-256 of the
// inputs' and options' stored text (runs made before those two were
// recorded have neither). "" when they agree, else what does not.
std::string CreatedEventMismatch(const events::Event& created, std::string_view definition_hash,
                                 std::string_view inputs_json, std::string_view options_json);

}  // namespace relay::store
