// The prepared statements of one SqliteStore connection (internal to
// store/sqlite/). Parameter numbers follow the column lists in rows.h, so
// one binder serves INSERT and UPDATE alike.
#pragma once

#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/statement.h"

namespace relay::store::sqlite {

struct SqliteStore::Statements {
  Statement begin, commit, rollback;
  Statement last_event, insert_event, get_events;
  Statement insert_run, update_run, run_state, get_run, list_runs, last_run, runs_from;
  Statement insert_task, update_task, update_task_plain, task_state, get_tasks, claim_candidates;
  Statement request_cancel, cancel_requested, take_ownership, run_owner;
  Statement heartbeat_run, heartbeat_tasks;
  Statement get_setting, set_setting;
};

}  // namespace relay::store::sqlite
