-- name: security_days
-- Returns one row per (day, kind) with failed logins or bans in start..end: day, kind, events.
-- Reads daily_stats.
SELECT day, kind, SUM(events) AS events
FROM daily_stats
WHERE day >= :start AND day <= :end /*nodes*/ AND kind IN ('login_failed', 'ban')
GROUP BY day, kind
