-- name: user_ips
-- Returns the user's events (upload, download, file_op, login) per non-empty remote_ip
-- between `since` and `until`, at most 100 rows: ip, events; events descending, then ip by its
-- bytes. One range of ix_events_user.
SELECT remote_ip AS ip, COUNT(*) AS events
FROM events
WHERE username = :username AND ts >= :since AND ts <= :until /*event_nodes*/
  AND kind IN ('upload', 'download', 'file_op', 'login')
  AND remote_ip IS NOT NULL AND remote_ip <> ''
GROUP BY remote_ip
ORDER BY events DESC, ip
LIMIT 100
