-- name: window_users (MySQL/MariaDB)
-- Returns what window_users.sql returns; DIV/MOD split the bytes.
SELECT username, kind, COUNT(*) AS events,
       SUM(size_bytes DIV 2147483648) AS bytes_hi, SUM(size_bytes MOD 2147483648) AS bytes_lo,
       SUM(failed) AS failed
FROM events
WHERE ts >= :since AND ts <= :until /*event_nodes*/
  AND kind IN ('upload', 'download', 'file_op', 'login') AND username <> ''
GROUP BY username, kind
