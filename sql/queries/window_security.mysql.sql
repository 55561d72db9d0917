-- name: window_security (MySQL/MariaDB)
-- Returns what window_security.sql returns, reading the rare events' keys (events_rare,
-- migration 013: failed logins and bans are rare kinds) by kind and time, then each event.
SELECT SUBSTRING(CAST(ts AS CHAR), 1, 10) AS day, kind, COALESCE(remote_ip, '') AS ip,
       username, COALESCE(method, '') AS method, COALESCE(protocol, '') AS protocol,
       COUNT(*) AS events, MIN(ts) AS first_ts, MAX(ts) AS last_ts
FROM events_rare JOIN events USING (file_id, start_offset)
WHERE rare_kind IN ('login_failed', 'ban') AND rare_ts >= :since AND rare_ts <= :until
  /*event_nodes*/
GROUP BY SUBSTRING(CAST(ts AS CHAR), 1, 10), kind, COALESCE(remote_ip, ''), username,
         COALESCE(method, ''), COALESCE(protocol, '')
