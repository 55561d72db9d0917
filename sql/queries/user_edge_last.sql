-- name: user_edge_last
-- Returns the ts of the user's last event of the `kinds` (expanding) between the times
-- `since` and `until` (inclusive), or no row. Walks ix_events_user (username, ts, ...) down.
SELECT ts FROM events
WHERE username = :username AND ts >= :since AND ts <= :until /*event_nodes*/ AND kind IN :kinds
ORDER BY ts DESC, file_id DESC, start_offset DESC
LIMIT 1
