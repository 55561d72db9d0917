-- 019_deferred_indexes (MySQL/MariaDB): see 019_deferred_indexes.sqlite.sql. Backlog mode
-- never drops an index on MySQL/MariaDB (docs/database.md#backlog-mode: DDL there commits on its own and
-- other nodes write into the same table), so the table stays empty; it exists so that both
-- dialects have the same schema versions.
CREATE TABLE IF NOT EXISTS deferred_indexes (
    name       VARCHAR(64)  NOT NULL PRIMARY KEY,
    node       VARCHAR(64)  NOT NULL,
    definition TEXT         NOT NULL,
    since      VARCHAR(32)  NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={BIN};
