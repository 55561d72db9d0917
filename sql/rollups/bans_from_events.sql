-- bans_from_events: the bans_daily rows recomputed from the raw events.
-- Returns day, ip ('' when missing), node (the event's file's), events. The comment NODE
-- below is replaced by rollups.py with a node condition (or nothing). Same SQL on both
-- dialects.
SELECT e.day, COALESCE(e.remote_ip, '') AS ip, lf.node, COUNT(*) AS events
FROM events e JOIN log_files lf ON lf.id = e.file_id
WHERE e.kind = 'ban' /*node*/
GROUP BY e.day, COALESCE(e.remote_ip, ''), lf.node
