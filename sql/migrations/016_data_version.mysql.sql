-- 016_data_version (MySQL/MariaDB): see 016_data_version.sqlite.sql.
CREATE TABLE IF NOT EXISTS data_version (
    node    VARCHAR(64) NOT NULL PRIMARY KEY,
    version BIGINT      NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={BIN};
