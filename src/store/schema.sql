-- The schema a new store starts with: what migrations 0001 to 0007 build,
-- created in one step (running every migration on every new store cost more
-- than a small run's whole ledger), less the two tables that hold only runs
-- from before schema 5 (`tasks`, `events_v1`), which a new store never has.
-- A test (store/sqlite/sqlite_store_test.cc) checks that this and the
-- migrations give the same tables, columns and indexes otherwise; a new
-- migration must be mirrored here. Documented in docs/store-schema.md.

CREATE TABLE schema_version (
  version    INTEGER PRIMARY KEY,
  name       TEXT    NOT NULL,
  applied_at INTEGER NOT NULL
);

CREATE TABLE settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE runs (
  id               TEXT    PRIMARY KEY,
  pipeline         TEXT    NOT NULL,
  file             TEXT    NOT NULL DEFAULT '',
  workdir          TEXT    NOT NULL DEFAULT '',
  definition       TEXT    NOT NULL DEFAULT '',
  definition_hash  TEXT    NOT NULL DEFAULT '',
  inputs_json      TEXT    NOT NULL DEFAULT '{}',
  options_json     TEXT    NOT NULL DEFAULT '{}',
  parent_run       TEXT    NOT NULL DEFAULT '',
  state            TEXT    NOT NULL,
  reason           TEXT    NOT NULL DEFAULT '',
  created_at       INTEGER NOT NULL,
  started_at       INTEGER NOT NULL DEFAULT 0,
  ended_at         INTEGER NOT NULL DEFAULT 0,
  owner            TEXT    NOT NULL DEFAULT '',
  heartbeat_at     INTEGER NOT NULL DEFAULT 0,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  num              INTEGER,
  tasks_seq        INTEGER NOT NULL DEFAULT 0,
  caller_run       TEXT    NOT NULL DEFAULT '',
  caller_index     INTEGER NOT NULL DEFAULT -1,
  created_by       TEXT    NOT NULL DEFAULT '',
  outputs_json     TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX runs_by_created ON runs (created_at DESC, id DESC);
CREATE UNIQUE INDEX runs_by_num ON runs (num);
CREATE INDEX runs_by_caller ON runs (caller_run) WHERE caller_run <> '';

CREATE TABLE run_instances (
  num  INTEGER PRIMARY KEY,
  list TEXT    NOT NULL
);

-- In commit order: a commit appends at the end (schema 8).
CREATE TABLE ledger (
  feed   INTEGER PRIMARY KEY,  -- the change-feed position of the row's first event
  id     INTEGER NOT NULL,     -- runs.num * 4294967296 + the seq of the row's first event
  events TEXT    NOT NULL,
  hashes BLOB    NOT NULL,
  start  INTEGER               -- = id where a stretch of the run's events starts, else NULL
);
CREATE UNIQUE INDEX ledger_stretches ON ledger (start) WHERE start IS NOT NULL;

CREATE TABLE processes (
  run_id  TEXT    NOT NULL,
  idx     INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  pid     INTEGER NOT NULL,
  pgid    INTEGER NOT NULL,
  PRIMARY KEY (run_id, idx)
) WITHOUT ROWID;

CREATE TABLE definitions (
  hash TEXT PRIMARY KEY,
  text TEXT NOT NULL
);

CREATE TABLE leases (
  run_id      TEXT    NOT NULL,
  owner       TEXT    NOT NULL,
  lease_until INTEGER NOT NULL,
  PRIMARY KEY (run_id, owner)
) WITHOUT ROWID;

CREATE TABLE requests (
  id         INTEGER PRIMARY KEY,
  run_id     TEXT    NOT NULL,
  kind       TEXT    NOT NULL,
  task       TEXT    NOT NULL DEFAULT '',
  actor      TEXT    NOT NULL DEFAULT '',
  comment    TEXT    NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  done_at    INTEGER NOT NULL DEFAULT 0,
  outcome    TEXT    NOT NULL DEFAULT ''
);

CREATE TABLE group_holds (
  grp    TEXT    NOT NULL,
  run_id TEXT    NOT NULL,
  idx    INTEGER NOT NULL,
  since  INTEGER NOT NULL,
  PRIMARY KEY (grp, run_id, idx)
) WITHOUT ROWID;
CREATE INDEX group_holds_by_run ON group_holds (run_id);

CREATE TABLE group_waiters (
  seq    INTEGER PRIMARY KEY,
  grp    TEXT    NOT NULL,
  run_id TEXT    NOT NULL,
  idx    INTEGER NOT NULL,
  since  INTEGER NOT NULL,
  UNIQUE (grp, run_id, idx)
);
CREATE INDEX group_waiters_by_run ON group_waiters (run_id);
