-- name: write_probe
-- Changes nothing: asks for the write lock with a no-op UPDATE of ingest_status, which the
-- caller rolls back. Fails when the database refuses writes (read-only file or server,
-- missing privilege). No parameters, no rows.
UPDATE ingest_status SET id = id WHERE id = 1
