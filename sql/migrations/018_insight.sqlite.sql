-- 018_insight (SQLite): what the insight views read (docs/insight.md).
-- events gains client and encrypted (the logins': 2.7's `client` and `encrypted`, or the
-- client version of an SSH text login before 2.7). The log lines of the events already
-- stored are not read again, so their client stays NULL; encrypted is filled where it is
-- certain: SFTPGo 2.7 writes "encrypted":true on every SSH login line (action 'login',
-- protocol SSH); every other login stored before stays NULL ("the line does not say").
-- Three rollups, kept in the ingester's transaction (rollup_tables.INSIGHT_ROLLUPS), never pruned:
-- path_daily (transfers by folder at each depth 1..8, per day, user and node: /api/paths),
-- login_clients_daily (logins per day, client, encrypted, user and node: /api/clients),
-- events_hourly (events but bans per day, hour and node: /api/activity). They are filled
-- here from the events there are; rollup_coverage keeps, for each, the first day they count
-- whole (the day before which retention had pruned events, NULL when none ever was), so an
-- answer can say when its range starts before it.
-- (016 is another migration of the same round.)
ALTER TABLE events ADD COLUMN client TEXT;
ALTER TABLE events ADD COLUMN encrypted INTEGER;
UPDATE events SET encrypted = 1
WHERE kind NOT IN ('upload', 'download') AND kind = 'login' AND action = 'login'
  AND protocol = 'SSH';
CREATE TABLE path_daily (
    depth            INTEGER NOT NULL,
    day              TEXT    NOT NULL,
    path             TEXT    NOT NULL,
    username         TEXT    NOT NULL,
    node             TEXT    NOT NULL DEFAULT '',
    uploads          INTEGER NOT NULL,
    downloads        INTEGER NOT NULL,
    bytes_uploaded   INTEGER NOT NULL,
    bytes_downloaded INTEGER NOT NULL,
    PRIMARY KEY (depth, day, path, username, node)
) WITHOUT ROWID;
INSERT INTO path_daily (depth, day, path, username, node, uploads, downloads, bytes_uploaded,
                        bytes_downloaded)
WITH RECURSIVE transfers AS (
    SELECT e.day AS day, e.username AS username, lf.node AS node, e.kind AS kind,
           e.size_bytes AS size, e.file_path AS p,
           CASE WHEN instr(e.file_path, '/') = 0 AND instr(e.file_path, '\') > 0
                THEN '\' ELSE '/' END AS sep
    FROM events e JOIN log_files lf ON lf.id = e.file_id
    WHERE e.kind IN ('upload', 'download') AND e.file_path IS NOT NULL
), keyed AS (
    SELECT day, username, node, sep, rtrim(p, replace(p, sep, '')) AS k,
           SUM(kind = 'upload') AS up, SUM(kind = 'download') AS down,
           SUM(CASE WHEN kind = 'upload' THEN size >> 32 ELSE 0 END) AS up_hi,
           SUM(CASE WHEN kind = 'upload' THEN size & 4294967295 ELSE 0 END) AS up_lo,
           SUM(CASE WHEN kind = 'download' THEN size >> 32 ELSE 0 END) AS down_hi,
           SUM(CASE WHEN kind = 'download' THEN size & 4294967295 ELSE 0 END) AS down_lo
    FROM transfers GROUP BY day, username, node, sep, k
), walk AS (
    SELECT day, username, node, sep, CASE WHEN k = '' THEN sep ELSE k END AS g,
           CASE WHEN substr(k, 1, 1) = sep THEN 1 ELSE 0 END AS lead,
           up, down, up_hi, up_lo, down_hi, down_lo, 0 AS depth,
           CASE WHEN substr(k, 1, 1) = sep THEN 1 ELSE 0 END AS pos
    FROM keyed
    UNION ALL
    SELECT day, username, node, sep, g, lead, up, down, up_hi, up_lo, down_hi, down_lo,
           depth + 1,
           CASE WHEN instr(substr(g, pos + 1), sep) > 0
                THEN pos + instr(substr(g, pos + 1), sep) ELSE pos END
    FROM walk WHERE depth < 8
), named AS (
    SELECT depth, day, username, node, up, down, up_hi, up_lo, down_hi, down_lo,
           substr(CASE WHEN pos <= lead THEN CASE WHEN lead = 1 THEN sep ELSE '' END
                       ELSE substr(g, 1, pos - 1) END, 1, 255) AS path
    FROM walk WHERE depth > 0
), summed AS (
    SELECT depth, day, path, username, node, SUM(up) AS uploads, SUM(down) AS downloads,
           SUM(up_hi) + (SUM(up_lo) >> 32) AS up_hi, SUM(up_lo) & 4294967295 AS up_lo,
           SUM(down_hi) + (SUM(down_lo) >> 32) AS down_hi,
           SUM(down_lo) & 4294967295 AS down_lo
    FROM named GROUP BY depth, day, path, username, node
)
SELECT depth, day, path, username, node, uploads, downloads,
       CASE WHEN up_hi >= 1073741824 THEN 4611686018427387904 WHEN up_hi < 0 THEN 0
            ELSE up_hi * 4294967296 + up_lo END AS bytes_uploaded,
       CASE WHEN down_hi >= 1073741824 THEN 4611686018427387904 WHEN down_hi < 0 THEN 0
            ELSE down_hi * 4294967296 + down_lo END AS bytes_downloaded
FROM summed;
CREATE TABLE login_clients_daily (
    day       TEXT    NOT NULL,
    client    TEXT    NOT NULL,
    encrypted INTEGER NOT NULL,
    username  TEXT    NOT NULL,
    node      TEXT    NOT NULL DEFAULT '',
    events    INTEGER NOT NULL,
    PRIMARY KEY (day, client, encrypted, username, node)
) WITHOUT ROWID;
INSERT INTO login_clients_daily (day, client, encrypted, username, node, events)
SELECT e.day AS day, COALESCE(e.client, '') AS client, COALESCE(e.encrypted, -1) AS encrypted,
       e.username AS username, lf.node AS node, COUNT(*) AS events
FROM events e JOIN log_files lf ON lf.id = e.file_id
WHERE e.kind = 'login'
GROUP BY e.day, COALESCE(e.client, ''), COALESCE(e.encrypted, -1), e.username, lf.node;
CREATE TABLE events_hourly (
    day    TEXT    NOT NULL,
    hour   INTEGER NOT NULL,
    node   TEXT    NOT NULL DEFAULT '',
    events INTEGER NOT NULL,
    PRIMARY KEY (day, hour, node)
) WITHOUT ROWID;
INSERT INTO events_hourly (day, hour, node, events)
SELECT e.day AS day, CAST(substr(e.ts, 12, 2) AS INTEGER) AS hour, lf.node AS node,
       COUNT(*) AS events
FROM events e JOIN log_files lf ON lf.id = e.file_id
WHERE e.kind <> 'ban'
GROUP BY e.day, CAST(substr(e.ts, 12, 2) AS INTEGER), lf.node;
CREATE TABLE rollup_coverage (
    rollup_table TEXT NOT NULL PRIMARY KEY,
    first_day    TEXT
);
INSERT INTO rollup_coverage (rollup_table, first_day)
SELECT t.rollup_table, r.pruned_before
FROM (SELECT 'path_daily' AS rollup_table UNION ALL SELECT 'login_clients_daily'
      UNION ALL SELECT 'events_hourly') t
LEFT JOIN events_retention r ON r.id = 1;
