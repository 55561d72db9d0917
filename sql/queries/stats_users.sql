-- name: stats_users
-- Returns one row per user between the bind parameters start and end ('YYYY-MM-DD', both
-- days included), the busiest first, at most users_limit rows (a bind parameter): username, uploads,
-- downloads, failed_transfers, up_hi, up_lo, down_hi, down_lo, file_ops, logins.
-- Users are the non-empty names of upload, download, file_op and login events (failed-login
-- names never count). Bytes come split as in stats_by_day.sql (bytes = hi * 2^31 + lo).
-- Order: bytes moved, then transfers, then other events (all descending), then username
-- byte for byte. The bytes order is exact: hi + (lo >> 31), lo & (2^31 - 1) are the total's
-- digits in base 2^31. Reads the daily_stats rollup only.
SELECT * FROM (
    SELECT username,
           SUM(CASE WHEN kind = 'upload' THEN events ELSE 0 END) AS uploads,
           SUM(CASE WHEN kind = 'download' THEN events ELSE 0 END) AS downloads,
           SUM(CASE WHEN kind IN ('upload', 'download') THEN failed ELSE 0 END) AS failed_transfers,
           SUM(CASE WHEN kind = 'upload' THEN bytes >> 31 ELSE 0 END) AS up_hi,
           SUM(CASE WHEN kind = 'upload' THEN bytes & 2147483647 ELSE 0 END) AS up_lo,
           SUM(CASE WHEN kind = 'download' THEN bytes >> 31 ELSE 0 END) AS down_hi,
           SUM(CASE WHEN kind = 'download' THEN bytes & 2147483647 ELSE 0 END) AS down_lo,
           SUM(CASE WHEN kind = 'file_op' THEN events ELSE 0 END) AS file_ops,
           SUM(CASE WHEN kind = 'login' THEN events ELSE 0 END) AS logins
    FROM daily_stats
    WHERE day >= :start AND day <= :end /*nodes*/
      AND kind IN ('upload', 'download', 'file_op', 'login')
      AND username <> ''
    GROUP BY username
) u
ORDER BY up_hi + down_hi + ((up_lo + down_lo) >> 31) DESC,
         (up_lo + down_lo) & 2147483647 DESC,
         uploads + downloads DESC, file_ops + logins DESC, username
LIMIT :users_limit
