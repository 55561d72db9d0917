-- name: node_activity
-- Returns one row per (node, kind) with events between the bind parameters start and end
-- ('YYYY-MM-DD', both days included): node, kind, events, bytes_hi, bytes_lo (bytes =
-- bytes_hi * 2^31 + bytes_lo, as in stats_by_day.sql). Reads daily_stats only.
SELECT node, kind, SUM(events) AS events,
       SUM(bytes >> 31) AS bytes_hi, SUM(bytes & 2147483647) AS bytes_lo
FROM daily_stats
WHERE day >= :start AND day <= :end /*nodes*/
GROUP BY node, kind
