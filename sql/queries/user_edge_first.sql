-- name: user_edge_first
-- Returns the ts of the user's first event of the `kinds` (expanding) between the times
-- `since` and `until` (inclusive), or no row. Walks ix_events_user (username, ts, ...) up.
SELECT ts FROM events
WHERE username = :username AND ts >= :since AND ts <= :until /*event_nodes*/ AND kind IN :kinds
ORDER BY ts, file_id, start_offset
LIMIT 1
