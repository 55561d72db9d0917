-- name: user_protocols
-- Returns the user's transfers per protocol ('' when absent) between `since` and `until`:
-- protocol, transfers, bytes_hi, bytes_lo (bytes = hi * 2^31 + lo, no overflow). One range
-- of ix_events_user.
SELECT COALESCE(protocol, '') AS protocol, COUNT(*) AS transfers,
       SUM(size_bytes >> 31) AS bytes_hi, SUM(size_bytes & 2147483647) AS bytes_lo
FROM events
WHERE username = :username AND ts >= :since AND ts <= :until /*event_nodes*/
  AND kind IN ('upload', 'download')
GROUP BY COALESCE(protocol, '')
