-- 015_metrics_totals (SQLite): what GET /metrics reads (docs/metrics.md).
-- stats_totals: daily_stats summed over every day, one cell per kind x username x node (the
-- key ending with the node, as every rollup's since 007), with the time of the cell's
-- newest event (last_ts). store.store_batch keeps it in the transaction of the events, from
-- the same increments as daily_stats, so a scrape reads a few thousand cells instead of
-- summing a year of daily ones (1,000 users every day: 1.46 million cells, about 2 s).
-- bytes saturates at 2^62 (store.BYTES_CAP). Never pruned, like every rollup. Filled here
-- from daily_stats (every day, pruned ones included) and last_ts from the events kept
-- (NULL for a cell whose events were all pruned). '' is the username of login_failed.
-- metrics_users: the users with series of their own (METRICS_MAX_USERS). A user given a
-- slot keeps it, so its counters never move into user="__other__" and back out. The slot
-- (1 to the bound) is the primary key and the username unique: two processes giving out
-- slots at once can neither go past the bound nor give one user two slots.
-- (014 and 015 are other migrations of the same round.)
CREATE TABLE stats_totals (
    kind     TEXT    NOT NULL,
    username TEXT    NOT NULL,
    node     TEXT    NOT NULL DEFAULT '',
    events   INTEGER NOT NULL,
    bytes    INTEGER NOT NULL,
    failed   INTEGER NOT NULL,
    last_ts  TEXT,
    PRIMARY KEY (kind, username, node)
) WITHOUT ROWID;
-- bytes summed as 31-bit halves (SQLite's SUM raises on overflow), clamped to 0..2^62
INSERT INTO stats_totals (kind, username, node, events, bytes, failed, last_ts)
SELECT t.kind, t.username, t.node, t.events,
       CASE WHEN t.hi + (t.lo >> 31) >= 2147483648 THEN 4611686018427387904
            WHEN t.hi + (t.lo >> 31) < 0 THEN 0
            ELSE t.hi * 2147483648 + t.lo END,
       t.failed, l.last_ts
FROM (SELECT kind, username, node, SUM(events) AS events, SUM(bytes >> 31) AS hi,
             SUM(bytes & 2147483647) AS lo, SUM(failed) AS failed
      FROM daily_stats GROUP BY kind, username, node) t
LEFT JOIN (SELECT e.kind AS kind,
                  CASE WHEN e.kind = 'login_failed' THEN '' ELSE e.username END AS username,
                  lf.node AS node, MAX(e.ts) AS last_ts
           FROM events e JOIN log_files lf ON lf.id = e.file_id
           GROUP BY e.kind, CASE WHEN e.kind = 'login_failed' THEN '' ELSE e.username END,
                    lf.node) l
  ON l.kind = t.kind AND l.username = t.username AND l.node = t.node;
CREATE TABLE metrics_users (
    slot     INTEGER NOT NULL PRIMARY KEY,
    username TEXT    NOT NULL UNIQUE,
    given_at TEXT    NOT NULL
);
