-- name: stats_by_day (MySQL/MariaDB)
-- Returns one row per (day, kind) that has events between the bind parameters start and end
-- ('YYYY-MM-DD', both days included): day, kind, events, bytes_hi, bytes_lo, failed, with
-- bytes = bytes_hi * 2^31 + bytes_lo as in stats_by_day.sql. SUM is DECIMAL here and cannot
-- overflow; the split keeps one row shape. DIV/MOD rather than >>/&, which are unsigned here
-- and would misread a negative value.
SELECT day, kind, SUM(events) AS events,
       SUM(bytes DIV 2147483648) AS bytes_hi, SUM(bytes MOD 2147483648) AS bytes_lo,
       SUM(failed) AS failed
FROM daily_stats
WHERE day >= :start AND day <= :end /*nodes*/
GROUP BY day, kind
ORDER BY day, kind
