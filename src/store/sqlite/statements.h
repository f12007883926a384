// The prepared statements of one SqliteStore connection (internal to
// store/sqlite/). Parameter numbers follow the column lists in rows.h, so
// one binder serves INSERT and UPDATE alike.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/statement.h"

namespace relay::store::sqlite {

struct SqliteStore::Statements {
  Statement begin, commit, rollback, data_version;
  Statement run_ledger, run_instances, insert_instances, run_stretches, last_run_stretch,
      ledger_rows_from, last_event_v1, insert_ledger, events_v1_from;
  Statement insert_run, insert_definition, update_run, run_state, get_run, list_runs, last_run,
      runs_from, running_runs;
  Statement get_tasks, task_states, put_process, get_processes;
  Statement get_leases, extend_lease, heartbeat_leases;
  Statement request_cancel, cancel_requested, take_ownership, run_owner, heartbeat_run;
  Statement get_setting, set_setting;
  Statement get_definition, child_runs, heartbeat_owner;
  Statement feed_last, feed_from;
  Statement add_request, read_requests, get_request, request_done;
  Statement hold_exists, group_holders, waiter_seq, waiters_ahead, insert_hold, insert_waiter,
      delete_waiter, release_hold, release_run_holds, release_run_waiters;
  // Each statement's SQL, kept for as long as the statements.
  std::vector<std::pair<Statement*, std::string>> sql;
};

}  // namespace relay::store::sqlite
