-- 017_alerts (SQLite): alerts and their delivery (docs/alerts.md). 016 (the data version)
-- and 018 are other migrations of the same round.
-- alerts: one row per alert, its id derived from (rule, key, at) alone (alerts/store.py), so
-- however many passes, processes or nodes find it, it is inserted once (INSERT OR IGNORE).
-- key_text is the key as canonical JSON; key_hash its first 16 hex digits of SHA-256, what
-- the evaluator looks a rule's earlier alerts up by (ix_alerts_rule_key). ip, username and
-- node repeat the key's values for the pages (the security page marks the IPs that fired).
-- state: fired (event rules, never resolves), firing, resolved (clock rules).
CREATE TABLE alerts (
    id          TEXT    NOT NULL PRIMARY KEY,
    rule        TEXT    NOT NULL,
    rule_when   TEXT    NOT NULL,
    key_text    TEXT    NOT NULL,
    key_hash    TEXT    NOT NULL,
    ip          TEXT,
    username    TEXT,
    node        TEXT,
    at          TEXT    NOT NULL,            -- 'YYYY-MM-DD HH:MM:SS.mmm', the log's clock
    state       TEXT    NOT NULL,
    count       INTEGER NOT NULL,
    within_s    REAL,
    summary     TEXT    NOT NULL,
    resolved_at TEXT,
    stored_at   TEXT    NOT NULL
) WITHOUT ROWID;
CREATE INDEX ix_alerts_at ON alerts (at);
CREATE INDEX ix_alerts_rule_key ON alerts (rule, key_hash, at);
CREATE INDEX ix_alerts_state ON alerts (state, at);
CREATE INDEX ix_alerts_ip ON alerts (ip, at);
-- alert_outbox: what is to be sent, per alert (or digest), channel and state (a quiet alert
-- is sent when it fires and when it resolves), in the transaction that stores the alert.
-- status: pending, sent, failed (given up after 24 h; last_error says why), skipped_old
-- (older than ALERT_MAX_AGE when stored: a backfill sends nothing). A sender claims a row by
-- setting lease_epoch (alerts/deliver.py); one killed while sending leaves its lease to run
-- out, and the row is sent again with the same id: at least once. body is the JSON sent.
CREATE TABLE alert_outbox (
    id            TEXT    NOT NULL PRIMARY KEY,
    item_id       TEXT    NOT NULL,
    item_kind     TEXT    NOT NULL,            -- alert | digest
    channel       TEXT    NOT NULL,
    state         TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    created_epoch REAL    NOT NULL,
    next_epoch    REAL    NOT NULL,
    lease_epoch   REAL,
    sent_at       TEXT,
    last_error    TEXT,
    body          TEXT    NOT NULL
) WITHOUT ROWID;
CREATE INDEX ix_alert_outbox_due ON alert_outbox (status, next_epoch);
CREATE INDEX ix_alert_outbox_item ON alert_outbox (item_id);
-- alert_cursor: how far each file's events have been judged by the event rules (an offset
-- in the file, like checkpoints.committed_offset): a pass judges only the events after it.
-- first_ms and last_ms bound the times of the events judged so far (milliseconds on the
-- log's clock, NULL before any): a step reads another file's events only where its times
-- meet the step's (a log's generations follow each other; several nodes' overlap).
CREATE TABLE alert_cursor (
    file_id   INTEGER NOT NULL PRIMARY KEY,
    evaluated INTEGER NOT NULL,
    first_ms  INTEGER,
    last_ms   INTEGER
);
