-- 008_retention (MySQL/MariaDB): how far the raw events have been pruned; see
-- 008_retention.sqlite.sql for the meaning of each column.
CREATE TABLE events_retention (
    id            INT         NOT NULL PRIMARY KEY,
    pruned_before DATE,
    events_pruned BIGINT      NOT NULL DEFAULT 0,
    pruned_at     VARCHAR(26)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={BIN};
INSERT INTO events_retention (id) VALUES (1);
