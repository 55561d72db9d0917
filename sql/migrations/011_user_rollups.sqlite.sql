-- 011_user_rollups (SQLite): what /api/users/<name> groups per IP and per protocol, kept per
-- user x day x value x node in the ingester's transaction (store.USER_ROLLUPS), so a
-- year's answer reads a few hundred cells instead of the user's events. Keyed by username
-- first: the API reads one user's range of days. Like every rollup they are never pruned.
-- user_ips_daily: the events (upload, download, file_op, login) with a non-empty
-- remote_ip. user_protocols_daily: the transfers (upload, download) and their bytes per
-- protocol ('' when absent); bytes saturates at 2^62 (store.BYTES_CAP).
-- Filled here from the events there are (the days that retention pruned stay without).
CREATE TABLE user_ips_daily (
    username TEXT    NOT NULL,
    day      TEXT    NOT NULL,
    ip       TEXT    NOT NULL,
    node     TEXT    NOT NULL DEFAULT '',
    events   INTEGER NOT NULL,
    PRIMARY KEY (username, day, ip, node)
) WITHOUT ROWID;
CREATE TABLE user_protocols_daily (
    username  TEXT    NOT NULL,
    day       TEXT    NOT NULL,
    protocol  TEXT    NOT NULL,
    node      TEXT    NOT NULL DEFAULT '',
    transfers INTEGER NOT NULL,
    bytes     INTEGER NOT NULL,
    PRIMARY KEY (username, day, protocol, node)
) WITHOUT ROWID;
INSERT INTO user_ips_daily (username, day, ip, node, events)
SELECT e.username, e.day, e.remote_ip, lf.node, COUNT(*)
FROM events e JOIN log_files lf ON lf.id = e.file_id
WHERE e.kind IN ('upload', 'download', 'file_op', 'login')
  AND e.remote_ip IS NOT NULL AND e.remote_ip <> ''
GROUP BY e.username, e.day, e.remote_ip, lf.node;
-- bytes summed as 32-bit halves (SQLite's SUM raises on overflow), clamped to 0..2^62
INSERT INTO user_protocols_daily (username, day, protocol, node, transfers, bytes)
SELECT username, day, protocol, node, transfers,
       CASE WHEN hi >= 1073741824 THEN 4611686018427387904 WHEN hi < 0 THEN 0
            ELSE hi * 4294967296 + lo END
FROM (SELECT username, day, protocol, node, transfers, hi + (lo_sum >> 32) AS hi,
             lo_sum & 4294967295 AS lo
      FROM (SELECT e.username, e.day, COALESCE(e.protocol, '') AS protocol, lf.node,
                   COUNT(*) AS transfers, COALESCE(SUM(e.size_bytes >> 32), 0) AS hi,
                   COALESCE(SUM(e.size_bytes & 4294967295), 0) AS lo_sum
            FROM events e JOIN log_files lf ON lf.id = e.file_id
            WHERE e.kind IN ('upload', 'download')
            GROUP BY e.username, e.day, COALESCE(e.protocol, ''), lf.node) s) t;
