// Column lists of the runs, tasks and events tables (docs/store-schema.md)
// and the code that binds and reads rows in those column orders.
#pragma once

#include <string>

#include "base/status.h"
#include "events/event.h"
#include "store/sqlite/statement.h"
#include "store/store.h"

namespace relay::store::sqlite {

// Parameter ?N of an INSERT/UPDATE binds column N of these lists.
inline constexpr char kRunColumns[] =
    "id, pipeline, file, workdir, definition, definition_hash, inputs_json, options_json, "
    "parent_run, state, reason, created_at, started_at, ended_at, owner, heartbeat_at, "
    "cancel_requested, caller_run, caller_index, created_by, outputs_json";
inline constexpr int kRunColumnCount = 21;
inline constexpr char kTaskColumns[] =
    "run_id, idx, name, task, matrix_json, state, attempts, cause, reason, exit_code, signal, "
    "due_at, owner, lease_until, started_at, ended_at, log_path, outputs_json, pid, pgid";
inline constexpr int kTaskColumnCount = 20;
// The format-1 events of runs created before schema 5 (read only).
inline constexpr char kEventV1Columns[] =
    "run_id, seq, ts, kind, subject, from_state, to_state, cause, reason, data, prev_hash, hash";

// A run's inputs or options as stored: a JSON object, "" written as "{}".
inline std::string_view StoredJson(std::string_view json) { return json.empty() ? "{}" : json; }

// Binds ?1..?21 in kRunColumns order.
void BindRun(Statement& s, const RunRow& r);

// Read a row selected in the column order above (a task row is the
// checkpoint the ledger is folded onto). A state name this relay
// does not know is kCorrupt, naming the store `path`.
Status ReadRun(const Statement& s, const std::string& path, RunRow* r);
Status ReadTask(const Statement& s, const std::string& path, TaskRow* t);
// A format-1 event, in kEventV1Columns order.
void ReadEventV1(const Statement& s, events::Event* e);

}  // namespace relay::store::sqlite
