-- name: insight_clients
-- Returns the logins between the days start and end (both included) per client ('' for
-- none), encrypted (1, 0, -1: the line did not say) and username: client, encrypted,
-- username, logins. Reads login_clients_daily (migration 018).
SELECT client, encrypted, username, SUM(events) AS logins
FROM login_clients_daily
WHERE day >= :start AND day <= :end /*nodes*/
GROUP BY client, encrypted, username
