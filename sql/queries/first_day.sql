-- name: first_day
-- Returns the earliest day that has any event (one row, one column; NULL when empty).
SELECT MIN(day) AS first_day FROM daily_stats WHERE 1 = 1 /*nodes*/
