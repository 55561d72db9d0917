-- from_events (SQLite): the daily_stats rows recomputed from the raw events table.
-- Returns day, kind, username ('' for login_failed), events, bytes, failed. No parameters.
-- bytes saturates at 2^62 like the stored cells (store.BYTES_CAP). SQLite's SUM raises on
-- int64 overflow, so the sizes are summed as high and low 32-bit halves (>> is arithmetic,
-- & 4294967295 the unsigned low half) and recombined: hi * 2^32 + lo, clamped to 0..2^62.
SELECT day, kind, username, events,
       CASE WHEN hi >= 1073741824 THEN 4611686018427387904
            WHEN hi < 0 THEN 0
            ELSE hi * 4294967296 + lo END AS bytes,
       failed
FROM (SELECT day, kind, username, events, hi + (lo_sum >> 32) AS hi,
             lo_sum & 4294967295 AS lo, failed
      FROM (SELECT day, kind,
                   CASE WHEN kind = 'login_failed' THEN '' ELSE username END AS username,
                   COUNT(*) AS events,
                   COALESCE(SUM(size_bytes >> 32), 0) AS hi,
                   COALESCE(SUM(size_bytes & 4294967295), 0) AS lo_sum,
                   COALESCE(SUM(failed), 0) AS failed
            FROM events
            GROUP BY day, kind, CASE WHEN kind = 'login_failed' THEN '' ELSE username END) s) t
