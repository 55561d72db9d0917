-- name: window_user_counts (MySQL/MariaDB)
-- Returns what window_user_counts.sql returns (see window_counts.mysql.sql).
SELECT SUBSTRING(CAST(ts AS CHAR), 1, :chars) AS slot, kind,
       COUNT(*) AS events,
       SUM(size_bytes DIV 2147483648) AS bytes_hi, SUM(size_bytes MOD 2147483648) AS bytes_lo,
       SUM(failed) AS failed
FROM events
WHERE username = :username AND ts >= :since AND ts <= :until /*event_nodes*/
  AND kind IN ('upload', 'download', 'file_op', 'login')
GROUP BY slot, kind
