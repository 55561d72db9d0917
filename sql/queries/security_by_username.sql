-- name: security_by_username
-- Returns the usernames tried in failed logins in start..end ('' included), at most `limit`
-- rows: username, failures. Order: failures descending, then the name by its bytes. Reads
-- the day x name rollup; the distinct IPs of the listed names come from
-- security_username_ips.
SELECT username, SUM(events) AS failures
FROM login_failures_user_daily
WHERE day >= :start AND day <= :end /*nodes*/
GROUP BY username
ORDER BY failures DESC, username
LIMIT :limit
