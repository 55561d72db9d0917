-- 006_security_coarse (MySQL/MariaDB): the rollups of 006_security_coarse.sqlite.sql (see
-- there for why each exists and how the distinct counts use the pairs); filled from
-- login_failures_daily, which is then dropped. {BIN} keeps names byte for byte.
CREATE TABLE login_failures_ip_daily (
    day      DATE        NOT NULL,
    ip       VARCHAR(64) NOT NULL,
    events   BIGINT      NOT NULL,
    first_ts DATETIME(3) NOT NULL,
    last_ts  DATETIME(3) NOT NULL,
    PRIMARY KEY (day, ip)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={BIN};
CREATE TABLE login_failures_user_daily (
    day      DATE         NOT NULL,
    username VARCHAR(255) NOT NULL,
    events   BIGINT       NOT NULL,
    PRIMARY KEY (day, username)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={BIN};
CREATE TABLE login_failures_method_daily (
    day      DATE        NOT NULL,
    method   VARCHAR(64) NOT NULL,
    protocol VARCHAR(16) NOT NULL,
    events   BIGINT      NOT NULL,
    PRIMARY KEY (day, method, protocol)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={BIN};
CREATE TABLE login_failure_pairs (
    ip        VARCHAR(64)  NOT NULL,
    username  VARCHAR(255) NOT NULL,
    events    BIGINT       NOT NULL,
    first_day DATE         NOT NULL,
    last_day  DATE         NOT NULL,
    PRIMARY KEY (ip, username),
    INDEX ix_login_failure_pairs_username (username, ip)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={BIN};
CREATE TABLE login_failure_pair_days (
    ip       VARCHAR(64)  NOT NULL,
    username VARCHAR(255) NOT NULL,
    day      DATE         NOT NULL,
    events   BIGINT       NOT NULL,
    PRIMARY KEY (ip, username, day)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={BIN};
INSERT INTO login_failures_ip_daily (day, ip, events, first_ts, last_ts)
SELECT day, ip, SUM(events), MIN(first_ts), MAX(last_ts) FROM login_failures_daily
GROUP BY day, ip;
INSERT INTO login_failures_user_daily (day, username, events)
SELECT day, username, SUM(events) FROM login_failures_daily GROUP BY day, username;
INSERT INTO login_failures_method_daily (day, method, protocol, events)
SELECT day, method, protocol, SUM(events) FROM login_failures_daily
GROUP BY day, method, protocol;
INSERT INTO login_failure_pairs (ip, username, events, first_day, last_day)
SELECT ip, username, SUM(events), MIN(day), MAX(day) FROM login_failures_daily
GROUP BY ip, username;
INSERT INTO login_failure_pair_days (ip, username, day, events)
SELECT ip, username, day, SUM(events) FROM login_failures_daily GROUP BY ip, username, day;
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
