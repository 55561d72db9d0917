-- name: insight_paths
-- Returns the folders at `depth` of the transfers between the days start and end (both
-- included), of the user `user` when it is not NULL, that can be among the `last` + 1
-- folders that moved the most bytes: path, uploads, downloads, up_hi, up_lo, down_hi,
-- down_lo (bytes = hi * 2^31 + lo, added up in Python: SQLite's SUM raises past 2^63),
-- users (distinct non-empty usernames, over every node asked for). Reads path_daily
-- (migration 018) by its key: one depth, a range of days.
-- The ranking happens here, so a year of day-dated folders (tens of thousands at depth 7)
-- is not carried to Python to keep a hundred: a folder is kept when its byte total, added
-- up as a float (TOTAL never raises), is at least the (last + 1)-th largest less a margin far
-- wider than a float sum's rounding; Python then ranks the kept ones exactly and cuts.
WITH folders AS (
    SELECT path, SUM(uploads) AS uploads, SUM(downloads) AS downloads,
           SUM(bytes_uploaded >> 31) AS up_hi, SUM(bytes_uploaded & 2147483647) AS up_lo,
           SUM(bytes_downloaded >> 31) AS down_hi,
           SUM(bytes_downloaded & 2147483647) AS down_lo,
           COUNT(DISTINCT CASE WHEN username <> '' THEN username END) AS users,
           TOTAL(bytes_uploaded) + TOTAL(bytes_downloaded) AS approx
    FROM path_daily
    WHERE depth = :depth AND day >= :start AND day <= :end
      AND (:user IS NULL OR username = :user) /*nodes*/
    GROUP BY path
)
SELECT path, uploads, downloads, up_hi, up_lo, down_hi, down_lo, users
FROM folders
WHERE approx >= COALESCE((SELECT approx FROM folders ORDER BY approx DESC
                          LIMIT 1 OFFSET :last), 0) * 0.999999
