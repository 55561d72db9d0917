-- 002_malformed_runs (MySQL/MariaDB): a malformed_lines row may stand for a run of
-- consecutive lines of one reason (blank lines, NUL runs): line_count says how many,
-- start_offset and end_offset span the whole run. Rows stored before this stand for one line.
ALTER TABLE malformed_lines ADD COLUMN line_count BIGINT NOT NULL DEFAULT 1;
