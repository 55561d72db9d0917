-- path_daily (MySQL/MariaDB): see path_daily.sqlite.sql. The folder at a depth is
-- SUBSTRING_INDEX of the path's folder (the text before its last separator) at that many
-- separators (one more when the path starts with one). CHAR(92) is the backslash, written
-- so that no sql_mode changes what it is. SUM of a BIGINT is a DECIMAL here (no overflow);
-- the bytes are clamped to 0..2^62 (store.BYTES_CAP).
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
            WHERE e.kind IN ('upload', 'download') AND e.file_path IS NOT NULL /*node*/) x
      GROUP BY x.day, x.username, x.node, x.bs, lead, folder) c
CROSS JOIN (SELECT 1 AS depth UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
            UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8) d
GROUP BY d.depth, c.day, path, c.username, c.node
