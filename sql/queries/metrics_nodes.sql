-- name: metrics_nodes
-- Returns one row per node of stats_totals: node, newest (the newest event's time; NULL
-- when every cell's events were pruned before migration 015), bans. (The users seen are the
-- non-empty names among metrics_user_totals' rows of the node: a COUNT(DISTINCT) here would
-- cost MariaDB five times this query.)
SELECT node, MAX(last_ts) AS newest,
       SUM(CASE WHEN kind = 'ban' THEN events ELSE 0 END) AS bans
FROM stats_totals
GROUP BY node
