-- Version 6: one engine for many runs.
--
-- The change feed: every committed event gets a global position that has no
-- gaps and grows in commit order, so a reader can follow every run at once
-- and resume from a position. A ledger row holds the events of one run of
-- one commit; `feed` is the position of its first event, the others follow.
-- Rows written before this version are numbered in the order of their ids.
ALTER TABLE ledger ADD COLUMN feed INTEGER;
UPDATE ledger SET feed = t.f
  FROM (SELECT id, SUM(length(hashes) / 32) OVER (ORDER BY id ROWS UNBOUNDED PRECEDING)
                   - length(hashes) / 32 + 1 AS f
          FROM ledger) AS t
 WHERE t.id = ledger.id;
CREATE UNIQUE INDEX ledger_by_feed ON ledger (feed);

-- A sub-pipeline's run names the run and task instance that started it; a
-- run names who started it and, once final, its pipeline outputs.
ALTER TABLE runs ADD COLUMN caller_run TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN caller_index INTEGER NOT NULL DEFAULT -1;
ALTER TABLE runs ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN outputs_json TEXT NOT NULL DEFAULT '{}';
CREATE INDEX runs_by_caller ON runs (caller_run) WHERE caller_run <> '';

-- The requests inbox: cancel, approve, reject, start, written by whoever
-- asks and acted on by the engine that owns the run.
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

-- Concurrency groups: who holds a place (a run, index -1, or a task
-- instance), and who waits for one, in order.
CREATE TABLE group_holds (
  grp    TEXT    NOT NULL,
  run_id TEXT    NOT NULL,
  idx    INTEGER NOT NULL,
  since  INTEGER NOT NULL,
  PRIMARY KEY (grp, run_id, idx)
) WITHOUT ROWID;
CREATE INDEX group_holds_by_run ON group_holds (run_id);
CREATE TABLE group_waiters (
  seq    INTEGER PRIMARY KEY,  -- the queue's order
  grp    TEXT    NOT NULL,
  run_id TEXT    NOT NULL,
  idx    INTEGER NOT NULL,
  since  INTEGER NOT NULL,
  UNIQUE (grp, run_id, idx)
);
CREATE INDEX group_waiters_by_run ON group_waiters (run_id);
