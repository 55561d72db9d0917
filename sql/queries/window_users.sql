-- name: window_users
-- Returns one row per (user, kind) of the upload, download, file_op and login events with a
-- non-empty username between the times `since` and `until` (both included): username, kind,
-- events, bytes_hi, bytes_lo, failed (bytes as in stats_by_day.sql). The users of a window
-- (dashboard/window.py), counted by the rules stats_users.sql counts the days by.
SELECT username, kind, COUNT(*) AS events,
       SUM(size_bytes >> 31) AS bytes_hi, SUM(size_bytes & 2147483647) AS bytes_lo,
       SUM(failed) AS failed
FROM events
WHERE ts >= :since AND ts <= :until /*event_nodes*/
  AND kind IN ('upload', 'download', 'file_op', 'login') AND username <> ''
GROUP BY username, kind
