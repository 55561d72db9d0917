-- name: security_ip_failures
-- Returns every IP ('' for none) with failed logins between the days start and end (both
-- included) and their count: ip, failures. /api/security's by_country places each in its
-- country (dashboard/geo.py). Reads the day x IP rollup only.
SELECT ip, SUM(events) AS failures
FROM login_failures_ip_daily
WHERE day >= :start AND day <= :end /*nodes*/
GROUP BY ip
