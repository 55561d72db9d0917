-- 004_security_rollups (SQLite): what keeps /api/security and /api/users fast on a year of a
-- busy server. Two rollups kept by store.store_batch in the transaction of the events:
-- failed logins per day x ip x username x method x protocol (with the first and last time,
-- for by_ip's first/last), and bans per day x ip. '' stands for a missing ip, method or
-- protocol. Filled here from the events already stored (no log is re-read).
-- Indexes for the raw-event reads (keyset order is ts, file_id, start_offset, descending):
--   ix_events_ts    /api/events and the CSV without a user or ip filter: the page is the
--                   next rows of this index, whatever the table's size;
--   ix_events_user  a user's recent events, first_seen / last_seen, ips and protocols, and
--                   /api/events?user=: one index range per user;
--   ix_events_ip    /api/events?ip= (from the security page's top IPs to the audit trail).
CREATE TABLE login_failures_daily (
    day      TEXT    NOT NULL,
    ip       TEXT    NOT NULL,
    username TEXT    NOT NULL,
    method   TEXT    NOT NULL,
    protocol TEXT    NOT NULL,
    events   INTEGER NOT NULL,
    first_ts TEXT    NOT NULL,
    last_ts  TEXT    NOT NULL,
    PRIMARY KEY (day, ip, username, method, protocol)
) WITHOUT ROWID;
CREATE TABLE bans_daily (
    day    TEXT    NOT NULL,
    ip     TEXT    NOT NULL,
    events INTEGER NOT NULL,
    PRIMARY KEY (day, ip)
) WITHOUT ROWID;
INSERT INTO login_failures_daily (day, ip, username, method, protocol, events, first_ts, last_ts)
SELECT day, COALESCE(remote_ip, ''), username, COALESCE(method, ''), COALESCE(protocol, ''),
       COUNT(*), MIN(ts), MAX(ts)
FROM events WHERE kind = 'login_failed'
GROUP BY day, COALESCE(remote_ip, ''), username, COALESCE(method, ''), COALESCE(protocol, '');
INSERT INTO bans_daily (day, ip, events)
SELECT day, COALESCE(remote_ip, ''), COUNT(*) FROM events WHERE kind = 'ban'
GROUP BY day, COALESCE(remote_ip, '');
CREATE INDEX ix_events_ts ON events (ts, file_id, start_offset);
CREATE INDEX ix_events_user ON events (username, ts, file_id, start_offset);
CREATE INDEX ix_events_ip ON events (remote_ip, ts, file_id, start_offset);
