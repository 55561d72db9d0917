-- name: stats_by_day
-- Returns one row per (day, kind) that has events between the bind parameters start and end
-- ('YYYY-MM-DD', both days included): day, kind, events, bytes, failed. Reads the daily_stats rollup only, so
-- its cost grows with days x kinds, not with events.
SELECT day, kind, SUM(events) AS events, SUM(bytes) AS bytes, SUM(failed) AS failed
FROM daily_stats
WHERE day >= :start AND day <= :end
GROUP BY day, kind
ORDER BY day, kind
