-- name: security_by_protocol
-- Returns failed logins per protocol ('' when absent) in start..end, at most `limit` rows:
-- protocol, failures; failures descending, then protocol by its bytes.
SELECT protocol, SUM(events) AS failures
FROM login_failures_method_daily
WHERE day >= :start AND day <= :end /*nodes*/
GROUP BY protocol
ORDER BY failures DESC, protocol
LIMIT :limit
