-- 012_file_identity_guard (MySQL/MariaDB): see 012_file_identity_guard.sqlite.sql.
ALTER TABLE log_files ADD INDEX ix_log_files_inode (dev, ino);
