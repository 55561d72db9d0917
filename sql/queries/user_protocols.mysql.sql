-- name: user_protocols (MySQL/MariaDB)
-- Returns what user_protocols.sql returns; DIV/MOD split the bytes.
SELECT protocol, SUM(transfers) AS transfers,
       SUM(bytes DIV 2147483648) AS bytes_hi, SUM(bytes MOD 2147483648) AS bytes_lo
FROM user_protocols_daily
WHERE username = :username AND day >= :start AND day <= :end /*nodes*/
GROUP BY protocol
