-- name: users_count
-- Returns the number of users between the bind parameters start and end ('YYYY-MM-DD', both
-- days included): distinct non-empty names of upload, download, file_op and login events
-- (one row, one column). Counts every user, however many stats_users lists.
SELECT COUNT(DISTINCT username) AS users
FROM daily_stats
WHERE day >= :start AND day <= :end /*nodes*/
  AND kind IN ('upload', 'download', 'file_op', 'login')
  AND username <> ''
