-- Every raw-event read now goes by ts (ix_events_ts, ix_events_user, ix_events_ip: a day is a
-- ts range), so ix_events_day only cost every insert an index write.
ALTER TABLE events DROP INDEX ix_events_day;
