-- name: user_ips
-- Returns the user's events (upload, download, file_op, login) per non-empty remote_ip
-- between the days `start` and `end`, at most 100 rows: ip, events; events descending, then
-- ip by its bytes. Reads the rollup user_ips_daily (migration 011): one range of its key
-- (username, day, ip, node).
SELECT ip, SUM(events) AS events
FROM user_ips_daily
WHERE username = :username AND day >= :start AND day <= :end /*nodes*/
GROUP BY ip
ORDER BY events DESC, ip
LIMIT 100
