-- name: user_protocols
-- Returns the user's transfers per protocol ('' when absent) between the days `start` and
-- `end`: protocol, transfers, bytes_hi, bytes_lo (bytes = hi * 2^31 + lo, no overflow).
-- Reads the rollup user_protocols_daily (migration 011): one range of its key.
SELECT protocol, SUM(transfers) AS transfers,
       SUM(bytes >> 31) AS bytes_hi, SUM(bytes & 2147483647) AS bytes_lo
FROM user_protocols_daily
WHERE username = :username AND day >= :start AND day <= :end /*nodes*/
GROUP BY protocol
