-- 012_file_identity_guard (SQLite): the guard against one folder ingested under two node
-- names. Before a node starts a new generation for a file, it looks for a generation of
-- another node with the same device and inode (and head): the same physical file, which
-- that node reads already (store.other_node_with). This index makes that one short range;
-- it is looked up only when a file turns up that the node does not know.
-- (011 is another migration of the same round; 009 is left unused.)
CREATE INDEX ix_log_files_inode ON log_files (dev, ino);
