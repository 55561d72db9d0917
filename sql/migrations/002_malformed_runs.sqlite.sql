-- 002_malformed_runs (SQLite): a malformed_lines row may stand for a run of consecutive
-- lines of one reason (blank lines, NUL runs): line_count says how many, start_offset and
-- end_offset span the whole run. Rows stored before this stand for one line each.
ALTER TABLE malformed_lines ADD COLUMN line_count INTEGER NOT NULL DEFAULT 1;
