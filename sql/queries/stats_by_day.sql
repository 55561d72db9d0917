-- name: stats_by_day
-- Returns one row per (day, kind) that has events between the bind parameters start and end
-- ('YYYY-MM-DD', both days included): day, kind, events, bytes_hi, bytes_lo, failed. Reads the
-- daily_stats rollup only, so its cost grows with days x kinds, not with events.
-- Bytes come split, bytes = bytes_hi * 2^31 + bytes_lo (added up in Python): SQLite's SUM
-- raises "integer overflow" past 2^63, and these two sums stay far below it.
SELECT day, kind, SUM(events) AS events,
       SUM(bytes >> 31) AS bytes_hi, SUM(bytes & 2147483647) AS bytes_lo,
       SUM(failed) AS failed
FROM daily_stats
WHERE day >= :start AND day <= :end /*nodes*/
GROUP BY day, kind
ORDER BY day, kind
