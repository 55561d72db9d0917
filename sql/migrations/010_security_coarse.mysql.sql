-- 010_security_coarse (MySQL/MariaDB): the rollups of 010_security_coarse.sqlite.sql (see
-- there for why each exists and how the distinct counts use the pairs), each keyed by node
-- at the end like every rollup since 007; filled from login_failures_daily (node-keyed by
-- 007), which is then dropped. {BIN} keeps names byte for byte.
CREATE TABLE login_failures_ip_daily (
    day      DATE        NOT NULL,
    ip       VARCHAR(64) NOT NULL,
    node     VARCHAR(64) NOT NULL DEFAULT '',
    events   BIGINT      NOT NULL,
    first_ts DATETIME(3) NOT NULL,
    last_ts  DATETIME(3) NOT NULL,
    PRIMARY KEY (day, ip, node)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={BIN};
CREATE TABLE login_failures_user_daily (
    day      DATE         NOT NULL,
    username VARCHAR(255) NOT NULL,
    node     VARCHAR(64)  NOT NULL DEFAULT '',
    events   BIGINT       NOT NULL,
    PRIMARY KEY (day, username, node)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={BIN};
CREATE TABLE login_failures_method_daily (
    day      DATE        NOT NULL,
    method   VARCHAR(64) NOT NULL,
    protocol VARCHAR(16) NOT NULL,
    node     VARCHAR(64) NOT NULL DEFAULT '',
    events   BIGINT      NOT NULL,
    PRIMARY KEY (day, method, protocol, node)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={BIN};
CREATE TABLE login_failure_pairs (
    ip        VARCHAR(64)  NOT NULL,
    username  VARCHAR(255) NOT NULL,
    node      VARCHAR(64)  NOT NULL DEFAULT '',
    events    BIGINT       NOT NULL,
    first_day DATE         NOT NULL,
    last_day  DATE         NOT NULL,
    PRIMARY KEY (ip, username, node),
    INDEX ix_login_failure_pairs_username (username, ip, node)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={BIN};
CREATE TABLE login_failure_pair_days (
    ip       VARCHAR(64)  NOT NULL,
    username VARCHAR(255) NOT NULL,
    day      DATE         NOT NULL,
    node     VARCHAR(64)  NOT NULL DEFAULT '',
    events   BIGINT       NOT NULL,
    PRIMARY KEY (ip, username, day, node)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={BIN};
INSERT INTO login_failures_ip_daily (day, ip, node, events, first_ts, last_ts)
SELECT day, ip, node, SUM(events), MIN(first_ts), MAX(last_ts) FROM login_failures_daily
GROUP BY day, ip, node;
INSERT INTO login_failures_user_daily (day, username, node, events)
SELECT day, username, node, SUM(events) FROM login_failures_daily
GROUP BY day, username, node;
INSERT INTO login_failures_method_daily (day, method, protocol, node, events)
SELECT day, method, protocol, node, SUM(events) FROM login_failures_daily
GROUP BY day, method, protocol, node;
INSERT INTO login_failure_pairs (ip, username, node, events, first_day, last_day)
SELECT ip, username, node, SUM(events), MIN(day), MAX(day) FROM login_failures_daily
GROUP BY ip, username, node;
INSERT INTO login_failure_pair_days (ip, username, day, node, events)
SELECT ip, username, day, node, SUM(events) FROM login_failures_daily
GROUP BY ip, username, day, node;
DROP TABLE login_failures_daily;
-- /api/events with a rare value (see the SQLite file). MariaDB has no partial index: its
-- equivalent is an index on virtual columns that are NULL for the common rows, whose
-- entries (NULL, NULL, file_id, start_offset) are appended in insertion order, so a
-- transfer costs an append rather than a scattered write. dashboard/audit.py reads through
-- them (failed_ts / rare_kind, rare_ts) on this dialect.
ALTER TABLE events
    ADD COLUMN failed_ts DATETIME(3) AS (IF(failed = 1, ts, NULL)) VIRTUAL,
    ADD COLUMN rare_kind VARCHAR(16) AS (IF(kind IN ('upload', 'download'), NULL, kind)) VIRTUAL,
    ADD COLUMN rare_ts DATETIME(3) AS (IF(kind IN ('upload', 'download'), NULL, ts)) VIRTUAL,
    ADD INDEX ix_events_failed (failed_ts, file_id, start_offset),
    ADD INDEX ix_events_kind (rare_kind, rare_ts, file_id, start_offset);
