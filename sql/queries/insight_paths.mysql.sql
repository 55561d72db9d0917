-- name: insight_paths (MySQL/MariaDB)
-- Returns what insight_paths.sql returns; DIV/MOD rather than >>/& (unsigned here). SUM of
-- an unsigned BIGINT is an exact DECIMAL here, so the threshold needs no margin: the folders
-- kept are those whose total is at least the (last + 1)-th largest (ties included).
WITH folders AS (
    SELECT path, SUM(uploads) AS uploads, SUM(downloads) AS downloads,
           SUM(bytes_uploaded DIV 2147483648) AS up_hi,
           SUM(bytes_uploaded MOD 2147483648) AS up_lo,
           SUM(bytes_downloaded DIV 2147483648) AS down_hi,
           SUM(bytes_downloaded MOD 2147483648) AS down_lo,
           COUNT(DISTINCT CASE WHEN username <> '' THEN username END) AS users,
           SUM(bytes_uploaded) + SUM(bytes_downloaded) AS total
    FROM path_daily
    WHERE depth = :depth AND day >= :start AND day <= :end
      AND (:user IS NULL OR username = :user) /*nodes*/
    GROUP BY path
)
SELECT path, uploads, downloads, up_hi, up_lo, down_hi, down_lo, users
FROM folders
WHERE total >= COALESCE((SELECT total FROM folders ORDER BY total DESC
                         LIMIT 1 OFFSET :last), 0)
