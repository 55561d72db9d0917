-- name: window_user
-- Returns the user `username`'s upload, download, file_op and login events between the times
-- `since` and `until` (both included) grouped by day, kind, protocol and IP ('' for a
-- missing value): day, kind, protocol, ip, events, bytes_hi, bytes_lo, failed. The totals,
-- days, protocols and IPs of a window's /api/users/<name> (dashboard/window.py). One range
-- of ix_events_user (username, ts).
SELECT substr(ts, 1, 10) AS day, kind, COALESCE(protocol, '') AS protocol,
       COALESCE(remote_ip, '') AS ip, COUNT(*) AS events,
       SUM(size_bytes >> 31) AS bytes_hi, SUM(size_bytes & 2147483647) AS bytes_lo,
       SUM(failed) AS failed
FROM events
WHERE username = :username AND ts >= :since AND ts <= :until /*event_nodes*/
  AND kind IN ('upload', 'download', 'file_op', 'login')
GROUP BY substr(ts, 1, 10), kind, COALESCE(protocol, ''), COALESCE(remote_ip, '')
