-- 008_retention (SQLite): how far the raw events have been pruned (EVENTS_RETENTION_DAYS).
-- pruned_before: raw events of days before it may have been dropped (NULL: none ever were);
-- it only moves forward, and is raised in the same transaction as each delete, so the days
-- from it on are always whole. The rollups are never pruned. events_pruned counts the rows
-- dropped so far; pruned_at is the time of the last delete.
CREATE TABLE events_retention (
    id            INTEGER NOT NULL PRIMARY KEY,
    pruned_before TEXT,
    events_pruned INTEGER NOT NULL DEFAULT 0,
    pruned_at     TEXT
);
INSERT INTO events_retention (id) VALUES (1);
