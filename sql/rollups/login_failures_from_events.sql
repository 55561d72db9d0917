-- login_failures_from_events: the login_failures_daily rows recomputed from the raw events.
-- Returns day, ip, username, method, protocol ('' for a missing ip, method or protocol),
-- node (the event's file's), events, first_ts, last_ts. The comment NODE below is replaced by
-- rollups.py with a node condition (or nothing). Same SQL on SQLite and MySQL/MariaDB.
SELECT e.day, COALESCE(e.remote_ip, '') AS ip, e.username, COALESCE(e.method, '') AS method,
       COALESCE(e.protocol, '') AS protocol, lf.node, COUNT(*) AS events, MIN(e.ts) AS first_ts,
       MAX(e.ts) AS last_ts
FROM events e JOIN log_files lf ON lf.id = e.file_id
WHERE e.kind = 'login_failed' /*node*/
GROUP BY e.day, COALESCE(e.remote_ip, ''), e.username, COALESCE(e.method, ''),
         COALESCE(e.protocol, ''), lf.node
