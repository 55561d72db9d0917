-- name: status_files
-- Returns one row per node that has files: node, files known / active / missing / in error,
-- bytes read, bytes pending (content not yet read from active files, less what their files no
-- longer hold, never negative), bytes lost, lines, events and malformed lines read. Reads log_files and checkpoints only (one row
-- per file generation, however many events).
SELECT f.node,
       COUNT(*) AS files_known,
       SUM(CASE WHEN f.state = 'active' THEN 1 ELSE 0 END) AS files_active,
       SUM(CASE WHEN f.state = 'missing' THEN 1 ELSE 0 END) AS files_missing,
       SUM(CASE WHEN f.error IS NOT NULL AND f.error <> '' THEN 1 ELSE 0 END) AS files_in_error,
       COALESCE(SUM(c.committed_offset), 0) AS bytes_read,
       COALESCE(SUM(CASE WHEN f.state = 'active'
                          AND f.size_seen > COALESCE(c.committed_offset, 0) + f.bytes_lost
                         THEN f.size_seen - COALESCE(c.committed_offset, 0) - f.bytes_lost
                         ELSE 0 END), 0)
           AS bytes_pending,
       COALESCE(SUM(f.bytes_lost), 0) AS bytes_lost,
       COALESCE(SUM(c.line_count), 0) AS lines_read,
       COALESCE(SUM(c.event_count), 0) AS events_read,
       COALESCE(SUM(c.malformed_count), 0) AS malformed_lines
FROM log_files f LEFT JOIN checkpoints c ON c.file_id = f.id
GROUP BY f.node
