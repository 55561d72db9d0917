-- name: metrics_totals
-- Returns every cell of stats_totals (daily_stats summed over all days, migration 016):
-- kind, username ('' for login_failed, and for events without a name), node, events,
-- bytes, failed, last_ts (the newest event's time; NULL when its events were all pruned
-- before 016). A few rows per user and node, however many days: what /metrics counts.
SELECT kind, username, node, events, bytes, failed, last_ts FROM stats_totals
