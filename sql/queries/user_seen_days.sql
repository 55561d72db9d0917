-- name: user_seen_days
-- Returns one row for the user `username` over all time: first_day and last_day with an
-- upload, download, file_op or login event, last_login_day with a login (NULL when none).
-- Reads daily_stats; the times within those days come from user_edge_*.sql.
SELECT MIN(day) AS first_day, MAX(day) AS last_day,
       MAX(CASE WHEN kind = 'login' THEN day END) AS last_login_day
FROM daily_stats
WHERE username = :username /*nodes*/ AND kind IN ('upload', 'download', 'file_op', 'login')
