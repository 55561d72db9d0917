-- 017_alerts (MySQL/MariaDB): see 017_alerts.sqlite.sql for what each table and column is.
-- Re-runnable: CREATE TABLE commits on its own, so a first run stopped between two tables
-- starts over (each new table is dropped first; nothing else is touched).
DROP TABLE IF EXISTS alerts;
CREATE TABLE alerts (
    id          VARCHAR(32)  NOT NULL PRIMARY KEY,
    rule        VARCHAR(64)  NOT NULL,
    rule_when   VARCHAR(32)  NOT NULL,
    key_text    TEXT         NOT NULL,
    key_hash    VARCHAR(16)  NOT NULL,
    ip          VARCHAR(64),
    username    VARCHAR(255),
    node        VARCHAR(64),
    at          DATETIME(3)  NOT NULL,
    state       VARCHAR(16)  NOT NULL,
    count       BIGINT       NOT NULL,
    within_s    DOUBLE,
    summary     TEXT         NOT NULL,
    resolved_at DATETIME(3),
    stored_at   VARCHAR(26)  NOT NULL,
    KEY ix_alerts_at (at),
    KEY ix_alerts_rule_key (rule, key_hash, at),
    KEY ix_alerts_state (state, at),
    KEY ix_alerts_ip (ip, at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={BIN};
DROP TABLE IF EXISTS alert_outbox;
CREATE TABLE alert_outbox (
    id            VARCHAR(40)  NOT NULL PRIMARY KEY,
    item_id       VARCHAR(32)  NOT NULL,
    item_kind     VARCHAR(8)   NOT NULL,
    channel       VARCHAR(300) NOT NULL,
    state         VARCHAR(16)  NOT NULL,
    status        VARCHAR(16)  NOT NULL,
    attempts      INT          NOT NULL DEFAULT 0,
    created_epoch DOUBLE       NOT NULL,
    next_epoch    DOUBLE       NOT NULL,
    lease_epoch   DOUBLE,
    sent_at       VARCHAR(26),
    last_error    TEXT,
    body          MEDIUMTEXT   NOT NULL,
    KEY ix_alert_outbox_due (status, next_epoch),
    KEY ix_alert_outbox_item (item_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={BIN};
DROP TABLE IF EXISTS alert_cursor;
CREATE TABLE alert_cursor (
    file_id   BIGINT NOT NULL PRIMARY KEY,
    evaluated BIGINT NOT NULL,
    first_ms  BIGINT,
    last_ms   BIGINT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={BIN};
