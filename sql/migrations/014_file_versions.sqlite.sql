-- 014_file_versions (SQLite): what lets a pass leave unchanged files closed, copies, and
-- archives that join several backups.
-- disk_size and mtime_ns are a file's size on disk and mtime when a pass last looked at it:
-- while the same inode keeps both, and every byte was read, the file needs no new look
-- (identity.Generation.unchanged). For an archive, size_seen is then its content size as
-- proven by decompressing it all, never the size its trailer states (gzip's is modulo 2^32,
-- and only the last member's). NULL for rows from before: looked at once more.
-- base is where the generation starts in its file's content: 0, but for a file that joins
-- several (`cat a.gz b.gz > ab.gz`), each part is one generation at its own base.
ALTER TABLE log_files ADD COLUMN disk_size INTEGER;
ALTER TABLE log_files ADD COLUMN mtime_ns INTEGER;
ALTER TABLE log_files ADD COLUMN base INTEGER NOT NULL DEFAULT 0;
-- Files (or parts of files, from base on, content_size bytes) found to hold only bytes
-- already read (a copy, a partial copy, an archive of a file read): not generations, never
-- read, and left closed while unchanged (same inode, size and mtime). copy_of is the
-- generation they repeat, when known.
CREATE TABLE log_copies (
    node         TEXT    NOT NULL,
    dev          INTEGER NOT NULL,
    ino          INTEGER NOT NULL,
    base         INTEGER NOT NULL DEFAULT 0,
    content_size INTEGER NOT NULL,
    disk_size    INTEGER NOT NULL,
    mtime_ns     INTEGER NOT NULL,
    path         TEXT    NOT NULL,
    copy_of      INTEGER,
    updated_at   TEXT    NOT NULL,
    PRIMARY KEY (node, dev, ino, base)
);
-- Files a node's last pass left for a later one (no descriptor for them then, or an
-- archive still being measured) and their size on disk: pending work before they have a
-- log_files row.
ALTER TABLE node_status ADD COLUMN files_waiting INTEGER NOT NULL DEFAULT 0;
ALTER TABLE node_status ADD COLUMN bytes_waiting INTEGER NOT NULL DEFAULT 0;
