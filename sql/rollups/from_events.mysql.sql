-- from_events (MySQL/MariaDB): the daily_stats rows recomputed from the raw events table.
-- Returns day, kind, username ('' for login_failed), node (the event's file's), events, bytes,
-- failed. The comment NODE below is replaced by rollups.py with a node condition (or nothing).
-- SUM of a BIGINT is a DECIMAL here (no overflow); bytes is clamped to 0..2^62 like the
-- stored cells (store.BYTES_CAP).
SELECT e.day, e.kind,
       CASE WHEN e.kind = 'login_failed' THEN '' ELSE e.username END AS username,
       lf.node,
       COUNT(*) AS events,
       LEAST(GREATEST(COALESCE(SUM(e.size_bytes), 0), 0), 4611686018427387904) AS bytes,
       COALESCE(SUM(e.failed), 0) AS failed
FROM events e JOIN log_files lf ON lf.id = e.file_id
WHERE 1 = 1 /*node*/
GROUP BY e.day, e.kind, CASE WHEN e.kind = 'login_failed' THEN '' ELSE e.username END, lf.node
