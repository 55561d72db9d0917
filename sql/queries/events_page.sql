-- name: events_page
-- Returns at most `limit` events, newest first (ts, then source position, descending), with
-- the columns of /api/events plus file_id and start_offset (the cursor). The FILTERS comment
-- below is replaced by dashboard/audit.py with "AND ..." conditions chosen from its fixed
-- list (column names are ours; every value is a bind parameter), the cursor's among them,
-- and {ts} with the column the page is ordered by: ts, or on MariaDB a copy of it kept for
-- rare values in events_rare (failed_ts, rare_ts: equal to ts on every row they select),
-- which audit.py then joins: FROM events must stay on a line of its own.
-- Bind parameters: since, until ('YYYY-MM-DD HH:MM:SS.mmm', inclusive), limit.
SELECT ts, kind, username, action, size_bytes, failed, remote_ip, protocol, file_path,
       elapsed_ms, method, connection_id, error, file_id, start_offset
FROM events
WHERE {ts} >= :since AND {ts} <= :until /*event_nodes*/ /*filters*/
ORDER BY {ts} DESC, file_id DESC, start_offset DESC
LIMIT :limit
