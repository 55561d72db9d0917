-- name: window_logins
-- Returns the logins between the times `since` and `until` (both included) per client ('' for
-- none), encrypted (-1: the line did not say) and username: client, encrypted, username,
-- logins (a window's /api/clients). On SQLite the partial index ix_events_kind holds the
-- login rows: its WHERE term is stated.
SELECT COALESCE(client, '') AS client, COALESCE(encrypted, -1) AS encrypted, username,
       COUNT(*) AS logins
FROM events
WHERE kind = 'login' AND kind NOT IN ('upload', 'download')
  AND ts >= :since AND ts <= :until /*event_nodes*/
GROUP BY COALESCE(client, ''), COALESCE(encrypted, -1), username
