-- events_hourly (MySQL/MariaDB): see events_hourly.sqlite.sql.
SELECT e.day AS day, HOUR(e.ts) AS hour, lf.node AS node, COUNT(*) AS events
FROM events e JOIN log_files lf ON lf.id = e.file_id
WHERE e.kind <> 'ban' /*node*/
GROUP BY e.day, HOUR(e.ts), lf.node
