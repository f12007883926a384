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
    "cancel_requested";
inline constexpr int kRunColumnCount = 17;
inline constexpr char kTaskColumns[] =
    "run_id, idx, name, task, matrix_json, state, attempts, cause, reason, exit_code, signal, "
    "due_at, owner, lease_until, started_at, ended_at, log_path, outputs_json, pid, pgid";
inline constexpr int kTaskColumnCount = 20;
inline constexpr char kEventColumns[] =
    "run_id, seq, ts, kind, subject, from_state, to_state, cause, reason, data, prev_hash, hash";

// Binds ?1..?17 in kRunColumns order.
void BindRun(Statement& s, const RunRow& r);
// Binds ?1..?20 in kTaskColumns order, and ?22 to the row's padding.
// `cause` is written in place of t.cause (a folded write stores the cause
// of the batch's last transition).
void BindTask(Statement& s, const TaskRow& t, std::string_view cause);
inline void BindTask(Statement& s, const TaskRow& t) { BindTask(s, t, t.cause); }
// Bytes of the `pad` column that keep a task row's stored size constant
// while it moves through its states (migration 4): kTaskRowSlack minus what
// the columns that change take, including their record-header bytes; 0
// once they take more, when the row simply grows. `cause` is what the
// row's cause column will hold.
int TaskRowPadding(const TaskRow& t, std::string_view cause);
inline constexpr int kTaskRowSlack = 224;
// Binds ?1..?12 in kEventColumns order.
void BindEvent(Statement& s, const events::Event& e);

// Read a row selected in the column order above. A state name this relay
// does not know is kCorrupt, naming the store `path`.
Status ReadRun(const Statement& s, const std::string& path, RunRow* r);
Status ReadTask(const Statement& s, const std::string& path, TaskRow* t);
void ReadEvent(const Statement& s, events::Event* e);

}  // namespace relay::store::sqlite
