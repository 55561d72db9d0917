-- name: metrics_user_totals
-- Returns one row per node and username of the user kinds in stats_totals (migration 015,
-- daily_stats summed over all days): node, username, slot (the user's metrics_users slot,
-- NULL when it has none), uploads, upload_bytes, upload_failures, downloads,
-- download_bytes, download_failures, file_ops, logins (NULL where the user has no cell of
-- that kind: there is one cell per kind, which MAX picks). One row per user and node rather
-- than one per cell: a quarter of the rows for the driver to read.
SELECT t.node, t.username, MAX(mu.slot) AS slot,
       MAX(CASE WHEN t.kind = 'upload' THEN t.events END) AS uploads,
       MAX(CASE WHEN t.kind = 'upload' THEN t.bytes END) AS upload_bytes,
       MAX(CASE WHEN t.kind = 'upload' THEN t.failed END) AS upload_failures,
       MAX(CASE WHEN t.kind = 'download' THEN t.events END) AS downloads,
       MAX(CASE WHEN t.kind = 'download' THEN t.bytes END) AS download_bytes,
       MAX(CASE WHEN t.kind = 'download' THEN t.failed END) AS download_failures,
       MAX(CASE WHEN t.kind = 'file_op' THEN t.events END) AS file_ops,
       MAX(CASE WHEN t.kind = 'login' THEN t.events END) AS logins
FROM stats_totals t LEFT JOIN metrics_users mu ON mu.username = t.username
WHERE t.kind IN ('upload', 'download', 'file_op', 'login')
GROUP BY t.node, t.username
