-- name: window_transfers
-- Returns the transfers between the times `since` and `until` (both included) per username,
-- kind and file_path: username, kind, file_path, transfers, bytes_hi, bytes_lo (bytes = hi *
-- 2^31 + lo). A window's /api/paths puts each path in its folder (ingestion/folders.py).
-- One range of ix_events_ts (a window is at most 31 days).
SELECT username, kind, file_path, COUNT(*) AS transfers,
       SUM(size_bytes >> 31) AS bytes_hi, SUM(size_bytes & 2147483647) AS bytes_lo
FROM events
WHERE ts >= :since AND ts <= :until AND kind IN ('upload', 'download')
  AND file_path IS NOT NULL /*event_nodes*/
GROUP BY username, kind, file_path
