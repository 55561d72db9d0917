-- name: window_user_counts
-- Returns what window_counts.sql returns for the user `username`'s upload, download,
-- file_op and login events only. One range of ix_events_user (username, ts).
SELECT substr(ts, 1, :chars) AS slot, kind, COUNT(*) AS events,
       SUM(size_bytes >> 31) AS bytes_hi, SUM(size_bytes & 2147483647) AS bytes_lo,
       SUM(failed) AS failed
FROM events
WHERE username = :username AND ts >= :since AND ts <= :until /*event_nodes*/
  AND kind IN ('upload', 'download', 'file_op', 'login')
GROUP BY slot, kind
