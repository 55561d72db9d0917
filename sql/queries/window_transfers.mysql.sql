-- name: window_transfers (MySQL/MariaDB)
-- Returns what window_transfers.sql returns; DIV/MOD rather than >>/& (unsigned here).
SELECT username, kind, file_path, COUNT(*) AS transfers,
       SUM(size_bytes DIV 2147483648) AS bytes_hi, SUM(size_bytes MOD 2147483648) AS bytes_lo
FROM events
WHERE ts >= :since AND ts <= :until AND kind IN ('upload', 'download')
  AND file_path IS NOT NULL /*event_nodes*/
GROUP BY username, kind, file_path
