-- 016_data_version (SQLite): the data version the dashboard's answers are kept under.
-- One row per node (and '' for what is no node's: retention's deletes), its version raised by
-- one in the transaction of each write that changes what a figure shows: a batch that stores
-- events (store.store_batch), a prune batch (retention), a rollup rebuild. The version of the
-- database is the sum of the rows: it only grows, and every process (each gunicorn worker,
-- another node's ingester) reads the same number with one short query. A row per node, so
-- two nodes' ingesters never wait on each other's row. (014 and 015 are other migrations
-- of the same round.)
CREATE TABLE data_version (
    node    TEXT    NOT NULL PRIMARY KEY,
    version INTEGER NOT NULL
) WITHOUT ROWID;
