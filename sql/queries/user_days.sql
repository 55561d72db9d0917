-- name: user_days
-- Returns one row per (day, kind) of the user `username` (byte for byte) in start..end, for
-- the kinds upload, download, file_op, login: day, kind, events, bytes_hi, bytes_lo, failed,
-- bytes = bytes_hi * 2^31 + bytes_lo as in stats_by_day.sql. Reads daily_stats.
SELECT day, kind, SUM(events) AS events,
       SUM(bytes >> 31) AS bytes_hi, SUM(bytes & 2147483647) AS bytes_lo,
       SUM(failed) AS failed
FROM daily_stats
WHERE day >= :start AND day <= :end /*nodes*/ AND username = :username
  AND kind IN ('upload', 'download', 'file_op', 'login')
GROUP BY day, kind
