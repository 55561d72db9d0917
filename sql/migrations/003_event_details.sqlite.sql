-- 003_event_details (SQLite): four facts per event for the security, user and audit views
-- (docs/counting-rules.md): elapsed_ms (transfers: elapsed_ms, file ops: elapsed), connection_id,
-- method (logins: method or the pre-2.7 text's; failed logins: login_type) and error (its
-- first 1,000 characters). Events stored before this keep NULL in them: the facts are only
-- in the log lines, which a migration does not re-read (point ingest.py at a fresh database
-- to have them). The 'ban' kind needs no DDL: kind is free text.
ALTER TABLE events ADD COLUMN elapsed_ms INTEGER;
ALTER TABLE events ADD COLUMN connection_id TEXT;
ALTER TABLE events ADD COLUMN method TEXT;
ALTER TABLE events ADD COLUMN error TEXT;
