-- name: user_protocols (MySQL/MariaDB)
-- Returns what user_protocols.sql returns; DIV/MOD split the bytes.
SELECT COALESCE(protocol, '') AS protocol, COUNT(*) AS transfers,
       SUM(size_bytes DIV 2147483648) AS bytes_hi, SUM(size_bytes MOD 2147483648) AS bytes_lo
FROM events
WHERE username = :username AND ts >= :since AND ts <= :until /*event_nodes*/
  AND kind IN ('upload', 'download')
GROUP BY COALESCE(protocol, '')
