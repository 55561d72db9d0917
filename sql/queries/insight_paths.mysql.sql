-- name: insight_paths (MySQL/MariaDB)
-- Returns what insight_paths.sql returns; DIV/MOD rather than >>/& (unsigned here).
SELECT path, SUM(uploads) AS uploads, SUM(downloads) AS downloads,
       SUM(bytes_uploaded DIV 2147483648) AS up_hi, SUM(bytes_uploaded MOD 2147483648) AS up_lo,
       SUM(bytes_downloaded DIV 2147483648) AS down_hi,
       SUM(bytes_downloaded MOD 2147483648) AS down_lo,
       COUNT(DISTINCT CASE WHEN username <> '' THEN username END) AS users
FROM path_daily
WHERE depth = :depth AND day >= :start AND day <= :end
  AND (:user IS NULL OR username = :user) /*nodes*/
GROUP BY path
