-- name: newest_event
-- Returns the time of the newest event (one row, one column; no row when there is none):
-- ix_events_ts walked from its end, to the first event of the nodes asked for, if any.
SELECT ts AS newest_event FROM events
WHERE 1 = 1 /*event_nodes*/
ORDER BY ts DESC
LIMIT 1
