-- Version 2: the partial index on queued tasks cost every transition into or
-- out of `queued` an index write and an extra page per commit (a fifth of a
-- local run's store time). Claims only look at runs that are running, whose
-- tasks the primary key (run_id, idx) already groups.
DROP INDEX tasks_queued;
