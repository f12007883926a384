-- Version 8: ledger rows are kept in commit order.
--
-- Until now a row's key was its run's number and seq, so a commit wrote
-- into the middle of the table wherever each of its runs' events went:
-- with many runs at once nearly every commit split a B-tree page full of
-- rows of a few hundred bytes and wrote three or four pages. Keyed by the
-- change-feed position of its first event, every row is appended at the
-- table's end.
--
-- A run's rows are then found by their stretches (schema 7): a row that
-- does not continue, in the feed, its run's previous event starts one and
-- holds its own id in `start`, the only rows the partial index
-- `ledger_stretches` lists; the rows of a stretch follow it in the table.
-- While one run commits after another (`relay run` of one pipeline), a
-- commit still writes no index entry.
--
-- The rows of schema 7 keep every event's position: a row that continued
-- a stretch (NULL `feed`) takes the position after its run's previous row
-- in that stretch.
CREATE TABLE ledger_v8 (
  feed   INTEGER PRIMARY KEY,
  id     INTEGER NOT NULL,
  events TEXT    NOT NULL,
  hashes BLOB    NOT NULL,
  start  INTEGER
);
-- In id order every run's first row starts a stretch, so counting the
-- rows with a position numbers the stretches; a stretch's first row has
-- the smallest id and the only position of its group. (One pass, not a
-- look back per row: a run of 100,000 rows in one stretch migrates in
-- about a second.)
WITH numbered AS (
  SELECT id, events, hashes, feed, COUNT(feed) OVER (ORDER BY id) AS stretch FROM ledger
), stretches AS (
  SELECT stretch, MIN(id) AS first_id, MAX(feed) AS first_feed FROM numbered GROUP BY stretch
)
INSERT INTO ledger_v8 (feed, id, events, hashes, start)
SELECT COALESCE(n.feed, s.first_feed + (n.id - s.first_id)), n.id, n.events, n.hashes,
       CASE WHEN n.feed IS NULL THEN NULL ELSE n.id END
  FROM numbered n JOIN stretches s USING (stretch);
DROP TABLE ledger;
ALTER TABLE ledger_v8 RENAME TO ledger;
CREATE UNIQUE INDEX ledger_stretches ON ledger (start) WHERE start IS NOT NULL;
