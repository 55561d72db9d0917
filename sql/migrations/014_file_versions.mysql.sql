-- 014_file_versions (MySQL/MariaDB): see 014_file_versions.sqlite.sql. DDL commits on its
-- own here: the table first (IF NOT EXISTS), the log_files ALTER last, so a run stopped
-- half-way is started over by the next migrate() (as 013 is).
CREATE TABLE IF NOT EXISTS log_copies (
    node         VARCHAR(64) CHARACTER SET utf8mb4 COLLATE {BIN} NOT NULL,
    dev          BIGINT      NOT NULL,
    ino          BIGINT      NOT NULL,
    base         BIGINT      NOT NULL DEFAULT 0,
    content_size BIGINT      NOT NULL,
    disk_size    BIGINT      NOT NULL,
    mtime_ns     BIGINT      NOT NULL,
    path         TEXT        NOT NULL,
    copy_of      BIGINT,
    updated_at   VARCHAR(26) NOT NULL,
    PRIMARY KEY (node, dev, ino, base)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={BIN};
ALTER TABLE node_status ADD COLUMN files_waiting BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN bytes_waiting BIGINT NOT NULL DEFAULT 0;
ALTER TABLE log_files ADD COLUMN disk_size BIGINT, ADD COLUMN mtime_ns BIGINT,
    ADD COLUMN base BIGINT NOT NULL DEFAULT 0;
