-- relay store schema, version 1. Never edit a released migration: add
-- NNNN_name.sql instead. Documented in docs/store-schema.md.
-- SQLite dialect (the PostgreSQL backend will keep its own numbered
-- migrations with the same version numbers and meaning); times are INTEGER microseconds since
-- the Unix epoch (0 = not set); states and causes are stable TEXT names.

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
  cancel_requested INTEGER NOT NULL DEFAULT 0
);

-- `relay runs` and `last`: newest first. Prefix lookups use the primary key.
CREATE INDEX runs_by_created ON runs (created_at DESC, id DESC);

CREATE TABLE tasks (
  run_id       TEXT    NOT NULL REFERENCES runs (id),
  idx          INTEGER NOT NULL,
  name         TEXT    NOT NULL,
  task         TEXT    NOT NULL,
  matrix_json  TEXT    NOT NULL DEFAULT '{}',
  state        TEXT    NOT NULL,
  attempts     INTEGER NOT NULL DEFAULT 0,
  cause        TEXT    NOT NULL DEFAULT '',
  reason       TEXT    NOT NULL DEFAULT '',
  exit_code    INTEGER,
  signal       INTEGER NOT NULL DEFAULT 0,
  due_at       INTEGER NOT NULL DEFAULT 0,
  owner        TEXT    NOT NULL DEFAULT '',
  lease_until  INTEGER NOT NULL DEFAULT 0,
  started_at   INTEGER NOT NULL DEFAULT 0,
  ended_at     INTEGER NOT NULL DEFAULT 0,
  log_path     TEXT    NOT NULL DEFAULT '',
  outputs_json TEXT    NOT NULL DEFAULT '{}',
  pid          INTEGER NOT NULL DEFAULT 0,
  pgid         INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (run_id, idx)
) WITHOUT ROWID;

-- Claims by remote workers scan only queued instances.
CREATE INDEX tasks_queued ON tasks (run_id, idx) WHERE state = 'queued';

CREATE TABLE events (
  run_id     TEXT    NOT NULL REFERENCES runs (id),
  seq        INTEGER NOT NULL,
  ts         INTEGER NOT NULL,
  kind       TEXT    NOT NULL,
  subject    TEXT    NOT NULL,
  from_state TEXT    NOT NULL,
  to_state   TEXT    NOT NULL,
  cause      TEXT    NOT NULL,
  reason     TEXT    NOT NULL,
  data       TEXT    NOT NULL,
  prev_hash  TEXT    NOT NULL,
  hash       TEXT    NOT NULL,
  PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
