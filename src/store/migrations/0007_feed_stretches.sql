-- Version 7: the change feed is indexed where it changes runs, not at
-- every row.
--
-- A row's `feed` (the position of its first event) is written only on a
-- row that starts a stretch of the feed: one that does not continue, in
-- the feed, the previous row of the same run (another run's row came in
-- between, or it is the run's first). A row that continues it holds NULL:
-- its events take the positions after that row's, so within a stretch a
-- position and its run's seq grow together. While one run commits after
-- another (`relay run` of one pipeline), each commit then adds a ledger
-- row and no index entry: one B-tree page less to write per commit.
--
-- Rows written before this version keep their positions: each starts a
-- stretch of one row, which reads the same.
DROP INDEX ledger_by_feed;
CREATE UNIQUE INDEX ledger_feed_starts ON ledger (feed) WHERE feed IS NOT NULL;
