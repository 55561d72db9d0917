-- 011_user_rollups (MySQL/MariaDB): see 011_user_rollups.sqlite.sql.
CREATE TABLE user_ips_daily (
    username VARCHAR(255) NOT NULL,
    day      DATE         NOT NULL,
    ip       VARCHAR(64)  NOT NULL,
    node     VARCHAR(64)  NOT NULL DEFAULT '',
    events   BIGINT       NOT NULL,
    PRIMARY KEY (username, day, ip, node)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={BIN};
CREATE TABLE user_protocols_daily (
    username  VARCHAR(255) NOT NULL,
    day       DATE         NOT NULL,
    protocol  VARCHAR(16)  NOT NULL,
    node      VARCHAR(64)  NOT NULL DEFAULT '',
    transfers BIGINT       NOT NULL,
    bytes     BIGINT       NOT NULL,
    PRIMARY KEY (username, day, protocol, node)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={BIN};
INSERT INTO user_ips_daily (username, day, ip, node, events)
SELECT e.username, e.day, e.remote_ip, lf.node, COUNT(*)
FROM events e JOIN log_files lf ON lf.id = e.file_id
WHERE e.kind IN ('upload', 'download', 'file_op', 'login')
  AND e.remote_ip IS NOT NULL AND e.remote_ip <> ''
GROUP BY e.username, e.day, e.remote_ip, lf.node;
-- SUM of a BIGINT is a DECIMAL here (no overflow); clamped to 0..2^62 (store.BYTES_CAP)
INSERT INTO user_protocols_daily (username, day, protocol, node, transfers, bytes)
SELECT e.username, e.day, COALESCE(e.protocol, ''), lf.node, COUNT(*),
       LEAST(GREATEST(COALESCE(SUM(e.size_bytes), 0), 0), 4611686018427387904)
FROM events e JOIN log_files lf ON lf.id = e.file_id
WHERE e.kind IN ('upload', 'download')
GROUP BY e.username, e.day, COALESCE(e.protocol, ''), lf.node;
