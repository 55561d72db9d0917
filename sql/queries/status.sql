-- name: status
-- Returns one row describing ingestion: files known / active / missing, bytes read, bytes
-- pending (content not yet read from active files, never negative), bytes lost, lines,
-- events and malformed lines read, files in error, the last pass and error, and the time
-- of the newest event. One round trip; the newest-event lookup uses the day index.
SELECT
    (SELECT COUNT(*) FROM log_files) AS files_known,
    (SELECT COUNT(*) FROM log_files WHERE state = 'active') AS files_active,
    (SELECT COUNT(*) FROM log_files WHERE state = 'missing') AS files_missing,
    (SELECT COUNT(*) FROM log_files WHERE error IS NOT NULL AND error <> '') AS files_in_error,
    (SELECT COALESCE(SUM(c.committed_offset), 0) FROM checkpoints c) AS bytes_read,
    (SELECT COALESCE(SUM(CASE WHEN f.size_seen > COALESCE(c.committed_offset, 0)
                              THEN f.size_seen - COALESCE(c.committed_offset, 0) ELSE 0 END), 0)
       FROM log_files f LEFT JOIN checkpoints c ON c.file_id = f.id
      WHERE f.state = 'active') AS bytes_pending,
    (SELECT COALESCE(SUM(bytes_lost), 0) FROM log_files) AS bytes_lost,
    (SELECT COALESCE(SUM(c.line_count), 0) FROM checkpoints c) AS lines_read,
    (SELECT COALESCE(SUM(c.event_count), 0) FROM checkpoints c) AS events_read,
    (SELECT COALESCE(SUM(c.malformed_count), 0) FROM checkpoints c) AS malformed_lines,
    (SELECT s.last_pass_at FROM ingest_status s WHERE s.id = 1) AS last_pass_at,
    (SELECT s.last_error FROM ingest_status s WHERE s.id = 1) AS last_error,
    (SELECT s.last_error_at FROM ingest_status s WHERE s.id = 1) AS last_error_at,
    (SELECT MAX(e.ts) FROM events e
      WHERE e.day = (SELECT MAX(d.day) FROM daily_stats d)) AS newest_event
