-- name: security_by_method
-- Returns failed logins per method (login_type; '' when absent) in start..end, at most
-- `limit` rows: method, failures; failures descending, then method by its bytes.
SELECT method, SUM(events) AS failures
FROM login_failures_method_daily
WHERE day >= :start AND day <= :end /*nodes*/
GROUP BY method
ORDER BY failures DESC, method
LIMIT :limit
