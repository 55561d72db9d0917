-- login_failures_from_events: the login_failures_daily rows recomputed from the raw events.
-- Returns day, ip, username, method, protocol ('' for a missing ip, method or protocol),
-- events, first_ts, last_ts. No parameters. Same SQL on SQLite and MySQL/MariaDB.
SELECT day, COALESCE(remote_ip, '') AS ip, username, COALESCE(method, '') AS method,
       COALESCE(protocol, '') AS protocol, COUNT(*) AS events, MIN(ts) AS first_ts,
       MAX(ts) AS last_ts
FROM events
WHERE kind = 'login_failed'
GROUP BY day, COALESCE(remote_ip, ''), username, COALESCE(method, ''), COALESCE(protocol, '')
