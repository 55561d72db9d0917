-- 001_init (MySQL/MariaDB): files, checkpoints, events, malformed lines, daily rollups, status.
-- {BIN} is a byte-for-byte, no-pad collation: 'Admin', 'admin' and 'admin ' stay three names.
CREATE TABLE log_files (
    id          BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    head        VARBINARY(1024) NOT NULL,
    dev         BIGINT,
    ino         BIGINT,
    path        TEXT         NOT NULL,
    first_path  TEXT         NOT NULL,
    compressed  TINYINT      NOT NULL DEFAULT 0,
    state       VARCHAR(16)  NOT NULL,
    size_seen   BIGINT       NOT NULL DEFAULT 0,
    first_ts    VARCHAR(23),
    bytes_lost  BIGINT       NOT NULL DEFAULT 0,
    error       TEXT,
    created_at  VARCHAR(26)  NOT NULL,
    updated_at  VARCHAR(26)  NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={BIN};
CREATE TABLE checkpoints (
    file_id          BIGINT NOT NULL PRIMARY KEY,
    committed_offset BIGINT NOT NULL,
    marker           VARBINARY(64) NOT NULL,
    line_count       BIGINT NOT NULL DEFAULT 0,
    event_count      BIGINT NOT NULL DEFAULT 0,
    malformed_count  BIGINT NOT NULL DEFAULT 0,
    updated_at       VARCHAR(26) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={BIN};
CREATE TABLE events (
    file_id      BIGINT       NOT NULL,
    start_offset BIGINT       NOT NULL,
    end_offset   BIGINT       NOT NULL,
    ts           DATETIME(3)  NOT NULL,
    day          DATE         NOT NULL,
    kind         VARCHAR(16)  NOT NULL,
    username     VARCHAR(255) NOT NULL DEFAULT '',
    size_bytes   BIGINT,
    failed       TINYINT      NOT NULL DEFAULT 0,
    action       VARCHAR(64)  NOT NULL,
    remote_ip    VARCHAR(64),
    protocol     VARCHAR(16),
    file_path    TEXT,
    partial      TINYINT      NOT NULL DEFAULT 0,
    PRIMARY KEY (file_id, start_offset),
    KEY ix_events_day (day, ts)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={BIN};
CREATE TABLE malformed_lines (
    file_id      BIGINT NOT NULL,
    start_offset BIGINT NOT NULL,
    end_offset   BIGINT NOT NULL,
    reason       VARCHAR(32) NOT NULL,
    sample       VARBINARY(1024) NOT NULL,
    PRIMARY KEY (file_id, start_offset)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={BIN};
CREATE TABLE daily_stats (
    day      DATE         NOT NULL,
    kind     VARCHAR(16)  NOT NULL,
    username VARCHAR(255) NOT NULL,
    events   BIGINT       NOT NULL,
    bytes    BIGINT       NOT NULL,
    failed   BIGINT       NOT NULL,
    PRIMARY KEY (day, kind, username)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={BIN};
CREATE TABLE ingest_status (
    id            INT NOT NULL PRIMARY KEY,
    last_pass_at  VARCHAR(26),
    last_error    TEXT,
    last_error_at VARCHAR(26)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={BIN};
INSERT INTO ingest_status (id) VALUES (1);
