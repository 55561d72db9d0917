-- 020_path_daily_by_folder (MySQL/MariaDB): path_daily in folder order within each depth, for
-- /api/paths over a long range (dashboard/insight.py). Grouping a year of day-dated folders
-- (21,900 at depth 7 in bench_insight's year) by the key order (depth, day, path) makes the
-- server sort every row of the range by its 255-character path: 190-250 ms for the year on a
-- quiet 2-core machine. Read in this index's order the rows arrive grouped and the sort is
-- gone (65-80 ms). The day stays in the index so a range is checked without reading the row.
-- Only new (depth, path, day) keys write to it: an upsert of an existing cell does not.
CREATE INDEX path_daily_by_folder ON path_daily (depth, path, day)
