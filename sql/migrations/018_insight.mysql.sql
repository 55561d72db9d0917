-- 018_insight (MySQL/MariaDB): see 018_insight.sqlite.sql. DDL commits on its own here:
-- the ALTER comes first and, were a run stopped after it, db.migrate() skips it the next
-- time (its columns are there); every later statement can run again (DROP ... IF EXISTS,
-- an UPDATE that sets what it set). The UPDATE finds the logins through events_rare.
ALTER TABLE events
    ADD COLUMN client    VARCHAR(200) CHARACTER SET utf8mb4 COLLATE {BIN},
    ADD COLUMN encrypted TINYINT;
UPDATE events e JOIN events_rare r ON r.file_id = e.file_id AND r.start_offset = e.start_offset
SET e.encrypted = 1
WHERE r.rare_kind = 'login' AND e.kind = 'login' AND e.action = 'login' AND e.protocol = 'SSH';
DROP TABLE IF EXISTS path_daily;
CREATE TABLE path_daily (
    depth            TINYINT      NOT NULL,
    day              DATE         NOT NULL,
    path             VARCHAR(255) NOT NULL,
    username         VARCHAR(255) NOT NULL,
    node             VARCHAR(64)  NOT NULL DEFAULT '',
    uploads          BIGINT       NOT NULL,
    downloads        BIGINT       NOT NULL,
    bytes_uploaded   BIGINT       NOT NULL,
    bytes_downloaded BIGINT       NOT NULL,
    PRIMARY KEY (depth, day, path, username, node)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={BIN};
INSERT INTO path_daily (depth, day, path, username, node, uploads, downloads, bytes_uploaded,
                        bytes_downloaded)
SELECT d.depth AS depth, c.day AS day,
       LEFT(CASE WHEN c.lead = 1 AND c.folder = '' THEN IF(c.bs = 1, CHAR(92 USING utf8mb4), '/')
                 ELSE SUBSTRING_INDEX(c.folder, IF(c.bs = 1, CHAR(92 USING utf8mb4), '/'),
                                      d.depth + c.lead) END, 255) AS path,
       c.username AS username, c.node AS node, SUM(c.up) AS uploads, SUM(c.down) AS downloads,
       LEAST(GREATEST(COALESCE(SUM(c.bu), 0), 0), 4611686018427387904) AS bytes_uploaded,
       LEAST(GREATEST(COALESCE(SUM(c.bd), 0), 0), 4611686018427387904) AS bytes_downloaded
FROM (SELECT x.day AS day, x.username AS username, x.node AS node, x.bs AS bs,
             IF(LEFT(x.p, 1) = IF(x.bs = 1, CHAR(92 USING utf8mb4), '/'), 1, 0) AS lead,
             LEFT(x.p, CHAR_LENGTH(x.p) - CHAR_LENGTH(SUBSTRING_INDEX(
                 x.p, IF(x.bs = 1, CHAR(92 USING utf8mb4), '/'), -1)) - 1) AS folder,
             SUM(x.kind = 'upload') AS up, SUM(x.kind = 'download') AS down,
             SUM(IF(x.kind = 'upload', x.size_bytes, 0)) AS bu,
             SUM(IF(x.kind = 'download', x.size_bytes, 0)) AS bd
      FROM (SELECT e.day AS day, e.username AS username, lf.node AS node, e.kind AS kind,
                   e.size_bytes AS size_bytes, e.file_path AS p,
                   IF(LOCATE('/', e.file_path) = 0
                      AND LOCATE(CHAR(92 USING utf8mb4), e.file_path) > 0, 1, 0) AS bs
            FROM events e JOIN log_files lf ON lf.id = e.file_id
            WHERE e.kind IN ('upload', 'download') AND e.file_path IS NOT NULL) x
      GROUP BY x.day, x.username, x.node, x.bs, lead, folder) c
CROSS JOIN (SELECT 1 AS depth UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
            UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8) d
GROUP BY d.depth, c.day, path, c.username, c.node;
DROP TABLE IF EXISTS login_clients_daily;
CREATE TABLE login_clients_daily (
    day       DATE         NOT NULL,
    client    VARCHAR(200) NOT NULL,
    encrypted TINYINT      NOT NULL,
    username  VARCHAR(255) NOT NULL,
    node      VARCHAR(64)  NOT NULL DEFAULT '',
    events    BIGINT       NOT NULL,
    PRIMARY KEY (day, client, encrypted, username, node)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={BIN};
INSERT INTO login_clients_daily (day, client, encrypted, username, node, events)
SELECT e.day AS day, COALESCE(e.client, '') AS client, COALESCE(e.encrypted, -1) AS encrypted,
       e.username AS username, lf.node AS node, COUNT(*) AS events
FROM events e JOIN log_files lf ON lf.id = e.file_id
WHERE e.kind = 'login'
GROUP BY e.day, COALESCE(e.client, ''), COALESCE(e.encrypted, -1), e.username, lf.node;
DROP TABLE IF EXISTS events_hourly;
CREATE TABLE events_hourly (
    day    DATE        NOT NULL,
    hour   TINYINT     NOT NULL,
    node   VARCHAR(64) NOT NULL DEFAULT '',
    events BIGINT      NOT NULL,
    PRIMARY KEY (day, hour, node)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={BIN};
INSERT INTO events_hourly (day, hour, node, events)
SELECT e.day AS day, HOUR(e.ts) AS hour, lf.node AS node, COUNT(*) AS events
FROM events e JOIN log_files lf ON lf.id = e.file_id
WHERE e.kind <> 'ban'
GROUP BY e.day, HOUR(e.ts), lf.node;
DROP TABLE IF EXISTS rollup_coverage;
CREATE TABLE rollup_coverage (
    rollup_table VARCHAR(64) NOT NULL PRIMARY KEY,
    first_day    DATE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={BIN};
INSERT INTO rollup_coverage (rollup_table, first_day)
SELECT t.rollup_table, r.pruned_before
FROM (SELECT 'path_daily' AS rollup_table UNION ALL SELECT 'login_clients_daily'
      UNION ALL SELECT 'events_hourly') t
LEFT JOIN events_retention r ON r.id = 1;
