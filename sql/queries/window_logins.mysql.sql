-- name: window_logins (MySQL/MariaDB)
-- Returns what window_logins.sql returns, reading the rare events' keys (events_rare) by kind
-- and time, then each event.
SELECT COALESCE(client, '') AS client, COALESCE(encrypted, -1) AS encrypted, username,
       COUNT(*) AS logins
FROM events_rare JOIN events USING (file_id, start_offset)
WHERE rare_kind = 'login' AND rare_ts >= :since AND rare_ts <= :until /*event_nodes*/
GROUP BY COALESCE(client, ''), COALESCE(encrypted, -1), username
