-- name: window_counts (MySQL/MariaDB)
-- Returns what window_counts.sql returns: ts (DATETIME(3)) cast to its text
-- 'YYYY-MM-DD HH:MM:SS.mmm' and cut to `chars`; DIV/MOD split the bytes.
SELECT SUBSTRING(CAST(ts AS CHAR), 1, :chars) AS slot, kind,
       COUNT(*) AS events,
       SUM(size_bytes DIV 2147483648) AS bytes_hi, SUM(size_bytes MOD 2147483648) AS bytes_lo,
       SUM(failed) AS failed
FROM events
WHERE ts >= :since AND ts <= :until /*event_nodes*/
GROUP BY slot, kind
