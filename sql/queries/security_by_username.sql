-- name: security_by_username
-- Returns the usernames tried in failed logins in start..end ('' included), at most `limit`
-- rows: username, failures, ips (distinct non-empty). Order: failures descending, then the
-- name by its bytes. Reads login_failures_daily only.
SELECT username, SUM(events) AS failures,
       COUNT(DISTINCT CASE WHEN ip <> '' THEN ip END) AS ips
FROM login_failures_daily
WHERE day >= :start AND day <= :end /*nodes*/
GROUP BY username
ORDER BY failures DESC, username
LIMIT :limit
