-- bans_from_events: the bans_daily rows recomputed from the raw events.
-- Returns day, ip ('' when missing), events. No parameters. Same SQL on both dialects.
SELECT day, COALESCE(remote_ip, '') AS ip, COUNT(*) AS events
FROM events
WHERE kind = 'ban'
GROUP BY day, COALESCE(remote_ip, '')
