-- name: window_security
-- Returns the failed logins and bans between the times `since` and `until` (both included)
-- grouped by day, kind, IP, username, method and protocol ('' for a missing value): day,
-- kind, ip, username, method, protocol, events, first_ts, last_ts. The cells of a window's
-- /api/security (dashboard/window.py adds them up by the rules of docs/api.md). On
-- SQLite the partial index ix_events_kind holds these kinds' rows: its WHERE term is stated.
SELECT substr(ts, 1, 10) AS day, kind, COALESCE(remote_ip, '') AS ip, username,
       COALESCE(method, '') AS method, COALESCE(protocol, '') AS protocol,
       COUNT(*) AS events, MIN(ts) AS first_ts, MAX(ts) AS last_ts
FROM events
WHERE kind IN ('login_failed', 'ban') AND kind NOT IN ('upload', 'download')
  AND ts >= :since AND ts <= :until /*event_nodes*/
GROUP BY substr(ts, 1, 10), kind, COALESCE(remote_ip, ''), username, COALESCE(method, ''),
         COALESCE(protocol, '')
