-- 019_deferred_indexes: the marker of backlog mode (ingestion/backlog.py). A pass that finds
-- a large backlog records here each secondary index of `events` it drops, with the statement
-- that recreates it, in the same transaction as the drop; the build deletes a row in the
-- transaction that recreates its index. A row left by a killed process is how the next start
-- (db.migrate) knows to build that index. `node` is the node whose backlog it is.
CREATE TABLE IF NOT EXISTS deferred_indexes (
    name       TEXT NOT NULL PRIMARY KEY,
    node       TEXT NOT NULL,
    definition TEXT NOT NULL,
    since      TEXT NOT NULL
);
