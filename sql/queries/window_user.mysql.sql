-- name: window_user (MySQL/MariaDB)
-- Returns what window_user.sql returns; DIV/MOD split the bytes.
SELECT SUBSTRING(CAST(ts AS CHAR), 1, 10) AS day, kind, COALESCE(protocol, '') AS protocol,
       COALESCE(remote_ip, '') AS ip, COUNT(*) AS events,
       SUM(size_bytes DIV 2147483648) AS bytes_hi, SUM(size_bytes MOD 2147483648) AS bytes_lo,
       SUM(failed) AS failed
FROM events
WHERE username = :username AND ts >= :since AND ts <= :until /*event_nodes*/
  AND kind IN ('upload', 'download', 'file_op', 'login')
GROUP BY SUBSTRING(CAST(ts AS CHAR), 1, 10), kind, COALESCE(protocol, ''), COALESCE(remote_ip, '')
