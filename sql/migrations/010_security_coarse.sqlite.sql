-- 010_security_coarse (SQLite): rollups that keep /api/security fast under a brute-force
-- attack. login_failures_daily (day x ip x username x method x protocol x node) was nearly
-- as big as the raw failures when attackers vary every dimension (576,497 cells for
-- 1,003,000 failures on bench_security's year), and every answer COUNT(DISTINCT)-ed all of
-- it: 1.5 s. It is replaced by coarser rollups, each read by one part of the answer
-- (sql/queries), each with the node at the end of its key as every rollup since 007:
--   login_failures_ip_daily      day x ip x node: failures, first and last time (totals, by_ip);
--   login_failures_user_daily    day x username x node (totals.usernames, by_username);
--   login_failures_method_daily  day x method x protocol x node (by_method, by_protocol);
--   login_failure_pairs          ip x username x node of all time, first and last day;
--   login_failure_pair_days      ip x username x day x node, keyed for a probe.
-- The distinct counts of the listed rows only (usernames of the top IPs, IPs of the top
-- names) come from the pairs: a pair whose first or last day is in the range counts (it
-- failed that day), one whose days span the range is probed in login_failure_pair_days
-- (one short range of its key), one outside is skipped; a name or IP on two nodes is
-- counted once (COUNT(DISTINCT) over the pairs of the nodes asked for). That is ~0.1-2 ms
-- on bench_security's year instead of a COUNT(DISTINCT) over every cell of the range (57-90
-- ms on day x ip x username cells, 260 ms on the old table).
-- Kept by store.store_batch in the transaction of the events (store.SECURITY_ROLLUPS);
-- filled here from login_failures_daily, which holds every key they need, the node
-- included (007), and no pruned day is lost (rollups are never pruned, 008): no log
-- re-read. Then that table is dropped: nothing reads it any more, and it cost every batch
-- of failures one more upsert per cell. bans_daily (day x ip x node, 007) stays as it is.
-- '' stands for a missing ip, method or protocol.
CREATE TABLE login_failures_ip_daily (
    day      TEXT    NOT NULL,
    ip       TEXT    NOT NULL,
    node     TEXT    NOT NULL DEFAULT '',
    events   INTEGER NOT NULL,
    first_ts TEXT    NOT NULL,
    last_ts  TEXT    NOT NULL,
    PRIMARY KEY (day, ip, node)
) WITHOUT ROWID;
CREATE TABLE login_failures_user_daily (
    day      TEXT    NOT NULL,
    username TEXT    NOT NULL,
    node     TEXT    NOT NULL DEFAULT '',
    events   INTEGER NOT NULL,
    PRIMARY KEY (day, username, node)
) WITHOUT ROWID;
CREATE TABLE login_failures_method_daily (
    day      TEXT    NOT NULL,
    method   TEXT    NOT NULL,
    protocol TEXT    NOT NULL,
    node     TEXT    NOT NULL DEFAULT '',
    events   INTEGER NOT NULL,
    PRIMARY KEY (day, method, protocol, node)
) WITHOUT ROWID;
CREATE TABLE login_failure_pairs (
    ip        TEXT    NOT NULL,
    username  TEXT    NOT NULL,
    node      TEXT    NOT NULL DEFAULT '',
    events    INTEGER NOT NULL,
    first_day TEXT    NOT NULL,
    last_day  TEXT    NOT NULL,
    PRIMARY KEY (ip, username, node)
) WITHOUT ROWID;
CREATE INDEX ix_login_failure_pairs_username ON login_failure_pairs (username, ip, node);
CREATE TABLE login_failure_pair_days (
    ip       TEXT    NOT NULL,
    username TEXT    NOT NULL,
    day      TEXT    NOT NULL,
    node     TEXT    NOT NULL DEFAULT '',
    events   INTEGER NOT NULL,
    PRIMARY KEY (ip, username, day, node)
) WITHOUT ROWID;
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
-- /api/events with a rare value: failed=1, or one kind other than upload/download (ban,
-- login, file_op, login_failed). Through ix_events_ts such a page walked the time index
-- until it had `limit` matches: the whole range when there are none (0.9-1.4 s for a year).
-- Partial indexes hold only those rows, in page order, so the page is one short range; a
-- transfer (most rows on a busy server) is written to neither, and a failed one to one.
-- dashboard/audit.py adds their WHERE terms literally, so the planner can use them.
CREATE INDEX ix_events_failed ON events (ts, file_id, start_offset) WHERE failed = 1;
CREATE INDEX ix_events_kind ON events (kind, ts, file_id, start_offset)
    WHERE kind NOT IN ('upload', 'download');
