-- Version 3: events are keyed by one integer, num(run) * 2^32 + seq, in a
-- rowid table. Events are only ever appended, and SQLite appends to the
-- right edge of a rowid table by starting a new page. Keyed by the text pair
-- (run_id, seq) in a WITHOUT ROWID table, every append to a full leaf was
-- rebalanced with its two neighbours, which left them full again: a commit
-- wrote three or four event pages to the WAL instead of one or two.
-- runs.num numbers runs in creation order; a run's events are the key range
-- [num * 2^32, (num + 1) * 2^32), so no secondary index is needed.

ALTER TABLE runs ADD COLUMN num INTEGER;
UPDATE runs SET num = numbered.n
  FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY created_at, id) AS n FROM runs) AS numbered
  WHERE numbered.id = runs.id;
CREATE UNIQUE INDEX runs_by_num ON runs (num);

CREATE TABLE events_v3 (
  id         INTEGER PRIMARY KEY,  -- num of the run * 4294967296 + seq
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
  hash       TEXT    NOT NULL
);

INSERT INTO events_v3 (id, run_id, seq, ts, kind, subject, from_state, to_state, cause, reason,
                       data, prev_hash, hash)
  SELECT r.num * 4294967296 + e.seq, e.run_id, e.seq, e.ts, e.kind, e.subject, e.from_state,
         e.to_state, e.cause, e.reason, e.data, e.prev_hash, e.hash
  FROM events e JOIN runs r ON r.id = e.run_id
  ORDER BY 1;

DROP TABLE events;
ALTER TABLE events_v3 RENAME TO events;
