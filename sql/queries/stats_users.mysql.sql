-- name: stats_users (MySQL/MariaDB)
-- Returns what stats_users.sql returns (one row per user, the busiest first, at most
-- users_limit rows (a bind parameter); bytes split as hi * 2^31 + lo), plus volume. SUM is DECIMAL here, so
-- the order uses the exact volume directly; DIV/MOD split negative values correctly.
SELECT * FROM (
    SELECT username,
           SUM(CASE WHEN kind = 'upload' THEN events ELSE 0 END) AS uploads,
           SUM(CASE WHEN kind = 'download' THEN events ELSE 0 END) AS downloads,
           SUM(CASE WHEN kind IN ('upload', 'download') THEN failed ELSE 0 END) AS failed_transfers,
           SUM(CASE WHEN kind = 'upload' THEN bytes DIV 2147483648 ELSE 0 END) AS up_hi,
           SUM(CASE WHEN kind = 'upload' THEN bytes MOD 2147483648 ELSE 0 END) AS up_lo,
           SUM(CASE WHEN kind = 'download' THEN bytes DIV 2147483648 ELSE 0 END) AS down_hi,
           SUM(CASE WHEN kind = 'download' THEN bytes MOD 2147483648 ELSE 0 END) AS down_lo,
           SUM(CASE WHEN kind = 'file_op' THEN events ELSE 0 END) AS file_ops,
           SUM(CASE WHEN kind = 'login' THEN events ELSE 0 END) AS logins,
           SUM(CASE WHEN kind IN ('upload', 'download') THEN bytes ELSE 0 END) AS volume
    FROM daily_stats
    WHERE day >= :start AND day <= :end /*nodes*/
      AND kind IN ('upload', 'download', 'file_op', 'login')
      AND username <> ''
    GROUP BY username
) u
ORDER BY volume DESC, uploads + downloads DESC, file_ops + logins DESC, username
LIMIT :users_limit
