-- name: user_days (MySQL/MariaDB)
-- Returns what user_days.sql returns; DIV/MOD split the bytes (see stats_by_day.mysql.sql).
SELECT day, kind, SUM(events) AS events,
       SUM(bytes DIV 2147483648) AS bytes_hi, SUM(bytes MOD 2147483648) AS bytes_lo,
       SUM(failed) AS failed
FROM daily_stats
WHERE day >= :start AND day <= :end /*nodes*/ AND username = :username
  AND kind IN ('upload', 'download', 'file_op', 'login')
GROUP BY day, kind
