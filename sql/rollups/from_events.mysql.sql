-- from_events (MySQL/MariaDB): the daily_stats rows recomputed from the raw events table.
-- Returns day, kind, username ('' for login_failed), events, bytes, failed. No parameters.
-- SUM of a BIGINT is a DECIMAL here (no overflow); bytes is clamped to 0..2^62 like the
-- stored cells (store.BYTES_CAP).
SELECT day, kind,
       CASE WHEN kind = 'login_failed' THEN '' ELSE username END AS username,
       COUNT(*) AS events,
       LEAST(GREATEST(COALESCE(SUM(size_bytes), 0), 0), 4611686018427387904) AS bytes,
       COALESCE(SUM(failed), 0) AS failed
FROM events
GROUP BY day, kind, CASE WHEN kind = 'login_failed' THEN '' ELSE username END
