-- Version 5: the ledger is the state of task instances.
--
-- A commit used to write every transition twice: as an event, and as an
-- update of the task's row. Now it appends its events and nothing else: a
-- task's row is the fold of its events (store/task_record.h) over the row
-- the run started from. Runs created from here on list their instances in
-- run_instances (one JSON array: a row per instance cost more to insert
-- than the run's whole ledger) and start from pending rows; the runs below
-- keep their rows in `tasks`, which reflect their events up to
-- runs.tasks_seq.
--
-- Events are written in ledger format 2 (docs/ledger-format.md): one row of
-- `ledger` per run per commit, holding that commit's events. The format-1
-- events of existing runs stay, unchanged and still verified, in events_v1;
-- a run resumed after this migration continues its chain in `ledger`.

CREATE TABLE ledger (
  id     INTEGER PRIMARY KEY,  -- num of the run * 4294967296 + seq of the row's first event
  events TEXT    NOT NULL,     -- the canonical bytes of each event, each followed by a newline
  hashes BLOB    NOT NULL      -- the SHA-256 of each event (32 bytes each), in the same order
);

ALTER TABLE events RENAME TO events_v1;

-- [[name, task, matrix], …] by index, for runs created from here on. Not a
-- column of `runs`: heartbeats and run transitions rewrite that row, and
-- would read a long list through its overflow pages each time.
CREATE TABLE run_instances (
  num  INTEGER PRIMARY KEY,  -- runs.num
  list TEXT    NOT NULL
);
ALTER TABLE runs ADD COLUMN tasks_seq INTEGER NOT NULL DEFAULT 0;
UPDATE runs SET tasks_seq = COALESCE(
  (SELECT MAX(e.seq) FROM events_v1 e
    WHERE e.id >= runs.num * 4294967296 AND e.id < (runs.num + 1) * 4294967296), 0);

-- The process group of a running attempt: not a state change, so not an
-- event, but what `relay resume` kills if the relay that started it died.
CREATE TABLE processes (
  run_id  TEXT    NOT NULL,
  idx     INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  pid     INTEGER NOT NULL,
  pgid    INTEGER NOT NULL,
  PRIMARY KEY (run_id, idx)
) WITHOUT ROWID;
INSERT INTO processes (run_id, idx, attempt, pid, pgid)
  SELECT run_id, idx, attempts, pid, pgid FROM tasks WHERE pgid <> 0;

-- Definitions by their hash, once however many runs share one. A run's row
-- is read and rewritten whole by every heartbeat and run transition; with
-- a pipeline's text in it, that was several overflow pages each time.
CREATE TABLE definitions (
  hash TEXT PRIMARY KEY,  -- sha256 hex of text (runs.definition_hash)
  text TEXT NOT NULL
);
INSERT OR IGNORE INTO definitions (hash, text)
  SELECT definition_hash, definition FROM runs WHERE definition_hash <> '';
UPDATE runs SET definition = '' WHERE definition_hash <> '';

-- Leases of workers that claimed tasks with one, extended by their
-- heartbeats (a task's lease is the later of its claim's and its owner's).
CREATE TABLE leases (
  run_id      TEXT    NOT NULL,
  owner       TEXT    NOT NULL,
  lease_until INTEGER NOT NULL,
  PRIMARY KEY (run_id, owner)
) WITHOUT ROWID;
