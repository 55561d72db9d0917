-- from_events: the daily_stats rows recomputed from the raw events table.
-- Returns day, kind, username ('' for login_failed), events, bytes, failed. No parameters.
SELECT day, kind,
       CASE WHEN kind = 'login_failed' THEN '' ELSE username END AS username,
       COUNT(*) AS events,
       COALESCE(SUM(size_bytes), 0) AS bytes,
       COALESCE(SUM(failed), 0) AS failed
FROM events
GROUP BY day, kind, CASE WHEN kind = 'login_failed' THEN '' ELSE username END
