-- from_events (SQLite): the daily_stats rows recomputed from the raw events table.
-- Returns day, kind, username ('' for login_failed), node (the event's file's), events, bytes,
-- failed. The comment NODE below is replaced by rollups.py with a node condition (or nothing).
-- bytes saturates at 2^62 like the stored cells (store.BYTES_CAP). SQLite's SUM raises on
-- int64 overflow, so the sizes are summed as high and low 32-bit halves (>> is arithmetic,
-- & 4294967295 the unsigned low half) and recombined: hi * 2^32 + lo, clamped to 0..2^62.
SELECT day, kind, username, node, events,
       CASE WHEN hi >= 1073741824 THEN 4611686018427387904
            WHEN hi < 0 THEN 0
            ELSE hi * 4294967296 + lo END AS bytes,
       failed
FROM (SELECT day, kind, username, node, events, hi + (lo_sum >> 32) AS hi,
             lo_sum & 4294967295 AS lo, failed
      FROM (SELECT e.day, e.kind,
                   CASE WHEN e.kind = 'login_failed' THEN '' ELSE e.username END AS username,
                   lf.node,
                   COUNT(*) AS events,
                   COALESCE(SUM(e.size_bytes >> 32), 0) AS hi,
                   COALESCE(SUM(e.size_bytes & 4294967295), 0) AS lo_sum,
                   COALESCE(SUM(e.failed), 0) AS failed
            FROM events e JOIN log_files lf ON lf.id = e.file_id
            WHERE 1 = 1 /*node*/
            GROUP BY e.day, e.kind,
                     CASE WHEN e.kind = 'login_failed' THEN '' ELSE e.username END,
                     lf.node) s) t
