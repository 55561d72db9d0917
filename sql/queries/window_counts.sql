-- name: window_counts
-- Returns the events between the times `since` and `until` ('YYYY-MM-DD HH:MM:SS.mmm', both
-- included) grouped by the first `chars` characters of their ts (16: the minute, 13: the
-- hour, 10: the day) and kind: slot, kind, events, bytes_hi, bytes_lo, failed, with bytes =
-- bytes_hi * 2^31 + bytes_lo as in stats_by_day.sql. One range of ix_events_ts: for the
-- sub-day buckets of a short range and the windows of dashboard/window.py, never a year.
SELECT substr(ts, 1, :chars) AS slot, kind, COUNT(*) AS events,
       SUM(size_bytes >> 31) AS bytes_hi, SUM(size_bytes & 2147483647) AS bytes_lo,
       SUM(failed) AS failed
FROM events
WHERE ts >= :since AND ts <= :until /*event_nodes*/
GROUP BY slot, kind
