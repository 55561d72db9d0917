"""MySQL/MariaDB: the keys of the rare events, which /api/events reads by failed=1 or by one
kind other than a transfer (MariaDB has no partial index; SQLite's hold the same rows)."""
from __future__ import annotations

from .rollup_tables import TRANSFER_KINDS
from .sqlgen import insert_sql


# MySQL/MariaDB: the keys of the rare events, which /api/events reads by failed=1 or by one
# kind other than a transfer (migration 013: MariaDB has no partial index). SQLite's partial
# indexes hold the same rows (migration 010).
RARE_COLUMNS = ("file_id", "start_offset", "failed_ts", "rare_kind", "rare_ts")
RARE_SQL = insert_sql("events_rare", RARE_COLUMNS, "mysql")
# The same rows from the events (e) themselves: for check and rebuild (rollups.py), as
# migration 013 fills the table. NODE as in from_events_sql.
RARE_FROM_EVENTS = (
    "SELECT e.file_id AS file_id, e.start_offset AS start_offset,"
    " IF(e.failed = 1, e.ts, NULL) AS failed_ts,"
    " IF(e.kind IN ('upload', 'download'), NULL, e.kind) AS rare_kind,"
    " IF(e.kind IN ('upload', 'download'), NULL, e.ts) AS rare_ts"
    " FROM events e JOIN log_files lf ON lf.id = e.file_id"
    " WHERE (e.failed = 1 OR e.kind NOT IN ('upload', 'download')) /*node*/")


def rare_rows(events: list[tuple]) -> list[tuple]:
    """Returns the events_rare rows (RARE_COLUMNS) of the failed and non-transfer events."""
    rows = []
    for e in events:   # e in EVENT_COLUMNS order
        transfer = e[5] in TRANSFER_KINDS
        if e[8] == 1 or not transfer:
            rows.append((e[0], e[1], e[3] if e[8] == 1 else None, None if transfer else e[5],
                         None if transfer else e[3]))
    return rows
