-- 007_nodes (MySQL/MariaDB): see 007_nodes.sqlite.sql. Rows from before nodes become the
-- node named by the bind parameter :node (the node configured for the process upgrading).
ALTER TABLE log_files
    ADD COLUMN node VARCHAR(64) CHARACTER SET utf8mb4 COLLATE {BIN} NOT NULL DEFAULT '',
    ADD INDEX ix_log_files_node (node, state);
UPDATE log_files SET node = :node;
CREATE TABLE node_status (
    node            VARCHAR(64) NOT NULL PRIMARY KEY,
    last_pass_at    VARCHAR(26),
    last_pass_epoch DOUBLE,
    last_error      TEXT,
    last_error_at   VARCHAR(26)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={BIN};
INSERT INTO node_status (node, last_pass_at, last_pass_epoch, last_error, last_error_at)
SELECT :node, last_pass_at, NULL, last_error, last_error_at FROM ingest_status
WHERE id = 1 AND (last_pass_at IS NOT NULL OR last_error IS NOT NULL);
-- The rollups gain the node at the end of their key (see 007_nodes.sqlite.sql).
ALTER TABLE daily_stats
    ADD COLUMN node VARCHAR(64) CHARACTER SET utf8mb4 COLLATE {BIN} NOT NULL DEFAULT ''
        AFTER username,
    DROP PRIMARY KEY, ADD PRIMARY KEY (day, kind, username, node);
UPDATE daily_stats SET node = :node;
ALTER TABLE login_failures_daily
    ADD COLUMN node VARCHAR(64) CHARACTER SET utf8mb4 COLLATE {BIN} NOT NULL DEFAULT ''
        AFTER protocol,
    DROP PRIMARY KEY, ADD PRIMARY KEY (day, ip, username, method, protocol, node);
UPDATE login_failures_daily SET node = :node;
ALTER TABLE bans_daily
    ADD COLUMN node VARCHAR(64) CHARACTER SET utf8mb4 COLLATE {BIN} NOT NULL DEFAULT ''
        AFTER ip,
    DROP PRIMARY KEY, ADD PRIMARY KEY (day, ip, node);
UPDATE bans_daily SET node = :node;
