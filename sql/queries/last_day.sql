-- name: last_day
-- Returns the latest day that has any event (one row, one column; NULL when empty).
SELECT MAX(day) AS last_day FROM daily_stats WHERE 1 = 1 /*nodes*/
