-- 003_event_details (MySQL/MariaDB): four facts per event for the security, user and audit
-- views (docs/counting-rules.md): elapsed_ms, connection_id, method, error (first 1,000
-- characters).
-- Events stored before this keep NULL in them: the facts are only in the log lines, which a
-- migration does not re-read (point ingest.py at a fresh database to have them). Text
-- columns use {BIN}, byte for byte, like the rest of the table.
ALTER TABLE events
    ADD COLUMN elapsed_ms    BIGINT,
    ADD COLUMN connection_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE {BIN},
    ADD COLUMN method        VARCHAR(64) CHARACTER SET utf8mb4 COLLATE {BIN},
    ADD COLUMN error         VARCHAR(1000) CHARACTER SET utf8mb4 COLLATE {BIN};
