-- login_clients_daily: the login events recomputed per day, client ('' for none),
-- encrypted (1, 0, or -1 when the line did not say), username and node (the event's
-- file's): day, client, encrypted, username, node, events. The comment NODE below is where
-- rollups.py puts a node condition (or nothing); migration 018 fills the table with it.
SELECT e.day AS day, COALESCE(e.client, '') AS client, COALESCE(e.encrypted, -1) AS encrypted,
       e.username AS username, lf.node AS node, COUNT(*) AS events
FROM events e JOIN log_files lf ON lf.id = e.file_id
WHERE e.kind = 'login' /*node*/
GROUP BY e.day, COALESCE(e.client, ''), COALESCE(e.encrypted, -1), e.username, lf.node
