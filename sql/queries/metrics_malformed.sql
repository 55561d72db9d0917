-- name: metrics_malformed
-- Returns the kept malformed lines per node (their file's) and reason: node, reason, kept
-- (a row standing for a run of lines counts them all). malformed_lines holds one row per
-- kept line or run, and is never pruned.
SELECT lf.node, m.reason, SUM(m.line_count) AS kept
FROM malformed_lines m JOIN log_files lf ON lf.id = m.file_id
GROUP BY lf.node, m.reason
