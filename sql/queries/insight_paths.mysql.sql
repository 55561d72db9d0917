-- name: insight_paths (MySQL/MariaDB)
-- Returns the `limit` folders of insight_paths.sql that moved the most bytes, in order (the
-- same columns; DIV/MOD rather than >>/&). SUM of a BIGINT is an exact DECIMAL here, and
-- the collation of path compares code points (utf8mb4_nopad_bin / _0900_bin) as Python's
-- str does, so the database's order is the answer's: ties by path, cut at `limit`.
-- The comment INDEX below is where dashboard/insight.py asks for path_daily_by_folder
-- (migration 020) when the range covers much of what is stored: the rows then arrive in
-- folder order and are not sorted.
SELECT path, SUM(uploads) AS uploads, SUM(downloads) AS downloads,
       SUM(bytes_uploaded DIV 2147483648) AS up_hi, SUM(bytes_uploaded MOD 2147483648) AS up_lo,
       SUM(bytes_downloaded DIV 2147483648) AS down_hi,
       SUM(bytes_downloaded MOD 2147483648) AS down_lo,
       COUNT(DISTINCT CASE WHEN username <> '' THEN username END) AS users
FROM path_daily /*index*/
WHERE depth = :depth AND day >= :start AND day <= :end
  AND (:user IS NULL OR username = :user) /*nodes*/
GROUP BY path
ORDER BY SUM(bytes_uploaded) + SUM(bytes_downloaded) DESC, path
LIMIT :limit
