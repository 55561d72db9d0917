-- events_hourly (SQLite): the events but bans recomputed per day, hour of their ts and node
-- (the event's file's): day, hour, node, events. The comment NODE below is where rollups.py
-- puts a node condition (or nothing); migration 018 fills the table with the same SELECT.
SELECT e.day AS day, CAST(substr(e.ts, 12, 2) AS INTEGER) AS hour, lf.node AS node,
       COUNT(*) AS events
FROM events e JOIN log_files lf ON lf.id = e.file_id
WHERE e.kind <> 'ban' /*node*/
GROUP BY e.day, CAST(substr(e.ts, 12, 2) AS INTEGER), lf.node
