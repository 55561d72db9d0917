-- 007_nodes (SQLite): several SFTPGo nodes, one database (issue #12). A node is a name (the
-- host name unless SFTPGO_NODE / --node says otherwise); each node's ingester reads its own
-- log folder, so every file generation belongs to one node, and with it its checkpoint and
-- its events (an event's node is its file's: events gain no column, see docs/deploying.md).
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
-- The rollups gain the node at the end of their key (a table is rebuilt to change a WITHOUT
-- ROWID key): a read over all nodes adds the nodes' cells up, or counts a name once. ''
-- (the default) is only for rows written by hand without a node.
CREATE TABLE daily_stats_007 (
    day      TEXT    NOT NULL,
    kind     TEXT    NOT NULL,
    username TEXT    NOT NULL,
    node     TEXT    NOT NULL DEFAULT '',
    events   INTEGER NOT NULL,
    bytes    INTEGER NOT NULL,
    failed   INTEGER NOT NULL,
    PRIMARY KEY (day, kind, username, node)
) WITHOUT ROWID;
INSERT INTO daily_stats_007 (day, kind, username, node, events, bytes, failed)
SELECT day, kind, username, :node, events, bytes, failed FROM daily_stats;
DROP TABLE daily_stats;
ALTER TABLE daily_stats_007 RENAME TO daily_stats;
CREATE TABLE login_failures_daily_007 (
    day      TEXT    NOT NULL,
    ip       TEXT    NOT NULL,
    username TEXT    NOT NULL,
    method   TEXT    NOT NULL,
    protocol TEXT    NOT NULL,
    node     TEXT    NOT NULL DEFAULT '',
    events   INTEGER NOT NULL,
    first_ts TEXT    NOT NULL,
    last_ts  TEXT    NOT NULL,
    PRIMARY KEY (day, ip, username, method, protocol, node)
) WITHOUT ROWID;
INSERT INTO login_failures_daily_007 (day, ip, username, method, protocol, node, events,
                                      first_ts, last_ts)
SELECT day, ip, username, method, protocol, :node, events, first_ts, last_ts
FROM login_failures_daily;
DROP TABLE login_failures_daily;
ALTER TABLE login_failures_daily_007 RENAME TO login_failures_daily;
CREATE TABLE bans_daily_007 (
    day    TEXT    NOT NULL,
    ip     TEXT    NOT NULL,
    node   TEXT    NOT NULL DEFAULT '',
    events INTEGER NOT NULL,
    PRIMARY KEY (day, ip, node)
) WITHOUT ROWID;
INSERT INTO bans_daily_007 (day, ip, node, events) SELECT day, ip, :node, events FROM bans_daily;
DROP TABLE bans_daily;
ALTER TABLE bans_daily_007 RENAME TO bans_daily;
