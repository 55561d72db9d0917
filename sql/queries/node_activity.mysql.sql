-- name: node_activity (MySQL/MariaDB)
-- Returns what node_activity.sql returns; DIV/MOD split the DECIMAL sums (see
-- stats_by_day.mysql.sql).
SELECT node, kind, SUM(events) AS events,
       SUM(bytes DIV 2147483648) AS bytes_hi, SUM(bytes MOD 2147483648) AS bytes_lo
FROM daily_stats
WHERE day >= :start AND day <= :end /*nodes*/
GROUP BY node, kind
