-- Version 5: the ledger is the state of task instances.
--
-- A commit used to write every transition twice: as an event, and as an
-- update of the task's row. Now it appends its events and nothing else: a
-- task's row is the fold of its events (store/task_record.h) over the row
-- in `tasks`, which is a checkpoint as of runs.tasks_seq. Runs created from
-- here on keep their task rows as created (pending) and tasks_seq 0; the
-- runs below keep rows that already reflect all of their events.
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

ALTER TABLE runs ADD COLUMN tasks_seq INTEGER NOT NULL DEFAULT 0;
UPDATE runs SET tasks_seq = COALESCE(
  (SELECT MAX(e.seq) FROM events_v1 e
    WHERE e.id >= runs.num * 4294967296 AND e.id < (runs.num + 1) * 4294967296), 0);

-- A step's process is recorded apart from the ledger (it is not a state
-- change), for the attempt it belongs to.
ALTER TABLE tasks ADD COLUMN pid_attempt INTEGER NOT NULL DEFAULT 0;
UPDATE tasks SET pid_attempt = attempts;

-- Leases of workers that claimed tasks with one, extended by their
-- heartbeats (a task's lease is the later of its claim's and its owner's).
CREATE TABLE leases (
  run_id      TEXT    NOT NULL,
  owner       TEXT    NOT NULL,
  lease_until INTEGER NOT NULL,
  PRIMARY KEY (run_id, owner)
) WITHOUT ROWID;
