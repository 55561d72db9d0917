-- name: security_by_ip
-- Returns every IP with a failed login or a ban in start..end ('' for none), at most `limit`
-- rows: ip, failures, bans, first_ts, last_ts (of its failed logins; NULL when it has only
-- bans). Order: failures, bans (descending), then ip by its bytes. Reads the day x IP
-- rollups; the distinct usernames of the listed IPs come from security_ip_usernames.
SELECT ip, SUM(failures) AS failures, SUM(bans) AS bans, MIN(first_ts) AS first_ts,
       MAX(last_ts) AS last_ts
FROM (
    SELECT ip, events AS failures, 0 AS bans, first_ts, last_ts
    FROM login_failures_ip_daily WHERE day >= :start AND day <= :end /*nodes*/
    UNION ALL
    SELECT ip, 0 AS failures, events AS bans, NULL AS first_ts, NULL AS last_ts
    FROM bans_daily WHERE day >= :start AND day <= :end /*nodes*/
) x
GROUP BY ip
ORDER BY failures DESC, bans DESC, ip
LIMIT :limit
