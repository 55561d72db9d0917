-- path_daily (SQLite): the path_daily rows recomputed from the raw events table (its
-- columns in order: depth, day, path, username, node, uploads, downloads, bytes_uploaded,
-- bytes_downloaded). The folders are ingestion/folders.py's: the transfers are grouped by
-- the text of their path up to its last separator, and a walk takes that text apart one
-- separator at a time, depth 1 to 8 (a folder with fewer components stays as it is).
-- Sizes are summed as 32-bit halves (SQLite's SUM raises on overflow) and clamped to
-- 0..2^62 (store.BYTES_CAP). The comment NODE below is where rollups.py puts a node
-- condition (or nothing); migration 018 fills the table with the same SELECT.
WITH RECURSIVE transfers AS (
    SELECT e.day AS day, e.username AS username, lf.node AS node, e.kind AS kind,
           e.size_bytes AS size, e.file_path AS p,
           CASE WHEN instr(e.file_path, '/') = 0 AND instr(e.file_path, '\') > 0
                THEN '\' ELSE '/' END AS sep
    FROM events e JOIN log_files lf ON lf.id = e.file_id
    WHERE e.kind IN ('upload', 'download') AND e.file_path IS NOT NULL /*node*/
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
FROM summed
