-- 007_nodes (SQLite): several SFTPGo nodes, one database (issue #12). A node is a name (the
-- host name unless SFTPGO_NODE / --node says otherwise); each node's ingester reads its own
-- log folder, so every file generation belongs to one node, and with it its checkpoint and
-- its events (an event's node is its file's: events gain no column, see README "Cluster").
-- A database from before nodes is upgraded in place: its rows become the node named by the
-- bind parameter :node, the node configured for the process that runs this migration.
ALTER TABLE log_files ADD COLUMN node TEXT NOT NULL DEFAULT '';
UPDATE log_files SET node = :node;
CREATE INDEX ix_log_files_node ON log_files (node, state);
-- Each node's last pass and last error (ingest_status keeps its one row only as the target
-- of the write probe). last_pass_epoch is the database's clock, in seconds, so that a stale
-- node is judged on one clock whatever the hosts' clocks and time zones.
CREATE TABLE node_status (
    node            TEXT PRIMARY KEY,
    last_pass_at    TEXT,
    last_pass_epoch REAL,
    last_error      TEXT,
    last_error_at   TEXT
) WITHOUT ROWID;
INSERT INTO node_status (node, last_pass_at, last_pass_epoch, last_error, last_error_at)
SELECT :node, last_pass_at, NULL, last_error, last_error_at FROM ingest_status
WHERE id = 1 AND (last_pass_at IS NOT NULL OR last_error IS NOT NULL);
