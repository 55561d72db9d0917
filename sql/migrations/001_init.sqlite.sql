-- 001_init (SQLite): files, checkpoints, events, malformed lines, daily rollups, status.
CREATE TABLE log_files (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    head        BLOB    NOT NULL,            -- first <=1024 bytes of the (decompressed) content
    dev         INTEGER,
    ino         INTEGER,
    path        TEXT    NOT NULL,            -- where it was last seen
    first_path  TEXT    NOT NULL,
    compressed  INTEGER NOT NULL DEFAULT 0,  -- last seen as .gz
    state       TEXT    NOT NULL,            -- active | missing | replaced
    size_seen   INTEGER NOT NULL DEFAULT 0,  -- content size at the last look
    first_ts    TEXT,                        -- time of the first line, for oldest-first order
    bytes_lost  INTEGER NOT NULL DEFAULT 0,
    error       TEXT,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
);
CREATE TABLE checkpoints (
    file_id          INTEGER PRIMARY KEY,
    committed_offset INTEGER NOT NULL,       -- end of the last complete line consumed
    marker           BLOB    NOT NULL,       -- the bytes just before committed_offset
    line_count       INTEGER NOT NULL DEFAULT 0,
    event_count      INTEGER NOT NULL DEFAULT 0,
    malformed_count  INTEGER NOT NULL DEFAULT 0,
    updated_at       TEXT    NOT NULL
);
CREATE TABLE events (
    file_id      INTEGER NOT NULL,
    start_offset INTEGER NOT NULL,
    end_offset   INTEGER NOT NULL,
    ts           TEXT    NOT NULL,           -- 'YYYY-MM-DD HH:MM:SS.mmm', server clock as written
    day          TEXT    NOT NULL,           -- 'YYYY-MM-DD'
    kind         TEXT    NOT NULL,
    username     TEXT    NOT NULL DEFAULT '',
    size_bytes   INTEGER,
    failed       INTEGER NOT NULL DEFAULT 0,
    action       TEXT    NOT NULL,
    remote_ip    TEXT,
    protocol     TEXT,
    file_path    TEXT,
    partial      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (file_id, start_offset)
) WITHOUT ROWID;
CREATE INDEX ix_events_day ON events (day, ts);
CREATE TABLE malformed_lines (
    file_id      INTEGER NOT NULL,
    start_offset INTEGER NOT NULL,
    end_offset   INTEGER NOT NULL,
    reason       TEXT    NOT NULL,
    sample       BLOB    NOT NULL,           -- first 1024 bytes of the line
    PRIMARY KEY (file_id, start_offset)
);
CREATE TABLE daily_stats (
    day      TEXT    NOT NULL,
    kind     TEXT    NOT NULL,
    username TEXT    NOT NULL,               -- '' for login_failed (attacker-controlled names)
    events   INTEGER NOT NULL,
    bytes    INTEGER NOT NULL,
    failed   INTEGER NOT NULL,
    PRIMARY KEY (day, kind, username)
) WITHOUT ROWID;
CREATE TABLE ingest_status (
    id            INTEGER PRIMARY KEY,
    last_pass_at  TEXT,
    last_error    TEXT,
    last_error_at TEXT
);
INSERT INTO ingest_status (id) VALUES (1);
