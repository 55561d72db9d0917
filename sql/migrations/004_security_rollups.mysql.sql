-- 004_security_rollups (MySQL/MariaDB): the rollups and indexes of 004_security_rollups.sqlite.sql
-- (see there for why each exists). {BIN} keeps names byte for byte.
CREATE TABLE login_failures_daily (
    day      DATE         NOT NULL,
    ip       VARCHAR(64)  NOT NULL,
    username VARCHAR(255) NOT NULL,
    method   VARCHAR(64)  NOT NULL,
    protocol VARCHAR(16)  NOT NULL,
    events   BIGINT       NOT NULL,
    first_ts DATETIME(3)  NOT NULL,
    last_ts  DATETIME(3)  NOT NULL,
    PRIMARY KEY (day, ip, username, method, protocol)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={BIN};
CREATE TABLE bans_daily (
    day    DATE        NOT NULL,
    ip     VARCHAR(64) NOT NULL,
    events BIGINT      NOT NULL,
    PRIMARY KEY (day, ip)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={BIN};
INSERT INTO login_failures_daily (day, ip, username, method, protocol, events, first_ts, last_ts)
SELECT day, COALESCE(remote_ip, ''), username, COALESCE(method, ''), COALESCE(protocol, ''),
       COUNT(*), MIN(ts), MAX(ts)
FROM events WHERE kind = 'login_failed'
GROUP BY day, COALESCE(remote_ip, ''), username, COALESCE(method, ''), COALESCE(protocol, '');
INSERT INTO bans_daily (day, ip, events)
SELECT day, COALESCE(remote_ip, ''), COUNT(*) FROM events WHERE kind = 'ban'
GROUP BY day, COALESCE(remote_ip, '');
ALTER TABLE events
    ADD INDEX ix_events_ts (ts, file_id, start_offset),
    ADD INDEX ix_events_user (username, ts, file_id, start_offset),
    ADD INDEX ix_events_ip (remote_ip, ts, file_id, start_offset);
