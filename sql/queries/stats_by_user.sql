-- name: stats_by_user
-- Returns one row per (username, kind) for the users between the bind parameters start
-- and end ('YYYY-MM-DD', both days included): username, kind, events, bytes, failed. Users are the non-empty names of
-- upload, download, file_op and login events; failed-login names never count as users.
-- Reads the daily_stats rollup only; the columns compare byte for byte on every backend.
SELECT username, kind, SUM(events) AS events, SUM(bytes) AS bytes, SUM(failed) AS failed
FROM daily_stats
WHERE day >= :start AND day <= :end
  AND kind IN ('upload', 'download', 'file_op', 'login')
  AND username <> ''
GROUP BY username, kind
