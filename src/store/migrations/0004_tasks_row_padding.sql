-- Version 4: a task row keeps one size for its whole life. Its state,
-- cause, reason, owner, log path and times grow as the task moves from
-- pending to running to succeeded; rows inserted small and packed into
-- full pages then overflowed their page on every transition, and SQLite
-- rebalanced it with its two neighbours (three pages to the WAL, packed full
-- again). `pad` is a zero-filled blob that shrinks by what the other
-- columns grow (store/sqlite/rows.cc: TaskRowPadding), so an update
-- overwrites the row in place. It carries no information.
ALTER TABLE tasks ADD COLUMN pad BLOB NOT NULL DEFAULT x'';
