-- 015_metrics_totals (MySQL/MariaDB): see 015_metrics_totals.sqlite.sql.
-- Re-runnable: a first run stopped before its end (CREATE TABLE commits on its own) starts
-- over. The fill reads every event once (for last_ts).
DROP TABLE IF EXISTS stats_totals;
CREATE TABLE stats_totals (
    kind     VARCHAR(16)  NOT NULL,
    username VARCHAR(255) NOT NULL,
    node     VARCHAR(64)  NOT NULL DEFAULT '',
    events   BIGINT       NOT NULL,
    bytes    BIGINT       NOT NULL,
    failed   BIGINT       NOT NULL,
    last_ts  DATETIME(3),
    PRIMARY KEY (kind, username, node)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={BIN};
-- SUM of a BIGINT is a DECIMAL here (no overflow); clamped to 0..2^62 (store.BYTES_CAP)
INSERT INTO stats_totals (kind, username, node, events, bytes, failed, last_ts)
SELECT t.kind, t.username, t.node, t.events,
       LEAST(GREATEST(t.bytes, 0), 4611686018427387904), t.failed, l.last_ts
FROM (SELECT kind, username, node, SUM(events) AS events, SUM(bytes) AS bytes,
             SUM(failed) AS failed
      FROM daily_stats GROUP BY kind, username, node) t
LEFT JOIN (SELECT e.kind AS kind,
                  CASE WHEN e.kind = 'login_failed' THEN '' ELSE e.username END AS username,
                  lf.node AS node, MAX(e.ts) AS last_ts
           FROM events e JOIN log_files lf ON lf.id = e.file_id
           GROUP BY e.kind, CASE WHEN e.kind = 'login_failed' THEN '' ELSE e.username END,
                    lf.node) l
  ON l.kind = t.kind AND l.username = t.username AND l.node = t.node;
DROP TABLE IF EXISTS metrics_users;
CREATE TABLE metrics_users (
    slot     INTEGER      NOT NULL PRIMARY KEY,
    username VARCHAR(255) NOT NULL,
    given_at VARCHAR(26)  NOT NULL,
    UNIQUE KEY ux_metrics_users_username (username)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={BIN};
